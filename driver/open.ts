// openDriver: find the device on the target's transport and wrap it in a Driver. Nothing
// is checked here (vendor ID, magic, capabilities): scenarios check those themselves, and
// a missing structure only fails when the driver needs it.
import type { Target } from '../adapters/types.ts';
import { Driver } from './driver.ts';
import type { Transport } from './transport.ts';
import type { RingLayout } from './ring.ts';
import { MmioTransport } from './mmio-transport.ts';
import { PciTransport } from './pci-transport.ts';

export interface OpenOptions {
  /** PCI: enable MSI-X with vectors aimed at guest-RAM words (default: INTx, notifications seen through ISR). */
  msix?: boolean;
  /** Virtqueue layout: 'packed' negotiates VIRTIO_F_RING_PACKED and builds packed rings (default 'split'). */
  ring?: RingLayout;
}

export async function openDriver(target: Target, o: OpenOptions = {}): Promise<Driver> {
  if (o.ring !== undefined && o.ring !== 'split' && o.ring !== 'packed') throw new Error(`openDriver: unknown ring layout '${String(o.ring)}' (valid: split, packed)`);
  const loc = target.location;
  // vhost-user has no Bus: the adapter brings its own Transport (adapters/vhost-user).
  if ((loc as { transport: string }).transport === 'vhost-user') {
    const own = (target as Target & { transport?: Transport }).transport;
    if (!own) throw new Error('openDriver: a vhost-user target must carry its transport');
    return new Driver(target, own, undefined, undefined, o.ring ?? 'split');
  }
  const scale = target.timeoutScale;
  if (loc.transport === 'pci') {
    const pci = await PciTransport.open(target.bus, loc.address, { timeoutScale: scale });
    if (o.msix) await pci.enableMsix(target.mem);
    return new Driver(target, pci, pci, undefined, o.ring ?? 'split');
  }
  if (loc.transport === 'mmio') {
    const mmio = new MmioTransport(target.bus, loc.base, { timeoutScale: scale });
    return new Driver(target, mmio, undefined, mmio, o.ring ?? 'split');
  }
  throw new Error(`openDriver: unknown transport '${(loc as { transport: string }).transport}'`);
}
