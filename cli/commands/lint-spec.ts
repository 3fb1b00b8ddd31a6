// `virtio-cts lint-spec DIR`: the extractor's findings about a spec source folder
// (spec-extraction.md §2.5), grouped by kind, for spec editors.
import type { Command } from 'commander';
import { extractDir } from '../../spec-refs/build.ts';
import type { LintFinding } from '../../spec-refs/types.ts';

type Kind = LintFinding['kind'];

/** Kinds that are defects of the spec source (exit 1). The others are informational:
 *  keyword sentences outside marked sections are indexed as role inf, and a skipped
 *  heading level is legal LaTeX (it prints a 0). */
export const ERROR_KINDS: Kind[] = ['noncanonical-keyword', 'dangling-ref', 'no-keywords', 'unreferenced-normative-label'];
export const NOTE_KINDS: Kind[] = ['keyword-outside-normative', 'skipped-level'];

export interface LintReport {
  spec: { version: string };
  counts: Partial<Record<Kind, number>>;
  errors: number;
  findings: Partial<Record<Kind, { source: string; message: string }[]>>;
}

export function groupLints(version: string, lints: LintFinding[]): LintReport {
  const r: LintReport = { spec: { version }, counts: {}, errors: 0, findings: {} };
  for (const kind of [...ERROR_KINDS, ...NOTE_KINDS]) {
    const xs = lints.filter((l) => l.kind === kind);
    if (!xs.length) continue;
    r.counts[kind] = xs.length;
    r.findings[kind] = xs.map((l) => ({ source: l.source, message: l.message }));
    if (ERROR_KINDS.includes(kind)) r.errors += xs.length;
  }
  // Kinds this command does not know yet still show up (as notes).
  for (const l of lints) {
    if (ERROR_KINDS.includes(l.kind) || NOTE_KINDS.includes(l.kind)) continue;
    r.counts[l.kind] = (r.counts[l.kind] ?? 0) + 1;
    (r.findings[l.kind] ??= []).push({ source: l.source, message: l.message });
  }
  return r;
}

export function register(program: Command): void {
  program.command('lint-spec')
    .description('check a VIRTIO spec source folder: non-canonical keywords, normative sections without keywords, normative labels missing from the conformance chapter, dangling refs, keywords outside normative sections, skipped heading levels')
    .argument('<dir>', 'spec source folder (the one holding main.tex)')
    .option('--json', 'print {spec, counts, errors, findings} grouped by kind')
    .addHelpText('after', `
Exit status: 0 when there is no finding of kinds ${ERROR_KINDS.join(', ')};
1 when there is (the other kinds, ${NOTE_KINDS.join(', ')}, are informational);
2 on bad input (missing folder, no main.tex, malformed TeX).`)
    .action(async (dir: string, o: { json?: boolean }) => {
      const spec = await extractDir(dir);
      const r = groupLints(spec.version, spec.lints);
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        const out: string[] = [];
        for (const [kind, xs] of Object.entries(r.findings)) {
          const tag = ERROR_KINDS.includes(kind as Kind) ? 'error' : 'note';
          out.push(`${kind} (${xs!.length}, ${tag}):`, ...xs!.map((x) => `  ${x.source}: ${x.message}`), '');
        }
        const summary = Object.entries(r.counts).map(([k, n]) => `${n} ${k}`).join(', ') || 'no findings';
        out.push(`${spec.version}: ${summary}; ${r.errors} error(s)`);
        process.stdout.write(out.join('\n') + '\n');
      }
      if (r.errors > 0) process.exitCode = 1;
    });
}
