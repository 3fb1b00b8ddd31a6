// Driver side of the packed ring against a plain byte array, checked byte by byte with the
// 2.8 layout: a minimal "device" here writes used descriptors directly.
import { describe, expect, it } from 'vitest';
import type { GuestMemory } from '../adapters/types.ts';
import { PackedRingDriver, PackedUsedError, RingFullError, type RingDriver } from './packed-ring-driver.ts';
import { SplitRingDriver } from './split-ring-driver.ts';
import {
  PDESC_SIZE, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_AVAIL,
  VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE, availFlags, decodeEventSuppress,
  decodePackedDesc, encodeEventSuppress, usedFlags,
} from './packed-ring.ts';

class ArrayMemory implements GuestMemory {
  readonly bytes = new Uint8Array(1 << 20);
  private next = 0x1000;
  writes: Array<{ addr: number; len: number }> = [];
  async read(addr: number, len: number) { return this.bytes.slice(addr, addr + len); }
  async write(addr: number, data: Uint8Array) { this.writes.push({ addr, len: data.length }); this.bytes.set(data, addr); }
  async alloc(size: number, align = 8) {
    const a = (this.next + align - 1) & ~(align - 1);
    this.next = a + size;
    this.bytes.fill(0, a, a + size);
    return a;
  }
  async resetAllocator() { this.next = 0x1000; }
}

const desc = (m: ArrayMemory, vq: PackedRingDriver, off: number) => decodePackedDesc(m.bytes, vq.desc + PDESC_SIZE * off);

/** Device stand-in: a used descriptor at `off` (body, then flags). */
function putUsed(m: ArrayMemory, vq: PackedRingDriver, off: number, id: number, len: number, flags: number) {
  const v = new DataView(m.bytes.buffer, vq.desc + PDESC_SIZE * off);
  v.setUint32(8, len, true); v.setUint16(12, id, true); v.setUint16(14, flags, true);
}
const setDeviceEvent = (m: ArrayMemory, vq: PackedRingDriver, e: { off: number; wrap: 0 | 1; flags: number }) =>
  m.bytes.set(encodeEventSuppress(e), vq.device);

async function ring(o: { size?: number; eventIdx?: boolean; inOrder?: boolean } = {}) {
  const m = new ArrayMemory();
  const vq = await PackedRingDriver.allocate(m, { size: o.size ?? 4, eventIdx: o.eventIdx, inOrder: o.inOrder });
  return { m, vq };
}

const R = (addr: number, len: number) => ({ addr, len, write: false });
const W = (addr: number, len: number) => ({ addr, len, write: true });

