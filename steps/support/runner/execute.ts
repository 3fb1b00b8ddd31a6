// Runs the scenarios with Cucumber's programmatic API, once per (device, transport)
// combination, and turns the messages stream into scenario results. The verdict of a
// scenario is the ScenarioOutcome the After hook attached (steps/support/hooks.ts).
import { loadConfiguration, loadSupport, runCucumber } from '@cucumber/cucumber/api';
import type { Envelope, GherkinDocument, Timestamp } from '@cucumber/messages';
import { Writable } from 'node:stream';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERDICT_MEDIA_TYPE, isVerdict, type ScenarioOutcome, type Verdict, type Violation } from '../../../reports/verdict.ts';
import type { RunParams } from '../world.ts';
import { getTargetFactory, setTargetFactory, type DeviceType, type RingKind, type TargetKind, type TransportKind, type RunTransport } from '../targets.ts';
import { TargetPool, type PoolStats } from '../pool.ts';
import { tagValues } from '../tags.ts';

const SUPPORT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The support modules Cucumber loads (they import the rest). */
export const SUPPORT_FILES = ['world.ts', 'hooks.ts'].map((f) => join(SUPPORT_DIR, f));

export interface Combination { device: DeviceType; transport: RunTransport; ring?: RingKind; tagExpression: string }

/** How QEMU processes are used: one per feature file, reset between scenarios, or one per scenario. */
export type ReuseMode = 'feature' | 'never';

export interface ScenarioResult {
  /** Unique within a run: name plus the combination. */
  id: string;
  name: string;
  feature: string;
  uri: string;
  line: number;
  tags: string[];
  clauses: string[];
  device: DeviceType;
  transport: RunTransport;
  /** Virtqueue layout of the run (absent = split). */
  ring?: RingKind;
  verdict: Verdict;
  message?: string;
  violation?: Violation;
  /** Keyword and text of the first step that did not pass. */
  step?: string;
  checks: { clause: string; ok: boolean }[];
  /** Evidence attached by steps (label → text). */
  evidence: { label: string; body: string }[];
  target?: string;
  /** Exact command line and version of the target process the scenario used (QEMU). */
  commandLine?: string[];
  targetVersion?: string;
  startedAt: string;
  durationMs: number;
}

export interface CombinationResult {
  device: DeviceType;
  transport: RunTransport;
  /** Absent = split. */
  ring?: RingKind;
  /** Target processes started / reused by the pool during this combination. */
  pool?: PoolStats;
  startedAt: string;
  finishedAt: string;
  scenarios: ScenarioResult[];
}

export interface ExecuteOptions {
  cwd: string;
  /** Feature files, relative to cwd. */
  features: string[];
  /** Step definition files or globs (absolute or relative to cwd). */
  steps: string[];
  target: TargetKind;
  combinations: Combination[];
  defect?: string;
  specVersion: string;
  timeoutScale: number;
  qemu?: RunParams['qemu'];
  /** vhost-user only: --socket or --spawn. */
  vhostUser?: RunParams['vhostUser'];
  /** QEMU only (default 'feature'): reuse one process per feature file with a reset between scenarios. */
  reuse?: ReuseMode;
  /** With reuse: start the next feature file's QEMU in the background (default true). */
  prefetch?: boolean;
  onScenario?(r: ScenarioResult): void;
  /** A scenario has started (for a live progress line). */
  onScenarioStarted?(name: string): void;
  onEnvelope?(e: Envelope): void;
}

const sink = (): Writable => new Writable({ write(_c, _e, cb) { cb(); } });
const ms = (t: Timestamp): number => t.seconds * 1000 + t.nanos / 1e6;

