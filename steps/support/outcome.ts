// Verdict mapping: what a scenario's steps ended with → the suite's verdict.
//   ClauseViolation at MUST level → FAIL, at SHOULD level → WARN; NotApplicable →
//   NOT_APPLICABLE; Inconclusive → INCONCLUSIVE; a wedged target (TargetWedgedError has
//   `wedged: true`) or a step timeout → WEDGED; anything else (harness bug, undefined
//   step) → ERROR. An error from below the steps that carries { clause, expected,
//   observed } counts as a violation of that clause.
import type { ScenarioOutcome } from '../../reports/verdict.ts';
import { violationMessage } from './assert.ts';
import { clauseInfo, levelOf } from './clauses.ts';

/** Cucumber's status of the worst step (messages.TestStepResultStatus), as a string. */
export type StepStatus = 'UNKNOWN' | 'PASSED' | 'SKIPPED' | 'PENDING' | 'UNDEFINED' | 'AMBIGUOUS' | 'FAILED';

// Cucumber's own wording for a step that exceeded its timeout.
const TIMEOUT = /timed out/i;

export function classify(status: StepStatus, error: unknown, stepMessage: string | undefined, checks: ScenarioOutcome['checks']): ScenarioOutcome {
  const base = { checks };
  switch (status) {
    case 'PASSED':
      return { ...base, verdict: 'PASS' };
    case 'SKIPPED':
      return { ...base, verdict: 'NOT_APPLICABLE', message: 'skipped by a step' };
    case 'UNDEFINED':
      return { ...base, verdict: 'ERROR', message: 'a step has no step definition' };
    case 'AMBIGUOUS':
      return { ...base, verdict: 'ERROR', message: stepMessage ? firstLine(stepMessage) : 'a step matches several step definitions' };
    case 'PENDING':
      return { ...base, verdict: 'ERROR', message: 'a step is pending (not implemented)' };
    case 'UNKNOWN':
      return { ...base, verdict: 'ERROR', message: 'no result' };
    case 'FAILED':
      break;
  }
  const e = error as { name?: string; message?: string; violation?: ScenarioOutcome['violation']; reason?: string; wedged?: boolean } | undefined;
  // Match by name, not instanceof: support code may be loaded twice (worker processes).
  if (e?.name === 'ClauseViolation' && e.violation) {
    const v = e.violation;
    return { ...base, verdict: v.level === 'MUST' ? 'FAIL' : 'WARN', message: violationMessage(v), violation: v };
  }
  // Code below the steps (driver/) may detect a broken clause itself and say so with
  // { clause, expected, observed } on its error: the same FAIL/WARN as a check().
  const ce = error as { clause?: unknown; expected?: unknown; observed?: unknown } | undefined;
  if (typeof ce?.clause === 'string' && typeof ce.expected === 'string' && typeof ce.observed === 'string') {
    const info = clauseInfo(ce.clause);
    if (info) {
      const v = { clause: ce.clause, level: levelOf(info.keywords), section: info.section, ordinal: info.ordinal, keywords: info.keywords, expected: ce.expected, observed: ce.observed };
      return { ...base, verdict: v.level === 'MUST' ? 'FAIL' : 'WARN', message: violationMessage(v), violation: v };
    }
  }
  if (e?.name === 'NotApplicable') return { ...base, verdict: 'NOT_APPLICABLE', message: e.reason ?? e.message };
  if (e?.name === 'Inconclusive') return { ...base, verdict: 'INCONCLUSIVE', message: e.reason ?? e.message };
  const msg = e?.message ?? stepMessage ?? String(error);
  if (e?.wedged === true || e?.name === 'TargetWedgedError') return { ...base, verdict: 'WEDGED', message: firstLine(msg) };
  if (TIMEOUT.test(msg)) return { ...base, verdict: 'WEDGED', message: firstLine(msg) };
  return { ...base, verdict: 'ERROR', message: `${e?.name && e.name !== 'Error' ? `${e.name}: ` : ''}${firstLine(msg)}` };
}

function firstLine(s: string): string {
  const l = s.split('\n').find((x) => x.trim() !== '') ?? s;
  return l.length > 400 ? `${l.slice(0, 400)}…` : l;
}
