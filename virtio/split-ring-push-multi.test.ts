// SplitRingDevice.pushMulti: the used elements first, used idx once (a merged packet).
import { describe, expect, it } from 'vitest';
import { SplitRingDevice, type RingMemory } from './split-ring-device.ts';
import { USED } from './split-ring.ts';

const SIZE = 4, DEVICE = 0x3000;

class LogMem implements RingMemory {
  bytes = new Uint8Array(0x4000);
  writes: number[] = [];
  async read(addr: number, len: number) { return this.bytes.slice(addr, addr + len); }
  async write(addr: number, data: Uint8Array) { this.writes.push(addr); this.bytes.set(data, addr); }
}

describe('SplitRingDevice.pushMulti', () => {
  it('writes every used element, then used idx once, wrapping the ring', async () => {
    const m = new LogMem();
    const r = new SplitRingDevice(m, { size: SIZE, desc: 0x1000, driver: 0x2000, device: DEVICE }, { eventIdx: false, indirect: false });
    await r.push(9, 1);
    await r.push(9, 1);
    await r.push(9, 1);
    m.writes = [];
    await r.pushMulti([{ id: 1, len: 256 }, { id: 2, len: 256 }, { id: 3, len: 40 }]);
    const idxAt = DEVICE + USED.idx;
    expect(m.writes.filter((a) => a === idxAt)).toHaveLength(1);
    expect(m.writes[m.writes.length - 1]).toBe(idxAt);
    expect(r.usedIdx).toBe(6);
    const v = new DataView(m.bytes.buffer);
    const elem = (slot: number) => [v.getUint32(DEVICE + USED.ring + USED.ELEM_SIZE * slot, true), v.getUint32(DEVICE + USED.ring + USED.ELEM_SIZE * slot + 4, true)];
    expect([elem(3), elem(0), elem(1)]).toEqual([[1, 256], [2, 256], [3, 40]]);
    expect(v.getUint16(idxAt, true)).toBe(6);
  });

  it('does nothing for no elements', async () => {
    const m = new LogMem();
    const r = new SplitRingDevice(m, { size: SIZE, desc: 0x1000, driver: 0x2000, device: DEVICE }, { eventIdx: false, indirect: false });
    await r.pushMulti([]);
    expect(m.writes).toEqual([]);
  });
});
