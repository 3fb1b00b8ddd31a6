// Driver side of the split ring against a plain byte array, checked byte by byte with the
// spec's layout (2.7): a minimal "device" here reads the rings directly.
import { describe, expect, it } from 'vitest';
import type { GuestMemory } from '../adapters/types.ts';
import { SplitRingDriver, UsedRingError, RingFullError, decodeDesc } from './split-ring-driver.ts';
import {
  AVAIL, DESC_SIZE, USED, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY,
} from './split-ring.ts';

/** Flat guest memory with a bump allocator (what a unit test needs, nothing more). */
class ArrayMemory implements GuestMemory {
  readonly bytes = new Uint8Array(1 << 20);
  private next = 0x1000;
  writes = 0;
  async read(addr: number, len: number) { return this.bytes.slice(addr, addr + len); }
  async write(addr: number, data: Uint8Array) { this.writes++; this.bytes.set(data, addr); }
  async alloc(size: number, align = 8) {
    const a = (this.next + align - 1) & ~(align - 1);
    this.next = a + size;
    this.bytes.fill(0, a, a + size);
    return a;
  }
  async resetAllocator() { this.next = 0x1000; }
  u16(a: number) { return this.bytes[a] | (this.bytes[a + 1] << 8); }
  setU16(a: number, v: number) { this.bytes[a] = v & 0xff; this.bytes[a + 1] = v >> 8; }
  setU32(a: number, v: number) { new DataView(this.bytes.buffer).setUint32(a, v, true); }
  desc(base: number, i: number) { return decodeDesc(this.bytes, base + DESC_SIZE * i); }
}

/** Device side stand-in: put (id, len) into used ring slot idx and bump used.idx. */
function pushUsed(m: ArrayMemory, vq: SplitRingDriver, id: number, len: number) {
  const idx = m.u16(vq.used + USED.idx);
  const e = vq.used + USED.ring + USED.ELEM_SIZE * (idx % vq.size);
  m.setU32(e, id);
  m.setU32(e + 4, len);
  m.setU16(vq.used + USED.idx, (idx + 1) & 0xffff);
}

async function ring(size = 8, eventIdx = false) {
  const m = new ArrayMemory();
  const vq = await SplitRingDriver.allocate(m, { size, eventIdx });
  return { m, vq };
}

