// `virtio-cts coverage`: how many clauses of a spec version have at least one scenario,
// per role and area, from the @clause:<id> tags of features/**/*.feature (Feature-, Rule-,
// Scenario- and Examples-level tags all count for the scenarios under them).
import type { Command } from 'commander';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { loadIndex, parseRoles, resolveClause, suggestClause } from '../../spec-refs/load.ts';
import type { ClauseIndex, Role } from '../../spec-refs/types.ts';

export const DEFAULT_FEATURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../features');
const CLAUSE_TAG = '@clause:';

export interface ClauseTag { id: string; file: string; line: number }

export interface TagScan {
  files: number;
  scenarios: number;
  /** Clause IDs with the number of scenarios carrying them. */
  covered: Map<string, number>;
  tags: ClauseTag[];
}

function featureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...featureFiles(p));
    else if (e.name.endsWith('.feature')) out.push(p);
  }
  return out;
}

interface TagNode { name: string; location: { line: number } }
interface ScenarioNode { tags: readonly TagNode[]; examples: readonly { tags: readonly TagNode[] }[] }
interface ChildNode { scenario?: ScenarioNode; rule?: { tags: readonly TagNode[]; children: readonly ChildNode[] } }

/** Parses every feature file under `dir` with the Gherkin parser. */
export async function scanFeatures(dir: string): Promise<TagScan> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`features folder not found: ${dir}`);
  const { AstBuilder, GherkinClassicTokenMatcher, Parser } = await import('@cucumber/gherkin');
  const { IdGenerator } = await import('@cucumber/messages');
  const scan: TagScan = { files: 0, scenarios: 0, covered: new Map(), tags: [] };
  for (const file of featureFiles(dir)) {
    const parser = new Parser(new AstBuilder(IdGenerator.incrementing()), new GherkinClassicTokenMatcher());
    let doc;
    try {
      doc = parser.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UsageError(`${relative(process.cwd(), file)}: ${(e as Error).message.split('\n')[0]}`);
    }
    scan.files++;
    if (!doc.feature) continue;
    const clauseIds = (tags: readonly TagNode[]) => tags.filter((t) => t.name.startsWith(CLAUSE_TAG)).map((t) => {
      scan.tags.push({ id: t.name.slice(CLAUSE_TAG.length), file, line: t.location.line });
      return t.name.slice(CLAUSE_TAG.length);
    });
    const walk = (children: readonly ChildNode[], inherited: string[]) => {
      for (const ch of children) {
        if (ch.rule) walk(ch.rule.children, [...inherited, ...clauseIds(ch.rule.tags)]);
        if (!ch.scenario) continue;
        scan.scenarios++;
        const ids = new Set([...inherited, ...clauseIds(ch.scenario.tags), ...ch.scenario.examples.flatMap((x) => clauseIds(x.tags))]);
        for (const id of ids) scan.covered.set(id, (scan.covered.get(id) ?? 0) + 1);
      }
    };
    walk(doc.feature.children as readonly ChildNode[], clauseIds(doc.feature.tags));
  }
  return scan;
}

/** Throws a one-line UsageError for the first tag whose ID the registry never issued. */
export function checkTags(scan: TagScan): void {
  for (const t of scan.tags) {
    if (resolveClause(t.id)) continue;
    const hint = suggestClause(t.id);
    throw new UsageError(`${relative(process.cwd(), t.file)}:${t.line}: unknown clause @clause:${t.id}${hint ? ` (did you mean @clause:${hint}?)` : ''}`);
  }
}

export interface CoverageReport {
  spec: ClauseIndex['spec'];
  features: number;
  scenarios: number;
  totals: { clauses: number; covered: number };
  areas: { role: Role; area: string; clauses: number; covered: number }[];
  /** Tagged IDs that exist in the registry but not in this version (withdrawn or newer). */
  notInVersion: string[];
  uncovered?: { id: string; section: string; ordinal: number; keywords: string[] }[];
}

