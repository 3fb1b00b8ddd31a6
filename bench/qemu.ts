// QEMU adapter figures: start-to-ready (spawn → sockets → QMP → intercept → cont) and
// qtest round trips. Returns nothing when QEMU is not installed.
import { createQemuTarget, probeQemu } from '../adapters/qemu/index.ts';
import { median, timeRuns } from './lib/stats.ts';
import type { BenchFigure } from './run.ts';

export default async function bench(): Promise<BenchFigure[]> {
  const probe = await probeQemu();
  if (!probe.available) return [{ name: 'qemu (skipped)', medianMs: 0, runs: 0, note: probe.reason }];
  const out: BenchFigure[] = [];
  for (const transport of ['pci', 'mmio'] as const) {
    const runs = 10;
    const ready: number[] = [];
    const total = await timeRuns(runs, async () => {
      const t0 = performance.now();
      const t = await createQemuTarget({ device: 'entropy', transport });
      ready.push(performance.now() - t0);
      await t.close();
    });
    out.push({ name: `qemu ${transport}: start to ready`, medianMs: median(ready.slice(1)), runs, note: `QEMU ${probe.version}` });
    out.push({ name: `qemu ${transport}: start, ready and close`, medianMs: median(total), runs });
  }
  const t = await createQemuTarget({ device: 'entropy', transport: 'pci' });
  try {
    const n = 1000;
    const seq = await timeRuns(5, async () => { for (let i = 0; i < n; i++) await t.bus.read(0x100000, 4); });
    out.push({ name: 'qtest readl round trip, sequential (per request)', medianMs: median(seq) / n, runs: 5 * n, note: us(median(seq) / n) });
    const pipe = await timeRuns(5, () => Promise.all(Array.from({ length: n }, () => t.bus.read(0x100000, 4))));
    out.push({ name: 'qtest readl, pipelined (per request)', medianMs: median(pipe) / n, runs: 5 * n, note: us(median(pipe) / n) });
    const cfg = await timeRuns(5, async () => { for (let i = 0; i < 100; i++) await t.bus.pciConfigRead({ bus: 0, device: 1, fn: 0 }, 0, 4); });
    out.push({ name: 'PCI config read (outl+inl pair)', medianMs: median(cfg) / 100, runs: 500, note: us(median(cfg) / 100) });
    const resets = await timeRuns(20, () => t.reset());
    out.push({ name: 'reset() for reuse (QMP system_reset + RESET event)', medianMs: median(resets), runs: 20 });
    const buf = new Uint8Array(4096);
    const rw = await timeRuns(5, async () => { for (let i = 0; i < 100; i++) { await t.mem.write(0x200000, buf); await t.mem.read(0x200000, 4096); } });
    out.push({ name: 'guest memory 4 KiB write + read', medianMs: median(rw) / 100, runs: 500, note: us(median(rw) / 100) });
  } finally {
    await t.close();
  }
  return out;
}

function us(ms: number): string { return `${(ms * 1000).toFixed(1)} µs`; }
