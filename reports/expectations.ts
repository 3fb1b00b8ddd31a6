// Expectations files (`virtio-cts run --expectations FILE`): what a certification lab
// keeps for a target it knows — every scenario whose verdict is not PASS, with the
// verdict and the evidence for it. A run compares its verdicts with the file; any
// difference (a new failure, a fixed one, a FAIL on another clause, a listed scenario
// that no longer runs) is printed and makes the run exit 1.
import Ajv2020 from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { VERDICTS, type Verdict } from './verdict.ts';
import type { Results, ResultsExpectations, ResultsScenario } from './results.ts';

export const EXPECTATIONS_FORMAT = 'virtio-cts-expectations';
export const EXPECTATIONS_FORMAT_VERSION = 1;

export interface ExpectationEvidence {
  /** The clause the verdict is about (required for FAIL and WARN: it is compared). */
  clause?: string;
  /** What was seen: values, bytes, QEMU's messages. */
  observed: string;
  /** Version of the target software the evidence was taken on. */
  qemuVersion?: string;
  /** Why: the cause in the target's code, or why the scenario cannot apply. */
  cause?: string;
}

export interface Expectation { verdict: Exclude<Verdict, 'PASS'>; evidence: ExpectationEvidence }

export interface ExpectationsFile {
  format: typeof EXPECTATIONS_FORMAT;
  formatVersion: typeof EXPECTATIONS_FORMAT_VERSION;
  /** What the file is about (informational, shown in the differences). */
  target: { adapter: string; device?: string; transport?: string; qemuVersion?: string; options?: string };
  /** Scenario id as in results.json ("Name [device/transport]") → expected verdict. */
  scenarios: Record<string, Expectation>;
}

const str = { type: 'string', minLength: 1 };
const NOT_PASS = VERDICTS.filter((v) => v !== 'PASS');

/** JSON Schema of an expectations file (after YAML parsing). */
export const EXPECTATIONS_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['format', 'formatVersion', 'target', 'scenarios'],
  properties: {
    format: { const: EXPECTATIONS_FORMAT },
    formatVersion: { const: EXPECTATIONS_FORMAT_VERSION },
    target: {
      type: 'object', additionalProperties: false, required: ['adapter'],
      properties: { adapter: str, device: str, transport: str, qemuVersion: str, options: str },
    },
    scenarios: {
      type: 'object',
      // "<name> [device/transport]" or "[device/transport/ring]"
      propertyNames: { pattern: '^.+ \\[[a-z]+/[a-z-]+(/[a-z]+)?\\]$' },
      additionalProperties: {
        type: 'object', additionalProperties: false, required: ['verdict', 'evidence'],
        properties: {
          verdict: { enum: NOT_PASS },
          evidence: {
            type: 'object', additionalProperties: false, required: ['observed'],
            properties: { clause: str, observed: str, qemuVersion: str, cause: str },
          },
        },
        // A FAIL or WARN is a claim about a clause: name it.
        if: { properties: { verdict: { enum: ['FAIL', 'WARN'] } } },
        then: { properties: { evidence: { required: ['clause', 'observed'] } } },
      },
    },
  },
} as const;

/** The file cannot be used (missing, not YAML, not the schema): exit 2. */
export class ExpectationsError extends Error {
  constructor(message: string) { super(message); this.name = 'ExpectationsError'; }
}

let validator: ReturnType<InstanceType<typeof Ajv2020.default>['compile']> | undefined;

export function parseExpectations(text: string, file: string): ExpectationsFile {
  let data: unknown;
  try { data = parse(text); } catch (e) { throw new ExpectationsError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`); }
  validator ??= new Ajv2020.default({ allErrors: true, strict: false }).compile(EXPECTATIONS_SCHEMA);
  if (!validator(data)) {
    const errs = (validator.errors ?? []).filter((e) => e.keyword !== 'if').slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as string[]).join(', ')})` : ''}`);
    throw new ExpectationsError(`${file}: not a valid expectations file: ${errs.join('; ')}`);
  }
  return data as ExpectationsFile;
}

export function loadExpectations(file: string): ExpectationsFile {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new ExpectationsError(`cannot read expectations file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  return parseExpectations(text, file);
}

/** "[device/transport(/ring)]" at the end of a scenario id. */
function runOf(id: string): string | undefined {
  return /\[([a-z]+\/[a-z-]+(?:\/[a-z]+)?)\]$/.exec(id)?.[1];
}

function runLabel(s: Pick<ResultsScenario, 'device' | 'transport' | 'ring'>): string {
  return `${s.device}/${s.transport}${s.ring && s.ring !== 'split' ? `/${s.ring}` : ''}`;
}

/**
 * Compare a run with the expectations. A scenario not listed is expected to PASS. A
 * listed scenario that did not run counts as a difference when its device/transport
 * run took place without a --tags filter (it was renamed or removed).
 */
export function compareExpectations(exp: ExpectationsFile, results: Results, file: string): ResultsExpectations {
  const differences: ResultsExpectations['differences'] = [];
  let matched = 0;
  const seen = new Set<string>();
  for (const s of results.scenarios) {
    seen.add(s.id);
    const e = exp.scenarios[s.id];
    const expected = e?.verdict ?? 'PASS';
    if (expected !== s.verdict) {
      differences.push({ id: s.id, expected, actual: s.verdict, detail: s.messages[0] ?? (e ? `expected because: ${e.evidence.observed}` : '') });
      continue;
    }
    const clause = e?.evidence.clause;
    if (clause && s.violation && s.violation.clause !== clause) {
      differences.push({ id: s.id, expected: `${expected} on ${clause}`, actual: `${s.verdict} on ${s.violation.clause}`, detail: s.messages[0] ?? '' });
      continue;
    }
    matched++;
  }
  const runs = new Set(results.scenarios.map(runLabel));
  if (results.run.tags === null) {
    for (const [id, e] of Object.entries(exp.scenarios)) {
      const run = runOf(id);
      if (seen.has(id) || !run || !runs.has(run)) continue;
      differences.push({ id, expected: e.verdict, actual: 'NOT_RUN', detail: 'listed in the expectations but no scenario of this name ran (renamed or removed?)' });
    }
  }
  // Not a difference (the verdicts decide), but worth saying: the file was recorded elsewhere.
  const ran = [...new Set((results.target?.combinations ?? []).map((c) => c.targetVersion).filter((v): v is string => !!v))];
  const want = exp.target.qemuVersion;
  const note = want && ran.length && ran.some((v) => v !== want) ? `recorded on QEMU ${want}; this run used QEMU ${ran.join(', ')}` : undefined;
  return { file, matched, differences, ...(note ? { note } : {}) };
}

/** The differences as lines for the terminal. */
export function formatDifferences(r: ResultsExpectations): string {
  const note = r.note ? `  note: ${r.note}\n` : '';
  if (!r.differences.length) return `expectations ${r.file}: all ${r.matched} scenario verdicts as expected\n${note}`;
  const lines = r.differences.map((d) => `  expected ${d.expected}, got ${d.actual}: ${d.id}${d.detail ? `\n      ${d.detail}` : ''}`);
  return `expectations ${r.file}: ${r.differences.length} difference${r.differences.length === 1 ? '' : 's'} (${r.matched} as expected)\n${lines.join('\n')}\n${note}`;
}
