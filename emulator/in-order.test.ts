// VIRTIO_F_IN_ORDER on the reference devices: on the packed ring the buffers of one
// notification are used in ring order with one used descriptor per run (a run ends at a
// buffer the device did not fill, whose own descriptor must carry its len); on the split
// ring every buffer gets its own used element, in order.
import { describe, expect, it } from 'vitest';
import { createReferenceTarget } from '../adapters/reference/index.ts';
import { addBuffers, openDriver, type AnyUsedElem, type Virtqueue } from '../driver/index.ts';
import { VIRTIO_F, bit } from '../virtio/features.ts';
import { isUsed } from '../virtio/packed-ring.ts';
import { ENTROPY_MAX_BYTES } from './models/entropy.ts';

const IN_ORDER = bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.IN_ORDER);

async function threeAtOnce(vq: Virtqueue, lens: number[]): Promise<{ ids: number[]; used: AnyUsedElem[] }> {
  const ids: number[] = [];
  for (const len of lens) ids.push(await addBuffers(vq, [{ addr: await vq.mem.alloc(len), len, write: true }]));
  await vq.kick({ force: true });
  const used: AnyUsedElem[] = [];
  for (let i = 0; i < lens.length; i++) used.push(await vq.waitUsed(500));
  return { ids, used };
}

describe('IN_ORDER completion', () => {
  it('packed: one used descriptor for a batch of full buffers, skipped ones taken as fully written', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'pci' });
    const drv = await openDriver(t, { ring: 'packed' });
    const r = await drv.ready({ features: IN_ORDER });
    expect(r.accepted & bit(VIRTIO_F.IN_ORDER)).not.toBe(0n);
    const vq = drv.packedQueue(0);
    expect(vq.inOrder).toBe(true);
    const { ids, used } = await threeAtOnce(vq, [64, 64, 64]);
    expect(used.map((u) => u.id)).toEqual(ids);
    expect(used.map((u) => ('skipped' in u ? u.skipped : undefined))).toEqual([true, true, false]);
    expect(used.map((u) => u.len)).toEqual([64, 64, 64]);
    // Only the first ring position holds a used descriptor (the batch's), naming the last buffer.
    const usedAt = [];
    for (let off = 0; off < 3; off++) { const d = await vq.readDesc(off); if (isUsed(d.flags, 1)) usedAt.push([off, d.id]); }
    expect(usedAt).toEqual([[0, ids[2]]]);
  });

  it('packed: a buffer the device did not fill ends the run and carries its own len', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'mmio' });
    const drv = await openDriver(t, { ring: 'packed' });
    await drv.ready({ features: IN_ORDER });
    const big = ENTROPY_MAX_BYTES + 100;
    const { ids, used } = await threeAtOnce(drv.ring(0), [64, big, 64]);
    expect(used.map((u) => u.id)).toEqual(ids);
    expect(used.map((u) => ('skipped' in u ? u.skipped : undefined))).toEqual([true, false, false]);
    expect(used.map((u) => u.len)).toEqual([64, ENTROPY_MAX_BYTES, 64]);
  });

  it('packed without IN_ORDER and split with it: one used entry per buffer, in order', async () => {
    for (const [ring, features] of [['packed', bit(VIRTIO_F.VERSION_1)], ['split', IN_ORDER]] as const) {
      const t = await createReferenceTarget({ device: 'entropy', transport: 'pci' });
      const drv = await openDriver(t, { ring });
      await drv.ready({ features });
      const { ids, used } = await threeAtOnce(drv.ring(0), [16, 32, 48]);
      expect(used.map((u) => u.id)).toEqual(ids);
      expect(used.map((u) => u.len)).toEqual([16, 32, 48]);
      expect(used.some((u) => 'skipped' in u && u.skipped)).toBe(false);
    }
  });
});
