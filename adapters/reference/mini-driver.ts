// Test support: the smallest hand-written virtio driver that reaches a device through a
// Target's registers (PCI capability walk + BAR placement, or the MMIO window) and a
// split ring written byte by byte. It depends only on the spec's layout constants, so
// the emulator's own tests do not lean on the suite's driver (driver/).
import {
  AVAIL, AVAIL_ALIGN, DESC, DESC_ALIGN, DESC_SIZE, USED, USED_ALIGN, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE, availRingSize, descTableSize, usedRingSize,
} from '../../virtio/split-ring.ts';
import { MMIO } from '../../virtio/mmio.ts';
import {
  COMMON_CFG, MSIX_CAP, PCI_CAP_ID_MSIX, PCI_CAP_ID_VNDR, PCI_CAPABILITY_LIST, PCI_COMMAND, PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY, VIRTIO_PCI_CAP, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_CAP_MULT, type CommonCfgField,
} from '../../virtio/pci.ts';
import type { PciAddress, Target, Width } from '../types.ts';

export interface PciCap { at: number; cfgType: number; bar: number; offset: number; length: number }

export interface Buf { addr: number; len: number; write: boolean }

export class MiniDriver {
  caps: PciCap[] = [];
  msixCapAt?: number;
  bars = new Map<number, number>();
  notifyMult = 0;

  private constructor(readonly t: Target) {}

  static async open(t: Target): Promise<MiniDriver> {
    const d = new MiniDriver(t);
    if (t.location.transport === 'pci') await d.probePci(t.location.address);
    return d;
  }

  get pciAddr(): PciAddress {
    if (this.t.location.transport !== 'pci') throw new Error('not pci');
    return this.t.location.address;
  }

  cfgRead(off: number, w: Width) { return this.t.bus.pciConfigRead(this.pciAddr, off, w); }
  cfgWrite(off: number, w: Width, v: number) { return this.t.bus.pciConfigWrite(this.pciAddr, off, w, v); }

