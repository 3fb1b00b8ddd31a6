// Pieces of the driver that need no device: waits, canaries, buffer splitting, BAR sizing
// and the capability walk over a scripted PCI config space.
import { describe, expect, it } from 'vitest';
import type { Bus, PciAddress } from '../adapters/types.ts';
import { assignBars, readCaps } from './pci-caps.ts';
import { countChanged, writtenExtent } from './canary.ts';
import { splitBuffer, splitBySizes } from './layout.ts';
import { DriverTimeoutError, waitFor } from './wait.ts';

describe('waitFor', () => {
  it('returns the first defined value', async () => {
    let n = 0;
    expect(await waitFor(async () => (++n === 5 ? n : undefined), { timeoutMs: 1000, what: 'x' })).toBe(5);
  });
  it('times out with a wedged error naming what it waited for', async () => {
    const e = await waitFor(async () => undefined, { timeoutMs: 20, what: 'the moon' }).catch((x) => x);
    expect(e).toBeInstanceOf(DriverTimeoutError);
    expect(e.wedged).toBe(true);
    expect(e.message).toMatch(/the moon/);
  });
});

describe('canary and layout', () => {
  it('written extent and changed count', () => {
    expect(writtenExtent(new Uint8Array([1, 0xa5, 2, 0xa5, 0xa5]), 0xa5)).toBe(3);
    expect(writtenExtent(new Uint8Array([0xa5, 0xa5]), 0xa5)).toBe(0);
    expect(countChanged(new Uint8Array([1, 0xa5, 2]), 0xa5)).toBe(2);
  });
  it('splitBuffer covers the buffer exactly, splitBySizes follows the sizes', () => {
    const s = splitBuffer(0x1000, 10, 3, true);
    expect(s.map((b) => b.len)).toEqual([4, 3, 3]);
    expect(s.map((b) => b.addr)).toEqual([0x1000, 0x1004, 0x1007]);
    expect(splitBuffer(0x1000, 2, 5, false).map((b) => b.len)).toEqual([1, 1]);
    expect(splitBySizes(0x2000, [4, 4, 8], false).map((b) => [b.addr, b.len])).toEqual([[0x2000, 4], [0x2004, 4], [0x2008, 8]]);
  });
});

/** A PCI function with a 32-bit BAR0 (4 KiB), an I/O BAR1, a 64-bit BAR2 (16 KiB) and two caps. */
function fakePci(): { bus: Bus; cfg: DataView; allocs: number[] } {
  const cfg = new DataView(new ArrayBuffer(256));
  const sizes: Record<number, bigint> = { 0x10: 0xfffff000n, 0x18: 0xffffffffffffc000n };
  cfg.setUint32(0x10, 0, true);
  cfg.setUint32(0x14, 1, true);            // I/O
  cfg.setUint32(0x18, 0b100, true);        // 64-bit memory
  cfg.setUint16(0x06, 0x10, true);         // capability list present
  cfg.setUint8(0x34, 0x40);
  cfg.setUint8(0x40, 0x09); cfg.setUint8(0x41, 0x60); cfg.setUint8(0x42, 20); cfg.setUint8(0x43, 2); cfg.setUint8(0x44, 2);
  cfg.setUint32(0x48, 0x3000, true); cfg.setUint32(0x4c, 0x1000, true);
  cfg.setUint32(0x40 + 16, 4, true);       // notify_off_multiplier
  cfg.setUint8(0x60, 0x11); cfg.setUint8(0x61, 0x40); // MSI-X, next points back at 0x40: a loop
  cfg.setUint16(0x62, 2, true); cfg.setUint32(0x64, 0x2000, true); cfg.setUint32(0x68, 0x2800, true);
  const allocs: number[] = [];
  let next = 0xe0000000;
  const bus: Bus = {
    async pciConfigRead(_d: PciAddress, off: number, w: 1 | 2 | 4) { return w === 1 ? cfg.getUint8(off) : w === 2 ? cfg.getUint16(off, true) : cfg.getUint32(off, true); },
    async pciConfigWrite(_d: PciAddress, off: number, w: 1 | 2 | 4, v: number) {
      if (off >= 0x10 && off < 0x28 && w === 4) {
        // BARs: unimplemented ones and the I/O BAR are read-only here; sizing reads back the mask.
        if (sizes[off] === undefined && sizes[off - 4] === undefined) return;
        const mask = sizes[off] ?? sizes[off - 4];
        const part = sizes[off] !== undefined ? Number(mask & 0xffffffffn) | (cfg.getUint32(off, true) & 0xf) : Number(mask >> 32n);
        if (v === 0xffffffff) { cfg.setUint32(off, part >>> 0, true); return; }
      }
      if (w === 4) cfg.setUint32(off, v >>> 0, true); else if (w === 2) cfg.setUint16(off, v, true); else cfg.setUint8(off, v);
    },
    async read() { return 0; }, async write() {}, async read64() { return 0n; }, async write64() {},
    allocMmio(size: number) { const a = Math.ceil(next / size) * size; next = a + size; allocs.push(size); return a; },
    async irqLevel() { return false; }, async settle() {},
  };
  return { bus, cfg, allocs };
}

describe('PCI discovery', () => {
  const dev = { bus: 0, device: 1, fn: 0 };
  it('sizes memory BARs (32- and 64-bit), skips I/O BARs, programs the assigned addresses', async () => {
    const { bus, cfg, allocs } = fakePci();
    const bars = await assignBars(bus, dev);
    expect(allocs).toEqual([0x1000, 0x4000]);
    expect(bars.map((b) => [b.index, b.size, b.is64])).toEqual([[0, 0x1000, false], [2, 0x4000, true]]);
    expect(cfg.getUint32(0x10, true)).toBe(bars[0].addr);
    expect((cfg.getUint32(0x18, true) & ~0xf) >>> 0).toBe(bars[1].addr);
    expect(cfg.getUint32(0x1c, true)).toBe(0);
  });
  it('walks the capability list, reads virtio and MSI-X caps, stops on a loop', async () => {
    const { bus } = fakePci();
    const caps = await readCaps(bus, dev);
    expect(caps.ids.map((c) => c.id)).toEqual([0x09, 0x11]);
    expect(caps.virtio[0]).toMatchObject({ cfg_type: 2, bar: 2, offset: 0x3000, length: 0x1000, notify_off_multiplier: 4 });
    expect(caps.msix).toMatchObject({ tableSize: 3, tableBar: 0, tableOffset: 0x2000, pbaOffset: 0x2800 });
  });
});
