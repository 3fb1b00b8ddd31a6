// Clause look-ups for the support code: display data (section, ordinal, keywords) of a
// stable clause ID in the spec version the run uses, from the committed index.
import { latestVersion, resolveClause } from '../../spec-refs/load.ts';

export interface ClauseInfo {
  id: string;
  label: string;
  area: string;
  section: string;
  ordinal: number;
  keywords: string[];
  features: string[];
}

let version: string | undefined;

/** Called once per run (BeforeAll) with the run's --spec-version. */
export function useSpecVersion(v: string | undefined): void { version = v; }

export function specVersion(): string { return version ?? latestVersion(); }

/**
 * The clause as it stands in the run's spec version; `undefined` when the ID is unknown
 * or the clause is absent from that version.
 */
export function clauseInfo(id: string, v: string = specVersion()): ClauseInfo | undefined {
  const r = resolveClause(id)?.rows.find((row) => row.version === v);
  if (!r) return undefined;
  const c = r.clause;
  return { id, label: c.label, area: c.area, section: c.section, ordinal: c.ordinal, keywords: [...c.keywords], features: [...c.features] };
}

const MUST_LEVEL = new Set(['MUST', 'MUST NOT', 'SHALL', 'SHALL NOT', 'REQUIRED']);

/**
 * Obligation level of a clause: MUST when any keyword is an absolute requirement, SHOULD
 * otherwise (SHOULD, SHOULD NOT, RECOMMENDED, MAY…). A clause that mixes both is judged
 * MUST unless the check says otherwise with an explicit level.
 */
export function levelOf(keywords: readonly string[]): 'MUST' | 'SHOULD' {
  return keywords.some((k) => MUST_LEVEL.has(k)) ? 'MUST' : 'SHOULD';
}