export async function execute(o: ExecuteOptions): Promise<CombinationResult[]> {
  // Support code reads the scale at load time (for setDefaultTimeout).
  process.env.VIRTIO_CTS_TIMEOUT_SCALE = String(o.timeoutScale);
  const env = { cwd: o.cwd, stdout: sink(), stderr: process.stderr, env: process.env };
  const { runConfiguration } = await loadConfiguration({
    file: false,
    provided: { paths: o.features, import: [...SUPPORT_FILES, ...o.steps], format: [] },
  }, env);
  // Loaded once: ESM modules are cached, so a second load would register nothing.
  const support = await loadSupport(runConfiguration, env);
  const out: CombinationResult[] = [];
  const base = getTargetFactory();
  for (const c of o.combinations) {
    const ring = c.ring ?? 'split';
    const pool = o.target === 'qemu' && (o.reuse ?? 'feature') === 'feature' ? new TargetPool(base, { prefetch: o.prefetch ?? true }) : undefined;
    if (pool) setTargetFactory(pool.factory);
    const params: RunParams = {
      // 'vhost-user' travels as the transport at run time (see RunTransport).
      target: o.target, device: c.device, transport: c.transport as TransportKind, ring, timeoutScale: o.timeoutScale,
      specVersion: o.specVersion, ...(o.defect ? { defect: o.defect } : {}), ...(o.qemu ? { qemu: o.qemu } : {}),
      ...(o.vhostUser ? { vhostUser: o.vhostUser } : {}),
    };
    const collector = new Collector({ device: c.device, transport: c.transport, ring });
    const startedAt = new Date().toISOString();
    try {
    await runCucumber({
      ...runConfiguration,
      support,
      sources: { ...runConfiguration.sources, tagExpression: c.tagExpression },
      runtime: { ...runConfiguration.runtime, worldParameters: params as unknown as Record<string, never> },
    }, env, (e) => {
      o.onEnvelope?.(e);
      if (e.testCaseStarted && o.onScenarioStarted) {
        const name = collector.pickleName(e.testCaseStarted.testCaseId);
        if (name !== undefined) o.onScenarioStarted(name);
      }
      const r = collector.add(e);
      if (r) o.onScenario?.(r);
    });
    } finally {
      if (pool) { await pool.closeAll(); setTargetFactory(base); }
    }
    out.push({
      device: c.device, transport: c.transport, ring, ...(pool ? { pool: { ...pool.stats } } : {}),
      startedAt, finishedAt: new Date().toISOString(), scenarios: collector.results,
    });
  }
  return out;
}

/** Builds ScenarioResults from one run's envelopes. */
export class Collector {
  readonly results: ScenarioResult[] = [];
  private readonly docs = new Map<string, { feature: string; lines: Map<string, number> }>();
  private readonly pickles = new Map<string, NonNullable<Envelope['pickle']>>();
  private readonly testCases = new Map<string, NonNullable<Envelope['testCase']>>();
  private readonly started = new Map<string, { testCaseId: string; at: Timestamp }>();
  private readonly attachments = new Map<string, NonNullable<Envelope['attachment']>[]>();
  private readonly firstBadStep = new Map<string, string>();
  private readonly ids = new Set<string>();

  constructor(private readonly combo: { device: DeviceType; transport: RunTransport; ring?: RingKind }) {}

  /** The run a scenario id names: device/transport, plus the ring when it is not split. */
  private comboLabel(): string {
    const ring = this.combo.ring ?? 'split';
    return `${this.combo.device}/${this.combo.transport}${ring === 'split' ? '' : `/${ring}`}`;
  }

  /** Name of the scenario a test case runs. */
  pickleName(testCaseId: string): string | undefined {
    const tc = this.testCases.get(testCaseId);
    return tc ? this.pickles.get(tc.pickleId)?.name : undefined;
  }

  add(e: Envelope): ScenarioResult | undefined {
    if (e.gherkinDocument?.uri) this.docs.set(e.gherkinDocument.uri, { feature: e.gherkinDocument.feature?.name ?? '', lines: astLines(e.gherkinDocument) });
    else if (e.pickle) this.pickles.set(e.pickle.id, e.pickle);
    else if (e.testCase) this.testCases.set(e.testCase.id, e.testCase);
    else if (e.testCaseStarted) this.started.set(e.testCaseStarted.id, { testCaseId: e.testCaseStarted.testCaseId, at: e.testCaseStarted.timestamp });
    else if (e.attachment?.testCaseStartedId) {
      const l = this.attachments.get(e.attachment.testCaseStartedId) ?? [];
      l.push(e.attachment);
      this.attachments.set(e.attachment.testCaseStartedId, l);
    } else if (e.testStepFinished) this.stepFinished(e.testStepFinished);
    else if (e.testCaseFinished && !e.testCaseFinished.willBeRetried) return this.finish(e.testCaseFinished);
    return undefined;
  }

