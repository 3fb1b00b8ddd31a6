import { describe, expect, it } from 'vitest';
import { RingError, SplitRingDevice, type RingMemory } from './split-ring-device.ts';
import {
  AVAIL, DESC_SIZE, USED, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
} from './split-ring.ts';

const SIZE = 8;
const DESC = 0x1000, DRIVER = 0x2000, DEVICE = 0x3000, TABLE = 0x4000, DATA = 0x8000;

class FakeMem implements RingMemory {
  bytes = new Uint8Array(0x10000);
  async read(addr: number, len: number) {
    if (addr + len > this.bytes.length) throw new RangeError('out of range');
    return this.bytes.slice(addr, addr + len);
  }
  async write(addr: number, data: Uint8Array) {
    if (addr + data.length > this.bytes.length) throw new RangeError('out of range');
    this.bytes.set(data, addr);
  }
  dv(addr: number) { return new DataView(this.bytes.buffer, addr); }
  desc(base: number, i: number, addr: number, len: number, flags: number, next = 0) {
    const v = this.dv(base + i * DESC_SIZE);
    v.setBigUint64(0, BigInt(addr), true); v.setUint32(8, len, true); v.setUint16(12, flags, true); v.setUint16(14, next, true);
  }
  avail(heads: number[], startIdx = 0) {
    heads.forEach((h, k) => this.dv(DRIVER + AVAIL.ring + 2 * ((startIdx + k) % SIZE)).setUint16(0, h, true));
    this.dv(DRIVER + AVAIL.idx).setUint16(0, (startIdx + heads.length) & 0xffff, true);
  }
}

function ring(mem: FakeMem, o: { eventIdx?: boolean; indirect?: boolean; defects?: string[] } = {}) {
  return new SplitRingDevice(mem, { size: SIZE, desc: DESC, driver: DRIVER, device: DEVICE }, {
    eventIdx: o.eventIdx ?? false, indirect: o.indirect ?? true, defect: (n) => (o.defects ?? []).includes(n),
  });
}

