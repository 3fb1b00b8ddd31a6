// A full reference run through the CLI (every device and transport, both rings), as a
// user runs it: wall time including Node start-up, and the median scenario duration.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Results } from '../reports/results.ts';
import { median } from './lib/stats.ts';
import type { BenchFigure } from './run.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_REFERENCE_RUNS ?? 3);

export default async function bench(): Promise<BenchFigure[]> {
  const wall: number[] = [];
  const scen: number[] = [];
  let n = 0;
  for (let i = 0; i < RUNS; i++) {
    const out = mkdtempSync(join(tmpdir(), 'cts-bench-ref-'));
    try {
      const t0 = performance.now();
      const p = spawnSync(process.execPath, ['cli/bin.mjs', 'run', '--ring', 'all', '--quiet', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
      wall.push(performance.now() - t0);
      if (p.status !== 0 && p.status !== 1) throw new Error(`virtio-cts run exited ${p.status}: ${p.stderr}`);
      const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
      n = r.scenarios.length;
      scen.push(median(r.scenarios.map((s) => s.durationMs)));
    } finally { rmSync(out, { recursive: true, force: true }); }
  }
  return [{ name: 'full reference run (all devices, transports and rings)', medianMs: median(wall), runs: RUNS, note: `${n} scenarios; scenario median ${median(scen).toFixed(1)} ms` }];
}
