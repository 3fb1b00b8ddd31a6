// `virtio-cts spec-diff A B`: what changed between two spec versions, clause by clause.
// Two committed versions are compared through their registry IDs. A spec folder is
// extracted with text and its IDs carried forward from A, as the registry build does.
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { DEFAULT_SPEC_ROOT, extractDir } from '../../spec-refs/build.ts';
import { diffIndexes, onlyRoles, type SpecDiff } from '../../spec-refs/diff.ts';
import { hasVersion, latestVersion, loadIndex, loadRegistry, parseRoles } from '../../spec-refs/load.ts';
import { attachStableIds, carryStep, toIndex } from '../../spec-refs/registry.ts';
import type { ClauseIndex, ExtractedSpec, Role } from '../../spec-refs/types.ts';

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** A committed version name, or a folder; a committed name becomes its folder under
 *  specRoot when the other side is a folder (fuzzy matching needs text on both sides). */
function folderFor(arg: string, specRoot: string): string {
  if (isDir(arg)) return resolve(arg);
  if (!hasVersion(arg)) throw new UsageError(`'${arg}' is neither a committed spec version nor a folder`);
  const dir = join(specRoot, arg);
  if (!isDir(dir)) throw new UsageError(`comparing with a folder needs the source of ${arg}: ${dir} not found (--spec-root)`);
  return dir;
}

/** The two sides as indexes whose IDs are comparable. */
export async function diffSides(a: string, b: string, specRoot = DEFAULT_SPEC_ROOT): Promise<[ClauseIndex, ClauseIndex]> {
  for (const x of [a, b]) if (!isDir(x) && !hasVersion(x)) throw new UsageError(`'${x}' is neither a committed spec version nor a folder`);
  if (!isDir(a) && !isDir(b)) return [loadIndex(a), loadIndex(b)];
  const specA: ExtractedSpec = await extractDir(folderFor(a, specRoot), { withText: true });
  const specB: ExtractedSpec = await extractDir(folderFor(b, specRoot), { withText: true });
  let base: ClauseIndex | undefined;
  try { base = loadIndex(hasVersion(specA.version) ? specA.version : latestVersion()); } catch { base = undefined; }
  const idsA = attachStableIds(specA, base);
  const taken = new Set([...loadRegistry().entries.map((e) => e.id), ...idsA]);
  const step = carryStep(specA.clauses.map((clause, i) => ({ id: idsA[i], clause })), specB.clauses, taken,
    { prevSections: specA.sections, nextSections: specB.sections });
  return [toIndex(specA, idsA), toIndex(specB, step.ids)];
}

export async function specDiff(a: string, b: string, o: { specRoot?: string; roles?: Role[] } = {}): Promise<SpecDiff> {
  let [ia, ib] = await diffSides(a, b, o.specRoot);
  if (o.roles) { ia = onlyRoles(ia, o.roles); ib = onlyRoles(ib, o.roles); }
  return diffIndexes(ia, ib);
}

function printDiff(d: SpecDiff): void {
  const c = d.counts;
  const at = (x: { section: string; ordinal: number }) => `§${x.section} ¶${x.ordinal}`;
  const out = [
    `${d.from} → ${d.to}: ${c.from} → ${c.to} clauses`,
    `  unchanged ${c.unchanged}, added ${c.added}, changed ${c.changed} (${c.keywordChanges} with keyword changes), moved ${c.moved}, renumbered ${c.renumbered}, withdrawn ${c.withdrawn}`,
  ];
  const block = (title: string, rows: string[]) => { if (rows.length) out.push('', `${title} (${rows.length}):`, ...rows.map((r) => `  ${r}`)); };
  block('added', d.added.map((x) => `${x.id}  ${at(x)}  ${x.keywords.join(', ')}`));
  block('changed', d.changed.map((x) => `${x.id}  ${at(x)}  ${x.keywordsFrom ? `keywords ${x.keywordsFrom.join(', ')} → ${x.keywords.join(', ')}` : 'text edited'}`));
  block('moved', d.moved.map((x) => `${x.id}  ${at(x)}  from label ${x.labelFrom}`));
  block('renumbered', d.renumbered.map((x) => `${x.id}  §${x.sectionFrom} ¶${x.ordinalFrom} → ${at(x)}`));
  block('withdrawn', d.withdrawn.map((x) => `${x.id}  ${at(x)} in ${d.from}  ${x.keywords.join(', ')}`));
  process.stdout.write(out.join('\n') + '\n');
}

export function register(program: Command): void {
  program.command('spec-diff')
    .description('clauses added, changed (with keyword changes), moved, renumbered and withdrawn between two spec versions')
    .argument('<a>', 'older version: a committed version name (see `clauses --help`) or a spec folder')
    .argument('<b>', 'newer version: a committed version name or a spec folder')
    .option('--role <role>', 'only these roles: dev, drv, leg, inf (comma-separated)')
    .option('--spec-root <dir>', 'where committed versions\' sources live when the other side is a folder', DEFAULT_SPEC_ROOT)
    .option('--json', 'print {"added","changed","moved","renumbered","withdrawn"} plus "counts"')
    .action(async (a: string, b: string, o: { role?: string; specRoot: string; json?: boolean }) => {
      const d = await specDiff(a, b, { specRoot: o.specRoot, roles: parseRoles(o.role) });
      if (o.json) {
        process.stdout.write(JSON.stringify({
          from: d.from, to: d.to, counts: d.counts,
          added: d.added, changed: d.changed, moved: d.moved, renumbered: d.renumbered, withdrawn: d.withdrawn,
        }) + '\n');
      } else printDiff(d);
    });
}
