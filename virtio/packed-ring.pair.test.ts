// The packed ring's two sides on one memory: PackedRingDriver makes buffers available,
// PackedRingDevice takes, fills and uses them. Seeded random list layouts, completion
// orders and batch sizes over several laps of rings of many sizes (powers of 2 or not),
// indirect tables, IN_ORDER batches, both event suppression modes, and the device defects
// the driver side must catch.
import { describe, expect, it } from 'vitest';
import type { GuestMemory } from '../adapters/types.ts';
import { PackedRingDevice, RingError, type PackedChain, type PackedDeviceRingOptions } from './packed-ring-device.ts';
import { PackedRingDriver, PackedUsedError, type DescBuffer, type PackedUsedElem } from './packed-ring-driver.ts';
import { RING_EVENT_FLAGS_DISABLE } from './packed-ring.ts';

class ArrayMemory implements GuestMemory {
  readonly bytes = new Uint8Array(1 << 22);
  private next = 0x1000;
  async read(addr: number, len: number) {
    if (addr + len > this.bytes.length) throw new RangeError(`read ${addr}+${len}`);
    return this.bytes.slice(addr, addr + len);
  }
  async write(addr: number, data: Uint8Array) {
    if (addr + data.length > this.bytes.length) throw new RangeError(`write ${addr}+${data.length}`);
    this.bytes.set(data, addr);
  }
  async alloc(size: number, align = 8) {
    const a = (this.next + align - 1) & ~(align - 1);
    this.next = a + size;
    if (this.next > this.bytes.length) throw new RangeError('out of memory');
    this.bytes.fill(0, a, a + size);
    return a;
  }
  async resetAllocator() { this.next = 0x1000; }
}

/** mulberry32: small, seedable, good enough to vary layouts reproducibly. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

interface Pair {
  m: ArrayMemory;
  drv: PackedRingDriver;
  dev: PackedRingDevice;
  /** Available-buffer notifications the driver sent; used-buffer notifications the device decided. */
  kicks: number;
  irqs: number;
}

async function pair(size: number, o: { eventIdx?: boolean; inOrder?: boolean; defects?: string[]; dev?: Partial<PackedDeviceRingOptions> } = {}): Promise<Pair> {
  const m = new ArrayMemory();
  const p = { m, kicks: 0, irqs: 0 } as Pair;
  p.drv = await PackedRingDriver.allocate(m, { size, eventIdx: o.eventIdx, inOrder: o.inOrder, notify: async () => { p.kicks++; } });
  p.dev = new PackedRingDevice(m, { size, desc: p.drv.desc, driver: p.drv.driver, device: p.drv.device }, {
    eventIdx: o.eventIdx ?? false, indirect: true, inOrder: o.inOrder, defect: (n) => (o.defects ?? []).includes(n), ...o.dev,
  });
  return p;
}

/** A buffer of r readable then w writable elements, readable bytes filled with a tag. */
async function makeBuffer(m: ArrayMemory, r: number, w: number, tag: number, maxLen = 24): Promise<{ bufs: DescBuffer[]; tag: number }> {
  const bufs: DescBuffer[] = [];
  for (let i = 0; i < r + w; i++) {
    const len = 1 + ((tag * 7 + i * 13) % maxLen);
    const addr = await m.alloc(len, 1);
    if (i < r) m.bytes.fill((tag + i) & 0xff, addr, addr + len);
    bufs.push({ addr, len, write: i >= r });
  }
  return { bufs, tag };
}

/** Device work: check the readable bytes carry the tag pattern, fill the writable ones with the first readable byte. */
async function serve(dev: PackedRingDevice, c: PackedChain): Promise<number> {
  const data = await dev.readAll(c);
  const fill = c.readableLen > 0 ? data[0] : 0x5a;
  const n = Math.min(c.writableLen, 1 + (c.id % Math.max(1, c.writableLen)));
  if (n > 0) await dev.writeAt(c, 0, new Uint8Array(n).fill(fill));
  return c.writableLen > 0 ? n : 0;
}

