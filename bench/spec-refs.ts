// Clause extractor figures: median extractSpec time per spec version (budget for v1.4:
// < 3 s on the 2-core machine), plus `virtio-cts clauses --json` from the committed index
// (budget < 1 s, process start included) when that command exists.
//
// Why a hand-written scanner: on the flattened v1.4 source (1.3 MB) a full LaTeX parse
// alone took a median 8.1 s with @unified-latex/unified-latex-util-parse 1.8.4 and 1.1 s
// with latex-utensils 7.0.0 (scratch install, 3 runs each), before any tree walking;
// the whole extraction with the brace-balanced scanner takes ~0.15 s.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractSpec } from '../spec-refs/extract/index.ts';
import { median, timeRuns } from './lib/stats.ts';
import type { BenchFigure } from './run.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const specRoot = join(repoRoot, '..', 'shared', 'virtio-spec');
const VERSIONS = ['v1.0-cs04', 'v1.1-cs01', 'v1.2-cs01', 'v1.3-csd01', 'v1.4-cs01'];

export default async function bench(): Promise<BenchFigure[]> {
  const out: BenchFigure[] = [];
  for (const v of VERSIONS) {
    const dir = join(specRoot, v);
    if (!existsSync(join(dir, 'main.tex'))) {
      out.push({ name: `extract ${v} (skipped)`, medianMs: 0, runs: 0, note: `no ${dir}` });
      continue;
    }
    let clauses = 0;
    const runs = 7;
    const ms = await timeRuns(runs, () => { clauses = extractSpec(dir, { withText: true }).clauses.length; });
    out.push({ name: `extract ${v}`, medianMs: median(ms), runs, note: `${clauses} clauses` });
  }
  const bin = join(repoRoot, 'cli', 'bin.mjs');
  if (existsSync(bin) && existsSync(join(repoRoot, 'cli', 'commands', 'clauses.ts'))) {
    const runs = 5;
    let status: number | null = 0;
    const ms = await timeRuns(runs, () => {
      const r = spawnSync(process.execPath, [bin, 'clauses', '--json'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'ignore'], timeout: 30_000 });
      status = r.status;
    });
    out.push({ name: 'virtio-cts clauses --json (committed index)', medianMs: median(ms), runs, note: status === 0 ? 'process start included' : `exit ${status}` });
  }
  return out;
}
