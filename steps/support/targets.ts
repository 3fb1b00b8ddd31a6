// Target factory: turns the run's parameters into a started Target. The reference
// emulator is the default; QEMU comes from adapters/qemu. One target per scenario.
import type { Target } from '../../adapters/types.ts';
import { createReferenceTarget } from '../../adapters/reference/index.ts';

export type TargetKind = 'reference' | 'qemu';
export type DeviceType = 'entropy' | 'blk';
export type TransportKind = 'pci' | 'mmio';

export interface BlkOptions { readOnly?: boolean; capacitySectors?: number; serial?: string }

/** Per-scenario choices a step can make before the target starts. */
export interface TargetOverrides { blk?: BlkOptions }

/** Target plus the optional extras some adapters have (blk: a device configuration change). */
export interface CtsTarget extends Target { changeConfig?(): Promise<void> }

export interface TargetParams {
  target: TargetKind;
  device: DeviceType;
  transport: TransportKind;
  defect?: string;
  timeoutScale: number;
  /** QEMU only: binary, extra -device properties, extra arguments (issue 4). */
  qemu?: { binary?: string; extraDeviceProps?: string[]; extraArgs?: string[] };
}

// QEMU is loaded only for QEMU runs (it pulls in process management and signal hooks).
const QEMU = '../../adapters/qemu/index.ts';

export type TargetFactory = (p: TargetParams, o: TargetOverrides) => Promise<CtsTarget>;

/**
 * The default factory: a fresh target per scenario. (Issue 4 will put a pool behind this
 * seam: one QEMU per feature file, reset between scenarios, replaced after WEDGED.)
 */
export const createTarget: TargetFactory = async (p, o) => {
  if (p.target === 'reference') {
    return createReferenceTarget({ device: p.device, transport: p.transport, defect: p.defect, timeoutScale: p.timeoutScale, blk: o.blk });
  }
  if (p.target === 'qemu') {
    if (p.defect) throw new Error('defects exist only in the reference emulator');
    const mod = (await import(QEMU)) as typeof import('../../adapters/qemu/index.ts');
    return mod.createQemuTarget({
      device: p.device, transport: p.transport, timeoutScale: p.timeoutScale, blk: o.blk,
      qemuBinary: p.qemu?.binary, extraDeviceProps: p.qemu?.extraDeviceProps, extraArgs: p.qemu?.extraArgs,
    });
  }
  throw new Error(`unknown target '${String(p.target)}'`);
};

let factory: TargetFactory = createTarget;

/** Replace the target factory (tests, pools); `undefined` restores the default. */
export function setTargetFactory(f: TargetFactory | undefined): void { factory = f ?? createTarget; }

export function startTarget(p: TargetParams, o: TargetOverrides = {}): Promise<CtsTarget> { return factory(p, o); }
