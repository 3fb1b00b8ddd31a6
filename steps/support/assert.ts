// The one assertion helper of the suite: every check names the clause it checks, so a
// failure reads "clause, §section ¶ordinal, keyword, expected, observed" and the runner
// can turn it into FAIL (MUST level) or WARN (SHOULD level).
import { clauseInfo, levelOf, specVersion } from './clauses.ts';
import type { Violation } from '../../reports/verdict.ts';

/** A clause broken by the target. Thrown by check(); the After hook maps it to FAIL/WARN. */
export class ClauseViolation extends Error {
  constructor(readonly violation: Violation) {
    super(violationMessage(violation));
    this.name = 'ClauseViolation';
  }
}

/** The scenario cannot apply to this target (feature not offered…): NOT_APPLICABLE. */
export class NotApplicable extends Error {
  constructor(readonly reason: string) { super(reason); this.name = 'NotApplicable'; }
}

/** Something could not be observed either way: INCONCLUSIVE. */
export class Inconclusive extends Error {
  constructor(readonly reason: string) { super(reason); this.name = 'Inconclusive'; }
}

export interface CheckDetail {
  expected: string;
  observed: string;
  /** Overrides the level derived from the clause's keywords (for clauses mixing MUST and SHOULD). */
  level?: 'MUST' | 'SHOULD';
}

/** Receives every check (the World records them as evidence). */
type CheckListener = (clause: string, ok: boolean) => void;
let listener: CheckListener | undefined;
export function onCheck(l: CheckListener | undefined): void { listener = l; }

/**
 * Assert that the target honours `clause`. Throws ClauseViolation when `ok` is false.
 * The clause must exist in the run's spec version (a typo is a harness error, not a FAIL).
 */
export function check(clause: string, ok: boolean, detail: CheckDetail): void {
  const info = clauseInfo(clause);
  if (!info) throw new Error(`check(): clause '${clause}' is not in the index of spec ${specVersion()}`);
  listener?.(clause, ok);
  if (ok) return;
  throw new ClauseViolation({
    clause,
    level: detail.level ?? levelOf(info.keywords),
    section: info.section,
    ordinal: info.ordinal,
    keywords: info.keywords,
    expected: detail.expected,
    observed: detail.observed,
  });
}

/** Stop the scenario as NOT_APPLICABLE, e.g. when the device does not offer a @requires feature. */
export function notApplicable(reason: string): never {
  throw new NotApplicable(reason);
}

/** Stop the scenario as INCONCLUSIVE: the behaviour could not be observed on this target. */
export function inconclusive(reason: string): never {
  throw new Inconclusive(reason);
}

export function violationMessage(v: Violation): string {
  const where = v.section !== undefined ? ` (§${v.section} ¶${v.ordinal}${v.keywords?.length ? `, ${v.keywords.join('/')}` : ''})` : '';
  return `${v.clause}${where}: expected ${v.expected}; observed ${v.observed}`;
}
