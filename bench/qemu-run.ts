// Whole QEMU runs through the CLI, as a user runs them: the full entropy+blk set on both
// transports with QEMU reused per feature file (the default) and fresh per scenario
// (--reuse never), and the per-scenario overhead of the runner on QEMU measured on
// trivial scenarios (one PCI config read each). Returns nothing when QEMU is missing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeQemu } from '../adapters/qemu/index.ts';
import type { Results } from '../reports/results.ts';
import { median } from './lib/stats.ts';
import type { BenchFigure } from './run.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_QEMU_RUNS ?? 3);

interface CliRun { wallMs: number; results: Results }

function cli(args: string[]): CliRun {
  const out = mkdtempSync(join(tmpdir(), 'cts-bench-'));
  try {
    const t0 = performance.now();
    const p = spawnSync(process.execPath, ['cli/bin.mjs', 'run', '--quiet', '--out', out, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    const wallMs = performance.now() - t0;
    if (p.status !== 0 && p.status !== 1) throw new Error(`virtio-cts run ${args.join(' ')} exited ${p.status}: ${p.stderr}`);
    return { wallMs, results: JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results };
  } finally { rmSync(out, { recursive: true, force: true }); }
}

/** `files` feature files of `per` trivial scenarios each, in a temp folder. */
function trivialFeatures(dir: string, files: number, per: number): string {
  const fdir = join(dir, 'features');
  mkdirSync(fdir, { recursive: true });
  for (let f = 0; f < files; f++) {
    const body = [`Feature: trivial ${f}`, ...Array.from({ length: per }, (_, i) => `  Scenario: read ${f}.${i}\n    Given the QEMU target answers\n    Then the vendor ID reads 0x1af4\n`)].join('\n');
    writeFileSync(join(fdir, `t${f}.feature`), body);
  }
  return fdir;
}

export default async function bench(): Promise<BenchFigure[]> {
  const probe = await probeQemu();
  if (!probe.available) return [{ name: 'qemu runs (skipped)', medianMs: 0, runs: 0, note: probe.reason }];
  const out: BenchFigure[] = [];

  // Per-scenario overhead: marginal wall time per trivial scenario (two run sizes, so
  // Node start-up and Cucumber loading cancel out), 4 scenarios per feature file as in the suite.
  const tmp = mkdtempSync(join(tmpdir(), 'cts-bench-trivial-'));
  try {
    const steps = 'tests/fixtures/qemu/steps/*.steps.ts';
    const small = trivialFeatures(join(tmp, 's'), 1, 4);
    const large = trivialFeatures(join(tmp, 'l'), 11, 4);
    for (const reuse of ['feature', 'never']) {
      const args = (f: string) => ['--target', 'qemu', '--device', 'entropy', '--transport', 'pci', '--reuse', reuse, '--features', f, '--steps', steps];
      const per: number[] = [];
      const durations: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const a = cli(args(small));
        const b = cli(args(large));
        per.push((b.wallMs - a.wallMs) / (b.results.scenarios.length - a.results.scenarios.length));
        durations.push(...b.results.scenarios.map((s) => s.durationMs));
      }
      out.push({ name: `per-scenario overhead, reuse ${reuse} (marginal wall)`, medianMs: median(per), runs: RUNS, note: `trivial scenario durationMs median ${median(durations).toFixed(1)} ms` });
    }
  } finally { rmSync(tmp, { recursive: true, force: true }); }

  // The full set: entropy+blk on pci and mmio.
  const full: Record<string, number[]> = {};
  let n = 0;
  let scenarioMedians: Record<string, number[]> = {};
  for (const reuse of ['feature', 'never']) {
    full[reuse] = [];
    scenarioMedians[reuse] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = cli(['--target', 'qemu', '--device', 'all', '--transport', 'all', '--reuse', reuse]);
      full[reuse].push(r.wallMs);
      scenarioMedians[reuse].push(median(r.results.scenarios.map((s) => s.durationMs)));
      n = r.results.scenarios.length;
    }
    out.push({ name: `full qemu run (entropy+blk, pci+mmio), reuse ${reuse}`, medianMs: median(full[reuse]), runs: RUNS, note: `${n} scenarios; scenario median ${median(scenarioMedians[reuse]).toFixed(1)} ms` });
  }
  out.push({ name: 'full qemu run: fresh / reuse', medianMs: median(full.never) / median(full.feature), runs: RUNS, note: 'ratio (not ms)' });
  return out;
}