  /** Walk the capability list, size and place the BARs the virtio caps use, enable memory. */
  private async probePci(a: PciAddress): Promise<void> {
    const bus = this.t.bus;
    for (let at = await bus.pciConfigRead(a, PCI_CAPABILITY_LIST, 1) & 0xfc; at !== 0; at = await bus.pciConfigRead(a, at + 1, 1) & 0xfc) {
      const id = await bus.pciConfigRead(a, at, 1);
      if (id === PCI_CAP_ID_MSIX) this.msixCapAt = at;
      if (id !== PCI_CAP_ID_VNDR) continue;
      const cap: PciCap = {
        at, cfgType: await bus.pciConfigRead(a, at + VIRTIO_PCI_CAP.cfg_type, 1), bar: await bus.pciConfigRead(a, at + VIRTIO_PCI_CAP.bar, 1),
        offset: await bus.pciConfigRead(a, at + VIRTIO_PCI_CAP.offset, 4), length: await bus.pciConfigRead(a, at + VIRTIO_PCI_CAP.length, 4),
      };
      this.caps.push(cap);
      if (cap.cfgType === VIRTIO_PCI_CAP_NOTIFY_CFG) this.notifyMult = await bus.pciConfigRead(a, at + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
    }
    const bars = new Set(this.caps.filter((c) => c.cfgType <= VIRTIO_PCI_CAP_DEVICE_CFG).map((c) => c.bar));
    if (this.msixCapAt !== undefined) bars.add(await bus.pciConfigRead(a, this.msixCapAt + MSIX_CAP.table, 4) & 7);
    for (const n of bars) await this.placeBar(n);
    await bus.pciConfigWrite(a, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  }

  private async placeBar(n: number): Promise<void> {
    const off = 0x10 + 4 * n;
    const orig = await this.cfgRead(off, 4);
    const is64 = (orig & 0x6) === 0x4;
    await this.cfgWrite(off, 4, 0xffffffff);
    const size = (~(await this.cfgRead(off, 4) & ~0xf) >>> 0) + 1;
    const addr = this.t.bus.allocMmio(size);
    await this.cfgWrite(off, 4, addr);
    if (is64) await this.cfgWrite(off + 4, 4, 0);
    this.bars.set(n, addr);
  }

  cap(type: number): PciCap {
    const c = this.caps.find((x) => x.cfgType === type);
    if (!c) throw new Error(`no virtio capability of type ${type}`);
    return c;
  }

  private capAddr(type: number, off = 0): number {
    const c = this.cap(type);
    return this.bars.get(c.bar)! + c.offset + off;
  }

  async common(f: CommonCfgField): Promise<number> {
    const [off, w] = COMMON_CFG[f];
    const a = this.capAddr(VIRTIO_PCI_CAP_COMMON_CFG, off);
    return w === 8 ? Number(await this.t.bus.read64(a)) : this.t.bus.read(a, w as Width);
  }

  async setCommon(f: CommonCfgField, v: number): Promise<void> {
    const [off, w] = COMMON_CFG[f];
    const a = this.capAddr(VIRTIO_PCI_CAP_COMMON_CFG, off);
    if (w === 8) await this.t.bus.write64(a, BigInt(v)); else await this.t.bus.write(a, w as Width, v);
  }

  mmio(reg: keyof typeof MMIO): Promise<number> {
    if (this.t.location.transport !== 'mmio') throw new Error('not mmio');
    return this.t.bus.read(this.t.location.base + MMIO[reg], 4);
  }

  setMmio(reg: keyof typeof MMIO, v: number): Promise<void> {
    if (this.t.location.transport !== 'mmio') throw new Error('not mmio');
    return this.t.bus.write(this.t.location.base + MMIO[reg], 4, v);
  }

  get isPci(): boolean { return this.t.location.transport === 'pci'; }

  async status(): Promise<number> { return this.isPci ? this.common('device_status') : this.mmio('Status'); }
  async setStatus(s: number): Promise<void> { return this.isPci ? this.setCommon('device_status', s) : this.setMmio('Status', s); }

  async deviceFeatures(): Promise<bigint> {
    let f = 0n;
    for (const sel of [0, 1]) {
      if (this.isPci) { await this.setCommon('device_feature_select', sel); f |= BigInt(await this.common('device_feature')) << BigInt(32 * sel); }
      else { await this.setMmio('DeviceFeaturesSel', sel); f |= BigInt(await this.mmio('DeviceFeatures')) << BigInt(32 * sel); }
    }
    return f;
  }

  async setDriverFeatures(f: bigint): Promise<void> {
    for (const sel of [0, 1]) {
      const v = Number((f >> BigInt(32 * sel)) & 0xffffffffn);
      if (this.isPci) { await this.setCommon('driver_feature_select', sel); await this.setCommon('driver_feature', v); }
      else { await this.setMmio('DriverFeaturesSel', sel); await this.setMmio('DriverFeatures', v); }
    }
  }

  async deviceId(): Promise<number> {
    if (!this.isPci) return this.mmio('DeviceID');
    return (await this.cfgRead(2, 2)) - 0x1040;
  }

  async queueMax(q: number): Promise<number> {
    if (this.isPci) { await this.setCommon('queue_select', q); return this.common('queue_size'); }
    await this.setMmio('QueueSel', q);
    return this.mmio('QueueSizeMax');
  }

  async setupQueue(q: number, size: number, o: { ready?: boolean } = {}): Promise<Ring> {
    const mem = this.t.mem;
    const ring = new Ring(this, q, size, await mem.alloc(descTableSize(size), DESC_ALIGN),
      await mem.alloc(availRingSize(size), AVAIL_ALIGN), await mem.alloc(usedRingSize(size), USED_ALIGN));
    const ready = o.ready ?? true;
    if (this.isPci) {
      await this.setCommon('queue_select', q);
      await this.setCommon('queue_size', size);
      await this.setCommon('queue_desc', ring.desc);
      await this.setCommon('queue_driver', ring.avail);
      await this.setCommon('queue_device', ring.used);
      if (ready) await this.setCommon('queue_enable', 1);
    } else {
      await this.setMmio('QueueSel', q);
      await this.setMmio('QueueSize', size);
      await this.setMmio('QueueDescLow', ring.desc); await this.setMmio('QueueDescHigh', 0);
      await this.setMmio('QueueDriverLow', ring.avail); await this.setMmio('QueueDriverHigh', 0);
      await this.setMmio('QueueDeviceLow', ring.used); await this.setMmio('QueueDeviceHigh', 0);
      if (ready) await this.setMmio('QueueReady', 1);
    }
    return ring;
  }

  async notify(q: number): Promise<void> {
    if (!this.isPci) { await this.setMmio('QueueNotify', q); return; }
    await this.setCommon('queue_select', q);
    const off = await this.common('queue_notify_off');
    await this.t.bus.write(this.capAddr(VIRTIO_PCI_CAP_NOTIFY_CFG, off * this.notifyMult), 2, q);
  }

  async readConfig(off: number, w: Width): Promise<number> {
    if (this.isPci) return this.t.bus.read(this.capAddr(VIRTIO_PCI_CAP_DEVICE_CFG, off), w);
    if (this.t.location.transport !== 'mmio') throw new Error('unreachable');
    return this.t.bus.read(this.t.location.base + MMIO.Config + off, w);
  }

  async configGeneration(): Promise<number> {
    return this.isPci ? this.common('config_generation') : this.mmio('ConfigGeneration');
  }

  /** PCI: read (and so clear) the ISR. MMIO: read InterruptStatus and acknowledge it. */
  async takeInterrupt(): Promise<number> {
    if (this.isPci) return this.t.bus.read(this.capAddr(VIRTIO_PCI_CAP_ISR_CFG), 1);
    const s = await this.mmio('InterruptStatus');
    if (s) await this.setMmio('InterruptACK', s);
    return s;
  }

  async irq(): Promise<boolean> { return this.t.bus.irqLevel(this.t.location.irqLine); }

  /** reset, ACK, DRIVER, features, FEATURES_OK (returns whether it stuck). */
  async negotiate(features: bigint): Promise<boolean> {
    await this.setStatus(0);
    await this.setStatus(1);
    await this.setStatus(3);
    await this.setDriverFeatures(features);
    await this.setStatus(11);
    return ((await this.status()) & 8) !== 0;
  }
}

/** A split ring written with the spec's layout constants. */
export class Ring {
  nextDesc = 0;
  availIdx = 0;
  lastUsed = 0;

  constructor(readonly drv: MiniDriver, readonly q: number, readonly size: number, readonly desc: number, readonly avail: number, readonly used: number) {}

  private get mem() { return this.drv.t.mem; }

  async writeDesc(base: number, i: number, addr: number, len: number, flags: number, next: number): Promise<void> {
    const d = new DataView(new ArrayBuffer(DESC_SIZE));
    d.setBigUint64(DESC.addr, BigInt(addr), true);
    d.setUint32(DESC.len, len, true);
    d.setUint16(DESC.flags, flags, true);
    d.setUint16(DESC.next, next, true);
    await this.mem.write(base + DESC_SIZE * i, new Uint8Array(d.buffer));
  }

  /** Write a chain into the table (direct, or as one indirect table) and expose it. */
  async add(bufs: Buf[], o: { indirect?: boolean; indirectWrite?: boolean } = {}): Promise<number> {
    const head = this.nextDesc;
    if (o.indirect) {
      const table = await this.mem.alloc(DESC_SIZE * bufs.length, 16);
      for (let i = 0; i < bufs.length; i++) {
        await this.writeDesc(table, i, bufs[i].addr, bufs[i].len,
          (i + 1 < bufs.length ? VIRTQ_DESC_F_NEXT : 0) | (bufs[i].write ? VIRTQ_DESC_F_WRITE : 0), i + 1 < bufs.length ? i + 1 : 0);
      }
      await this.writeDesc(this.desc, head, table, DESC_SIZE * bufs.length, VIRTQ_DESC_F_INDIRECT | (o.indirectWrite ? VIRTQ_DESC_F_WRITE : 0), 0);
      this.nextDesc = (head + 1) % this.size;
    } else {
      for (let k = 0; k < bufs.length; k++) {
        const i = (head + k) % this.size;
        const next = (head + k + 1) % this.size;
        await this.writeDesc(this.desc, i, bufs[k].addr, bufs[k].len,
          (k + 1 < bufs.length ? VIRTQ_DESC_F_NEXT : 0) | (bufs[k].write ? VIRTQ_DESC_F_WRITE : 0), k + 1 < bufs.length ? next : 0);
      }
      this.nextDesc = (head + bufs.length) % this.size;
    }
    await this.mem.write(this.avail + AVAIL.ring + 2 * (this.availIdx % this.size), new Uint8Array([head & 0xff, head >> 8]));
    this.availIdx = (this.availIdx + 1) & 0xffff;
    await this.mem.write(this.avail + AVAIL.idx, new Uint8Array([this.availIdx & 0xff, this.availIdx >> 8]));
    return head;
  }

  async u16(addr: number): Promise<number> {
    const b = await this.mem.read(addr, 2);
    return b[0] | (b[1] << 8);
  }

  async usedIdx(): Promise<number> { return this.u16(this.used + USED.idx); }
  async usedFlags(): Promise<number> { return this.u16(this.used + USED.flags); }

  /** The next used element, if the device published one. */
  async takeUsed(): Promise<{ id: number; len: number } | undefined> {
    if (await this.usedIdx() === this.lastUsed) return undefined;
    const b = await this.mem.read(this.used + USED.ring + USED.ELEM_SIZE * (this.lastUsed % this.size), USED.ELEM_SIZE);
    const v = new DataView(b.buffer);
    this.lastUsed = (this.lastUsed + 1) & 0xffff;
    return { id: v.getUint32(0, true), len: v.getUint32(4, true) };
  }

  async setAvailFlags(f: number): Promise<void> { await this.mem.write(this.avail + AVAIL.flags, new Uint8Array([f & 0xff, f >> 8])); }
  async setUsedEvent(n: number): Promise<void> { await this.mem.write(this.avail + AVAIL.usedEvent(this.size), new Uint8Array([n & 0xff, n >> 8])); }

  /** Add, notify and take the used element (the reference works synchronously). */
  async request(bufs: Buf[], o?: { indirect?: boolean; indirectWrite?: boolean }): Promise<{ id: number; len: number } | undefined> {
    await this.add(bufs, o);
    await this.drv.notify(this.q);
    await this.drv.t.bus.settle();
    return this.takeUsed();
  }
}
