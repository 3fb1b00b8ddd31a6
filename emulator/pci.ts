// A virtio-pci modern function (spec 4.1) hosting a VirtioDevice: PCI config space
// with the virtio vendor capabilities (common, notify, ISR, device, PCI cfg access) and
// an MSI-X capability; BAR4 (64-bit, prefetchable) holds the virtio structures, BAR1
// the MSI-X table and PBA (the same split as QEMU's virtio-pci). INTx is a level
// derived from the ISR; an MSI-X message is a dword written into guest RAM.
import {
  COMMON_CFG, COMMON_CFG_SIZE, ISR_CONFIG, ISR_QUEUE, MSIX_CTRL_ENABLE, MSIX_CTRL_MASKALL, MSIX_ENTRY, PCI_CAP_ID_MSIX,
  PCI_CAP_ID_VNDR, PCI_COMMAND_MEMORY, PCI_DEVICE_ID_BASE, PCI_STATUS_CAP_LIST, PCI_VENDOR_ID_VIRTIO,
  VIRTIO_MSI_NO_VECTOR, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_CAP_PCI_CFG, type CommonCfgField,
} from '../virtio/pci.ts';
import type { InterruptSink, VirtioDevice } from './device.ts';
import type { GuestRam } from './ram.ts';

export const PCI_CONFIG_SPACE_SIZE = 256;
export const MSIX_BAR = 1;
export const VIRTIO_BAR = 4;
export const MSIX_BAR_SIZE = 0x1000;
export const VIRTIO_BAR_SIZE = 0x4000;
export const MSIX_TABLE_OFFSET = 0x000;
export const MSIX_PBA_OFFSET = 0x800;
/** Regions of the virtio BAR, one page each. */
export const REGION = { common: 0x0000, isr: 0x1000, device: 0x2000, notify: 0x3000 } as const;
export const REGION_SIZE = 0x1000;
export const NOTIFY_OFF_MULTIPLIER = 4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS_INTERRUPT = 0x08;
const PCI_SUBSYSTEM_ID_VIRTIO = 0x1100;
/** Class codes: mass storage / SCSI for blk, Ethernet for net (as QEMU), "other" for the rest. */
const CLASS = { blk: 0x010000, entropy: 0xff0000, net: 0x020000, console: 0x078000 } as const;

const BAR_OFFSET = (n: number) => 0x10 + 4 * n;

interface Cap { at: number; len: number }

export interface PciFunctionOptions { ram: GuestRam }

export class PciFunction implements InterruptSink {
  private readonly cfg = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  private readonly wmask = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  private msixCap!: Cap;
  private pciCfgCap!: Cap;
  readonly msixVectors: number;
  private readonly msixTable: Uint8Array;
  private pba = 0n;
  /** ISR status (4.1.4.5): bit 0 queue, bit 1 config. */
  isr = 0;
  readonly notifyOffMultiplier: number;
  // common-config selectors
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private queueSelect = 0;

  constructor(readonly dev: VirtioDevice, private readonly o: PciFunctionOptions) {
    dev.irq = this;
    this.msixVectors = dev.model.numQueues + 1;
    this.msixTable = new Uint8Array(this.msixVectors * MSIX_ENTRY.SIZE);
    // Every entry starts masked (PCI spec).
    for (let v = 0; v < this.msixVectors; v++) this.msixTable[v * MSIX_ENTRY.SIZE + MSIX_ENTRY.ctrl] = 1;
    this.notifyOffMultiplier = dev.defects.on('odd-notify-multiplier') ? 6 : NOTIFY_OFF_MULTIPLIER;
    this.buildConfigSpace();
  }

  // --- config space --------------------------------------------------------------------

