// Device side of the packed ring over a plain byte array: descriptors written by hand with
// the 2.8 layout, so what the device reads and writes is checked byte by byte.
import { describe, expect, it } from 'vitest';
import { PackedRingDevice, RingError, type DeviceRing, type RingMemory, type UsedWriteStep } from './packed-ring-device.ts';
import { SplitRingDevice } from './split-ring-device.ts';
import {
  PDESC_SIZE, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_AVAIL,
  VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE, availFlags, decodeEventSuppress,
  encodeEventSuppress, encodePos, usedFlags,
} from './packed-ring.ts';

const RING = 0x1000, DRIVER = 0x2000, DEVICE = 0x2004, TABLE = 0x4000, DATA = 0x8000;
const A1 = availFlags(1), A0 = availFlags(0);

class FakeMem implements RingMemory {
  bytes = new Uint8Array(0x10000);
  writes: Array<{ addr: number; len: number }> = [];
  async read(addr: number, len: number) {
    if (addr + len > this.bytes.length) throw new RangeError('out of range');
    return this.bytes.slice(addr, addr + len);
  }
  async write(addr: number, data: Uint8Array) {
    if (addr + data.length > this.bytes.length) throw new RangeError('out of range');
    this.writes.push({ addr, len: data.length });
    this.bytes.set(data, addr);
  }
  dv(addr: number) { return new DataView(this.bytes.buffer, addr); }
  desc(base: number, i: number, addr: number, len: number, id: number, flags: number) {
    const v = this.dv(base + i * PDESC_SIZE);
    v.setBigUint64(0, BigInt(addr), true); v.setUint32(8, len, true); v.setUint16(12, id, true); v.setUint16(14, flags, true);
  }
  read16(a: number) { return this.dv(a).getUint16(0, true); }
  read32(a: number) { return this.dv(a).getUint32(0, true); }
  used(i: number) { return { len: this.read32(RING + i * 16 + 8), id: this.read16(RING + i * 16 + 12), flags: this.read16(RING + i * 16 + 14) }; }
  driverEvent(e: { off: number; wrap: 0 | 1; flags: number }) { this.bytes.set(encodeEventSuppress(e), DRIVER); }
}

function ring(mem: FakeMem, o: { size?: number; eventIdx?: boolean; indirect?: boolean; inOrder?: boolean; defects?: string[]; maxChain?: number; onUsedWrite?: (s: UsedWriteStep) => void } = {}) {
  return new PackedRingDevice(mem, { size: o.size ?? 4, desc: RING, driver: DRIVER, device: DEVICE }, {
    eventIdx: o.eventIdx ?? false, indirect: o.indirect ?? true, inOrder: o.inOrder, maxChain: o.maxChain,
    defect: (n) => (o.defects ?? []).includes(n),
    hooks: o.onUsedWrite ? { onUsedWrite: (s) => o.onUsedWrite!(s) } : undefined,
  });
}