  private stepFinished(f: NonNullable<Envelope['testStepFinished']>): void {
    if (f.testStepResult.status === 'PASSED' || this.firstBadStep.has(f.testCaseStartedId)) return;
    const s = this.started.get(f.testCaseStartedId);
    const tc = s && this.testCases.get(s.testCaseId);
    const ts = tc?.testSteps.find((x) => x.id === f.testStepId);
    const p = tc && this.pickles.get(tc.pickleId);
    const ps = ts?.pickleStepId ? p?.steps.find((x) => x.id === ts.pickleStepId) : undefined;
    const firstStep = tc?.testSteps.findIndex((x) => x.pickleStepId) ?? -1;
    const hook = tc && ts ? (tc.testSteps.indexOf(ts) < firstStep || firstStep < 0 ? 'the Before hook' : 'the After hook') : 'a hook';
    this.firstBadStep.set(f.testCaseStartedId, ps ? ps.text : ts?.hookId ? hook : 'a step');
  }

  private finish(f: NonNullable<Envelope['testCaseFinished']>): ScenarioResult | undefined {
    const s = this.started.get(f.testCaseStartedId);
    const tc = s && this.testCases.get(s.testCaseId);
    const p = tc && this.pickles.get(tc.pickleId);
    if (!s || !p) return undefined;
    const doc = this.docs.get(p.uri);
    const line = doc?.lines.get(p.astNodeIds[p.astNodeIds.length - 1]) ?? doc?.lines.get(p.astNodeIds[0]) ?? 0;
    const atts = this.attachments.get(f.testCaseStartedId) ?? [];
    const verdictAtt = atts.filter((a) => a.mediaType === VERDICT_MEDIA_TYPE).pop();
    let outcome: ScenarioOutcome;
    try {
      outcome = verdictAtt ? JSON.parse(verdictAtt.body) as ScenarioOutcome : { verdict: 'ERROR', message: 'no verdict recorded (the After hook did not run)', checks: [] };
      if (!isVerdict(outcome.verdict)) throw new Error(`bad verdict ${String(outcome.verdict)}`);
    } catch (err) {
      outcome = { verdict: 'ERROR', message: `unreadable verdict: ${(err as Error).message}`, checks: [] };
    }
    let id = `${p.name} [${this.comboLabel()}]`;
    if (this.ids.has(id)) id = `${p.name} (${p.uri}:${line}) [${this.comboLabel()}]`;
    this.ids.add(id);
    const bad = this.firstBadStep.get(f.testCaseStartedId);
    const r: ScenarioResult = {
      id, name: p.name, feature: doc?.feature ?? '', uri: p.uri, line,
      tags: p.tags.map((t) => t.name), clauses: tagValues(p.tags, 'clause'),
      device: this.combo.device, transport: this.combo.transport, ring: this.combo.ring ?? 'split',
      verdict: outcome.verdict,
      ...(outcome.message ? { message: outcome.message } : {}),
      ...(outcome.violation ? { violation: outcome.violation } : {}),
      ...(bad && outcome.verdict !== 'PASS' ? { step: bad } : {}),
      checks: outcome.checks ?? [],
      evidence: atts.filter((a) => a.mediaType !== VERDICT_MEDIA_TYPE && a.contentEncoding !== 'BASE64').map((a) => ({ label: a.fileName ?? a.mediaType, body: a.body })),
      ...(outcome.target ? { target: outcome.target } : {}),
      ...(outcome.commandLine ? { commandLine: outcome.commandLine } : {}),
      ...(outcome.targetVersion ? { targetVersion: outcome.targetVersion } : {}),
      startedAt: new Date(ms(s.at)).toISOString(),
      durationMs: outcome.durationMs ?? Math.round((ms(f.timestamp) - ms(s.at)) * 1000) / 1000,
    };
    this.results.push(r);
    return r;
  }
}

/** AST node id → line, for scenarios and example rows. */
export function astLines(doc: GherkinDocument): Map<string, number> {
  const lines = new Map<string, number>();
  const visit = (children: NonNullable<GherkinDocument['feature']>['children']): void => {
    for (const c of children) {
      if (c.rule) visit(c.rule.children);
      const s = c.scenario;
      if (!s) continue;
      lines.set(s.id, s.location.line);
      for (const ex of s.examples) for (const row of ex.tableBody) lines.set(row.id, row.location.line);
    }
  };
  if (doc.feature) visit(doc.feature.children);
  return lines;
}
