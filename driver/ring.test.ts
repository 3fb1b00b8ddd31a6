// The driver's ring layout choice on the reference target: packed is negotiated and built
// when asked, refused as NOT_APPLICABLE-shaped when the device does not offer it, and
// garbage in either ring surfaces as an error carrying the clause it breaks.
import { describe, expect, it } from 'vitest';
import { createReferenceTarget } from '../adapters/reference/index.ts';
import { resolveClause } from '../spec-refs/load.ts';
import { VIRTIO_F, bit, hasBit } from '../virtio/features.ts';
import { PACKED_ERROR_CLAUSE, PackedRingDriver, PackedUsedError } from '../virtio/packed-ring-driver.ts';
import { SplitRingDriver, USED_LEN_CLAUSE, UsedRingError } from '../virtio/split-ring-driver.ts';
import { ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK } from '../virtio/status.ts';
import { Driver, RingNotOfferedError } from './driver.ts';
import { entropyRequest } from './entropy.ts';
import { openDriver } from './open.ts';
import { addBuffers } from './ring.ts';
import { DriverError } from './wait.ts';

describe('ring layout', () => {
  it('packed: RING_PACKED accepted, a PackedRingDriver per queue, queue() refuses it', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'pci' });
    const drv = await openDriver(t, { ring: 'packed' });
    const r = await drv.ready({ features: bit(VIRTIO_F.VERSION_1) });
    expect(r.accepted).toBe(bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.RING_PACKED));
    expect(r.rings[0]).toBeInstanceOf(PackedRingDriver);
    expect(r.queues).toEqual([]);
    expect(() => drv.queue(0)).toThrow(DriverError);
    expect((await entropyRequest(drv.ring(0), { len: 32 })).usedLen).toBe(32);
  });

  it('split (the default) never accepts RING_PACKED although the device offers it', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'mmio' });
    const drv = await openDriver(t);
    const r = await drv.ready();
    expect(hasBit(r.offered, VIRTIO_F.RING_PACKED)).toBe(true);
    expect(hasBit(r.accepted, VIRTIO_F.RING_PACKED)).toBe(false);
    expect(r.rings[0]).toBeInstanceOf(SplitRingDriver);
    expect(() => drv.packedQueue(0)).toThrow(DriverError);
  });

  it('packed on a device that does not offer RING_PACKED: an error the runner reads as NOT_APPLICABLE', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'pci' });
    const real = await openDriver(t);
    // The same transport with RING_PACKED hidden from device_feature.
    const tr = Object.create(real.transport) as typeof real.transport;
    tr.readDeviceFeatures = async () => (await real.transport.readDeviceFeatures()) & ~bit(VIRTIO_F.RING_PACKED);
    const drv = new Driver(t, tr, real.pci, undefined, 'packed');
    const e = await drv.ready().catch((x) => x);
    expect(e).toBeInstanceOf(RingNotOfferedError);
    expect(e.name).toBe('NotApplicable');
    expect(e.reason).toMatch(/VIRTIO_F_RING_PACKED/);
    expect(e.notApplicable).toBe(true);
  });

  it('omitRingFeature: a packed driver can leave RING_PACKED out; it then sets up no queue', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'pci' });
    const drv = await openDriver(t, { ring: 'packed' });
    const r = await drv.init({ features: bit(VIRTIO_F.VERSION_1), omitRingFeature: true });
    expect(r.accepted).toBe(bit(VIRTIO_F.VERSION_1));
    expect(r.stoppedBefore).toBe('queues');
    expect(r.status).toBe(ACKNOWLEDGE | DRIVER | FEATURES_OK);
    expect(r.status & DRIVER_OK).toBe(0);
  });

  it('a trailing indirect table is a split-ring layout: DriverError on packed', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'pci' });
    const drv = await openDriver(t, { ring: 'packed' });
    await drv.ready();
    const a = await t.mem.alloc(8);
    await expect(addBuffers(drv.ring(0), [{ addr: a, len: 4, write: true }, { addr: a + 4, len: 4, write: true }], { indirect: 'tail' })).rejects.toThrow(DriverError);
  });

  it('openDriver refuses an unknown layout', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'pci' });
    await expect(openDriver(t, { ring: 'ring' as 'split' })).rejects.toThrow(/unknown ring layout/);
  });
});

describe('ring errors carry the clause they show broken', () => {
  it('the clause IDs resolve in the index', () => {
    for (const id of [USED_LEN_CLAUSE, ...Object.values(PACKED_ERROR_CLAUSE)]) expect(resolveClause(id!), id).toBeTruthy();
  });

  it('split: used len beyond the writable bytes (defect used-len-too-long) → UsedRingError with clause/expected/observed', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'pci', defect: 'used-len-too-long' });
    const drv = await openDriver(t);
    await drv.ready();
    expect((await entropyRequest(drv.ring(0), { len: 64 })).usedLen).toBe(64);
    const e = await entropyRequest(drv.ring(0), { len: 64 }).catch((x) => x);
    expect(e).toBeInstanceOf(UsedRingError);
    expect(e.kind).toBe('len-beyond-writable');
    expect(e.clause).toBe(USED_LEN_CLAUSE);
    expect(e.expected).toMatch(/64/);
    expect(e.observed).toMatch(/80/);
  });

  it('packed: used flags of the wrong lap (defect packed-used-wrap-not-toggled) → PackedUsedError with its clause', async () => {
    for (const defect of [undefined, 'packed-used-wrap-not-toggled']) {
      const t = await createReferenceTarget({ device: 'entropy', transport: 'mmio', defect, timeoutScale: 0.05 });
      const drv = await openDriver(t, { ring: 'packed' });
      await drv.ready({ queueSize: 2 });
      const out: unknown[] = [];
      for (let i = 0; i < 3; i++) out.push(await entropyRequest(drv.ring(0), { len: 8 }).then((r) => r.usedLen, (x) => x));
      if (!defect) { expect(out).toEqual([8, 8, 8]); continue; }
      const e = out[2] as PackedUsedError;
      expect(e).toBeInstanceOf(PackedUsedError);
      expect(e.kind).toBe('used-flags');
      expect(e.clause).toBe(PACKED_ERROR_CLAUSE['used-flags']);
      expect(typeof e.expected).toBe('string');
      expect(typeof e.observed).toBe('string');
    }
  });
});