describe('PackedRingDevice: taking buffers', () => {
  it('both device rings meet the shared DeviceRing shape', async () => {
    const m = new FakeMem();
    const layout = { size: 4, desc: RING, driver: DRIVER, device: DEVICE };
    const rings: DeviceRing[] = [
      new SplitRingDevice(m, layout, { eventIdx: false, indirect: true }),
      new PackedRingDevice(m, layout, { eventIdx: false, indirect: true }),
    ];
    for (const r of rings) {
      expect(await r.pending()).toBe(0);
      expect(await r.pop()).toBeUndefined();
    }
  });


  it('takes a list in ring order, id from the last descriptor, only once AVAIL/USED say available', async () => {
    const m = new FakeMem();
    const r = ring(m);
    expect(await r.pop()).toBeUndefined(); // zero ring: not available for wrap 1
    m.desc(RING, 1, DATA + 16, 512, 7, A1 | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 2, DATA + 528, 1, 3, A1 | VIRTQ_DESC_F_WRITE);
    m.desc(RING, 0, DATA, 16, 9, VIRTQ_DESC_F_NEXT); // head written, flags not yet flipped
    expect(await r.pop()).toBeUndefined();
    m.desc(RING, 0, DATA, 16, 9, A1 | VIRTQ_DESC_F_NEXT);
    const c = await r.pop();
    expect(c).toMatchObject({ id: 3, head: 3, readableLen: 16, writableLen: 513, descIndices: [0, 1, 2], descCount: 3, indirect: false, position: { off: 0, wrap: 1 } });
    expect(c!.writable).toEqual([{ addr: DATA + 16, len: 512 }, { addr: DATA + 528, len: 1 }]);
    expect(r.nextAvail).toEqual({ off: 3, wrap: 1 });
    expect(await r.pop()).toBeUndefined();
    expect(r.inFlight()).toEqual([3]);
  });

  it('does not take a descriptor whose AVAIL bit did not change (AVAIL≠USED of the wrong lap); the defect does', async () => {
    const m = new FakeMem();
    // AVAIL 0 / USED 1: "available" for wrap 0, not for the first lap.
    m.desc(RING, 0, DATA, 8, 1, A0 | VIRTQ_DESC_F_WRITE);
    expect(await ring(m).pop()).toBeUndefined();
    expect(await ring(m).pending()).toBe(0);
    const bad = ring(m, { defects: ['packed-uses-desc-avail-unchanged'] });
    expect(await bad.pending()).toBe(1);
    expect(await bad.pop()).toMatchObject({ id: 1 });
  });

  it('follows a list across the end of the ring with the next lap\'s flags, and rejects a non-available member', async () => {
    const m = new FakeMem();
    const r = ring(m, { size: 3 });
    r.nextAvail = { off: 2, wrap: 1 }; r.nextUsed = { off: 2, wrap: 1 };
    m.desc(RING, 2, DATA, 4, 0, A1 | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 0, DATA + 4, 4, 0, A1 | VIRTQ_DESC_F_WRITE); // wrong: lap 0 needs AVAIL 0 / USED 1
    await expect(r.pop()).rejects.toThrow(/not available/);
    m.desc(RING, 0, DATA + 4, 4, 5, A0 | VIRTQ_DESC_F_WRITE);
    const r2 = ring(m, { size: 3 });
    r2.nextAvail = { off: 2, wrap: 1 };
    expect(await r2.pop()).toMatchObject({ id: 5, descIndices: [2, 0], descCount: 2 });
    expect(r2.nextAvail).toEqual({ off: 1, wrap: 0 });
  });

  it('accepts a list as long as the ring (non-power-of-2 size), not longer; maxChain limits it', async () => {
    const m = new FakeMem();
    for (let i = 0; i < 5; i++) m.desc(RING, i, DATA + i, 1, 2, A1 | (i < 4 ? VIRTQ_DESC_F_NEXT : VIRTQ_DESC_F_WRITE));
    const c = await ring(m, { size: 5 }).pop();
    expect(c).toMatchObject({ descCount: 5, readableLen: 4, writableLen: 1 });
    await expect(ring(m, { size: 5, defects: ['packed-rejects-full-ring-chain'] }).pop()).rejects.toThrow(RingError);
    await expect(ring(m, { size: 5, maxChain: 4 }).pop()).rejects.toThrow(/longer than 4/);
    // Every descriptor has NEXT: the list would run past the ring.
    m.desc(RING, 4, DATA, 1, 2, A1 | VIRTQ_DESC_F_NEXT);
    await expect(ring(m, { size: 5 }).pop()).rejects.toThrow(/longer than 5/);
  });

  it('rejects readable after writable, over-long buffers, and an id reused while in flight', async () => {
    const m = new FakeMem();
    m.desc(RING, 0, DATA, 4, 0, A1 | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 1, DATA, 4, 0, A1);
    await expect(ring(m).pop()).rejects.toThrow(/readable element after/);
    m.desc(RING, 0, DATA, 0xffffffff, 0, A1 | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 1, DATA, 2, 0, A1);
    await expect(ring(m).pop()).rejects.toThrow(/exceeds/);
    m.desc(RING, 0, DATA, 4, 6, A1);
    m.desc(RING, 1, DATA, 4, 6, A1);
    const r = ring(m);
    await r.pop();
    await expect(r.pop()).rejects.toThrow(/again before it was used/);
  });

  it('id from the last descriptor; the defect reads the first', async () => {
    const m = new FakeMem();
    m.desc(RING, 0, DATA, 4, 0xffff, A1 | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 1, DATA, 4, 1, A1 | VIRTQ_DESC_F_WRITE);
    expect((await ring(m).pop())!.id).toBe(1);
  });

  it('indirect: one descriptor, table entries in sequence, only WRITE counts in them, WRITE on the ref ignored', async () => {
    const m = new FakeMem();
    m.desc(TABLE, 0, DATA, 16, 99, VIRTQ_DESC_F_NEXT); // NEXT reserved in a table: ignored
    m.desc(TABLE, 1, DATA + 16, 8, 0, VIRTQ_DESC_F_WRITE);
    m.desc(RING, 0, TABLE, 2 * PDESC_SIZE, 4, A1 | VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE);
    const c = await ring(m).pop();
    expect(c).toMatchObject({ id: 4, indirect: true, readableLen: 16, writableLen: 8, descCount: 1 });
    await expect(ring(m, { indirect: false }).pop()).rejects.toThrow(/INDIRECT_DESC/);
    m.desc(RING, 0, TABLE, 20, 4, A1 | VIRTQ_DESC_F_INDIRECT);
    await expect(ring(m).pop()).rejects.toThrow(/multiple/);
    // INDIRECT inside a NEXT-linked list is not allowed in the packed ring.
    m.desc(RING, 0, DATA, 4, 4, A1 | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 1, TABLE, 32, 4, A1 | VIRTQ_DESC_F_INDIRECT);
    await expect(ring(m).pop()).rejects.toThrow(/INDIRECT in a list/);
  });

  it('gathers readable bytes, scatters writes; the defect writes a device-readable buffer', async () => {
    const m = new FakeMem();
    m.bytes.set([1, 2, 3], DATA); m.bytes.set([4, 5], DATA + 0x100);
    m.desc(RING, 0, DATA, 3, 0, A1 | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 1, DATA + 0x100, 2, 0, A1 | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 2, DATA + 0x200, 2, 0, A1 | VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
    m.desc(RING, 3, DATA + 0x300, 3, 0, A1 | VIRTQ_DESC_F_WRITE);
    const r = ring(m);
    const c = (await r.pop())!;
    expect([...await r.readAll(c)]).toEqual([1, 2, 3, 4, 5]);
    await r.writeAt(c, 1, new Uint8Array([9, 8, 7]));
    expect([...m.bytes.slice(DATA + 0x200, DATA + 0x202)]).toEqual([0, 9]);
    expect([...m.bytes.slice(DATA + 0x300, DATA + 0x303)]).toEqual([8, 7, 0]);
    expect([...m.bytes.slice(DATA, DATA + 3)]).toEqual([1, 2, 3]);
    await expect(r.writeAt(c, 4, new Uint8Array(2))).rejects.toThrow(RingError);
    await ring(m, { defects: ['packed-writes-device-readable'] }).writeAt(c, 0, new Uint8Array([0xee]));
    expect(m.bytes[DATA]).toBe(0xee);
  });
});

describe('PackedRingDevice: order of processing (defects)', () => {
  /** Three one-descriptor lists at offsets 0, 1, 2 with ids 10, 11, 12. */
  function three(m: FakeMem) {
    for (let i = 0; i < 3; i++) m.desc(RING, i, DATA + 0x10 * i, 4, 10 + i, A1);
  }

  it('takes lists in ring order; packed-starts-out-of-ring-order takes the second of a pair first (not with IN_ORDER)', async () => {
    const ids = async (r: PackedRingDevice): Promise<number[]> => {
      const out: number[] = [];
      for (let c = await r.pop(); c; c = await r.pop()) out.push(c.id);
      return out;
    };
    let m = new FakeMem(); three(m);
    expect(await ids(ring(m))).toEqual([10, 11, 12]);
    m = new FakeMem(); three(m);
    const bad = ring(m, { defects: ['packed-starts-out-of-ring-order'] });
    expect(await bad.pending()).toBe(3);
    expect(await ids(bad)).toEqual([11, 10, 12]);
    m = new FakeMem(); three(m);
    expect(await ids(ring(m, { defects: ['packed-starts-out-of-ring-order'], inOrder: true }))).toEqual([10, 11, 12]);
    // A lone list is taken as it is.
    m = new FakeMem(); m.desc(RING, 0, DATA, 4, 7, A1);
    expect(await ids(ring(m, { defects: ['packed-starts-out-of-ring-order'] }))).toEqual([7]);
  });

  it('uses a NEXT-linked list in list order; packed-list-in-address-order sorts by address, not in indirect tables', async () => {
    const m = new FakeMem();
    m.desc(RING, 0, DATA + 0x200, 4, 0, A1 | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 1, DATA + 0x100, 4, 0, A1 | VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
    m.desc(RING, 2, DATA, 4, 3, A1 | VIRTQ_DESC_F_WRITE);
    expect((await ring(m).pop())!.writable.map((b) => b.addr)).toEqual([DATA + 0x100, DATA]);
    expect((await ring(m, { defects: ['packed-list-in-address-order'] }).pop())!.writable.map((b) => b.addr)).toEqual([DATA, DATA + 0x100]);
    m.desc(TABLE, 0, DATA + 0x100, 4, 0, VIRTQ_DESC_F_WRITE);
    m.desc(TABLE, 1, DATA, 4, 0, VIRTQ_DESC_F_WRITE);
    m.desc(RING, 0, TABLE, 2 * PDESC_SIZE, 4, A1 | VIRTQ_DESC_F_INDIRECT);
    expect((await ring(m, { defects: ['packed-list-in-address-order'] }).pop())!.writable.map((b) => b.addr)).toEqual([DATA + 0x100, DATA]);
  });

  it('indirect-write-flag-rejected: WRITE on the descriptor referring to a table is an error', async () => {
    const m = new FakeMem();
    m.desc(TABLE, 0, DATA, 8, 0, VIRTQ_DESC_F_WRITE);
    m.desc(RING, 0, TABLE, PDESC_SIZE, 4, A1 | VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE);
    await expect(ring(m, { defects: ['indirect-write-flag-rejected'] }).pop()).rejects.toThrow(/WRITE set on an indirect/);
    m.desc(RING, 0, TABLE, PDESC_SIZE, 4, A1 | VIRTQ_DESC_F_INDIRECT);
    expect((await ring(m, { defects: ['indirect-write-flag-rejected'] }).pop())!.writableLen).toBe(8);
  });
});

describe('PackedRingDevice: used descriptors', () => {
  async function popTwo(m: FakeMem, o: Parameters<typeof ring>[1] = {}) {
    m.desc(RING, 0, DATA, 4, 5, A1 | VIRTQ_DESC_F_NEXT);
    m.desc(RING, 1, DATA + 4, 4, 5, A1 | VIRTQ_DESC_F_WRITE);
    m.desc(RING, 2, DATA + 8, 4, 6, A1 | VIRTQ_DESC_F_WRITE);
    const r = ring(m, o);
    await r.pop(); await r.pop();
    return r;
  }

  it('writes id/len then flags (AVAIL = USED = wrap, WRITE when len > 0), skipping the list length', async () => {
    const m = new FakeMem();
    const steps: UsedWriteStep[] = [];
    let flagsAtBody = -1;
    const r = await popTwo(m, { onUsedWrite: (s) => { steps.push(s); if (s === 'body') flagsAtBody = m.used(0).flags; } });
    m.writes = [];
    await r.push(6, 3); // completes out of order: the second buffer first, at the first position
    expect(m.used(0)).toEqual({ id: 6, len: 3, flags: VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE });
    expect(steps).toEqual(['body', 'flags']);
    expect(flagsAtBody).toBe(A1 | VIRTQ_DESC_F_NEXT); // still the driver's flags while id/len were written
    expect(m.writes.map((w) => w.addr - RING)).toEqual([8, 14]);
    expect(m.read32(RING) + m.read32(RING + 4)).toBe(DATA); // addr untouched
    expect(r.nextUsed).toEqual({ off: 1, wrap: 1 });
    await r.push(5, 0);
    expect(m.used(1)).toEqual({ id: 5, len: 0, flags: usedFlags(1) });
    expect(r.nextUsed).toEqual({ off: 3, wrap: 1 });
    expect(r.inFlight()).toEqual([]);
  });

  it('flags-before-body defect: the flags flip while the old id/len are still there', async () => {
    const m = new FakeMem();
    const seen: Array<{ step: UsedWriteStep; id: number }> = [];
    const r = await popTwo(m, { defects: ['packed-flags-before-body'], onUsedWrite: (s) => seen.push({ step: s, id: m.used(0).id }) });
    await r.push(6, 3);
    expect(seen).toEqual([{ step: 'flags', id: 5 }, { step: 'body', id: 6 }]);
  });

  it('toggles the device wrap counter at the end of the ring; the defect does not', async () => {
    for (const defects of [[], ['packed-used-wrap-not-toggled']]) {
      const m = new FakeMem();
      const r = ring(m, { size: 3, defects });
      r.nextAvail = { off: 2, wrap: 1 }; r.nextUsed = { off: 2, wrap: 1 };
      m.desc(RING, 2, DATA, 4, 1, A1 | VIRTQ_DESC_F_NEXT);
      m.desc(RING, 0, DATA, 4, 1, A0 | VIRTQ_DESC_F_WRITE);
      m.desc(RING, 1, DATA, 4, 2, A0 | VIRTQ_DESC_F_WRITE);
      await r.pop(); await r.pop();
      await r.push(1, 4); await r.push(2, 4);
      expect(r.nextUsed).toEqual({ off: 2, wrap: 0 });
      expect(m.used(2).flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)).toBe(usedFlags(1));
      expect(m.used(1).flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)).toBe(defects.length ? usedFlags(1) : usedFlags(0));
    }
  });

  it('IN_ORDER batch: one used descriptor with the last id, skipping the whole batch; out of order refused unless the defect', async () => {
    const m = new FakeMem();
    const r = await popTwo(m, { inOrder: true });
    await r.pushBatch([{ id: 5, len: 4 }, { id: 6, len: 2 }]);
    expect(m.used(0)).toMatchObject({ id: 6, len: 2 });
    expect(m.used(2).flags).toBe(A1 | VIRTQ_DESC_F_WRITE); // untouched
    expect(r.nextUsed).toEqual({ off: 3, wrap: 1 });
    await expect((await popTwo(new FakeMem(), { inOrder: true })).pushBatch([{ id: 6, len: 0 }])).rejects.toThrow(/ring order/);
    await expect((await popTwo(new FakeMem())).pushBatch([{ id: 5, len: 0 }])).rejects.toThrow(/IN_ORDER/);
    await expect((await popTwo(new FakeMem(), { inOrder: true })).push(6, 0)).rejects.toThrow(/IN_ORDER/);
    const m2 = new FakeMem();
    const bad = await popTwo(m2, { inOrder: true, defects: ['packed-in-order-out-of-order'] });
    await bad.push(6, 2);
    await bad.push(5, 4);
    expect([m2.used(0).id, m2.used(1).id]).toEqual([6, 5]);
  });
});

