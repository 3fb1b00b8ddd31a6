// Scenario verdicts → clause verdicts and totals. A clause's verdict is the worst of what
// its scenarios say about it, with one refinement: a scenario that FAILed (or WARNed) on
// clause X stopped there, so it says nothing about the OTHER clauses it tags; those get
// no contribution from it (INCONCLUSIVE if nothing else judged them).
import { SEVERITY, VERDICTS, worst, type Verdict } from './verdict.ts';
import type { ScenarioResult } from '../steps/support/runner/execute.ts';

export interface ClauseMeta {
  label: string;
  area: string;
  section: string;
  ordinal: number;
  keywords: string[];
}

export interface ClauseResult extends Partial<ClauseMeta> {
  id: string;
  /** "dev" | "drv" | … from the ID. */
  role: string;
  area: string;
  verdict: Verdict;
  /** Scenario ids (ScenarioResult.id) that tag or broke the clause. */
  scenarios: string[];
  /** Per scenario id: what that scenario says about this clause (absent = not judged). */
  contributions: Record<string, Verdict | 'UNJUDGED'>;
}

export type Totals = Record<Verdict, number>;

export interface AreaTotals { area: string; clauses: Totals; scenarios: number }

export function emptyTotals(): Totals {
  return Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Totals;
}

export function countVerdicts(vs: Iterable<Verdict>): Totals {
  const t = emptyTotals();
  for (const v of vs) t[v]++;
  return t;
}

/** What scenario `s` says about clause `id`. */
export function contribution(s: ScenarioResult, id: string): Verdict | 'UNJUDGED' {
  if ((s.verdict === 'FAIL' || s.verdict === 'WARN') && s.violation) {
    return s.violation.clause === id ? s.verdict : 'UNJUDGED';
  }
  return s.verdict;
}

/** `dev/core/device-reset#3c77b259` → role dev, area core. */
export function parseClauseId(id: string): { role: string; area: string } {
  const [role = '', area = ''] = id.split('#')[0].split('/');
  return { role, area };
}

/** Section numbers in document order ("2.10" after "2.9"; "" last). */
export function compareSections(a = '', b = ''): number {
  if (a === b) return 0;
  if (!a) return 1;
  if (!b) return -1;
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === undefined) return -1;
    if (pb[i] === undefined) return 1;
    const na = Number(pa[i]);
    const nb = Number(pb[i]);
    const d = Number.isNaN(na) || Number.isNaN(nb) ? pa[i].localeCompare(pb[i]) : na - nb;
    if (d) return d;
  }
  return 0;
}

export function aggregateClauses(scenarios: ScenarioResult[], meta: (id: string) => ClauseMeta | undefined): ClauseResult[] {
  const byId = new Map<string, ClauseResult>();
  const get = (id: string): ClauseResult => {
    let c = byId.get(id);
    if (!c) {
      const m = meta(id);
      const p = parseClauseId(id);
      c = { id, role: p.role, ...(m ?? {}), area: m?.area ?? p.area, verdict: 'INCONCLUSIVE', scenarios: [], contributions: {} };
      byId.set(id, c);
    }
    return c;
  };
  for (const s of scenarios) {
    const ids = [...s.clauses];
    if (s.violation && !ids.includes(s.violation.clause)) ids.push(s.violation.clause);
    for (const id of ids) {
      const c = get(id);
      c.scenarios.push(s.id);
      c.contributions[s.id] = contribution(s, id);
    }
  }
  for (const c of byId.values()) {
    const judged = Object.values(c.contributions).filter((v): v is Verdict => v !== 'UNJUDGED');
    c.verdict = worst(judged) ?? 'INCONCLUSIVE';
  }
  return [...byId.values()].sort((a, b) =>
    a.area.localeCompare(b.area) || compareSections(a.section, b.section) || (a.ordinal ?? 0) - (b.ordinal ?? 0) || a.id.localeCompare(b.id));
}

export function areaTotals(clauses: ClauseResult[], scenarios: ScenarioResult[]): AreaTotals[] {
  const areas = new Map<string, AreaTotals>();
  for (const c of clauses) {
    const a = areas.get(c.area) ?? { area: c.area, clauses: emptyTotals(), scenarios: 0 };
    a.clauses[c.verdict]++;
    areas.set(c.area, a);
  }
  for (const a of areas.values()) {
    const ids = new Set(clauses.filter((c) => c.area === a.area).flatMap((c) => c.scenarios));
    a.scenarios = scenarios.filter((s) => ids.has(s.id)).length;
  }
  return [...areas.values()].sort((x, y) => x.area.localeCompare(y.area));
}

/** Order for "failures first" lists. */
export function bySeverity<T extends { verdict: Verdict }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => SEVERITY.indexOf(a.verdict) - SEVERITY.indexOf(b.verdict));
}
