// The Cucumber World of the suite: one per scenario. Holds the run's parameters, starts
// the target lazily (many steps need none, and a scenario may first choose blk options),
// opens the suite's driver on it, and records checks as evidence. hooks.ts closes the
// target after every scenario, whatever happened.
import { World, setWorldConstructor, type IWorldOptions } from '@cucumber/cucumber';
import { startTarget, type CtsTarget, type TargetOverrides, type TargetParams } from './targets.ts';

export type { CtsTarget, TargetOverrides, DeviceType, TransportKind, TargetKind, RingKind } from './targets.ts';

/** worldParameters of a run (set by `virtio-cts run`, one run per device × transport). */
export interface RunParams extends TargetParams {
  /** Spec version whose section numbers the reports and FAIL messages use. */
  specVersion: string;
}

import { openDriver, type Driver } from '../../driver/index.ts';

export type { Driver } from '../../driver/index.ts';

export class CtsWorld extends World<RunParams> {
  /** Every check() of this scenario, in order. */
  readonly checks: { clause: string; ok: boolean }[] = [];
  private targetP: Promise<CtsTarget> | undefined;
  private targetOverrides: TargetOverrides | undefined;
  private driverP: Promise<Driver> | undefined;
  /** Description of the target once started (reported with the scenario). */
  targetDescription: string | undefined;
  /** The started target, once it has started (for the After hook's reporting). */
  startedTarget: CtsTarget | undefined;
  /** Feature file of the running scenario (set by the Before hook; pools key on it). */
  scenarioUri: string | undefined;

  constructor(options: IWorldOptions<RunParams>) { super(options); }

  get params(): RunParams { return this.parameters; }

  /** Scale a wait in milliseconds by --timeout-scale. */
  ms(base: number): number { return base * this.parameters.timeoutScale; }

  /**
   * The scenario's target, started on first use. `overrides` (e.g. a read-only blk) are
   * only accepted before the target has started.
   */
  target(overrides?: TargetOverrides): Promise<CtsTarget> {
    if (overrides) {
      if (this.targetP && JSON.stringify(overrides) !== JSON.stringify(this.targetOverrides ?? {})) {
        throw new Error('target options must be chosen before the target starts');
      }
      this.targetOverrides = overrides;
    }
    this.targetP ??= startTarget(this.parameters, this.targetOverrides ?? {}, { uri: this.scenarioUri }).then((t) => {
      this.targetDescription = t.description;
      this.startedTarget = t;
      return t;
    });
    return this.targetP;
  }

  /** The suite's driver on the scenario's target (found on its transport, not initialised). */
  driver(): Promise<Driver> {
    this.driverP ??= (async () => {
      const t = await this.target();
      // --ring: split or packed virtqueues (packed negotiates VIRTIO_F_RING_PACKED).
      return openDriver(t, { ring: this.parameters.ring ?? 'split' });
    })();
    return this.driverP;
  }

  /** Attach evidence (a value shown with the scenario in the reports). */
  async evidence(label: string, value: unknown): Promise<void> {
    const body = typeof value === 'string' ? value : JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2);
    await this.attach(body, { mediaType: 'text/plain', fileName: label });
  }

  /** Whether a target was started in this scenario. */
  get hasTarget(): boolean { return this.targetP !== undefined; }

  /**
   * Close the target if one was started, or give it back to its pool (`reusable`: the
   * scenario left it in a state a reset can undo); called by the After hook.
   */
  async closeTarget(o: { reusable?: boolean } = {}): Promise<void> {
    const p = this.targetP;
    this.targetP = undefined;
    this.driverP = undefined;
    if (!p) return;
    let t: CtsTarget;
    try { t = await p; } catch { return; } // creation failed: nothing to close
    if (t.release) await t.release({ reusable: o.reusable ?? false });
    else await t.close();
  }
}

setWorldConstructor(CtsWorld);