describe('SplitRingDevice: chains', () => {
  it('pops a readable+writable chain and splits it', async () => {
    const m = new FakeMem();
    m.desc(DESC, 3, DATA, 16, VIRTQ_DESC_F_NEXT, 5);
    m.desc(DESC, 5, DATA + 16, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    m.desc(DESC, 1, DATA + 528, 1, VIRTQ_DESC_F_WRITE);
    m.avail([3]);
    const r = ring(m);
    const c = await r.pop();
    expect(c).toMatchObject({ head: 3, readableLen: 16, writableLen: 513, descIndices: [3, 5, 1], indirect: false });
    expect(c!.writable).toEqual([{ addr: DATA + 16, len: 512 }, { addr: DATA + 528, len: 1 }]);
    expect(await r.pop()).toBeUndefined();
    expect(r.lastAvailIdx).toBe(1);
  });

  it('detects a loop, a next out of range, a head out of range and readable-after-writable', async () => {
    const m = new FakeMem();
    m.desc(DESC, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    m.desc(DESC, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
    await expect(ring(m).walk(0)).rejects.toThrow(/loop/);
    m.desc(DESC, 1, DATA, 4, VIRTQ_DESC_F_NEXT, SIZE);
    await expect(ring(m).walk(0)).rejects.toThrow(/outside the table/);
    await expect(ring(m).walk(SIZE)).rejects.toThrow(RingError);
    m.desc(DESC, 0, DATA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    m.desc(DESC, 1, DATA, 4, 0);
    await expect(ring(m).walk(0)).rejects.toThrow(/readable buffer after/);
  });

  it('limits the total chain length and rejects an avail idx too far ahead', async () => {
    const m = new FakeMem();
    m.desc(DESC, 0, DATA, 0xffffffff, VIRTQ_DESC_F_NEXT, 1);
    m.desc(DESC, 1, DATA, 2, 0);
    await expect(ring(m).walk(0)).rejects.toThrow(/exceeds/);
    m.dv(DRIVER + AVAIL.idx).setUint16(0, SIZE + 1, true);
    await expect(ring(m).pop()).rejects.toThrow(/ahead/);
  });

  it('follows an indirect table, ignoring WRITE on the descriptor that refers to it', async () => {
    const m = new FakeMem();
    m.desc(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
    m.desc(TABLE, 1, DATA + 16, 8, VIRTQ_DESC_F_WRITE);
    m.desc(DESC, 2, TABLE, 2 * DESC_SIZE, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE);
    const c = await ring(m).walk(2);
    expect(c).toMatchObject({ indirect: true, readableLen: 16, writableLen: 8 });
    await expect(ring(m, { defects: ['indirect-write-flag-rejected'] }).walk(2)).rejects.toThrow(/WRITE/);
    await expect(ring(m, { indirect: false }).walk(2)).rejects.toThrow(/INDIRECT_DESC/);
  });

  it('follows a direct chain ending in an indirect descriptor', async () => {
    const m = new FakeMem();
    m.desc(TABLE, 0, DATA + 16, 8, VIRTQ_DESC_F_WRITE);
    m.desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 4);
    m.desc(DESC, 4, TABLE, DESC_SIZE, VIRTQ_DESC_F_INDIRECT);
    const c = await ring(m).walk(0);
    expect(c).toMatchObject({ indirect: true, readableLen: 16, writableLen: 8, descIndices: [0, 4] });
    await expect(ring(m, { defects: ['indirect-after-direct-unsupported'] }).walk(0)).rejects.toThrow(/after direct/);
  });

  it('rejects malformed indirect tables (bad length, INDIRECT+NEXT, nested, loop)', async () => {
    const m = new FakeMem();
    m.desc(DESC, 0, TABLE, 20, VIRTQ_DESC_F_INDIRECT);
    await expect(ring(m).walk(0)).rejects.toThrow(/multiple/);
    m.desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    await expect(ring(m).walk(0)).rejects.toThrow(/both/);
    m.desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT);
    m.desc(TABLE, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT);
    await expect(ring(m).walk(0)).rejects.toThrow(/nested/);
    m.desc(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    m.desc(TABLE, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
    await expect(ring(m).walk(0)).rejects.toThrow(/loop/);
  });

  it('gathers readable bytes and scatters writes across buffers', async () => {
    const m = new FakeMem();
    m.bytes.set([1, 2, 3], DATA); m.bytes.set([4, 5], DATA + 0x100);
    m.desc(DESC, 0, DATA, 3, VIRTQ_DESC_F_NEXT, 1);
    m.desc(DESC, 1, DATA + 0x100, 2, VIRTQ_DESC_F_NEXT, 2);
    m.desc(DESC, 2, DATA + 0x200, 2, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
    m.desc(DESC, 3, DATA + 0x300, 3, VIRTQ_DESC_F_WRITE);
    const r = ring(m);
    const c = await r.walk(0);
    expect([...await r.readAll(c)]).toEqual([1, 2, 3, 4, 5]);
    expect([...await r.readAll(c, 4)]).toEqual([1, 2, 3, 4]);
    await r.writeAt(c, 1, new Uint8Array([9, 8, 7]));
    expect([...m.bytes.slice(DATA + 0x200, DATA + 0x202)]).toEqual([0, 9]);
    expect([...m.bytes.slice(DATA + 0x300, DATA + 0x303)]).toEqual([8, 7, 0]);
    await expect(r.writeAt(c, 4, new Uint8Array(2))).rejects.toThrow(RingError);
  });
});

describe('SplitRingDevice: used ring and notifications', () => {
  it('pushes id/len and then the idx, wrapping the ring slot', async () => {
    const m = new FakeMem();
    const r = ring(m);
    r.usedIdx = SIZE - 1;
    await r.push(6, 513);
    const v = m.dv(DEVICE);
    expect(v.getUint32(USED.ring + USED.ELEM_SIZE * (SIZE - 1), true)).toBe(6);
    expect(v.getUint32(USED.ring + USED.ELEM_SIZE * (SIZE - 1) + 4, true)).toBe(513);
    expect(v.getUint16(USED.idx, true)).toBe(SIZE);
    await r.push(2, 1);
    expect(v.getUint32(USED.ring, true)).toBe(2);
  });

  it('used-len-after-idx: where the old len exceeds the buffer, len lands only after used idx', async () => {
    const lenAt = (m: FakeMem) => m.dv(DEVICE).getUint32(USED.ring + 4, true);
    for (const old of [0xffffffff, 100]) {
      const m = new FakeMem();
      m.desc(DESC, 0, DATA, 512, VIRTQ_DESC_F_WRITE);
      m.avail([0]);
      m.dv(DEVICE + USED.ring + 4).setUint32(0, old, true);
      const r = ring(m, { defects: ['used-len-after-idx'] });
      await r.pop();
      await r.push(0, 64);
      expect(m.dv(DEVICE).getUint16(USED.idx, true)).toBe(1);
      // 100 is within the 512 writable bytes: the defect stays dormant.
      expect(lenAt(m)).toBe(old > 512 ? old : 64);
      await new Promise((res) => setTimeout(res, 40));
      expect(lenAt(m)).toBe(64);
    }
  });

  it('without EVENT_IDX: notifies unless avail.flags has NO_INTERRUPT', async () => {
    const m = new FakeMem();
    const r = ring(m);
    await r.push(0, 1);
    expect(await r.shouldNotify(0)).toBe(true);
    expect(await ring(m, { defects: ['no-notify-when-flags-zero'] }).shouldNotify(0)).toBe(false);
    m.dv(DRIVER + AVAIL.flags).setUint16(0, VIRTQ_AVAIL_F_NO_INTERRUPT, true);
    expect(await r.shouldNotify(0)).toBe(false);
    expect(await ring(m, { defects: ['notifies-despite-no-interrupt'] }).shouldNotify(0)).toBe(true);
  });

  it('with EVENT_IDX: notifies exactly when used idx passes used_event', async () => {
    const m = new FakeMem();
    const r = ring(m, { eventIdx: true });
    m.dv(DRIVER + AVAIL.flags).setUint16(0, VIRTQ_AVAIL_F_NO_INTERRUPT, true); // ignored with EVENT_IDX
    m.dv(DRIVER + AVAIL.usedEvent(SIZE)).setUint16(0, 1, true);
    await r.push(0, 1); // idx 0 -> 1: used_event 1 not yet reached
    expect(await r.shouldNotify(0)).toBe(false);
    await r.push(0, 1); // 1 -> 2: the entry at idx 1 == used_event
    expect(await r.shouldNotify(1)).toBe(true);
    const late = ring(m, { eventIdx: true, defects: ['ignores-used-event'] });
    late.usedIdx = 2;
    expect(await late.shouldNotify(1)).toBe(false);
  });

  it('used_event means nothing without EVENT_IDX, avail.flags nothing with it (and their defect hooks)', async () => {
    const m = new FakeMem();
    m.dv(DRIVER + AVAIL.usedEvent(SIZE)).setUint16(0, 100, true);
    const plain = ring(m);
    await plain.push(0, 1);
    expect(await plain.shouldNotify(0)).toBe(true);
    const u = ring(m, { defects: ['uses-used-event-without-event-idx'] });
    u.usedIdx = 1;
    expect(await u.shouldNotify(0)).toBe(false);
    m.dv(DRIVER + AVAIL.flags).setUint16(0, VIRTQ_AVAIL_F_NO_INTERRUPT, true);
    m.dv(DRIVER + AVAIL.usedEvent(SIZE)).setUint16(0, 0, true);
    const e = ring(m, { eventIdx: true });
    e.usedIdx = 1;
    expect(await e.shouldNotify(0)).toBe(true);
    const h = ring(m, { eventIdx: true, defects: ['honours-no-interrupt-with-event-idx'] });
    h.usedIdx = 1;
    expect(await h.shouldNotify(0)).toBe(false);
    m.dv(DRIVER + AVAIL.usedEvent(SIZE)).setUint16(0, 5, true);
    expect(await e.shouldNotify(0)).toBe(false);
    const n = ring(m, { eventIdx: true, defects: ['notifies-before-used-event'] });
    n.usedIdx = 1;
    expect(await n.shouldNotify(0)).toBe(true);
  });

  it('sets used.flags / avail_event for avail-notification suppression', async () => {
    const m = new FakeMem();
    const flags = () => m.dv(DEVICE + USED.flags).getUint16(0, true);
    const r = ring(m);
    await r.suppressNotifications(true);
    expect(flags()).toBe(VIRTQ_USED_F_NO_NOTIFY);
    await r.suppressNotifications(false);
    expect(flags()).toBe(0);
    await ring(m, { defects: ['bad-used-flags'] }).suppressNotifications(false);
    expect(flags()).toBe(2);
    const e = ring(m, { eventIdx: true });
    e.lastAvailIdx = 5;
    await e.suppressNotifications(false);
    expect(flags()).toBe(0);
    expect(m.dv(DEVICE + USED.availEvent(SIZE)).getUint16(0, true)).toBe(5);
    await ring(m, { eventIdx: true, defects: ['used-flags-set-with-event-idx'] }).suppressNotifications(false);
    expect(flags()).toBe(VIRTQ_USED_F_NO_NOTIFY);
  });
});
