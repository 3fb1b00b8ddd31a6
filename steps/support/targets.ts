// Target factory: turns the run's parameters into a started Target. The reference
// emulator is the default; QEMU comes from adapters/qemu. One target per scenario.
import type { Target } from '../../adapters/types.ts';

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

// Loaded by path at run time so that this module typechecks and loads before the
// reference adapter lands (and so the QEMU adapter is only loaded for QEMU runs).
// TODO(E): import createReferenceTarget statically once adapters/reference is committed.
const REFERENCE = '../../adapters/reference/index.ts';
const QEMU = '../../adapters/qemu/index.ts';

export async function createTarget(p: TargetParams, o: TargetOverrides = {}): Promise<CtsTarget> {
  if (p.target === 'reference') {
    const mod = await import(REFERENCE);
    return mod.createReferenceTarget({
      device: p.device, transport: p.transport, defect: p.defect, timeoutScale: p.timeoutScale, blk: o.blk,
    }) as Promise<CtsTarget>;
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
}
