// `virtio-cts clauses`: list the normative clauses of a spec version (committed index, no
// text) or of a spec folder (extracted now, with text and the folder's OASIS notice).
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { openSpec, type ClauseTexts } from '../../spec-refs/build.ts';
import { parseRoles, readSpecNotice } from '../../spec-refs/load.ts';
import type { ClauseIndex, IndexedClause } from '../../spec-refs/types.ts';

interface Opts { specVersion?: string; specDir?: string; role?: string; area?: string; json?: boolean }

export interface ClauseListing {
  spec: ClauseIndex['spec'];
  sections: { number: string; title: string; label: string | null; aliases: string[]; kind: string }[];
  clauses: (IndexedClause & { text?: string; lead?: string; scope?: string })[];
  /** The OASIS notice of the spec folder, present whenever clause text is. */
  notice?: string;
}

/** Filters by role and area; sections are kept when unfiltered, else only those holding a listed clause. */
export function listClauses(index: ClauseIndex, o: { role?: string; area?: string }, texts?: ClauseTexts): ClauseListing {
  const roles = parseRoles(o.role);
  if (o.area !== undefined) {
    const areas = [...new Set(index.clauses.map((c) => c.area))].sort();
    if (!areas.includes(o.area)) throw new UsageError(`unknown area '${o.area}' in ${index.spec.version} (known: ${areas.join(', ')})`);
  }
  const clauses = index.clauses.filter((c) => (!roles || roles.includes(c.role)) && (o.area === undefined || c.area === o.area));
  const filtered = roles !== undefined || o.area !== undefined;
  const labels = new Set(clauses.map((c) => c.label));
  const sections = index.sections
    .filter((s) => !filtered || [s.label, ...s.aliases].some((l) => l !== null && labels.has(l)))
    .map((s) => ({ number: s.number, title: s.title, label: s.label, aliases: s.aliases, kind: s.kind }));
  return {
    spec: index.spec,
    sections,
    clauses: clauses.map((c) => {
      const t = texts?.get(c.id);
      return {
        ...c,
        ...(t?.text !== undefined ? { text: t.text } : {}),
        ...(t?.lead ? { lead: t.lead } : {}),
        ...(t?.scope ? { scope: t.scope } : {}),
      };
    }),
  };
}

function printTable(l: ClauseListing): void {
  const out: string[] = [];
  const idWidth = Math.min(90, Math.max(2, ...l.clauses.map((c) => c.id.length)));
  out.push(`VIRTIO ${l.spec.version}${l.spec.revisionDate ? ` (${l.spec.revisionDate})` : ''}: ${l.clauses.length} clauses`);
  out.push(`${'id'.padEnd(idWidth)}  ${'§ ¶'.padEnd(18)}  keywords`);
  for (const c of l.clauses) {
    out.push(`${c.id.padEnd(idWidth)}  ${`§${c.section} ¶${c.ordinal}`.padEnd(18)}  ${c.keywords.join(', ')}`);
    if (c.text !== undefined) {
      const ctx = [c.scope, c.lead].filter(Boolean).join(' › ');
      out.push(`    ${ctx ? `(${ctx}) ` : ''}${c.text}`);
    }
  }
  if (l.notice) out.push('', `Clause text extracted from VIRTIO ${l.spec.version}; the spec's notice:`, '', l.notice);
  process.stdout.write(out.join('\n') + '\n');
}

export function register(program: Command): void {
  program.command('clauses')
    .description('list normative clauses: from the committed index (IDs, numbers, keywords) or, with --spec-dir, extracted from a spec folder with their text')
    .option('--spec-version <version>', 'committed spec version (default: the newest)')
    .option('--spec-dir <dir>', 'VIRTIO spec source folder (the one holding main.tex): list with clause text')
    .option('--role <role>', 'dev, drv, leg or inf (comma-separated for several)')
    .option('--area <area>', 'core, init, pci, mmio, net, blk, … (the second part of the ID)')
    .option('--json', 'print one JSON object {spec, sections, clauses}')
    .action(async (o: Opts) => {
      const spec = await openSpec(o);
      const listing = listClauses(spec.index, o, spec.texts);
      if (spec.dir) listing.notice = readSpecNotice(spec.dir);
      if (o.json) process.stdout.write(JSON.stringify(listing) + '\n');
      else printTable(listing);
    });
}
