// PCI configuration space discovery for virtio-pci modern (spec 4.1.2–4.1.4): BAR sizing
// and assignment, the capability list walk, and the virtio vendor capabilities.
import type { Bus, PciAddress } from '../adapters/types.ts';
import {
  MSIX_CAP, PCI_BAR0, PCI_CAPABILITY_LIST, PCI_CAP_ID_MSIX, PCI_CAP_ID_VNDR, PCI_STATUS,
  PCI_STATUS_CAP_LIST, VIRTIO_PCI_CAP, VIRTIO_PCI_NOTIFY_CAP_MULT,
} from '../virtio/pci.ts';

export interface BarInfo { index: number; size: number; addr: number; is64: boolean }

/** A virtio vendor capability (struct virtio_pci_cap), where it sits in config space. */
export interface VirtioPciCap {
  /** Offset of the capability in config space. */
  pos: number;
  cfg_type: number;
  bar: number;
  id: number;
  offset: number;
  length: number;
  cap_len: number;
  /** VIRTIO_PCI_CAP_NOTIFY_CFG only. */
  notify_off_multiplier?: number;
}

export interface MsixCapInfo { pos: number; tableSize: number; tableBar: number; tableOffset: number; pbaBar: number; pbaOffset: number }

export interface PciCaps {
  /** Every capability ID in list order (to check what is present). */
  ids: Array<{ pos: number; id: number }>;
  virtio: VirtioPciCap[];
  msix?: MsixCapInfo;
}

const MAX_CAPS = 48; // (256 - 64) / 4: a longer walk means a loop in the list

/**
 * Size each memory BAR (write all-ones, read back the mask) and place it with
 * bus.allocMmio. I/O BARs are left alone (the suite uses memory BARs only).
 */
export async function assignBars(bus: Bus, dev: PciAddress): Promise<BarInfo[]> {
  const out: BarInfo[] = [];
  for (let i = 0; i < 6; i++) {
    const off = PCI_BAR0 + 4 * i;
    const orig = await bus.pciConfigRead(dev, off, 4);
    if (orig & 1) continue; // I/O space
    const is64 = ((orig >>> 1) & 3) === 2;
    await bus.pciConfigWrite(dev, off, 4, 0xffffffff);
    const lo = (await bus.pciConfigRead(dev, off, 4)) & 0xfffffff0;
    let mask = BigInt(lo >>> 0);
    if (is64) {
      await bus.pciConfigWrite(dev, off + 4, 4, 0xffffffff);
      mask |= BigInt(await bus.pciConfigRead(dev, off + 4, 4)) << 32n;
    } else {
      mask |= 0xffffffff00000000n;
    }
    const size = Number((~mask & 0xffffffffffffffffn) + 1n);
    if (lo === 0 && (!is64 || mask >> 32n === 0n)) {
      await bus.pciConfigWrite(dev, off, 4, 0); // BAR not implemented
      if (is64) i++;
      continue;
    }
    const addr = bus.allocMmio(size);
    await bus.pciConfigWrite(dev, off, 4, addr >>> 0);
    if (is64) await bus.pciConfigWrite(dev, off + 4, 4, Math.floor(addr / 2 ** 32));
    out.push({ index: i, size, addr, is64 });
    if (is64) i++;
  }
  return out;
}

/** Walk the capability list from PCI_CAPABILITY_LIST, collecting virtio and MSI-X capabilities. */
export async function readCaps(bus: Bus, dev: PciAddress): Promise<PciCaps> {
  const caps: PciCaps = { ids: [], virtio: [] };
  if (((await bus.pciConfigRead(dev, PCI_STATUS, 2)) & PCI_STATUS_CAP_LIST) === 0) return caps;
  let pos = (await bus.pciConfigRead(dev, PCI_CAPABILITY_LIST, 1)) & 0xfc;
  const seen = new Set<number>();
  while (pos !== 0 && !seen.has(pos) && seen.size < MAX_CAPS) {
    seen.add(pos);
    const id = await bus.pciConfigRead(dev, pos, 1);
    const next = (await bus.pciConfigRead(dev, pos + 1, 1)) & 0xfc;
    caps.ids.push({ pos, id });
    if (id === PCI_CAP_ID_VNDR) caps.virtio.push(await readVirtioCap(bus, dev, pos));
    else if (id === PCI_CAP_ID_MSIX && !caps.msix) caps.msix = await readMsixCap(bus, dev, pos);
    pos = next;
  }
  return caps;
}

async function readVirtioCap(bus: Bus, dev: PciAddress, pos: number): Promise<VirtioPciCap> {
  const r1 = (o: number) => bus.pciConfigRead(dev, pos + o, 1);
  const cap: VirtioPciCap = {
    pos,
    cap_len: await r1(VIRTIO_PCI_CAP.cap_len),
    cfg_type: await r1(VIRTIO_PCI_CAP.cfg_type),
    bar: await r1(VIRTIO_PCI_CAP.bar),
    id: await r1(VIRTIO_PCI_CAP.id),
    offset: await bus.pciConfigRead(dev, pos + VIRTIO_PCI_CAP.offset, 4),
    length: await bus.pciConfigRead(dev, pos + VIRTIO_PCI_CAP.length, 4),
  };
  if (cap.cfg_type === 2 /* VIRTIO_PCI_CAP_NOTIFY_CFG */ && cap.cap_len >= VIRTIO_PCI_NOTIFY_CAP_MULT + 4) {
    cap.notify_off_multiplier = await bus.pciConfigRead(dev, pos + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
  }
  return cap;
}

async function readMsixCap(bus: Bus, dev: PciAddress, pos: number): Promise<MsixCapInfo> {
  const ctrl = await bus.pciConfigRead(dev, pos + MSIX_CAP.msg_ctrl, 2);
  const table = await bus.pciConfigRead(dev, pos + MSIX_CAP.table, 4);
  const pba = await bus.pciConfigRead(dev, pos + MSIX_CAP.pba, 4);
  return {
    pos, tableSize: (ctrl & 0x7ff) + 1,
    tableBar: table & 7, tableOffset: (table & ~7) >>> 0,
    pbaBar: pba & 7, pbaOffset: (pba & ~7) >>> 0,
  };
}

/**
 * The first capability of each cfg_type whose BAR is one the driver can use (4.1.4: the
 * driver uses the first instance of each structure type it supports).
 */
export function firstCap(caps: PciCaps, cfgType: number, bars: BarInfo[]): VirtioPciCap | undefined {
  return caps.virtio.find((c) => c.cfg_type === cfgType && bars.some((b) => b.index === c.bar));
}
