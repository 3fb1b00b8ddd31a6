// `virtio-cts coverage`: how many clauses of a spec version have at least one scenario,
// per role and area, from the @clause:<id> tags of features/**/*.feature (Feature-, Rule-,
// Scenario- and Examples-level tags all count for the scenarios under them).
import type { Command } from 'commander';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { scenarioTable, updateReadme } from '../coverage-table.ts';
import { findFeatureFiles, planScenarios } from '../../steps/support/runner/plan.ts';
import { loadIndex, parseRoles, resolveClause, suggestClause } from '../../spec-refs/load.ts';
import type { ClauseIndex, IndexedClause as Clause, Keyword, Role } from '../../spec-refs/types.ts';

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

/**
 * A clause whose only keywords are MAY / OPTIONAL grants a permission: no behaviour of a
 * device or driver can violate it, so no scenario can FAIL it. Coverage counts them apart.
 */
const PERMISSIONS: readonly Keyword[] = ['MAY', 'OPTIONAL'];
export function isPermission(c: Pick<Clause, 'keywords'>): boolean {
  return c.keywords.length > 0 && c.keywords.every((k) => PERMISSIONS.includes(k));
}

export interface CoverageCounts {
  clauses: number;
  covered: number;
  /** The clauses with a MUST / SHOULD / SHALL / REQUIRED / RECOMMENDED kind of keyword. */
  obligations: number;
  obligationsCovered: number;
}

export interface CoverageReport {
  spec: ClauseIndex['spec'];
  features: number;
  scenarios: number;
  /** --section: the section numbers the report is limited to (rows per section, not area). */
  sections?: string[];
  totals: CoverageCounts;
  areas: ({ role: Role; area: string } & CoverageCounts)[];
  /** Tagged IDs that exist in the registry but not in this version (withdrawn or newer). */
  notInVersion: string[];
  uncovered?: { id: string; section: string; ordinal: number; keywords: string[] }[];
}

/** The --section value: comma-separated section numbers (2.8, 5.1, A); bad input is a UsageError. */
export function parseSections(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = list.find((x) => !/^(\d+|[A-Z])(\.\d+)*$/.test(x));
  if (!list.length || bad !== undefined) throw new UsageError(`--section: '${bad ?? v}' is not a section number (e.g. 2.8 or 5.1,5.3)`);
  return list;
}

const inSection = (section: string, prefix: string): boolean => section === prefix || section.startsWith(`${prefix}.`);

function count(r: CoverageCounts, c: Clause, covered: boolean): void {
  r.clauses++;
  if (covered) r.covered++;
  if (isPermission(c)) return;
  r.obligations++;
  if (covered) r.obligationsCovered++;
}

export function coverage(index: ClauseIndex, scan: TagScan, o: { roles?: Role[]; uncovered?: boolean; sections?: string[] } = {}): CoverageReport {
  const sectionOf = (c: Clause): string | undefined => o.sections?.find((p) => inSection(c.section, p));
  const clauses = index.clauses.filter((c) => (!o.roles || o.roles.includes(c.role)) && (!o.sections || sectionOf(c) !== undefined));
  const rows = new Map<string, CoverageReport['areas'][number]>();
  const zero = (): CoverageCounts => ({ clauses: 0, covered: 0, obligations: 0, obligationsCovered: 0 });
  for (const c of clauses) {
    // With --section a row is a section prefix (its clauses may span areas), else an area.
    const area = o.sections ? `§${sectionOf(c)}` : c.area;
    const k = `${c.role} ${area}`;
    const r = rows.get(k) ?? rows.set(k, { role: c.role, area, ...zero() }).get(k)!;
    count(r, c, scan.covered.has(c.id));
  }
  const totals = zero();
  for (const c of clauses) count(totals, c, scan.covered.has(c.id));
  const roleOrder = ['dev', 'drv', 'leg', 'inf'];
  const rank = (a: string) => (o.sections ? o.sections.indexOf(a.slice(1)) : 0);
  const areas = [...rows.values()].sort((a, b) => roleOrder.indexOf(a.role) - roleOrder.indexOf(b.role) || rank(a.area) - rank(b.area) || (a.area < b.area ? -1 : a.area > b.area ? 1 : 0));
  const inVersion = new Set(index.clauses.map((c) => c.id));
  return {
    spec: index.spec,
    features: scan.files,
    scenarios: scan.scenarios,
    ...(o.sections ? { sections: o.sections } : {}),
    totals,
    areas,
    notInVersion: [...scan.covered.keys()].filter((id) => !inVersion.has(id)).sort(),
    ...(o.uncovered ? {
      uncovered: clauses.filter((c) => !scan.covered.has(c.id)).map((c) => ({ id: c.id, section: c.section, ordinal: c.ordinal, keywords: c.keywords })),
    } : {}),
  };
}