describe('split ring, driver side', () => {
  it('allocates desc/avail/used with the spec alignment (16/2/4) and sizes', async () => {
    const m = new ArrayMemory();
    await m.alloc(3, 1); // misalign the allocator on purpose
    const vq = await SplitRingDriver.allocate(m, { size: 5 });
    expect(vq.desc % 16).toBe(0);
    expect(vq.avail % 2).toBe(0);
    expect(vq.used % 4).toBe(0);
    expect(vq.avail).toBeGreaterThanOrEqual(vq.desc + 16 * 5);
    expect(vq.used).toBeGreaterThanOrEqual(vq.avail + 4 + 2 * 5 + 2);
  });

  it('writes a direct chain: NEXT links, WRITE flags, head in avail.ring, idx only on publish', async () => {
    const { m, vq } = await ring();
    const head = await vq.add([
      { addr: 0x8000, len: 16, write: false },
      { addr: 0x9000, len: 512, write: true },
      { addr: 0xa000, len: 1, write: true },
    ]);
    expect(head).toBe(0);
    const d = [0, 1, 2].map((i) => m.desc(vq.desc, i));
    expect(d[0]).toEqual({ addr: 0x8000n, len: 16, flags: VIRTQ_DESC_F_NEXT, next: 1 });
    expect(d[1]).toEqual({ addr: 0x9000n, len: 512, flags: VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, next: 2 });
    expect(d[2]).toEqual({ addr: 0xa000n, len: 1, flags: VIRTQ_DESC_F_WRITE, next: 0 });
    expect(m.u16(vq.avail + AVAIL.ring)).toBe(0);
    expect(m.u16(vq.avail + AVAIL.idx)).toBe(0);
    expect(await vq.publish()).toBe(true);
    expect(m.u16(vq.avail + AVAIL.idx)).toBe(1);
    expect(vq.chain(head)?.writableBytes).toBe(513);
    expect(vq.numFree()).toBe(5);
  });

  it("indirect 'all': one INDIRECT descriptor, table of all buffers, WRITE on it only when asked", async () => {
    const { m, vq } = await ring();
    const bufs = [{ addr: 0x8000, len: 16, write: false }, { addr: 0x9000, len: 8, write: true }];
    const h = await vq.add(bufs, { indirect: 'all' });
    const d = m.desc(vq.desc, h);
    expect(d.flags).toBe(VIRTQ_DESC_F_INDIRECT);
    expect(d.len).toBe(32);
    expect(Number(d.addr) % 16).toBe(0);
    expect(m.desc(Number(d.addr), 0)).toEqual({ addr: 0x8000n, len: 16, flags: VIRTQ_DESC_F_NEXT, next: 1 });
    expect(m.desc(Number(d.addr), 1)).toEqual({ addr: 0x9000n, len: 8, flags: VIRTQ_DESC_F_WRITE, next: 0 });
    expect(vq.numFree()).toBe(7);
    const h2 = await vq.add(bufs, { indirect: 'all', indirectWriteFlag: true });
    expect(m.desc(vq.desc, h2).flags).toBe(VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE);
  });

  it("indirect 'tail': direct chain then a trailing INDIRECT descriptor without NEXT", async () => {
    const { m, vq } = await ring();
    const h = await vq.add([
      { addr: 0x8000, len: 16, write: false },
      { addr: 0x9000, len: 4, write: true },
      { addr: 0xa000, len: 1, write: true },
    ], { indirect: 'tail', tailCount: 2 });
    const d0 = m.desc(vq.desc, h);
    expect(d0.flags).toBe(VIRTQ_DESC_F_NEXT);
    const d1 = m.desc(vq.desc, d0.next);
    expect(d1.flags).toBe(VIRTQ_DESC_F_INDIRECT); // never INDIRECT|NEXT
    expect(d1.len).toBe(32);
    expect(m.desc(Number(d1.addr), 1)).toEqual({ addr: 0xa000n, len: 1, flags: VIRTQ_DESC_F_WRITE, next: 0 });
    expect(vq.chain(h)?.writableBytes).toBe(5);
  });

  it('recycles descriptors after the used element and reports used elements in order', async () => {
    const { m, vq } = await ring(4);
    const a = await vq.add([{ addr: 0x8000, len: 8, write: true }, { addr: 0x8100, len: 8, write: true }]);
    const b = await vq.add([{ addr: 0x9000, len: 8, write: true }, { addr: 0x9100, len: 8, write: true }]);
    await expect(vq.add([{ addr: 0, len: 1, write: true }])).rejects.toBeInstanceOf(RingFullError);
    await vq.publish();
    expect(await vq.getUsed()).toBeUndefined();
    pushUsed(m, vq, b, 3);
    pushUsed(m, vq, a, 16);
    expect(await vq.getUsed()).toMatchObject({ id: b, len: 3 });
    expect(await vq.getUsed()).toMatchObject({ id: a, len: 16 });
    expect(vq.numFree()).toBe(4);
    expect(vq.inFlight()).toEqual([]);
  });

  it('flags garbage: an id that is not a head in flight, len beyond the writable bytes, idx jump', async () => {
    const { m, vq } = await ring(4);
    const h = await vq.add([{ addr: 0x8000, len: 16, write: false }, { addr: 0x8100, len: 8, write: true }]);
    await vq.publish();
    pushUsed(m, vq, h + 1, 0); // descriptor 1 is in the chain but not its head
    await expect(vq.getUsed()).rejects.toMatchObject({ kind: 'unknown-id', id: h + 1 });
    pushUsed(m, vq, h, 9);
    const err = await vq.getUsed().catch((e) => e);
    expect(err).toBeInstanceOf(UsedRingError);
    expect(err).toMatchObject({ kind: 'len-beyond-writable', len: 9 });
    expect(vq.numFree()).toBe(4); // the chain was reclaimed before reporting
    const { m: m2, vq: vq2 } = await ring(4);
    m2.setU16(vq2.used + USED.idx, 5);
    await expect(vq2.getUsed()).rejects.toMatchObject({ kind: 'idx-jump' });
  });

  it('len check can be turned off so a scenario reads the raw element', async () => {
    const { m, vq } = await ring(4);
    const h = await vq.add([{ addr: 0x8000, len: 8, write: true }]);
    await vq.publish();
    pushUsed(m, vq, h, 100);
    expect(await vq.getUsed({ validate: false })).toMatchObject({ id: h, len: 100 });
  });

  it('notification decision without EVENT_IDX follows used.flags NO_NOTIFY', async () => {
    const { m, vq } = await ring();
    await vq.add([{ addr: 0x8000, len: 8, write: true }]);
    expect(await vq.publish()).toBe(true);
    m.setU16(vq.used + USED.flags, VIRTQ_USED_F_NO_NOTIFY);
    await vq.add([{ addr: 0x8000, len: 8, write: true }]);
    expect(await vq.publish()).toBe(false);
    expect(await vq.publish()).toBe(false); // nothing new: never notify
  });

  it('notification decision with EVENT_IDX uses avail_event (vring_need_event) and ignores the flags', async () => {
    const { m, vq } = await ring(8, true);
    m.setU16(vq.used + USED.flags, VIRTQ_USED_F_NO_NOTIFY);
    m.setU16(vq.used + USED.availEvent(8), 0); // notify when entry 0 is made available
    await vq.add([{ addr: 0x8000, len: 8, write: true }]);
    expect(await vq.publish()).toBe(true); // 0 → 1 passes avail_event 0
    await vq.add([{ addr: 0x8000, len: 8, write: true }]);
    expect(await vq.publish()).toBe(false); // 1 → 2 does not pass 0
    m.setU16(vq.used + USED.availEvent(8), 3);
    await vq.add([{ addr: 0x8000, len: 8, write: true }]);
    expect(await vq.publish()).toBe(false); // 2 → 3: entry 3 not yet available
    await vq.add([{ addr: 0x8000, len: 8, write: true }]);
    await vq.add([{ addr: 0x8000, len: 8, write: true }]);
    expect(await vq.publish()).toBe(true); // 3 → 5 passes 3
  });

  it('avail.flags and used_event are written where the spec puts them; used_event follows consumption', async () => {
    const { m, vq } = await ring(8, true);
    await vq.setAvailFlags(1);
    expect(m.u16(vq.avail + AVAIL.flags)).toBe(1);
    vq.autoUsedEvent = true;
    const h = await vq.add([{ addr: 0x8000, len: 8, write: true }]);
    await vq.publish();
    pushUsed(m, vq, h, 8);
    await vq.getUsed();
    expect(m.u16(vq.avail + AVAIL.usedEvent(8))).toBe(1); // ask for a notification at the next entry
    await vq.setUsedEvent(7);
    expect(m.u16(vq.avail + AVAIL.usedEvent(8))).toBe(7);
    expect(vq.autoUsedEvent).toBe(false);
  });

  it('wraps avail and used indices past 65535 and ring slots modulo queue_size', async () => {
    const { m, vq } = await ring(2);
    for (let i = 0; i < 65540; i++) {
      const h = await vq.add([{ addr: 0x8000, len: 4, write: true }]);
      await vq.publish();
      expect(m.u16(vq.avail + AVAIL.ring + 2 * (i % 2))).toBe(h);
      pushUsed(m, vq, h, 4);
      expect((await vq.getUsed())?.id).toBe(h);
    }
    expect(m.u16(vq.avail + AVAIL.idx)).toBe(65540 & 0xffff);
    expect(vq.lastUsedIdx()).toBe(65540 & 0xffff);
  });

  it('kick notifies only when the decision says so (or forced); waitUsed times out as wedged', async () => {
    const m = new ArrayMemory();
    let sent = 0;
    const vq = await SplitRingDriver.allocate(m, { size: 4, index: 2, notify: async () => { sent++; } });
    await vq.add([{ addr: 0x8000, len: 4, write: true }]);
    expect(await vq.kick()).toBe(true);
    m.setU16(vq.used + USED.flags, VIRTQ_USED_F_NO_NOTIFY);
    await vq.add([{ addr: 0x8000, len: 4, write: true }]);
    expect(await vq.kick()).toBe(false);
    expect(await vq.kick({ force: true })).toBe(true);
    expect(sent).toBe(2);
    expect(vq.notificationsSent).toBe(2);
    const e = await vq.waitUsed(10).catch((x) => x);
    expect(e.wedged).toBe(true);
    expect(e.message).toMatch(/queue 2/);
    pushUsed(m, vq, 0, 4);
    expect((await vq.waitUsed(100)).id).toBe(0);
  });
});
