// Clause text for the reports, read at run time from a spec source folder (--spec-dir):
// the spec's wording is never committed, and shown only together with the folder's OASIS
// notice. A stable ID is matched to the folder's clauses by fingerprint (the registry
// records every version's fingerprint of the clause) and label.
import { basename } from 'node:path';
import { extractSpec } from '../spec-refs/extract/index.ts';
import { readSpecNotice, resolveClause } from '../spec-refs/load.ts';

export interface SpecText {
  /** Folder name, e.g. "v1.4-cs01". */
  version: string;
  notice: string;
  /** Clause ID → canonical clause text as extracted from the folder. */
  texts: Map<string, string>;
}

export function loadSpecText(dir: string, ids: Iterable<string>): SpecText {
  const notice = readSpecNotice(dir);
  const spec = extractSpec(dir, { withText: true });
  const byFp = new Map<string, { label: string; text?: string }[]>();
  for (const c of spec.clauses) byFp.set(c.fingerprint, [...(byFp.get(c.fingerprint) ?? []), c]);
  const texts = new Map<string, string>();
  for (const id of ids) {
    const r = resolveClause(id);
    if (!r) continue;
    const labels = new Set(r.rows.map((x) => x.clause.label));
    for (const fp of new Set(Object.values(r.entry.fingerprints))) {
      const hit = (byFp.get(fp) ?? []).find((c) => labels.has(c.label)) ?? byFp.get(fp)?.[0];
      if (hit?.text) { texts.set(id, hit.text); break; }
    }
  }
  return { version: spec.version || basename(dir), notice, texts };
}
