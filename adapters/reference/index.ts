// Reference target: the emulator's devices in-process, behind the same Bus/GuestMemory
// contract and at the same places as the QEMU adapter (PCI 00:01.0 with INTx on GSI 21;
// MMIO window at microvm's last transport slot, GSI 47), so the same driver code and
// scenarios run on both.
import { UsageError } from '../../cli/errors.ts';
import { DEFECTS, createDevice, findDefect, GuestRam, type BlkModel, type NetModel, type NetModelOptions, type ConsoleModel, type ConsoleModelOptions } from '../../emulator/index.ts';
import type { DeviceLocation, Target } from '../types.ts';
import type { WireOffload } from '../../virtio/net.ts';
import { ReferenceBus } from './bus.ts';
import { ReferenceMemory } from './memory.ts';
import type { PackedDeviceHooks } from '../../virtio/packed-ring-device.ts';

export interface ReferenceTargetOptions {
  device: 'entropy' | 'blk' | 'net' | 'console';
  transport: 'pci' | 'mmio';
  defect?: string;
  timeoutScale?: number;
  blk?: { readOnly?: boolean; capacitySectors?: number; serial?: string };
  net?: NetModelOptions;
  console?: ConsoleModelOptions;
  /** Called at each step of writing a packed used descriptor (emulator/device.ts packedHooks). */
  packedHooks?: PackedDeviceHooks;
}

export interface ReferenceTarget extends Target {
  /** blk only: grow the disk by 8 sectors and signal a configuration change. */
  changeConfig?(): Promise<void>;
  /**
   * Watch the packed ring's used-descriptor writes as they happen: `fn` runs after each of
   * the two writes of a used descriptor (body = id/len, flags), while the device waits, so
   * a scenario can read the ring as a driver polling at that instant would (undefined
   * stops watching). Only an in-process device can offer this; other targets lack it.
   */
  observeUsedWrites(fn: UsedWriteObserver | undefined): void;
}

export type UsedWriteObserver = NonNullable<PackedDeviceHooks['onUsedWrite']>;

/** Guest RAM size; allocations start at 1 MiB as on q35/microvm. */
export const RAM_SIZE = 32 * 1024 * 1024;
/** Same as adapters/qemu: q35 slot 1, INTA routed to GSI 21. */
export const PCI_SLOT = 1;
export const PCI_IRQ_LINE = 21;
/** Same as adapters/qemu: microvm's transport slot 23 at 0xfeb02e00, GSI 47. */
export const MMIO_BASE = 0xfeb02e00;
export const MMIO_IRQ_LINE = 47;
export const CAPACITY_STEP_SECTORS = 8;

export async function createReferenceTarget(o: ReferenceTargetOptions): Promise<ReferenceTarget> {
  if (o.device !== 'net' && o.device !== 'entropy' && o.device !== 'blk' && o.device !== 'console') throw new UsageError(`unknown device '${String(o.device)}' (valid: net, entropy, blk, console)`);
  if (o.transport !== 'pci' && o.transport !== 'mmio') throw new UsageError(`unknown transport '${String(o.transport)}' (valid: pci, mmio)`);
  if (o.defect !== undefined && !findDefect(o.defect)) {
    throw new UsageError(`unknown defect '${o.defect}' (valid: ${DEFECTS.map((d) => d.name).join(', ')})`);
  }
  const ram = new GuestRam(RAM_SIZE);
  let observer: UsedWriteObserver | undefined;
  const packedHooks: PackedDeviceHooks = {
    onUsedWrite: async (step, pos, id) => {
      await o.packedHooks?.onUsedWrite?.(step, pos, id);
      await observer?.(step, pos, id);
    },
  };
  const emu = createDevice({ device: o.device, transport: o.transport, ram, defect: o.defect, mmioBase: MMIO_BASE, blk: o.blk, net: o.net, console: o.console, packedHooks });
  let location: DeviceLocation;
  let bus: ReferenceBus;
  if (emu.pci) {
    const address = { bus: 0, device: PCI_SLOT, fn: 0 };
    location = { transport: 'pci', address, irqLine: PCI_IRQ_LINE };
    bus = new ReferenceBus({ ram, pci: { address, fn: emu.pci, irqLine: PCI_IRQ_LINE } });
  } else {
    location = { transport: 'mmio', base: MMIO_BASE, irqLine: MMIO_IRQ_LINE };
    bus = new ReferenceBus({ ram, mmio: { window: emu.mmio!, irqLine: MMIO_IRQ_LINE } });
  }
  const defect = emu.device.defects.active ? `, defect ${emu.device.defects.active.name}` : '';
  // Console: the model is its own host side (inject/received/emergency/unplug).
  const consoleHost = o.device === 'console' ? (emu.model as ConsoleModel) : undefined;
  const target: ReferenceTarget = {
    ...(consoleHost ? { console: consoleHost } : {}),
    description: `reference ${o.device} (virtio-${o.transport}${defect})`,
    bus,
    mem: new ReferenceMemory(ram),
    location,
    timeoutScale: o.timeoutScale ?? 1,
    close: async () => { ram.release(); },
    observeUsedWrites: (fn) => { observer = fn; },
  };
  if (o.device === 'net') {
    // The wire: frames in and out of the in-process device, and its link.
    const net = emu.model as NetModel;
    let taken = 0;
    Object.assign(target, { wire: {
      inject: (frame: Uint8Array) => net.inject(frame),
      injectOffloaded: (frame: Uint8Array, offload: WireOffload) => net.inject(frame, offload),
      sent: () => { const s = net.wire.sent.slice(taken); taken = net.wire.sent.length; return s; },
      setLink: async (up: boolean) => { net.setLink(up); },
      announce: async () => { net.announce(); },
    } });
  }
  if (o.device === 'blk') {
    const blk = emu.model as BlkModel;
    target.changeConfig = async () => {
      blk.resize(blk.capacity + CAPACITY_STEP_SECTORS);
      emu.device.configChanged();
    };
  }
  return target;
}
