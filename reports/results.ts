// results.json: the machine-readable record of a run. Shape version RESULTS_FORMAT_VERSION;
// RESULTS_SCHEMA (JSON Schema draft 2020-12 subset, checked with ajv in the tests)
// documents every field. Bump the version on any incompatible change.
import { aggregateClauses, areaTotals, countVerdicts, type AreaTotals, type ClauseMeta, type ClauseResult, type Totals } from './aggregate.ts';
import { VERDICTS, type Verdict, type Violation } from './verdict.ts';
import type { CombinationResult, ScenarioResult } from '../steps/support/runner/execute.ts';

export const RESULTS_FORMAT = 'virtio-cts-results';
export const RESULTS_FORMAT_VERSION = 1;

export interface RunInfo {
  suite: { name: string; version: string; commit?: string };
  spec: { version: string; dir?: string };
  target: {
    adapter: string;
    /** As requested: a device type or "all". */
    device: string;
    transport: string;
    defect?: string;
    /** Virtqueue layout(s) requested: split (default), packed or all. */
    ring?: string;
  };
  tags?: string;
  timeoutScale: number;
  startedAt: string;
  finishedAt: string;
  /** Stopped by SIGINT/SIGTERM: the results cover the scenarios finished until then. */
  interrupted?: boolean;
}

export interface ResultsScenario {
  id: string;
  name: string;
  feature: string;
  uri: string;
  line: number;
  tags: string[];
  device: string;
  transport: string;
  /** Absent = split. */
  ring?: string;
  verdict: Verdict;
  clauses: string[];
  durationMs: number;
  messages: string[];
  violation?: Violation;
  step?: string;
  target?: string;
  checks: { clause: string; ok: boolean }[];
  evidence: { label: string; body: string }[];
}

export interface ResultsClause {
  id: string;
  role: string;
  area: string;
  section: string | null;
  ordinal: number | null;
  label: string | null;
  keywords: string[];
  verdict: Verdict;
  scenarios: string[];
}

export interface ResultsCombination {
  device: string;
  transport: string;
  ring?: string;
  description: string | null;
  /** Version of the target software (QEMU) the scenarios ran on. */
  targetVersion?: string;
  /** Exact command line of every target process started, in order (QEMU). */
  commandLines?: string[][];
  /** Process reuse: how many started, how many times one was reset and reused. */
  pool?: { created: number; reused: number; replaced: number; closed: number };
  startedAt: string;
  finishedAt: string;
  scenarios: number;
}

/** Outcome of `--expectations FILE`: every scenario verdict compared with the file. */
export interface ResultsExpectations {
  file: string;
  matched: number;
  differences: { id: string; expected: string; actual: string; detail: string }[];
  /** E.g. the file was recorded on another QEMU version than the run used. */
  note?: string;
}

export interface Results {
  format: typeof RESULTS_FORMAT;
  formatVersion: number;
  suite: RunInfo['suite'];
  spec: RunInfo['spec'];
  target: RunInfo['target'] & {
    description: string;
    combinations: ResultsCombination[];
  };
  run: { startedAt: string; finishedAt: string; durationMs: number; tags: string | null; timeoutScale: number; interrupted?: boolean };
  /** Scenario verdict counts (all verdicts present, zeros included). */
  summary: Totals;
  /** Clause verdict counts. */
  clauseSummary: Totals;
  areas: AreaTotals[];
  scenarios: ResultsScenario[];
  clauses: ResultsClause[];
  expectations?: ResultsExpectations;
}

export function buildResults(info: RunInfo, combos: CombinationResult[], meta: (id: string) => ClauseMeta | undefined): { results: Results; clauses: ClauseResult[] } {
  const scenarios: ScenarioResult[] = combos.flatMap((c) => c.scenarios);
  const clauses = aggregateClauses(scenarios, meta);
  const combinations = combos.map((c): ResultsCombination => {
    const lines = new Map<string, string[]>();
    for (const s of c.scenarios) if (s.commandLine) lines.set(JSON.stringify(s.commandLine), s.commandLine);
    const version = c.scenarios.find((s) => s.targetVersion)?.targetVersion;
    return {
      device: c.device, transport: c.transport, ...(c.ring && c.ring !== 'split' ? { ring: c.ring } : {}),
      description: c.scenarios.find((s) => s.target)?.target ?? null,
      ...(version ? { targetVersion: version } : {}),
      ...(lines.size ? { commandLines: [...lines.values()] } : {}),
      ...(c.pool ? { pool: c.pool } : {}),
      startedAt: c.startedAt, finishedAt: c.finishedAt, scenarios: c.scenarios.length,
    };
  });
  const descs = [...new Set(combinations.map((c) => c.description).filter((d): d is string => !!d))];
  const results: Results = {
    format: RESULTS_FORMAT,
    formatVersion: RESULTS_FORMAT_VERSION,
    suite: info.suite,
    spec: info.spec,
    target: { ...info.target, description: descs.join('; ') || `${info.target.adapter} (no target started)`, combinations },
    run: {
      startedAt: info.startedAt, finishedAt: info.finishedAt,
      durationMs: Date.parse(info.finishedAt) - Date.parse(info.startedAt),
      tags: info.tags ?? null, timeoutScale: info.timeoutScale,
      ...(info.interrupted ? { interrupted: true } : {}),
    },
    summary: countVerdicts(scenarios.map((s) => s.verdict)),
    clauseSummary: countVerdicts(clauses.map((c) => c.verdict)),
    areas: areaTotals(clauses, scenarios),
    scenarios: scenarios.map((s) => ({
      id: s.id, name: s.name, feature: s.feature, uri: s.uri, line: s.line, tags: s.tags,
      device: s.device, transport: s.transport, ...(s.ring && s.ring !== 'split' ? { ring: s.ring } : {}),
      verdict: s.verdict, clauses: s.clauses,
      durationMs: s.durationMs,
      messages: [s.message, s.step ? `at step: ${s.step}` : undefined].filter((m): m is string => !!m),
      ...(s.violation ? { violation: s.violation } : {}),
      ...(s.step ? { step: s.step } : {}),
      ...(s.target ? { target: s.target } : {}),
      checks: s.checks, evidence: s.evidence,
    })),
    clauses: clauses.map((c) => ({
      id: c.id, role: c.role, area: c.area, section: c.section ?? null, ordinal: c.ordinal ?? null,
      label: c.label ?? null, keywords: c.keywords ?? [], verdict: c.verdict, scenarios: c.scenarios,
    })),
  };
  return { results, clauses };
}