  private buildConfigSpace(): void {
    const c = new DataView(this.cfg.buffer);
    const d = this.dev;
    c.setUint16(0x00, d.defects.on('wrong-vendor-id') ? PCI_VENDOR_ID_VIRTIO + 1 : PCI_VENDOR_ID_VIRTIO, true);
    c.setUint16(0x02, PCI_DEVICE_ID_BASE + d.model.deviceId + (d.defects.on('wrong-device-id') ? 1 : 0), true);
    c.setUint16(0x06, PCI_STATUS_CAP_LIST, true);
    // Revision 1: a modern-only device (4.1.2.1).
    c.setUint32(0x08, (CLASS[d.model.type] << 8) | 1, true);
    c.setUint32(BAR_OFFSET(MSIX_BAR), 0, true);
    c.setUint32(BAR_OFFSET(VIRTIO_BAR), 0x0c, true); // 64-bit, prefetchable memory
    c.setUint16(0x2c, PCI_VENDOR_ID_VIRTIO, true);
    c.setUint16(0x2e, PCI_SUBSYSTEM_ID_VIRTIO, true);
    c.setUint8(0x3d, 1); // INTA#
    this.wmask[0x04] = 0x07; this.wmask[0x05] = PCI_COMMAND_INTX_DISABLE >> 8; // IO, MEM, MASTER, INTx disable
    this.wmask[0x3c] = 0xff; // interrupt line

    const caps: Array<{ len: number; fill: (at: number) => void }> = [];
    caps.push({ len: 12, fill: (at) => {
      this.msixCap = { at, len: 12 };
      c.setUint8(at, PCI_CAP_ID_MSIX);
      c.setUint16(at + 2, this.msixVectors - 1, true);
      c.setUint32(at + 4, MSIX_TABLE_OFFSET | MSIX_BAR, true);
      c.setUint32(at + 8, MSIX_PBA_OFFSET | MSIX_BAR, true);
      this.wmask[at + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
    } });
    const vcap = (type: number, offset: number, length: number, extra = 0) => ({ len: 16 + extra, fill: (at: number) => {
      c.setUint8(at, PCI_CAP_ID_VNDR);
      c.setUint8(at + 2, 16 + extra);
      c.setUint8(at + 3, type);
      c.setUint8(at + 4, VIRTIO_BAR);
      c.setUint32(at + 8, offset, true);
      c.setUint32(at + 12, length, true);
      if (type === VIRTIO_PCI_CAP_NOTIFY_CFG) c.setUint32(at + 16, this.notifyOffMultiplier, true);
    } });
    if (!d.defects.on('no-common-cfg')) caps.push(vcap(VIRTIO_PCI_CAP_COMMON_CFG, REGION.common, COMMON_CFG_SIZE));
    if (!d.defects.on('no-isr-cap')) caps.push(vcap(VIRTIO_PCI_CAP_ISR_CFG, REGION.isr, 1));
    if (d.configSize() > 0) caps.push(vcap(VIRTIO_PCI_CAP_DEVICE_CFG, REGION.device, d.configSize()));
    if (!d.defects.on('no-notify-cap')) caps.push(vcap(VIRTIO_PCI_CAP_NOTIFY_CFG, REGION.notify, REGION_SIZE, 4));
    // VIRTIO_PCI_CAP_PCI_CFG: a window onto the BARs through config space (4.1.4.9).
    caps.push({ len: 20, fill: (at) => {
      this.pciCfgCap = { at, len: 20 };
      c.setUint8(at, PCI_CAP_ID_VNDR);
      c.setUint8(at + 2, 20);
      c.setUint8(at + 3, VIRTIO_PCI_CAP_PCI_CFG);
      this.wmask[at + 4] = 0xff;
      for (let i = 8; i < 16; i++) this.wmask[at + i] = 0xff;
    } });
    let at = 0x40;
    c.setUint8(0x34, at);
    caps.forEach((cap, i) => {
      cap.fill(at);
      const next = i + 1 < caps.length ? (at + cap.len + 3) & ~3 : 0;
      c.setUint8(at + 1, next);
      at = next;
    });
  }

  private get command(): number { return this.cfg[0x04] | (this.cfg[0x05] << 8); }
  private get msixControl(): number { return this.cfg[this.msixCap.at + 3] << 8; }
  get msixEnabled(): boolean { return (this.msixControl & MSIX_CTRL_ENABLE) !== 0; }

  /** Base address of BAR `n` (0 = unassigned). */
  barAddress(n: number): number {
    const c = new DataView(this.cfg.buffer);
    if (n === MSIX_BAR) return (c.getUint32(BAR_OFFSET(MSIX_BAR), true) & ~0xf) >>> 0;
    if (n === VIRTIO_BAR) return c.getUint32(BAR_OFFSET(VIRTIO_BAR + 1), true) * 2 ** 32 + ((c.getUint32(BAR_OFFSET(VIRTIO_BAR), true) & ~0xf) >>> 0);
    return 0;
  }

  async configRead(offset: number, width: number): Promise<number> {
    const p = this.pciCfgCap.at + 16;
    if (offset >= p && offset < p + 4) return this.pciCfgDataRead();
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + this.configByte(offset + i);
    return v;
  }

  private configByte(off: number): number {
    if (off >= PCI_CONFIG_SPACE_SIZE) return 0;
    if (off === 0x06) return this.cfg[off] | (this.intxAsserted() ? PCI_STATUS_INTERRUPT : 0);
    return this.cfg[off];
  }

  async configWrite(offset: number, width: number, value: number): Promise<void> {
    const p = this.pciCfgCap.at + 16;
    if (offset >= p && offset < p + 4) { await this.pciCfgDataWrite(value); return; }
    const wasMsix = this.msixControl;
    for (let i = 0; i < width; i++) {
      const off = offset + i;
      if (off >= PCI_CONFIG_SPACE_SIZE) break;
      const b = Math.floor(value / 256 ** i) & 0xff;
      const bar = this.barAt(off);
      if (bar !== undefined) { this.writeBarByte(off, bar, b); continue; }
      this.cfg[off] = (this.cfg[off] & ~this.wmask[off]) | (b & this.wmask[off]);
    }
    if (this.msixControl !== wasMsix) this.msixUnmasked();
  }

  private barAt(off: number): number | undefined {
    const n = Math.floor((off - 0x10) / 4);
    return off >= 0x10 && off < 0x28 ? n : undefined;
  }

  /** BAR registers: the size bits read back 0 so the driver can size and place them. */
  private writeBarByte(off: number, n: number, b: number): void {
    const i = off - BAR_OFFSET(n);
    let mask: number;
    if (n === MSIX_BAR) mask = ~(MSIX_BAR_SIZE - 1) >>> 0;
    else if (n === VIRTIO_BAR) mask = ~(VIRTIO_BAR_SIZE - 1) >>> 0;
    else if (n === VIRTIO_BAR + 1) mask = 0xffffffff; // upper half of the 64-bit BAR
    else return; // unimplemented BAR: reads 0
    const m = (mask >>> (8 * i)) & 0xff;
    this.cfg[off] = (this.cfg[off] & ~m) | (b & m);
  }

  private pciCfgWindow(): { bar: number; offset: number; length: number } {
    const c = new DataView(this.cfg.buffer);
    const at = this.pciCfgCap.at;
    return { bar: c.getUint8(at + 4), offset: c.getUint32(at + 8, true), length: c.getUint32(at + 12, true) };
  }

  private async pciCfgDataRead(): Promise<number> {
    const w = this.pciCfgWindow();
    if (w.length !== 1 && w.length !== 2 && w.length !== 4) return 0;
    return this.barRead(w.bar, w.offset, w.length);
  }

  private async pciCfgDataWrite(value: number): Promise<void> {
    const w = this.pciCfgWindow();
    if (w.length !== 1 && w.length !== 2 && w.length !== 4) return;
    await this.barWrite(w.bar, w.offset, w.length, value % 2 ** (8 * w.length));
  }

  // --- BAR decode ----------------------------------------------------------------------

  /** Which BAR (and offset) an address falls in, when memory decoding is on. */
  decode(addr: number, width: number): { bar: number; offset: number } | undefined {
    if (!(this.command & PCI_COMMAND_MEMORY)) return undefined;
    for (const [bar, size] of [[MSIX_BAR, MSIX_BAR_SIZE], [VIRTIO_BAR, VIRTIO_BAR_SIZE]] as const) {
      const base = this.barAddress(bar);
      if (base !== 0 && addr >= base && addr + width <= base + size) return { bar, offset: addr - base };
    }
    return undefined;
  }

  async barRead(bar: number, offset: number, width: number): Promise<number> {
    if (bar === MSIX_BAR) return this.msixRead(offset, width);
    if (bar !== VIRTIO_BAR) return 0;
    const region = offset & ~(REGION_SIZE - 1);
    const off = offset - region;
    switch (region) {
      case REGION.common: return this.commonRead(off, width);
      case REGION.isr: return this.isrRead(off);
      case REGION.device: return off < this.dev.configSize() ? this.dev.readConfig(off, width) : 0;
      default: return 0;
    }
  }

  async barWrite(bar: number, offset: number, width: number, value: number): Promise<void> {
    if (bar === MSIX_BAR) { this.msixWrite(offset, width, value); return; }
    if (bar !== VIRTIO_BAR) return;
    const region = offset & ~(REGION_SIZE - 1);
    const off = offset - region;
    switch (region) {
      case REGION.common: this.commonWrite(off, width, value); return;
      case REGION.device: if (off < this.dev.configSize()) this.dev.writeConfig(off, width, value); return;
      case REGION.notify: await this.notifyWrite(off, value); return;
      default: return;
    }
  }

  async read64(bar: number, offset: number): Promise<bigint> {
    const lo = await this.barRead(bar, offset, 4);
    const hi = await this.barRead(bar, offset + 4, 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  async write64(bar: number, offset: number, value: bigint): Promise<void> {
    if (bar === VIRTIO_BAR && offset < REGION_SIZE) { this.commonWrite64(offset, value); return; }
    await this.barWrite(bar, offset, 4, Number(value & 0xffffffffn));
    await this.barWrite(bar, offset + 4, 4, Number(value >> 32n));
  }

  // --- common configuration (4.1.4.3) --------------------------------------------------

  private commonValue(field: CommonCfgField): bigint {
    const d = this.dev;
    const q = d.queues[this.queueSelect];
    switch (field) {
      case 'device_feature_select': return BigInt(this.deviceFeatureSelect);
      case 'device_feature':
        // Windows beyond the defined bits read 0; the defect wraps the select instead.
        return BigInt(d.deviceFeatureWindow(d.defects.on('feature-window-ignored') ? this.deviceFeatureSelect % 2 : this.deviceFeatureSelect));
      case 'driver_feature_select': return BigInt(this.driverFeatureSelect);
      case 'driver_feature': return BigInt(d.driverFeatureWindow(this.driverFeatureSelect));
      case 'config_msix_vector': return BigInt(d.configMsixVector);
      case 'num_queues': return BigInt(d.queues.length);
      case 'device_status': return BigInt(d.readStatus());
      case 'config_generation': return BigInt(d.configGeneration);
      case 'queue_select': return BigInt(this.queueSelect);
      case 'queue_size': return BigInt(q ? q.size : 0);
      case 'queue_msix_vector': return BigInt(q ? q.msixVector : VIRTIO_MSI_NO_VECTOR);
      case 'queue_enable': return q && (q.enabled || q.enabledReadback) ? 1n : 0n;
      case 'queue_notify_off': return BigInt(q ? this.queueSelect : 0);
      case 'queue_desc': return BigInt(q ? q.desc : 0);
      case 'queue_driver': return BigInt(q ? q.driver : 0);
      case 'queue_device': return BigInt(q ? q.device : 0);
      case 'queue_notif_config_data': return BigInt(q ? this.queueSelect : 0);
      case 'queue_reset': return 0n; // a queue reset completes at once (resetQueue)
      default: return 0n; // admin_queue_*: feature not offered
    }
  }

  private commonRead(off: number, width: number): number {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + this.commonByte(off + i);
    return v;
  }

  private commonByte(off: number): number {
    for (const [name, [at, w]] of Object.entries(COMMON_CFG) as Array<[CommonCfgField, readonly [number, number]]>) {
      if (off >= at && off < at + w) return Number((this.commonValue(name) >> BigInt(8 * (off - at))) & 0xffn);
    }
    return 0;
  }

  private validVector(v: number): number {
    if (v === VIRTIO_MSI_NO_VECTOR || v < this.msixVectors) return v;
    // Mapping failed: the field reads NO_VECTOR (4.1.5.1.2.1).
    return this.dev.defects.on('msix-mapping-failure-hidden') ? v : VIRTIO_MSI_NO_VECTOR;
  }

  private commonWrite(off: number, width: number, value: number): void {
    const d = this.dev;
    const q = d.queues[this.queueSelect];
    const is = (f: CommonCfgField) => off === COMMON_CFG[f][0] && width === COMMON_CFG[f][1];
    if (is('device_feature_select')) this.deviceFeatureSelect = value >>> 0;
    else if (is('driver_feature_select')) this.driverFeatureSelect = value >>> 0;
    else if (is('driver_feature')) d.writeDriverFeatureWindow(this.driverFeatureSelect, value);
    else if (is('config_msix_vector')) d.configMsixVector = this.validVector(value);
    else if (is('device_status')) d.writeStatus(value);
    else if (is('queue_select')) this.queueSelect = value;
    else if (!q) return;
    else if (is('queue_size')) { if (!q.enabled) q.size = value; }
    else if (is('queue_msix_vector')) q.msixVector = this.validVector(value);
    else if (is('queue_enable')) { if (value === 1) d.enableQueue(this.queueSelect); }
    else if (is('queue_reset')) { if (value === 1) d.resetQueue(this.queueSelect); }
    else {
      for (const f of ['queue_desc', 'queue_driver', 'queue_device'] as const) {
        const at = COMMON_CFG[f][0];
        if (width !== 4 || (off !== at && off !== at + 4) || q.enabled) continue;
        const cur = BigInt(q[f === 'queue_desc' ? 'desc' : f === 'queue_driver' ? 'driver' : 'device']);
        const shift = off === at ? 0n : 32n;
        const next = (cur & ~(0xffffffffn << shift)) | (BigInt(value >>> 0) << shift);
        this.setQueueAddr(f, next);
      }
    }
  }

  private commonWrite64(off: number, value: bigint): void {
    for (const f of ['queue_desc', 'queue_driver', 'queue_device'] as const) {
      if (off === COMMON_CFG[f][0]) { this.setQueueAddr(f, value); return; }
    }
    this.commonWrite(off, 4, Number(value & 0xffffffffn));
    this.commonWrite(off + 4, 4, Number(value >> 32n));
  }

  private setQueueAddr(f: 'queue_desc' | 'queue_driver' | 'queue_device', v: bigint): void {
    const q = this.dev.queues[this.queueSelect];
    if (!q || q.enabled) return;
    const n = v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
    if (f === 'queue_desc') q.desc = n; else if (f === 'queue_driver') q.driver = n; else q.device = n;
  }

  private async notifyWrite(off: number, value: number): Promise<void> {
    const m = this.notifyOffMultiplier;
    // With a multiplier of 0 every queue shares one address and the value names the queue.
    const q = m === 0 ? value & 0xffff : off / m;
    if (!Number.isInteger(q)) return;
    await this.dev.notify(q);
  }

  // --- ISR and interrupts ----------------------------------------------------------------

  private isrRead(off: number): number {
    if (off !== 0) return 0;
    const v = this.isr;
    // Reading the ISR clears it (4.1.4.5), and with it the INTx level.
    if (!this.dev.defects.on('isr-not-cleared-on-read')) this.isr = 0;
    return v;
  }

  intxAsserted(): boolean {
    return !this.msixEnabled && (this.isr & (ISR_QUEUE | ISR_CONFIG)) !== 0 && !(this.command & PCI_COMMAND_INTX_DISABLE);
  }

  queue(q: number): void {
    this.isr |= ISR_QUEUE;
    if (this.msixEnabled) this.msixNotify(this.dev.queues[q]?.msixVector ?? VIRTIO_MSI_NO_VECTOR);
  }

  config(): void {
    this.isr |= ISR_CONFIG;
    if (this.msixEnabled) this.msixNotify(this.dev.configMsixVector);
  }

  reset(): void {
    this.isr = 0;
    this.pba = 0n;
  }

  // --- MSI-X -------------------------------------------------------------------------------

  private entryMasked(v: number): boolean {
    return (this.msixControl & MSIX_CTRL_MASKALL) !== 0 || (this.msixTable[v * MSIX_ENTRY.SIZE + MSIX_ENTRY.ctrl] & 1) !== 0;
  }

  private msixNotify(v: number): void {
    if (v === VIRTIO_MSI_NO_VECTOR || v >= this.msixVectors) return;
    if (this.entryMasked(v)) { this.pba |= 1n << BigInt(v); return; }
    this.deliver(v);
  }

  /** The message: the entry's data dword written at the entry's address (guest RAM). */
  private deliver(v: number): void {
    const e = new DataView(this.msixTable.buffer, v * MSIX_ENTRY.SIZE, MSIX_ENTRY.SIZE);
    const addr = e.getUint32(MSIX_ENTRY.addr_hi, true) * 2 ** 32 + e.getUint32(MSIX_ENTRY.addr_lo, true);
    const data = new Uint8Array(this.msixTable.subarray(v * MSIX_ENTRY.SIZE + MSIX_ENTRY.data, v * MSIX_ENTRY.SIZE + MSIX_ENTRY.data + 4));
    if (this.o.ram.contains(addr, 4)) this.o.ram.writeSync(addr, data);
  }

  /** Deliver pending messages whose vector is no longer masked. */
  private msixUnmasked(): void {
    if (!this.msixEnabled) return;
    for (let v = 0; v < this.msixVectors; v++) {
      if ((this.pba >> BigInt(v)) & 1n && !this.entryMasked(v)) {
        this.pba &= ~(1n << BigInt(v));
        this.deliver(v);
      }
    }
  }

  private msixRead(off: number, width: number): number {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) {
      const o = off + i;
      let b = 0;
      if (o >= MSIX_TABLE_OFFSET && o < MSIX_TABLE_OFFSET + this.msixTable.length) b = this.msixTable[o - MSIX_TABLE_OFFSET];
      else if (o >= MSIX_PBA_OFFSET && o < MSIX_PBA_OFFSET + 8) b = Number((this.pba >> BigInt(8 * (o - MSIX_PBA_OFFSET))) & 0xffn);
      v = v * 256 + b;
    }
    return v;
  }

  private msixWrite(off: number, width: number, value: number): void {
    for (let i = 0; i < width; i++) {
      const o = off + i - MSIX_TABLE_OFFSET;
      if (o < 0 || o >= this.msixTable.length) continue;
      // Only bit 0 of vector control is defined; the rest is reserved.
      const b = Math.floor(value / 256 ** i) & 0xff;
      this.msixTable[o] = o % MSIX_ENTRY.SIZE === MSIX_ENTRY.ctrl ? b & 1 : (o % MSIX_ENTRY.SIZE > MSIX_ENTRY.ctrl ? 0 : b);
    }
    this.msixUnmasked();
  }
}