function checkElem(m: ArrayMemory, e: PackedUsedElem, expectTag: number) {
  const w = e.chain.buffers.filter((b) => b.write);
  const r = e.chain.buffers.filter((b) => !b.write);
  const fill = r.length > 0 ? expectTag & 0xff : 0x5a;
  // The first len bytes of the writable space carry the fill; readable buffers untouched.
  let left = e.len;
  for (const b of w) {
    const n = Math.min(left, b.len);
    expect([...m.bytes.subarray(b.addr, b.addr + n)].every((x) => x === fill)).toBe(true);
    left -= n;
  }
  r.forEach((b, i) => expect(m.bytes[b.addr]).toBe((expectTag + i) & 0xff));
}

describe('packed ring: driver and device on one memory', () => {
  for (const size of [1, 2, 3, 5, 8, 17, 64, 100]) {
    it(`size ${size}: random lists, random completion order, ≥ 4 laps, data and ids intact`, async () => {
      const R = rng(size * 977 + 1);
      const p = await pair(size);
      const tags = new Map<number, number>();
      let done = 0, tag = 1;
      const target = Math.max(40, size * 6);
      const taken: PackedChain[] = [];
      let laps = 0, wrap = p.drv.usedPosition().wrap;
      while (done < target) {
        // Post a few buffers while there is room.
        for (let k = R.int(0, 3); k > 0; k--) {
          const free = p.drv.numFree();
          if (free === 0) break;
          const useIndirect = R.next() < 0.2;
          const n = useIndirect ? R.int(1, 6) : R.int(1, Math.min(free, R.next() < 0.1 ? size : 4));
          const r = R.int(0, n - (R.next() < 0.8 ? 1 : 0));
          const b = await makeBuffer(p.m, r, n - r, tag);
          const id = await p.drv.add(b.bufs, { indirect: useIndirect });
          tags.set(id, tag++);
        }
        await p.drv.publish();
        for (;;) { const c = await p.dev.pop(); if (!c) break; taken.push(c); }
        // Complete a random subset in random order.
        for (let k = R.int(0, taken.length); k > 0; k--) {
          const c = taken.splice(R.int(0, taken.length - 1), 1)[0];
          await p.dev.push(c.id, await serve(p.dev, c));
        }
        for (;;) {
          const e = await p.drv.getUsed();
          if (!e) break;
          checkElem(p.m, e, tags.get(e.id)!);
          done++;
          if (p.drv.usedPosition().wrap !== wrap) { laps++; wrap = p.drv.usedPosition().wrap; }
        }
        if (p.drv.numFree() === 0 && taken.length === 0 && p.drv.inFlight().length === 0) throw new Error('stuck');
      }
      // The used position moved past the ring end at least 4 times.
      expect(laps).toBeGreaterThanOrEqual(4);
      expect(p.drv.usedPosition()).toEqual(p.dev.nextUsed);
      await p.m.resetAllocator();
    });
  }

  it('counts laps: wrap counters on both sides agree after every buffer', async () => {
    const p = await pair(7);
    let toggles = 0, last = p.drv.usedPosition().wrap;
    for (let i = 0; i < 60; i++) {
      const b = await makeBuffer(p.m, 1, 1, i + 1);
      const id = await p.drv.add(b.bufs);
      await p.drv.publish();
      const c = (await p.dev.pop())!;
      expect(c.id).toBe(id);
      expect(c.position).toEqual(p.drv.chain(id)!.position);
      await p.dev.push(c.id, await serve(p.dev, c));
      const e = (await p.drv.getUsed())!;
      checkElem(p.m, e, i + 1);
      expect(p.drv.usedPosition()).toEqual(p.dev.nextUsed);
      expect(p.drv.availPosition()).toEqual(p.dev.nextAvail);
      if (p.drv.usedPosition().wrap !== last) { toggles++; last = p.drv.usedPosition().wrap; }
    }
    expect(toggles).toBeGreaterThanOrEqual(16); // 120 descriptors over a ring of 7
  });

  it('lists as long as the whole ring, again and again (size 5 and 6)', async () => {
    for (const size of [5, 6]) {
      const p = await pair(size);
      for (let i = 0; i < 7; i++) {
        const b = await makeBuffer(p.m, 2, size - 2, i + 3);
        const id = await p.drv.add(b.bufs);
        await p.drv.publish();
        const c = (await p.dev.pop())!;
        expect(c.descCount).toBe(size);
        await p.dev.push(id, await serve(p.dev, c));
        checkElem(p.m, (await p.drv.getUsed())!, i + 3);
      }
    }
  });

  it('IN_ORDER: random batch sizes, one used descriptor per batch, skipped buffers returned in order', async () => {
    const R = rng(42);
    const p = await pair(11, { inOrder: true });
    const tags = new Map<number, number>();
    const posted: number[] = [];
    const got: number[] = [];
    let tag = 1, skippedSeen = 0;
    while (got.length < 150) {
      while (p.drv.numFree() > 4) {
        const n = R.int(1, 3);
        const b = await makeBuffer(p.m, 1, n - 1 + (R.next() < 0.5 ? 1 : 0), tag);
        const id = await p.drv.add(b.bufs, { indirect: R.next() < 0.2 });
        tags.set(id, tag++);
        posted.push(id);
      }
      await p.drv.publish();
      const batch: Array<{ id: number; len: number }> = [];
      for (;;) { const c = await p.dev.pop(); if (!c) break; batch.push({ id: c.id, len: await serve(p.dev, c) }); }
      while (batch.length) await p.dev.pushBatch(batch.splice(0, R.int(1, batch.length)));
      for (;;) {
        const e = await p.drv.getUsed();
        if (!e) break;
        if (e.skipped) { skippedSeen++; expect(e.len).toBe(e.chain.writableBytes); } else checkElem(p.m, e, tags.get(e.id)!);
        got.push(e.id);
      }
    }
    expect(got).toEqual(posted.slice(0, got.length));
    expect(skippedSeen).toBeGreaterThan(20);
    expect(p.drv.usedPosition()).toEqual(p.dev.nextUsed);
  });

  describe('event suppression', () => {
    /**
     * A notification-driven loop: the device works only when kicked and re-arms its event
     * before going idle; the driver reads the used ring only when the device decided to
     * notify. Returns the counts; a lost notification shows up as "stuck".
     */
    async function run(p: Pair, n: number, seed: number) {
      const R = rng(seed);
      let done = 0, posted = 0, tag = 1, pendingIrq = false;
      await p.dev.suppressNotifications(false);
      const device = async () => {
        await p.dev.suppressNotifications(true);
        const old = p.dev.usedIdx;
        for (;;) {
          const c = await p.dev.pop();
          if (!c) break;
          await p.dev.push(c.id, await serve(p.dev, c));
        }
        await p.dev.suppressNotifications(false);
        // Re-check after re-arming, as a real device must.
        for (;;) {
          const c = await p.dev.pop();
          if (!c) break;
          await p.dev.push(c.id, await serve(p.dev, c));
        }
        if (p.dev.usedIdx !== old && await p.dev.shouldNotify(old)) { p.irqs++; pendingIrq = true; }
      };
      let idle = 0;
      while (done < n) {
        for (let k = R.int(1, 4); k > 0 && p.drv.numFree() >= 2 && posted < n; k--) {
          const b = await makeBuffer(p.m, 1, 1, tag++);
          await p.drv.add(b.bufs);
          posted++;
        }
        if (await p.drv.kick()) await device();
        if (pendingIrq) {
          pendingIrq = false;
          for (let e = await p.drv.getUsed(); e; e = await p.drv.getUsed()) done++;
          idle = 0;
        } else if (++idle > 50) {
          throw new Error(`stuck: ${done} done, ${posted} posted, ${p.kicks} kicks, ${p.irqs} irqs`);
        }
      }
      return { kicks: p.kicks, irqs: p.irqs, done };
    }

    it('without EVENT_IDX (ENABLE/DISABLE): nothing lost', async () => {
      const r = await run(await pair(6), 300, 7);
      expect(r.done).toBe(300);
      expect(r.kicks).toBeGreaterThan(0);
    });

    it('with EVENT_IDX (DESC offset+wrap both ways): nothing lost, over many laps of a size-5 ring', async () => {
      const p = await pair(5, { eventIdx: true });
      const r = await run(p, 300, 8);
      expect(r.done).toBe(300);
      expect(r.irqs).toBeGreaterThan(0);
    });

    for (const eventIdx of [false, true]) {
      it(`ping-pong, one buffer at a time (EVENT_IDX ${eventIdx}): every kick and every used notification needed is sent, over many laps`, async () => {
        const R = rng(eventIdx ? 11 : 12);
        const p = await pair(5, { eventIdx });
        await p.dev.suppressNotifications(false);
        for (let i = 0; i < 120; i++) {
          const n = R.int(1, 3);
          const id = await p.drv.add((await makeBuffer(p.m, n - 1, 1, i + 1)).bufs);
          // The device is idle with notifications enabled: the driver must notify.
          expect(await p.drv.kick(), `round ${i}`).toBe(true);
          await p.dev.suppressNotifications(true);
          const old = p.dev.usedIdx;
          const c = (await p.dev.pop())!;
          await p.dev.push(c.id, await serve(p.dev, c));
          await p.dev.suppressNotifications(false);
          // The driver waits for this buffer with notifications enabled: the device must notify.
          expect(await p.dev.shouldNotify(old), `round ${i}`).toBe(true);
          expect((await p.drv.getUsed())!.id).toBe(id);
        }
        expect(p.kicks).toBe(120);
      });
    }

    it('EVENT_IDX used event: the device notifies only when it reaches the driver\'s event position', async () => {
      const p = await pair(8, { eventIdx: true });
      await p.drv.setDriverEvent({ flags: 2, off: 3, wrap: 1 });
      for (let i = 0; i < 6; i++) await p.drv.add((await makeBuffer(p.m, 0, 1, i + 1)).bufs);
      await p.drv.publish();
      const decisions: boolean[] = [];
      for (let i = 0; i < 6; i++) {
        const c = (await p.dev.pop())!;
        await p.dev.push(c.id, 0);
        decisions.push(await p.dev.shouldNotify());
      }
      expect(decisions).toEqual([false, false, false, true, false, false]);
      const bad = await pair(8, { eventIdx: true, defects: ['packed-ignores-event-desc'] });
      await bad.drv.setDriverEvent({ flags: 2, off: 3, wrap: 1 });
      await bad.drv.add((await makeBuffer(bad.m, 0, 1, 1)).bufs);
      await bad.drv.publish();
      const c = (await bad.dev.pop())!;
      await bad.dev.push(c.id, 0);
      expect(await bad.dev.shouldNotify()).toBe(true);
    });

    it('available event: the driver notifies only when it makes the device\'s event position available', async () => {
      const p = await pair(4, { eventIdx: true });
      await p.drv.add((await makeBuffer(p.m, 0, 1, 1)).bufs);
      expect(await p.drv.kick()).toBe(true); // device area zero: ENABLE
      await p.dev.pop();
      await p.dev.suppressNotifications(false); // DESC at offset 1, wrap 1
      await p.drv.add((await makeBuffer(p.m, 0, 1, 2)).bufs); // offset 1
      expect(await p.drv.kick()).toBe(true);
      await p.drv.add((await makeBuffer(p.m, 0, 1, 3)).bufs); // offset 2: device not idle-armed there
      expect(await p.drv.kick()).toBe(false);
      expect(p.kicks).toBe(2);
    });

    it('driver DISABLE: no used-buffer notification; the defect notifies anyway', async () => {
      for (const [defects, want] of [[[], false], [['packed-notifies-despite-disable'], true]] as const) {
        const p = await pair(4, { defects: [...defects] });
        await p.drv.disableUsedNotifications();
        await p.drv.add((await makeBuffer(p.m, 0, 1, 1)).bufs);
        await p.drv.publish();
        const c = (await p.dev.pop())!;
        await p.dev.push(c.id, 1);
        expect(await p.dev.shouldNotify()).toBe(want);
        expect((await p.drv.driverEvent()).flags).toBe(RING_EVENT_FLAGS_DISABLE);
      }
    });
  });

  describe('device defects the driver side catches', () => {
    it('packed-uses-desc-avail-unchanged: a stale list tail from the previous lap is used → driver error', async () => {
      const run = async (defects: string[]) => {
        const p = await pair(4, { defects });
        // Lap 1: two lists of two, leaving tails (offsets 1 and 3) flagged AVAIL=1/USED=0.
        for (let i = 0; i < 2; i++) await p.drv.add((await makeBuffer(p.m, 1, 1, i + 1)).bufs);
        await p.drv.publish();
        for (let c = await p.dev.pop(); c; c = await p.dev.pop()) await p.dev.push(c.id, await serve(p.dev, c));
        await p.drv.getUsed(); await p.drv.getUsed();
        // Lap 2 (wrap 0): one single-descriptor buffer at offset 0; offset 1 still holds the stale tail.
        await p.drv.add((await makeBuffer(p.m, 0, 1, 3)).bufs);
        await p.drv.publish();
        for (let c = await p.dev.pop(); c; c = await p.dev.pop()) await p.dev.push(c.id, await serve(p.dev, c));
        const out: Array<PackedUsedElem | PackedUsedError> = [];
        for (let k = 0; k < 3; k++) {
          const e = await p.drv.getUsed().catch((x: unknown) => x as PackedUsedError);
          if (!e) break;
          out.push(e);
        }
        return out;
      };
      const good = await run([]);
      expect(good).toHaveLength(1);
      expect(good[0]).not.toBeInstanceOf(PackedUsedError);
      const bad = await run(['packed-uses-desc-avail-unchanged']);
      expect(bad.some((e) => e instanceof PackedUsedError)).toBe(true);
    });

    it('packed-used-wrap-not-toggled: the second lap\'s used flags are wrong → used-flags', async () => {
      const p = await pair(3, { defects: ['packed-used-wrap-not-toggled'] });
      const errs: string[] = [];
      for (let i = 0; i < 5; i++) {
        await p.drv.add((await makeBuffer(p.m, 0, 1, i + 1)).bufs);
        await p.drv.publish();
        const c = (await p.dev.pop())!;
        await p.dev.push(c.id, 1);
        await p.drv.getUsed().catch((e: PackedUsedError) => errs.push(e.kind));
        if (errs.length) break;
      }
      expect(errs).toEqual(['used-flags']);
    });

    it('packed-in-order-out-of-order: a later buffer completed first → the driver takes the earlier one as used, unwritten', async () => {
      for (const [defects, ok] of [[[], true], [['packed-in-order-out-of-order'], false]] as const) {
        const p = await pair(6, { inOrder: true, defects: [...defects] });
        for (let i = 0; i < 2; i++) await p.drv.add((await makeBuffer(p.m, 1, 1, i + 1)).bufs);
        await p.drv.publish();
        const a = (await p.dev.pop())!, b = (await p.dev.pop())!;
        if (ok) {
          // A conforming device cannot complete b first.
          await expect(p.dev.push(b.id, 1)).rejects.toThrow(/IN_ORDER/);
          await p.dev.push(a.id, await serve(p.dev, a));
        }
        await p.dev.push(b.id, await serve(p.dev, b));
        const first = (await p.drv.getUsed())!;
        expect(first.id).toBe(a.id);
        expect(first.skipped).toBe(!ok);
        // A skipped buffer counts as fully written (2.8.8): its bytes must be there.
        const w = first.chain.buffers[1];
        const written = [...p.m.bytes.subarray(w.addr, w.addr + Math.min(first.len, 1))].every((x) => x === 1);
        expect(written).toBe(ok);
      }
    });

    it('packed-flags-before-body: a driver polling when the flags flip sees the old id/len', async () => {
      for (const [defects, ok] of [[[], true], [['packed-flags-before-body'], false]] as const) {
        let p: Pair;
        let seen: string | undefined;
        p = await pair(4, {
          defects: [...defects],
          dev: {
            hooks: {
              onUsedWrite: async (step) => {
                if (seen !== undefined) return;
                // The driver polls right after each write: once the flags say used, the body must be final.
                const e = await p.drv.getUsed().catch((x: PackedUsedError) => x);
                if (e) seen = e instanceof PackedUsedError ? e.kind : `id ${e.id} len ${e.len} at ${step}`;
              },
            },
          },
        });
        await p.drv.add((await makeBuffer(p.m, 1, 1, 1)).bufs, { idInLastOnly: true });
        await p.drv.publish();
        const c = (await p.dev.pop())!;
        await p.dev.push(c.id, 1);
        expect(seen).toBe(ok ? 'id 0 len 1 at flags' : 'unknown-id');
      }
    });

    it('packed-multi-buffer-first-early: the driver sees the first buffer of a request before the rest', async () => {
      for (const [defects, ok] of [[[], true], [['packed-multi-buffer-first-early'], false]] as const) {
        let p: Pair;
        let writes = 0;
        const seenAt: number[] = [];
        p = await pair(8, {
          defects: [...defects],
          dev: {
            hooks: {
              onUsedWrite: async (step) => {
                if (step !== 'flags') return;
                writes++;
                for (let e = await p.drv.getUsed(); e; e = await p.drv.getUsed()) seenAt.push(writes);
              },
            },
          },
        });
        for (let i = 0; i < 3; i++) await p.drv.add((await makeBuffer(p.m, 0, 1 + (i % 2), i + 1)).bufs);
        await p.drv.publish();
        const cs = [(await p.dev.pop())!, (await p.dev.pop())!, (await p.dev.pop())!];
        await p.dev.pushMulti(cs.map((c) => ({ id: c.id, len: 1 })));
        // Conforming: nothing visible until the last write, then all three at once.
        expect(seenAt).toEqual(ok ? [3, 3, 3] : [1, 2, 3]);
      }
    });

    it('packed-writes-device-readable: the readable buffer changes', async () => {
      for (const [defects, changed] of [[[], false], [['packed-writes-device-readable'], true]] as const) {
        const p = await pair(4, { defects: [...defects] });
        const b = await makeBuffer(p.m, 1, 1, 9);
        const before = p.m.bytes.slice(b.bufs[0].addr, b.bufs[0].addr + b.bufs[0].len);
        await p.drv.add(b.bufs);
        await p.drv.publish();
        const c = (await p.dev.pop())!;
        await p.dev.writeAt(c, 0, new Uint8Array([0xee]));
        const after = p.m.bytes.slice(b.bufs[0].addr, b.bufs[0].addr + b.bufs[0].len);
        expect(Buffer.compare(before, after) !== 0).toBe(changed);
      }
    });

    it('packed-rejects-full-ring-chain: a list as long as the ring makes the device fail', async () => {
      const p = await pair(3, { defects: ['packed-rejects-full-ring-chain'] });
      await p.drv.add((await makeBuffer(p.m, 1, 2, 1)).bufs);
      await p.drv.publish();
      await expect(p.dev.pop()).rejects.toBeInstanceOf(RingError);
    });
  });
});
