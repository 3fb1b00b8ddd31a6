// `npm run bench`: runs every bench/<name>.ts module (default export returning
// figures) and prints medians. Pass names to run a subset: `npm run bench -- spec-refs`.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchFigure { name: string; medianMs: number; runs: number; note?: string }

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, '')))
  .sort();

for (const f of files) {
  const mod = await import(join(here, f));
  const figures: BenchFigure[] = await mod.default();
  console.log(`\n${f.replace(/\.ts$/, '')}`);
  for (const x of figures) {
    console.log(`  ${x.name.padEnd(48)} median ${x.medianMs.toFixed(1).padStart(8)} ms  (${x.runs} runs)${x.note ? `  ${x.note}` : ''}`);
  }
}