describe('packed ring, driver side', () => {
  it('both rings meet the shared RingDriver shape (scenarios run on either)', async () => {
    const m = new ArrayMemory();
    const rings: RingDriver[] = [await SplitRingDriver.allocate(m, { size: 4 }), await PackedRingDriver.allocate(m, { size: 4 })];
    for (const vq of rings) {
      const id = await vq.add([R(0x8000, 4), W(0x9000, 4)], { indirect: 'all' });
      expect(vq.inFlight()).toEqual([id]);
      expect(await vq.publish()).toBe(true);
      expect(await vq.getUsed()).toBeUndefined();
    }
  });


  it('allocates the ring 16-aligned and both event structures 4-aligned', async () => {
    const m = new ArrayMemory();
    await m.alloc(3, 1);
    const vq = await PackedRingDriver.allocate(m, { size: 5 });
    expect(vq.desc % 16).toBe(0);
    expect(vq.driver % 4).toBe(0);
    expect(vq.device % 4).toBe(0);
    expect(vq.driver).toBeGreaterThanOrEqual(vq.desc + 16 * 5);
    expect(vq.device).toBeGreaterThanOrEqual(vq.driver + 4);
  });

  it('writes a list with the id in every descriptor, head flags only on publish, AVAIL=1/USED=0 in lap 1', async () => {
    const { m, vq } = await ring();
    const id = await vq.add([R(0x8000, 16), W(0x9000, 512), W(0xa000, 1)]);
    expect(id).toBe(0);
    expect(desc(m, vq, 1)).toEqual({ addr: 0x9000n, len: 512, id: 0, flags: VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT });
    expect(desc(m, vq, 2)).toEqual({ addr: 0xa000n, len: 1, id: 0, flags: VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_WRITE });
    expect(desc(m, vq, 0)).toEqual({ addr: 0x8000n, len: 16, id: 0, flags: 0 }); // not yet available
    m.writes = [];
    expect(await vq.publish()).toBe(true);
    expect(m.writes).toEqual([{ addr: vq.desc + 14, len: 2 }]); // publication is the head's flags, alone
    expect(desc(m, vq, 0).flags).toBe(VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT);
    expect(vq.numFree()).toBe(1);
    expect(vq.chain(id)).toMatchObject({ writableBytes: 513, descIndices: [0, 1, 2], descCount: 3, published: true });
    expect(await vq.publish()).toBe(false); // nothing new
  });

  it('idInLastOnly puts 0xffff in all but the last descriptor', async () => {
    const { m, vq } = await ring();
    await vq.add([R(0x8000, 1), R(0x8001, 1), W(0x9000, 1)], { idInLastOnly: true });
    await vq.add([W(0x9000, 1)], { idInLastOnly: true });
    expect([0, 1, 2, 3].map((i) => desc(m, vq, i).id)).toEqual([0xffff, 0xffff, 0, 1]);
  });

  it('indirect: one ring descriptor, a table with WRITE only and no NEXT; WRITE on the ref only when asked', async () => {
    const { m, vq } = await ring();
    const id = await vq.add([R(0x8000, 16), W(0x9000, 8)], { indirect: true, indirectWriteFlag: true });
    await vq.publish();
    const d = desc(m, vq, 0);
    expect(d).toMatchObject({ len: 32, id, flags: VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE });
    const t = Number(d.addr);
    expect(t % 16).toBe(0);
    expect(decodePackedDesc(m.bytes, t)).toEqual({ addr: 0x8000n, len: 16, id: 0, flags: 0 });
    expect(decodePackedDesc(m.bytes, t + 16)).toEqual({ addr: 0x9000n, len: 8, id: 0, flags: VIRTQ_DESC_F_WRITE });
    expect(vq.numFree()).toBe(3);
  });

  it('wraps: the second lap writes AVAIL=0/USED=1, and a list spans the ring end', async () => {
    const { m, vq } = await ring({ size: 3 });
    const a = await vq.add([W(0x8000, 4), W(0x8004, 4)]);
    await vq.publish();
    putUsed(m, vq, 0, a, 8, usedFlags(1) | VIRTQ_DESC_F_WRITE);
    expect(await vq.getUsed()).toMatchObject({ id: a, len: 8, write: true, skipped: false });
    expect(vq.usedPosition()).toEqual({ off: 2, wrap: 1 });
    const b = await vq.add([R(0x8000, 4), W(0x8004, 4)]); // offsets 2 and 0 (lap 2)
    expect(desc(m, vq, 0).flags).toBe(availFlags(0) | VIRTQ_DESC_F_WRITE);
    await vq.publish();
    expect(desc(m, vq, 2).flags).toBe(availFlags(1) | VIRTQ_DESC_F_NEXT);
    expect(vq.availPosition()).toEqual({ off: 1, wrap: 0 });
    putUsed(m, vq, 2, b, 4, usedFlags(1) | VIRTQ_DESC_F_WRITE);
    expect(await vq.getUsed()).toMatchObject({ id: b, len: 4 });
    expect(vq.usedPosition()).toEqual({ off: 1, wrap: 0 });
  });

  it('notification data: vq index, then next_off / next_wrap of the next descriptor to be made available', async () => {
    const m = new ArrayMemory();
    const vq = await PackedRingDriver.allocate(m, { size: 3, index: 2 });
    expect(vq.notificationData()).toBe(0x80000002);
    await vq.add([W(0, 1), W(0, 1)]);
    expect(vq.notificationData()).toBe(0x80000002); // added, not yet available
    await vq.publish();
    expect(vq.notificationData()).toBe(0x80020002);
    putUsed(m, vq, 0, 0, 0, usedFlags(1));
    await vq.getUsed();
    await vq.add([W(0, 1), W(0, 1)]); // offsets 2, 0: wrap toggles
    await vq.publish();
    expect(vq.notificationData(7)).toBe(0x00010007);
  });

  it('ring full: no more descriptors than free; a list as long as the ring fits an empty ring', async () => {
    const { vq } = await ring({ size: 3 });
    await expect(vq.add([W(0, 1), W(0, 1), W(0, 1), W(0, 1)])).rejects.toThrow(RingFullError);
    await vq.add([W(0, 1), W(0, 1), W(0, 1)]);
    expect(vq.numFree()).toBe(0);
    await expect(vq.add([W(0, 1)])).rejects.toThrow(RingFullError);
  });

  it('out-of-order completion: used descriptors in completion order, skipping each buffer\'s list length', async () => {
    const { m, vq } = await ring({ size: 5 });
    const a = await vq.add([R(0, 1), W(0, 8)]);
    const b = await vq.add([W(0, 8)]);
    await vq.publish();
    putUsed(m, vq, 0, b, 2, usedFlags(1) | VIRTQ_DESC_F_WRITE);
    expect(await vq.getUsed()).toMatchObject({ id: b, len: 2 });
    expect(vq.usedPosition().off).toBe(1);
    putUsed(m, vq, 1, a, 8, usedFlags(1) | VIRTQ_DESC_F_WRITE);
    expect(await vq.getUsed()).toMatchObject({ id: a, len: 8 });
    expect(vq.usedPosition().off).toBe(3);
    expect(vq.inFlight()).toEqual([]);
    expect(await vq.getUsed()).toBeUndefined();
  });

  it('IN_ORDER: one used descriptor for a batch returns the skipped buffers first, with their full length', async () => {
    const { m, vq } = await ring({ size: 6, inOrder: true });
    const ids = [await vq.add([R(0, 1), W(0, 8)]), await vq.add([W(0, 4)]), await vq.add([W(0, 16)])];
    await vq.publish();
    putUsed(m, vq, 0, ids[1], 3, usedFlags(1) | VIRTQ_DESC_F_WRITE);
    expect(await vq.getUsed()).toMatchObject({ id: ids[0], len: 8, skipped: true });
    expect(await vq.getUsed()).toMatchObject({ id: ids[1], len: 3, skipped: false });
    expect(vq.usedPosition().off).toBe(3);
    expect(await vq.getUsed()).toBeUndefined();
    putUsed(m, vq, 3, ids[2], 16, usedFlags(1) | VIRTQ_DESC_F_WRITE);
    expect(await vq.getUsed()).toMatchObject({ id: ids[2], len: 16, skipped: false });
    expect(vq.usedPosition().off).toBe(4);
  });

  describe('garbage from the device', () => {
    it('unknown id, unpublished id', async () => {
      const { m, vq } = await ring();
      const a = await vq.add([W(0, 4)]);
      putUsed(m, vq, 0, a, 0, usedFlags(1));
      await expect(vq.getUsed()).rejects.toMatchObject({ kind: 'not-available', id: a });
      const r2 = await ring();
      await r2.vq.add([W(0, 4)]);
      await r2.vq.publish();
      putUsed(r2.m, r2.vq, 0, 3, 0, usedFlags(1));
      await expect(r2.vq.getUsed()).rejects.toMatchObject({ kind: 'unknown-id', id: 3 });
    });

    it('a used descriptor with nothing outstanding is an unknown id', async () => {
      const { m, vq } = await ring();
      putUsed(m, vq, 0, 0, 0, usedFlags(1));
      await expect(vq.getUsed()).rejects.toBeInstanceOf(PackedUsedError);
    });

    it('len beyond the writable bytes (reported with the element), unless validate: false', async () => {
      const { m, vq } = await ring();
      const a = await vq.add([R(0, 100), W(0, 4)]);
      await vq.publish();
      putUsed(m, vq, 0, a, 5, usedFlags(1) | VIRTQ_DESC_F_WRITE);
      const e = await vq.getUsed().catch((x: unknown) => x);
      expect(e).toMatchObject({ kind: 'len-beyond-writable', len: 5, elem: { id: a } });
      const r2 = await ring();
      const b = await r2.vq.add([W(0, 4)]);
      await r2.vq.publish();
      putUsed(r2.m, r2.vq, 0, b, 5, usedFlags(1));
      expect(await r2.vq.getUsed({ validate: false })).toMatchObject({ id: b, len: 5, write: false });
    });

    it('used flags of the wrong lap or half-flipped on a published descriptor', async () => {
      for (const flags of [usedFlags(0), VIRTQ_DESC_F_USED]) {
        const { m, vq } = await ring();
        const a = await vq.add([W(0, 4)]);
        await vq.publish();
        putUsed(m, vq, 0, a, 4, flags);
        await expect(vq.getUsed()).rejects.toMatchObject({ kind: 'used-flags' });
      }
    });

    it('IN_ORDER: a used descriptor for a buffer already skipped is an unknown id', async () => {
      const { m, vq } = await ring({ inOrder: true });
      const a = await vq.add([W(0, 4)]);
      const b = await vq.add([W(0, 4)]);
      await vq.publish();
      putUsed(m, vq, 0, b, 4, usedFlags(1) | VIRTQ_DESC_F_WRITE);
      putUsed(m, vq, 2, a, 4, usedFlags(1) | VIRTQ_DESC_F_WRITE); // the device wrote b then a
      expect(await vq.getUsed()).toMatchObject({ id: a, skipped: true });
      expect(await vq.getUsed()).toMatchObject({ id: b, skipped: false });
      // Offset 2 holds a used descriptor naming a, already returned with the batch.
      await expect(vq.getUsed()).rejects.toMatchObject({ kind: 'unknown-id', id: a });
    });
  });

  describe('notification decisions', () => {
    it('without EVENT_IDX: notify unless the device event flags say DISABLE', async () => {
      const { m, vq } = await ring();
      await vq.add([W(0, 1)]);
      expect(await vq.publish()).toBe(true);
      setDeviceEvent(m, vq, { off: 0, wrap: 1, flags: RING_EVENT_FLAGS_DISABLE });
      await vq.add([W(0, 1)]);
      expect(await vq.publish()).toBe(false);
      // DESC without EVENT_IDX is not valid: notify.
      setDeviceEvent(m, vq, { off: 3, wrap: 0, flags: RING_EVENT_FLAGS_DESC });
      await vq.add([W(0, 1)]);
      expect(await vq.publish()).toBe(true);
    });

    it('with EVENT_IDX: notify when the event offset+wrap is among the descriptors just made available', async () => {
      const { m, vq } = await ring({ size: 4, eventIdx: true });
      setDeviceEvent(m, vq, { off: 2, wrap: 1, flags: RING_EVENT_FLAGS_DESC });
      await vq.add([W(0, 1), W(0, 1)]); // offsets 0, 1
      expect(await vq.publish()).toBe(false);
      await vq.add([W(0, 1)]); // offset 2
      expect(await vq.publish()).toBe(true);
      setDeviceEvent(m, vq, { off: 0, wrap: 1, flags: RING_EVENT_FLAGS_DESC }); // already passed, lap 1
      await vq.add([W(0, 1)]); // offset 3
      expect(await vq.publish()).toBe(false);
    });

    it('kick notifies per decision, force and never override it', async () => {
      const m = new ArrayMemory();
      let sent = 0;
      const vq = await PackedRingDriver.allocate(m, { size: 4, notify: async () => { sent++; } });
      await vq.add([W(0, 1)]);
      expect(await vq.kick()).toBe(true);
      m.bytes.set(encodeEventSuppress({ off: 0, wrap: 1, flags: RING_EVENT_FLAGS_DISABLE }), vq.device);
      await vq.add([W(0, 1)]);
      expect(await vq.kick()).toBe(false);
      expect(await vq.kick({ force: true })).toBe(true);
      expect(sent).toBe(2);
      expect(vq.notificationsSent).toBe(2);
    });

    it('driver event: DESC on the next used position with EVENT_IDX (kept up to date), ENABLE otherwise; set/disable/enable', async () => {
      const { m, vq } = await ring({ eventIdx: true });
      const ev = () => decodeEventSuppress(m.bytes, vq.driver);
      expect(ev()).toEqual({ off: 0, wrap: 1, flags: RING_EVENT_FLAGS_DESC, reserved: 0 });
      const a = await vq.add([W(0, 1), W(0, 1)]);
      await vq.publish();
      putUsed(m, vq, 0, a, 0, usedFlags(1));
      await vq.getUsed();
      expect(ev()).toMatchObject({ off: 2, wrap: 1, flags: RING_EVENT_FLAGS_DESC });
      await vq.disableUsedNotifications();
      expect(ev().flags).toBe(RING_EVENT_FLAGS_DISABLE);
      await vq.setDriverEvent({ flags: RING_EVENT_FLAGS_DESC, off: 1, wrap: 0 });
      expect(ev()).toMatchObject({ off: 1, wrap: 0 });
      expect(vq.autoUsedEvent).toBe(false);
      await vq.enableUsedNotifications();
      expect(ev()).toMatchObject({ off: 2, wrap: 1, flags: RING_EVENT_FLAGS_DESC });
      const plain = await ring();
      expect(decodeEventSuppress(plain.m.bytes, plain.vq.driver).flags).toBe(RING_EVENT_FLAGS_ENABLE);
    });
  });

  it('waitUsed times out with the position in the message, scaled by timeoutScale', async () => {
    const m = new ArrayMemory();
    const vq = await PackedRingDriver.allocate(m, { size: 4, timeoutScale: 2 });
    const t0 = performance.now();
    await expect(vq.waitUsed(10)).rejects.toThrow(/offset 0, wrap 1/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
  });
});
