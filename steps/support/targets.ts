// Target factory: turns the run's parameters into a started Target. The reference
// emulator is the default; QEMU comes from adapters/qemu. The runner may put a pool
// behind the seam (pool.ts: one QEMU per feature file, reset between scenarios).
import type { Target } from '../../adapters/types.ts';
import { createReferenceTarget } from '../../adapters/reference/index.ts';

export type TargetKind = 'reference' | 'qemu' | 'vhost-user';
export type DeviceType = 'entropy' | 'blk' | 'net' | 'console';
/** Device types each target kind provides. */
export const TARGET_DEVICES: Record<TargetKind, readonly DeviceType[]> = {
  reference: ['entropy', 'blk', 'console', 'net'],
  // what the protocol can carry; the back-end decides which one it is (--device, --spawn)
  'vhost-user': ['blk', 'net', 'entropy'],
  qemu: ['entropy', 'blk', 'net', 'console'],
};
export type TransportKind = 'pci' | 'mmio';
/**
 * What a run combination names as its transport. vhost-user runs carry 'vhost-user' in
 * RunParams.transport at run time (the steps' types stay pci | mmio: register scenarios
 * never run there, the Before hook reports them NOT_APPLICABLE).
 */
export type RunTransport = TransportKind | 'vhost-user';
export type RingKind = 'split' | 'packed';

export interface BlkOptions { readOnly?: boolean; capacitySectors?: number; serial?: string }

/** Per-scenario choices a step can make before the target starts. */
export interface TargetOverrides { blk?: BlkOptions }

/** Where the target is asked for (a pool keys its processes on the feature file). */
export interface TargetContext { uri?: string }

/** Target plus the optional extras some adapters have. */
export interface CtsTarget extends Target {
  /** blk: a device configuration change. */
  changeConfig?(): Promise<void>;
  /** QEMU: the exact command line and version of the process behind the target. */
  readonly commandLine?: string[];
  readonly qemuVersion?: string;
  /** What the target process printed (stderr) since the scenario got it; '' if nothing. */
  diagnostics?(): string;
  /**
   * Give the target back after the scenario (pools). `reusable: false` (WEDGED, ERROR,
   * a dead process) makes the pool close it instead of resetting it for the next one.
   * Targets without release() are closed.
   */
  release?(o: { reusable: boolean }): Promise<void>;
}

export interface TargetParams {
  target: TargetKind;
  device: DeviceType;
  transport: TransportKind;
  /** Virtqueue layout the driver uses (default split). */
  ring?: RingKind;
  defect?: string;
  timeoutScale: number;
  /** QEMU only: binary, extra -device properties, extra arguments. */
  qemu?: { binary?: string; extraDeviceProps?: string[]; extraArgs?: string[] };
  /** vhost-user only: a listening back-end's socket, or a known back-end to start. */
  vhostUser?: { socket?: string; spawn?: 'qemu-storage-daemon' | 'dpdk-testpmd' };
}

// QEMU is loaded only for QEMU runs (it pulls in process management and signal hooks).
const QEMU = '../../adapters/qemu/index.ts';
const VHOST_USER = '../../adapters/vhost-user/index.ts';

export type TargetFactory = (p: TargetParams, o: TargetOverrides, ctx?: TargetContext) => Promise<CtsTarget>;

/** The default factory: a fresh target per call. */
export const createTarget: TargetFactory = async (p, o) => {
  if (p.target === 'reference') {
    return createReferenceTarget({ device: p.device, transport: p.transport, defect: p.defect, timeoutScale: p.timeoutScale, blk: o.blk });
  }
  if (p.target === 'qemu') {
    if (p.defect) throw new Error('defects exist only in the reference emulator');
    if (!TARGET_DEVICES.qemu.includes(p.device)) throw new Error(`the QEMU target has no ${p.device} device (${TARGET_DEVICES.qemu.join(', ')})`);
    const mod = (await import(QEMU)) as typeof import('../../adapters/qemu/index.ts');
    // QEMU offers VIRTIO_F_RING_PACKED only with packed=on; a --qemu-device-prop packed=off
    // given by the user comes later on the -device option and wins.
    const props = [...(p.ring === 'packed' ? ['packed=on'] : []), ...(p.qemu?.extraDeviceProps ?? [])];
    return mod.createQemuTarget({
      device: p.device as import('../../adapters/qemu/index.ts').QemuTargetOptions['device'], transport: p.transport, timeoutScale: p.timeoutScale, blk: o.blk,
      qemuBinary: p.qemu?.binary, extraArgs: p.qemu?.extraArgs, ...(props.length ? { extraDeviceProps: props } : {}),
    });
  }
  if (p.target === 'vhost-user') {
    if (p.defect) throw new Error('defects exist only in the reference emulator');
    if (p.device === 'console') throw new Error('vhost-user: no console back-end');
    const mod = (await import(VHOST_USER)) as typeof import('../../adapters/vhost-user/index.ts');
    // qemu-storage-daemon's export has no serial option: o.blk.serial is not honoured.
    const blk = o.blk && (o.blk.readOnly !== undefined || o.blk.capacitySectors !== undefined)
      ? { readOnly: o.blk.readOnly, capacitySectors: o.blk.capacitySectors } : undefined;
    const t = await mod.createVhostUserTarget({ ...p.vhostUser, device: p.device, timeoutScale: p.timeoutScale, blk });
    return mod.asTarget(t) as CtsTarget;
  }
  throw new Error(`unknown target '${String(p.target)}'`);
};

let factory: TargetFactory = createTarget;

/** Replace the target factory (tests, pools); `undefined` restores the default. */
export function setTargetFactory(f: TargetFactory | undefined): void { factory = f ?? createTarget; }

/** The factory in use (a pool wraps it). */
export function getTargetFactory(): TargetFactory { return factory; }

export function startTarget(p: TargetParams, o: TargetOverrides = {}, ctx: TargetContext = {}): Promise<CtsTarget> { return factory(p, o, ctx); }
