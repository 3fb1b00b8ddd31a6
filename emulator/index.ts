// Reference devices: build a device model on a transport, with an optional defect.
import { Defects } from './defects.ts';
import { VirtioDevice, type DeviceModel } from './device.ts';
import { MmioWindow } from './mmio.ts';
import { BlkModel, type BlkModelOptions } from './models/blk.ts';
import { EntropyModel } from './models/entropy.ts';
import { NetModel, type NetModelOptions } from './net/model.ts';
import { ConsoleModel, type ConsoleModelOptions } from './console/model.ts';
import { PciFunction } from './pci.ts';
import type { GuestRam } from './ram.ts';
import type { PackedDeviceHooks } from '../virtio/packed-ring-device.ts';

export {
  DEFECTS, CLAUSE, Defects, findDefect, defectApplies, type DefectInfo, type DefectDevice, type DefectRing, type DefectTransport,
} from './defects.ts';
export { VirtioDevice, type ChainContext, type DeviceModel } from './device.ts';
export { PciFunction } from './pci.ts';
export { MmioWindow } from './mmio.ts';
export { GuestRam, DmaError } from './ram.ts';
export { BlkModel } from './models/blk.ts';
export { EntropyModel } from './models/entropy.ts';
export { NetModel, type NetModelOptions, type NetWireState } from './net/model.ts';
export { ConsoleModel, type ConsoleHost, type ConsoleModelOptions } from './console/model.ts';

export interface EmulatedDeviceOptions {
  device: 'entropy' | 'blk' | 'net' | 'console';
  transport: 'pci' | 'mmio';
  ram: GuestRam;
  defect?: string;
  /** MMIO only: where the register window sits. */
  mmioBase?: number;
  blk?: BlkModelOptions;
  net?: NetModelOptions;
  console?: ConsoleModelOptions;
  /** Observers of the packed ring's used-descriptor writes (tests, monitors). */
  packedHooks?: PackedDeviceHooks;
}

export interface EmulatedDevice {
  device: VirtioDevice;
  model: DeviceModel;
  pci?: PciFunction;
  mmio?: MmioWindow;
}

export function createDevice(o: EmulatedDeviceOptions): EmulatedDevice {
  const defects = new Defects(o.defect, o.device, o.transport);
  const model = o.device === 'net' ? new NetModel(o.net ?? {}, defects) : o.device === 'blk' ? new BlkModel(o.blk ?? {}, defects)
    : o.device === 'console' ? new ConsoleModel(o.console ?? {}, defects) : new EntropyModel();
  const device = new VirtioDevice(model, o.ram, defects, o.transport);
  device.packedHooks = o.packedHooks;
  if (o.transport === 'pci') return { device, model, pci: new PciFunction(device, { ram: o.ram }) };
  if (o.mmioBase === undefined) throw new Error('createDevice: mmioBase is required for the mmio transport');
  return { device, model, mmio: new MmioWindow(device, o.mmioBase) };
}
