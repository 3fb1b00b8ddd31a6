// Verdicts (ARCHITECTURE.md "Clauses, tags and verdicts") and their order of severity,
// shared by the step support code (which decides a scenario's verdict) and the report
// writers (which aggregate them per clause).

export const VERDICTS = ['PASS', 'FAIL', 'WARN', 'NOT_APPLICABLE', 'INCONCLUSIVE', 'WEDGED', 'ERROR'] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * Worst first. FAIL leads because it is a definite claim about the target; WEDGED and
 * ERROR mean the clause could not be judged, which still outranks a SHOULD broken.
 * NOT_APPLICABLE is last so that a clause PASSes when any of its scenarios ran.
 */
export const SEVERITY: readonly Verdict[] = ['FAIL', 'WEDGED', 'ERROR', 'WARN', 'INCONCLUSIVE', 'PASS', 'NOT_APPLICABLE'];

export function worst(vs: Iterable<Verdict>): Verdict | undefined {
  let best: Verdict | undefined;
  for (const v of vs) if (best === undefined || SEVERITY.indexOf(v) < SEVERITY.indexOf(best)) best = v;
  return best;
}

/** Verdicts that make `virtio-cts run` exit 1. */
export const FAILING: ReadonlySet<Verdict> = new Set<Verdict>(['FAIL', 'WEDGED', 'ERROR']);

export function isVerdict(s: unknown): s is Verdict {
  return typeof s === 'string' && (VERDICTS as readonly string[]).includes(s);
}

/** Media type of the attachment in which the support code reports a scenario's verdict. */
export const VERDICT_MEDIA_TYPE = 'application/vnd.virtio-cts.verdict+json';

/** What the support code attaches at the end of every scenario (one per test case). */
export interface ScenarioOutcome {
  verdict: Verdict;
  /** One line for the terminal and reports; for FAIL/WARN it names clause, expected, observed. */
  message?: string;
  /** The clause a FAIL/WARN broke (may also be one the scenario does not tag). */
  violation?: Violation;
  /** Every check() made, in order (evidence that the tagged clauses were exercised). */
  checks: { clause: string; ok: boolean }[];
  /** Wall time from the first Before hook to the end of the After hook (sub-ms precision). */
  durationMs?: number;
  /** Description of the target the scenario started, if it started one. */
  target?: string;
  /** The exact command line of the target process (QEMU), if any. */
  commandLine?: string[];
  /** Version of the target software (QEMU), if known. */
  targetVersion?: string;
}

export interface Violation {
  clause: string;
  level: 'MUST' | 'SHOULD';
  /** Display data in the run's spec version, when the index has the clause there. */
  section?: string;
  ordinal?: number;
  keywords?: string[];
  expected: string;
  observed: string;
}