export function coverage(index: ClauseIndex, scan: TagScan, o: { roles?: Role[]; uncovered?: boolean } = {}): CoverageReport {
  const clauses = index.clauses.filter((c) => !o.roles || o.roles.includes(c.role));
  const rows = new Map<string, CoverageReport['areas'][number]>();
  for (const c of clauses) {
    const k = `${c.role} ${c.area}`;
    const r = rows.get(k) ?? rows.set(k, { role: c.role, area: c.area, clauses: 0, covered: 0 }).get(k)!;
    r.clauses++;
    if (scan.covered.has(c.id)) r.covered++;
  }
  const roleOrder = ['dev', 'drv', 'leg', 'inf'];
  const areas = [...rows.values()].sort((a, b) => roleOrder.indexOf(a.role) - roleOrder.indexOf(b.role) || (a.area < b.area ? -1 : a.area > b.area ? 1 : 0));
  const inVersion = new Set(index.clauses.map((c) => c.id));
  return {
    spec: index.spec,
    features: scan.files,
    scenarios: scan.scenarios,
    totals: { clauses: clauses.length, covered: clauses.filter((c) => scan.covered.has(c.id)).length },
    areas,
    notInVersion: [...scan.covered.keys()].filter((id) => !inVersion.has(id)).sort(),
    ...(o.uncovered ? {
      uncovered: clauses.filter((c) => !scan.covered.has(c.id)).map((c) => ({ id: c.id, section: c.section, ordinal: c.ordinal, keywords: c.keywords })),
    } : {}),
  };
}

function printReport(r: CoverageReport): void {
  const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');
  const out = [`Clause coverage, VIRTIO ${r.spec.version}: ${r.scenarios} scenarios in ${r.features} feature files`, ''];
  out.push(`${'role'.padEnd(5)} ${'area'.padEnd(10)} ${'clauses'.padStart(7)} ${'covered'.padStart(7)} ${'%'.padStart(7)}`);
  for (const a of r.areas) {
    out.push(`${a.role.padEnd(5)} ${a.area.padEnd(10)} ${String(a.clauses).padStart(7)} ${String(a.covered).padStart(7)} ${pct(a.covered, a.clauses).padStart(7)}`);
  }
  out.push(`${'total'.padEnd(16)} ${String(r.totals.clauses).padStart(7)} ${String(r.totals.covered).padStart(7)} ${pct(r.totals.covered, r.totals.clauses).padStart(7)}`);
  if (r.notInVersion.length) out.push('', `tagged clauses not in ${r.spec.version}: ${r.notInVersion.join(', ')}`);
  if (r.uncovered) {
    out.push('', `uncovered (${r.uncovered.length}):`, ...r.uncovered.map((u) => `  ${u.id}  §${u.section} ¶${u.ordinal}  ${u.keywords.join(', ')}`));
  }
  process.stdout.write(out.join('\n') + '\n');
}

export function register(program: Command): void {
  program.command('coverage')
    .description('per role and area, how many clauses have at least one scenario (@clause:<id> tags in the feature files)')
    .option('--spec-version <version>', 'committed spec version (default: the newest)')
    .option('--features <dir>', 'folder of .feature files', DEFAULT_FEATURES)
    .option('--role <role>', 'only these roles: dev, drv, leg, inf (comma-separated)')
    .option('--uncovered', 'also list the clauses without a scenario')
    .option('--json', 'print {spec, features, scenarios, totals, areas, notInVersion, uncovered?}')
    .addHelpText('after', '\nA @clause tag the registry does not know is an error (exit 2, naming file:line).')
    .action(async (o: { specVersion?: string; features: string; role?: string; uncovered?: boolean; json?: boolean }) => {
      const roles = parseRoles(o.role);
      const index = loadIndex(o.specVersion);
      const scan = await scanFeatures(resolve(o.features));
      checkTags(scan);
      const r = coverage(index, scan, { roles, uncovered: o.uncovered });
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else printReport(r);
    });
}
