// Scenario lifecycle: applicability (@requires, clause present in the run's spec
// version), the verdict attachment the runner reads, and closing the target whatever
// happened.
import { After, AfterStep, Before, BeforeAll, setDefaultTimeout, type ITestCaseHookParameter, type ITestStepHookParameter } from '@cucumber/cucumber';
import { VERDICT_MEDIA_TYPE, type ScenarioOutcome } from '../../reports/verdict.ts';
import { featureByName, hasBit } from '../../virtio/features.ts';
import { onCheck } from './assert.ts';
import { clauseInfo, specVersion, useSpecVersion } from './clauses.ts';
import { classify, type StepStatus } from './outcome.ts';
import { tagValues } from './tags.ts';
import type { CtsWorld } from './world.ts';

// The runner exports --timeout-scale before loading support code (setDefaultTimeout
// must be called at load time, before any world parameters exist).
const SCALE = Number(process.env.VIRTIO_CTS_TIMEOUT_SCALE ?? '1') || 1;
/** Per step (and per hook): a step on the reference target takes milliseconds. */
export const STEP_TIMEOUT_MS = 10_000;
setDefaultTimeout(STEP_TIMEOUT_MS * SCALE);

const naReasons = new WeakMap<CtsWorld, string>();
/** Verdicts after which the target is in a state a full reset undoes (not WEDGED/ERROR). */
const REUSABLE_AFTER: ReadonlySet<string> = new Set(['PASS', 'FAIL', 'WARN', 'NOT_APPLICABLE', 'INCONCLUSIVE']);
const safe = (f: () => string): string => { try { return f(); } catch { return ''; } };
// The first error of the scenario. Cucumber hands After only the error of the LAST step
// (undefined when skipped steps follow a failure), so errors are caught where they happen.
const firstError = new WeakMap<CtsWorld, unknown>();
const startedAt = new WeakMap<CtsWorld, number>();

BeforeAll(function (this: { parameters: Record<string, unknown> }) {
  useSpecVersion(typeof this.parameters.specVersion === 'string' ? this.parameters.specVersion : undefined);
});

Before(async function (this: CtsWorld, arg: ITestCaseHookParameter) {
  startedAt.set(this, performance.now());
  this.scenarioUri = arg.pickle.uri;
  try {
    return await applicability.call(this, arg);
  } catch (e) {
    firstError.set(this, e);
    throw e;
  }
});

AfterStep(function (this: CtsWorld, { result, error }: ITestStepHookParameter) {
  if (result.status === 'FAILED' && !firstError.has(this)) firstError.set(this, error);
});

async function applicability(this: CtsWorld, { pickle }: ITestCaseHookParameter): Promise<'skipped' | undefined> {
  onCheck((clause, ok) => this.checks.push({ clause, ok }));
  const absent = tagValues(pickle.tags, 'clause').filter((id) => !clauseInfo(id));
  if (absent.length) {
    naReasons.set(this, `clause not in spec ${specVersion()}: ${absent.join(', ')}`);
    return 'skipped';
  }
  // vhost-user has no registers: PCI/MMIO register scenarios run there only to be reported.
  const regs = tagValues(pickle.tags, 'transport').filter((t) => t === 'pci' || t === 'mmio');
  if ((this.params.transport as string) === 'vhost-user' && regs.length) {
    naReasons.set(this, `register-level scenario (@transport:${regs.join(', @transport:')}): vhost-user has no PCI/MMIO registers`);
    return 'skipped';
  }
  const required = tagValues(pickle.tags, 'requires');
  if (required.length) {
    const bits = required.map((name) => {
      const f = featureByName(this.params.device, name);
      if (!f) throw new Error(`@requires:${name}: no such feature for device ${this.params.device}`);
      return f;
    });
    const driver = await this.driver();
    const offered: bigint = await driver.transport.readDeviceFeatures();
    const missing = bits.filter((f) => !hasBit(offered, f.bit)).map((f) => f.name);
    if (missing.length) {
      naReasons.set(this, `the device does not offer ${missing.join(', ')}`);
      return 'skipped';
    }
  }
  return undefined;
}

After(async function (this: CtsWorld, { result, error }: ITestCaseHookParameter) {
  onCheck(undefined);
  const na = naReasons.get(this);
  let outcome: ScenarioOutcome = na
    ? { verdict: 'NOT_APPLICABLE', message: na, checks: this.checks }
    : classify((result?.status ?? 'UNKNOWN') as StepStatus, firstError.get(this) ?? error, result?.message, this.checks);
  const t = this.startedTarget;
  if (t) {
    // What the target process printed during the scenario (QEMU: virtio_error messages,
    // an assertion before it died) is evidence for whatever verdict it got.
    // A dying or confused process writes its last words slightly after the failure the
    // scenario saw: give stderr a moment before reading it when something went wrong.
    if (t.diagnostics && !REUSABLE_AFTER.has(outcome.verdict)) await new Promise((r) => setTimeout(r, 50 * SCALE));
    const diag = safe(() => t.diagnostics?.() ?? '');
    if (diag.trim()) await this.evidence('target stderr', diag);
    if (t.commandLine) outcome.commandLine = [...t.commandLine];
    if (t.qemuVersion) outcome.targetVersion = t.qemuVersion;
  }
  try {
    // Bounded, so that the verdict is still attached if closing hangs.
    const deadline = (STEP_TIMEOUT_MS / 2) * SCALE;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      // A pool may reset and reuse the target, unless the scenario ended with it
      // unanswering or in an unknown state.
      this.closeTarget({ reusable: REUSABLE_AFTER.has(outcome.verdict) }),
      new Promise((_r, rej) => { timer = setTimeout(() => rej(new Error(`closing the target timed out after ${deadline} ms`)), deadline); }),
    ]).finally(() => clearTimeout(timer));
  } catch (e) {
    // A target that cannot be closed is a finding about the harness or the target,
    // but it must not hide a FAIL already established.
    if (outcome.verdict === 'PASS' || outcome.verdict === 'NOT_APPLICABLE') {
      const c = classify('FAILED', e, undefined, this.checks);
      outcome = { ...c, message: `closing the target: ${c.message}` };
    }
  }
  if (this.targetDescription) outcome.target = this.targetDescription;
  const t0 = startedAt.get(this);
  if (t0 !== undefined) outcome.durationMs = Math.round((performance.now() - t0) * 1000) / 1000;
  await this.attach(JSON.stringify(outcome), VERDICT_MEDIA_TYPE);
});
