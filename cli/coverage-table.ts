// The clause → scenario → defect table of features/README.md, generated from the feature
// files' tags and the defect catalog so it cannot drift from them (`virtio-cts coverage
// --table`; `--update-readme` rewrites the block between the markers, and a test checks it).
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from './errors.ts';
import { DEFECTS, type DefectInfo } from '../emulator/defects.ts';
import { loadIndex } from '../spec-refs/load.ts';
import { compareSections } from '../reports/aggregate.ts';
import type { PlannedScenario } from '../steps/support/runner/plan.ts';

export const TABLE_BEGIN = '<!-- scenario-table:begin (generated: node cli/bin.mjs coverage --table --update-readme) -->';
export const TABLE_END = '<!-- scenario-table:end -->';

type Ring = 'split' | 'packed';

function ringsOf(tags: string[]): Ring[] {
  if (tags.includes('@ring:any')) return ['split', 'packed'];
  return tags.includes('@ring:packed') ? ['packed'] : ['split'];
}

const tagValues = (tags: string[], kind: string): string[] => tags.filter((t) => t.startsWith(`@${kind}:`)).map((t) => t.slice(kind.length + 2));

/** The defects of a clause, `(name)` where it breaks it only as a side effect, `[split]` where a both-layout row has it on one ring. */
function defectsOf(id: string, rings: Ring[], catalog: readonly DefectInfo[]): string {
  const mark = (d: DefectInfo): string => (rings.length === 2 && d.rings?.length === 1 ? ` [${d.rings[0]}]` : '');
  const own = catalog.filter((d) => d.clause === id).map((d) => `${d.name}${mark(d)}`);
  const side = catalog.filter((d) => d.clause !== id && d.alsoBreaks?.includes(id)).map((d) => `(${d.name})${mark(d)}`);
  return [...side, ...own].join(', ') || '—';
}

export function scenarioTable(scenarios: PlannedScenario[], specVersion?: string, catalog: readonly DefectInfo[] = DEFECTS): string {
  const index = loadIndex(specVersion);
  const meta = new Map(index.clauses.map((c) => [c.id, c]));
  const where = (id: string): string => { const c = meta.get(id); return c ? `${c.section} ¶${c.ordinal}` : '—'; };
  const rows = new Map<string, { feature: string; clause: string; rings: Set<Ring>; devices: Set<string>; count: number }>();
  for (const s of scenarios) {
    for (const clause of s.clauses) {
      const feature = s.uri.replace(/^features\//, '');
      const k = `${feature}\n${clause}`;
      const r = rows.get(k) ?? rows.set(k, { feature, clause, rings: new Set(), devices: new Set(), count: 0 }).get(k)!;
      r.count++;
      for (const ring of ringsOf(s.tags)) r.rings.add(ring);
      const devices = tagValues(s.tags, 'device');
      for (const d of devices.length ? devices : ['all']) r.devices.add(d);
    }
  }
  const sorted = [...rows.values()].sort((a, b) => (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0)
    || compareSections(meta.get(a.clause)?.section, meta.get(b.clause)?.section) || (meta.get(a.clause)?.ordinal ?? 0) - (meta.get(b.clause)?.ordinal ?? 0)
    || (a.clause < b.clause ? -1 : 1));
  const clauses = new Set(sorted.map((r) => r.clause));
  const out = [
    TABLE_BEGIN,
    `${scenarios.length} scenarios (Scenario Outline examples counted one by one) over ${clauses.size} clauses of ${index.spec.version}. A defect in parentheses fails the`,
    'clause as a side effect (`alsoBreaks`); `[split]` / `[packed]` marks, on a row that runs on both layouts, a defect',
    'that exists on one only. Devices: `all` = every device type the run covers.',
    '',
    '| feature | § ¶ | clause | devices | rings | scenarios | defect(s) |',
    '|---|---|---|---|---|---|---|',
    ...sorted.map((r) => {
      const rings = (['split', 'packed'] as const).filter((x) => r.rings.has(x));
      return `| ${r.feature} | ${where(r.clause)} | \`${r.clause}\` | ${[...r.devices].sort().join(', ')} | ${rings.join(', ')} | ${r.count} | ${defectsOf(r.clause, rings, catalog)} |`;
    }),
    TABLE_END,
  ];
  return out.join('\n');
}

/** `readme` with the block between the markers replaced by `table`; throws when the markers are missing. */
export function withTable(readme: string, table: string): string {
  const a = readme.indexOf(TABLE_BEGIN);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new UsageError(`features/README.md has no ${TABLE_BEGIN} … ${TABLE_END} block`);
  return readme.slice(0, a) + table + readme.slice(b + TABLE_END.length);
}

export function updateReadme(path: string, table: string): boolean {
  const old = readFileSync(path, 'utf8');
  const next = withTable(old, table);
  if (next !== old) writeFileSync(path, next);
  return next !== old;
}