const verdict = { enum: [...VERDICTS] };
const totals = { type: 'object', required: [...VERDICTS], additionalProperties: false, properties: Object.fromEntries(VERDICTS.map((v) => [v, { type: 'integer', minimum: 0 }])) };
const str = { type: 'string' };
const strs = { type: 'array', items: str };
const isoTime = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T' };

/** JSON Schema of results.json (format version 1). */
export const RESULTS_SCHEMA = {
  $id: 'https://virtio-cts.invalid/schemas/results-v1.json',
  type: 'object',
  additionalProperties: false,
  required: ['format', 'formatVersion', 'suite', 'spec', 'target', 'run', 'summary', 'clauseSummary', 'areas', 'scenarios', 'clauses'],
  properties: {
    format: { const: RESULTS_FORMAT },
    formatVersion: { const: RESULTS_FORMAT_VERSION },
    suite: { type: 'object', required: ['name', 'version'], additionalProperties: false, properties: { name: str, version: str, commit: str } },
    spec: { type: 'object', required: ['version'], additionalProperties: false, properties: { version: str, dir: str } },
    target: {
      type: 'object', required: ['adapter', 'device', 'transport', 'description', 'combinations'], additionalProperties: false,
      properties: {
        adapter: { enum: ['reference', 'qemu', 'vhost-user'] }, device: str, transport: str, defect: str, ring: str, description: str,
        combinations: {
          type: 'array',
          items: {
            type: 'object', additionalProperties: false, required: ['device', 'transport', 'description', 'startedAt', 'finishedAt', 'scenarios'],
            properties: {
              device: str, transport: str, ring: { enum: ['split', 'packed'] }, description: { type: ['string', 'null'] },
              targetVersion: str, commandLines: { type: 'array', items: { type: 'array', minItems: 1, items: str } },
              pool: {
                type: 'object', additionalProperties: false, required: ['created', 'reused', 'replaced', 'closed'],
                properties: Object.fromEntries(['created', 'reused', 'replaced', 'closed'].map((k) => [k, { type: 'integer', minimum: 0 }])),
              },
              startedAt: isoTime, finishedAt: isoTime, scenarios: { type: 'integer', minimum: 0 },
            },
          },
        },
      },
    },
    run: {
      type: 'object', additionalProperties: false, required: ['startedAt', 'finishedAt', 'durationMs', 'tags', 'timeoutScale'],
      properties: { startedAt: isoTime, finishedAt: isoTime, durationMs: { type: 'number', minimum: 0 }, tags: { type: ['string', 'null'] }, timeoutScale: { type: 'number', exclusiveMinimum: 0 }, interrupted: { type: 'boolean' } },
    },
    summary: totals,
    clauseSummary: totals,
    areas: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['area', 'clauses', 'scenarios'], properties: { area: str, clauses: totals, scenarios: { type: 'integer', minimum: 0 } } },
    },
    scenarios: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false,
        required: ['id', 'name', 'feature', 'uri', 'line', 'tags', 'device', 'transport', 'verdict', 'clauses', 'durationMs', 'messages', 'checks', 'evidence'],
        properties: {
          id: str, name: str, feature: str, uri: str, line: { type: 'integer', minimum: 0 }, tags: strs,
          device: str, transport: str, ring: { enum: ['split', 'packed'] }, verdict, clauses: strs, durationMs: { type: 'number', minimum: 0 }, messages: strs,
          violation: {
            type: 'object', additionalProperties: false, required: ['clause', 'level', 'expected', 'observed'],
            properties: { clause: str, level: { enum: ['MUST', 'SHOULD'] }, section: str, ordinal: { type: 'integer' }, keywords: strs, expected: str, observed: str },
          },
          step: str, target: str,
          checks: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['clause', 'ok'], properties: { clause: str, ok: { type: 'boolean' } } } },
          evidence: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['label', 'body'], properties: { label: str, body: str } } },
        },
      },
    },
    expectations: {
      type: 'object', additionalProperties: false, required: ['file', 'matched', 'differences'],
      properties: {
        file: str, matched: { type: 'integer', minimum: 0 }, note: str,
        differences: {
          type: 'array',
          items: { type: 'object', additionalProperties: false, required: ['id', 'expected', 'actual', 'detail'], properties: { id: str, expected: str, actual: str, detail: str } },
        },
      },
    },
    clauses: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false,
        required: ['id', 'role', 'area', 'section', 'ordinal', 'label', 'keywords', 'verdict', 'scenarios'],
        properties: {
          id: str, role: str, area: str, section: { type: ['string', 'null'] }, ordinal: { type: ['integer', 'null'] },
          label: { type: ['string', 'null'] }, keywords: strs, verdict, scenarios: strs,
        },
      },
    },
  },
} as const;