describe('PackedRingDevice: multi-buffer requests', () => {
  it('writes the later buffers\' used descriptors first and the first buffer\'s last; the defect reverses that', async () => {
    for (const [defects, order] of [[[], [2, 3, 0]], [['packed-multi-buffer-first-early'], [0, 2, 3]]] as const) {
      const m = new FakeMem();
      const r = ring(m, { size: 6, defects: [...defects] });
      m.desc(RING, 0, DATA, 8, 1, A1 | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
      m.desc(RING, 1, DATA + 8, 8, 1, A1 | VIRTQ_DESC_F_WRITE);
      m.desc(RING, 2, DATA + 16, 8, 2, A1 | VIRTQ_DESC_F_WRITE);
      m.desc(RING, 3, DATA + 24, 8, 3, A1 | VIRTQ_DESC_F_WRITE);
      for (let i = 0; i < 3; i++) await r.pop();
      m.writes = [];
      await r.pushMulti([{ id: 1, len: 16 }, { id: 2, len: 8 }, { id: 3, len: 4 }]);
      const flagWrites = m.writes.filter((w) => (w.addr - RING) % 16 === 14).map((w) => (w.addr - RING - 14) / 16);
      expect(flagWrites).toEqual([...order]);
      expect([0, 2, 3].map((i) => m.used(i).id)).toEqual([1, 2, 3]);
      expect(r.nextUsed).toEqual({ off: 4, wrap: 1 });
    }
  });
});

describe('PackedRingDevice: notifications', () => {
  async function used(m: FakeMem, o: Parameters<typeof ring>[1], n: number) {
    const r = ring(m, { size: 4, ...o });
    for (let i = 0; i < n; i++) {
      m.desc(RING, i, DATA, 4, i, A1 | VIRTQ_DESC_F_WRITE);
      await r.pop();
      await r.push(i, 4);
    }
    return r;
  }

  it('driver event ENABLE → notify, DISABLE → not (defect: notifies), nothing used → not', async () => {
    const m = new FakeMem();
    let r = await used(m, {}, 1);
    expect(await r.shouldNotify(encodePos({ off: 1, wrap: 1 }))).toBe(false);
    expect(await r.shouldNotify(0x8000)).toBe(true);
    m.driverEvent({ off: 0, wrap: 1, flags: RING_EVENT_FLAGS_DISABLE });
    r = await used(m, {}, 1);
    expect(await r.shouldNotify()).toBe(false);
    r = await used(m, { defects: ['packed-notifies-despite-disable'] }, 1);
    expect(await r.shouldNotify()).toBe(true);
  });

  it('with EVENT_IDX, DESC: notify only when the event offset+wrap was just used; the defect always notifies', async () => {
    const m = new FakeMem();
    m.driverEvent({ off: 2, wrap: 1, flags: RING_EVENT_FLAGS_DESC });
    const r = await used(m, { eventIdx: true }, 2); // used offsets 0, 1
    expect(await r.shouldNotify()).toBe(false);
    m.desc(RING, 2, DATA, 4, 2, A1 | VIRTQ_DESC_F_WRITE);
    await r.pop(); await r.push(2, 4); // offset 2
    expect(await r.shouldNotify()).toBe(true);
    m.driverEvent({ off: 2, wrap: 0, flags: RING_EVENT_FLAGS_DESC }); // next lap: not yet
    const r2 = await used(m, { eventIdx: true }, 3);
    expect(await r2.shouldNotify()).toBe(false);
    const bad = await used(m, { eventIdx: true, defects: ['packed-ignores-event-desc'] }, 3);
    expect(await bad.shouldNotify()).toBe(true);
    // Without EVENT_IDX DESC is not a valid request: the device notifies.
    expect(await (await used(m, {}, 3)).shouldNotify()).toBe(true);
  });

  it('packed-no-notify-when-enabled: silent with ENABLE; packed-event-desc-late: the event hits a buffer late', async () => {
    const m = new FakeMem();
    expect(await (await used(m, { defects: ['packed-no-notify-when-enabled'] }, 1)).shouldNotify()).toBe(false);
    m.driverEvent({ off: 1, wrap: 1, flags: RING_EVENT_FLAGS_DESC });
    const r = ring(m, { size: 4, eventIdx: true, defects: ['packed-event-desc-late'] });
    const verdicts: boolean[] = [];
    for (let i = 0; i < 3; i++) { // used offsets 0, 1, 2: the event is at 1
      m.desc(RING, i, DATA, 4, i, A1 | VIRTQ_DESC_F_WRITE);
      await r.pop(); await r.push(i, 4);
      verdicts.push(await r.shouldNotify());
    }
    expect(verdicts).toEqual([false, false, true]);
  });

  it('device event suppression: DISABLE / ENABLE, DESC at the next available position with EVENT_IDX', async () => {
    const m = new FakeMem();
    const ev = () => decodeEventSuppress(m.bytes, DEVICE);
    const r = await used(m, {}, 2);
    await r.suppressNotifications(true);
    expect(ev().flags).toBe(RING_EVENT_FLAGS_DISABLE);
    await r.suppressNotifications(false);
    expect(ev().flags).toBe(RING_EVENT_FLAGS_ENABLE);
    const e = await used(m, { eventIdx: true }, 2);
    await e.suppressNotifications(false);
    expect(ev()).toEqual({ off: 2, wrap: 1, flags: RING_EVENT_FLAGS_DESC, reserved: 0 });
    await (await used(m, { defects: ['packed-bad-event-flags'] }, 0)).suppressNotifications(false);
    expect(ev().flags).toBe(3);
    await (await used(m, { defects: ['packed-event-desc-without-event-idx'] }, 0)).suppressNotifications(false);
    expect(ev().flags).toBe(RING_EVENT_FLAGS_DESC);
  });
});