function printReport(r: CoverageReport): void {
  const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');
  const out = [`Clause coverage, VIRTIO ${r.spec.version}: ${r.scenarios} scenarios in ${r.features} feature files${r.sections ? `; sections ${r.sections.join(', ')}` : ''}`, ''];
  const cols = (c: CoverageCounts) => [c.clauses, c.covered].map((n) => String(n).padStart(7)).join(' ') + ` ${pct(c.covered, c.clauses).padStart(7)}`
    + ` ${String(c.obligations).padStart(11)} ${String(c.obligationsCovered).padStart(7)} ${pct(c.obligationsCovered, c.obligations).padStart(7)}`;
  out.push(`${''.padEnd(16)} ${'all clauses'.padEnd(23)} ${'MUST/SHOULD clauses'}`);
  out.push(`${'role'.padEnd(5)} ${(r.sections ? 'section' : 'area').padEnd(10)} ${'clauses'.padStart(7)} ${'covered'.padStart(7)} ${'%'.padStart(7)} ${'obligations'.padStart(11)} ${'covered'.padStart(7)} ${'%'.padStart(7)}`);
  for (const a of r.areas) out.push(`${a.role.padEnd(5)} ${a.area.padEnd(10)} ${cols(a)}`);
  out.push(`${'total'.padEnd(16)} ${cols(r.totals)}`);
  out.push('', 'obligations: clauses with MUST, SHOULD, SHALL, REQUIRED or RECOMMENDED; the rest only grant a permission (MAY, OPTIONAL), which no scenario can fail.');
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
    .option('--section <numbers>', 'only clauses in these sections and their subsections, one row each (comma-separated, e.g. 2.8,5.1,5.3)')
    .option('--uncovered', 'also list the clauses without a scenario')
    .option('--json', 'print {spec, features, scenarios, sections?, totals, areas, notInVersion, uncovered?}')
    .option('--table', 'print the clause → scenario → defect table (markdown) instead')
    .option('--update-readme', 'with --table: write it into <features>/README.md between its scenario-table markers')
    .addHelpText('after', '\nA @clause tag the registry does not know is an error (exit 2, naming file:line).')
    .action(async (o: { specVersion?: string; features: string; role?: string; section?: string; uncovered?: boolean; json?: boolean; table?: boolean; updateReadme?: boolean }) => {
      const roles = parseRoles(o.role);
      const sections = parseSections(o.section);
      const index = loadIndex(o.specVersion);
      const scan = await scanFeatures(resolve(o.features));
      checkTags(scan);
      if (o.updateReadme && !o.table) throw new UsageError('--update-readme needs --table');
      if (o.table) {
        const dir = resolve(o.features);
        const cwd = dirname(dir);
        const table = scenarioTable(planScenarios(findFeatureFiles(relative(cwd, dir), cwd), cwd).scenarios, o.specVersion);
        if (!o.updateReadme) process.stdout.write(table + '\n');
        else process.stdout.write(`${join(dir, 'README.md')}: ${updateReadme(join(dir, 'README.md'), table) ? 'table updated' : 'table already up to date'}\n`);
        return;
      }
      const r = coverage(index, scan, { roles, uncovered: o.uncovered, sections });
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else printReport(r);
    });
}
