// virtio-pci modern transport (spec 4.1) over a Bus: BARs assigned by the driver, memory
// decoding and bus mastering enabled, then every virtio structure is reached through the
// first capability of its type. Missing structures are not an error at open time (a
// scenario checks their presence); using one that is missing throws DriverError.
import type { Bus, GuestMemory, PciAddress } from '../adapters/types.ts';
import {
  COMMON_CFG, ISR_CONFIG, ISR_QUEUE, MSIX_CAP, MSIX_CTRL_ENABLE, MSIX_ENTRY, PCI_COMMAND,
  PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_DEVICE_ID, PCI_DEVICE_ID_BASE, PCI_SUBSYSTEM_ID,
  PCI_VENDOR_ID, VIRTIO_MSI_NO_VECTOR, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_NOTIFY_CFG, type CommonCfgField,
} from '../virtio/pci.ts';
import { assignBars, firstCap, readCaps, type BarInfo, type PciCaps, type VirtioPciCap } from './pci-caps.ts';
import type { QueueSetup, Transport } from './transport.ts';
import { DriverError, TIMEOUT, waitFor } from './wait.ts';

export interface PciTransportOptions { timeoutScale: number }

/** MSI-X routed to guest RAM: vector v writes `data(v)` to `words + 4·v`; polled, then cleared. */
interface MsixState { words: number; vectors: number; configVector: number }
const msixData = (v: number) => 0x4000 + v;

export class PciTransport implements Transport {
  readonly kind = 'pci' as const;
  private notifyOff = new Map<number, number>();
  private queueNotes = 0;
  private configNotes = 0;
  private perQueueMsix = new Map<number, number>();
  private queueVector = new Map<number, number>();
  msix: MsixState | undefined;

  private constructor(
    readonly bus: Bus, readonly address: PciAddress, readonly bars: BarInfo[], readonly caps: PciCaps,
    private readonly opts: PciTransportOptions,
  ) {}

  /** Assign BARs, enable memory space + bus mastering, walk the capabilities. */
  static async open(bus: Bus, address: PciAddress, opts: PciTransportOptions): Promise<PciTransport> {
    const bars = await assignBars(bus, address);
    const cmd = await bus.pciConfigRead(address, PCI_COMMAND, 2);
    await bus.pciConfigWrite(address, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    const caps = await readCaps(bus, address);
    return new PciTransport(bus, address, bars, caps, opts);
  }

  cap(cfgType: number): VirtioPciCap | undefined { return firstCap(this.caps, cfgType, this.bars); }

  /** Guest-physical address of the structure described by a capability. */
  capAddress(cap: VirtioPciCap): number {
    const bar = this.bars.find((b) => b.index === cap.bar);
    if (!bar) throw new DriverError(`virtio-pci: capability at 0x${cap.pos.toString(16)} names BAR ${cap.bar}, which is not a memory BAR`);
    return bar.addr + cap.offset;
  }

  private need(cfgType: number, name: string): number {
    const c = this.cap(cfgType);
    if (!c) throw new DriverError(`virtio-pci: the device has no ${name} capability`);
    return this.capAddress(c);
  }

  get commonCfgAddr(): number { return this.need(VIRTIO_PCI_CAP_COMMON_CFG, 'common configuration'); }
  get isrAddr(): number { return this.need(VIRTIO_PCI_CAP_ISR_CFG, 'ISR status'); }
  get deviceCfgAddr(): number { return this.need(VIRTIO_PCI_CAP_DEVICE_CFG, 'device configuration'); }
  get notifyOffMultiplier(): number {
    const c = this.cap(VIRTIO_PCI_CAP_NOTIFY_CFG);
    if (!c || c.notify_off_multiplier === undefined) throw new DriverError('virtio-pci: the device has no notification capability');
    return c.notify_off_multiplier;
  }

  // --- raw access (scenarios use these to look at the registers themselves) ---

  async pciConfigRead(offset: number, width: 1 | 2 | 4): Promise<number> { return this.bus.pciConfigRead(this.address, offset, width); }
  async vendorId(): Promise<number> { return this.pciConfigRead(PCI_VENDOR_ID, 2); }
  async pciDeviceId(): Promise<number> { return this.pciConfigRead(PCI_DEVICE_ID, 2); }

  /** Read a common cfg field with its own width (64-bit fields as two 32-bit reads, low first). */
  async commonRead(field: CommonCfgField): Promise<number> {
    const [off, w] = COMMON_CFG[field];
    const a = this.commonCfgAddr + off;
    if (w === 8) return (await this.bus.read(a, 4)) + (await this.bus.read(a + 4, 4)) * 2 ** 32;
    return this.bus.read(a, w);
  }

  async commonWrite(field: CommonCfgField, value: number): Promise<void> {
    const [off, w] = COMMON_CFG[field];
    const a = this.commonCfgAddr + off;
    if (w === 8) {
      await this.bus.write(a, 4, value >>> 0);
      await this.bus.write(a + 4, 4, Math.floor(value / 2 ** 32));
    } else {
      await this.bus.write(a, w, value);
    }
  }

  /** One ISR read (which clears it, 4.1.4.5); its bits are also counted as notifications. */
  async readIsr(): Promise<number> {
    const isr = await this.bus.read(this.isrAddr, 1);
    if (isr & ISR_QUEUE) this.queueNotes++;
    if (isr & ISR_CONFIG) this.configNotes++;
    return isr;
  }

  /** notify address of queue q = notify cap address + queue_notify_off × notify_off_multiplier (4.1.4.4). */
  async notifyAddress(q: number): Promise<number> {
    let off = this.notifyOff.get(q);
    if (off === undefined) {
      await this.commonWrite('queue_select', q);
      off = await this.commonRead('queue_notify_off');
      this.notifyOff.set(q, off);
    }
    return this.need(VIRTIO_PCI_CAP_NOTIFY_CFG, 'notification') + off * this.notifyOffMultiplier;
  }

  // --- Transport ---

  async deviceId(): Promise<number> {
    const id = await this.pciDeviceId();
    // Modern IDs are 0x1040 + type; transitional ones (0x1000–0x103f) carry the type in the subsystem ID.
    return id >= PCI_DEVICE_ID_BASE ? id - PCI_DEVICE_ID_BASE : this.pciConfigRead(PCI_SUBSYSTEM_ID, 2);
  }

  /** device_feature windows 0 and 1 (bits 0–63). */
  async readDeviceFeatures(): Promise<bigint> {
    let f = 0n;
    for (let w = 0; w < 2; w++) {
      await this.commonWrite('device_feature_select', w);
      f |= BigInt(await this.commonRead('device_feature')) << BigInt(32 * w);
    }
    return f;
  }

  async writeDriverFeatures(features: bigint): Promise<void> {
    for (let w = 0; w < 2; w++) {
      await this.commonWrite('driver_feature_select', w);
      await this.commonWrite('driver_feature', Number((features >> BigInt(32 * w)) & 0xffffffffn));
    }
  }

  getStatus(): Promise<number> { return this.commonRead('device_status'); }
  setStatus(status: number): Promise<void> { return this.commonWrite('device_status', status); }

  async reset(): Promise<void> {
    await this.setStatus(0);
    await waitFor(async () => ((await this.getStatus()) === 0 ? true : undefined), {
      timeoutMs: TIMEOUT.reset * this.opts.timeoutScale, what: 'device_status to read back 0 after reset',
    });
    this.notifyOff.clear();
  }

  numQueues(): Promise<number> { return this.commonRead('num_queues'); }

  async queueMaxSize(q: number): Promise<number> {
    await this.commonWrite('queue_select', q);
    return this.commonRead('queue_size');
  }

  async setupQueue(q: number, s: QueueSetup): Promise<void> {
    await this.commonWrite('queue_select', q);
    await this.commonWrite('queue_size', s.size);
    const vector = s.msixVector ?? (this.msix ? this.defaultQueueVector(q) : VIRTIO_MSI_NO_VECTOR);
    if (this.msix || s.msixVector !== undefined) {
      await this.commonWrite('queue_msix_vector', vector);
      this.queueVector.set(q, await this.commonRead('queue_msix_vector'));
    }
    await this.commonWrite('queue_desc', s.desc);
    await this.commonWrite('queue_driver', s.driver);
    await this.commonWrite('queue_device', s.device);
    this.notifyOff.set(q, await this.commonRead('queue_notify_off'));
    await this.commonWrite('queue_enable', 1);
  }

  async queueEnabled(q: number): Promise<boolean> {
    await this.commonWrite('queue_select', q);
    return (await this.commonRead('queue_enable')) !== 0;
  }

  async resetQueue(q: number): Promise<void> {
    await this.commonWrite('queue_select', q);
    await this.commonWrite('queue_reset', 1);
    await waitFor(async () => ((await this.queueResetState(q)) === 0 ? true : undefined), {
      timeoutMs: TIMEOUT.reset * this.opts.timeoutScale, what: `queue_reset of queue ${q} to read back 0`,
    });
    this.notifyOff.delete(q);
  }

  async queueResetState(q: number): Promise<number> {
    await this.commonWrite('queue_select', q);
    return this.commonRead('queue_reset');
  }

  /** Available-buffer notification: the queue index, 16 bits, at the queue's notify address. */
  async notify(q: number): Promise<void> { await this.bus.write(await this.notifyAddress(q), 2, q); }

  async readConfig(offset: number, width: 1 | 2 | 4): Promise<number> { return this.bus.read(this.deviceCfgAddr + offset, width); }
  async writeConfig(offset: number, width: 1 | 2 | 4, value: number): Promise<void> { await this.bus.write(this.deviceCfgAddr + offset, width, value); }
  configGeneration(): Promise<number> { return this.commonRead('config_generation'); }

  async takeNotifications(q: number): Promise<number> {
    if (this.msix) {
      const v = this.queueVector.get(q);
      if (v !== undefined && v !== VIRTIO_MSI_NO_VECTOR) {
        const n = await this.pollMsix(v);
        this.perQueueMsix.set(q, (this.perQueueMsix.get(q) ?? 0) + n);
      }
      const n = this.perQueueMsix.get(q) ?? 0;
      this.perQueueMsix.set(q, 0);
      return n;
    }
    await this.readIsr();
    const n = this.queueNotes;
    this.queueNotes = 0;
    return n;
  }

  async takeConfigNotifications(): Promise<number> {
    if (this.msix) {
      return this.msix.configVector === VIRTIO_MSI_NO_VECTOR ? 0 : this.pollMsix(this.msix.configVector);
    }
    await this.readIsr();
    const n = this.configNotes;
    this.configNotes = 0;
    return n;
  }

  // --- MSI-X: table entries point at guest RAM words, which the driver polls ---

  /**
   * Enable MSI-X with every table entry unmasked and aimed at a guest-RAM word, then ask
   * for config vector 0. Returns the config_msix_vector read back (VIRTIO_MSI_NO_VECTOR
   * when the device refused the mapping, 4.1.5.1.2).
   */
  async enableMsix(mem: GuestMemory): Promise<number> {
    const m = this.caps.msix;
    if (!m) throw new DriverError('virtio-pci: the device has no MSI-X capability');
    const bar = this.bars.find((b) => b.index === m.tableBar);
    if (!bar) throw new DriverError(`virtio-pci: MSI-X table BAR ${m.tableBar} is not a memory BAR`);
    const words = await mem.alloc(4 * m.tableSize, 4);
    for (let v = 0; v < m.tableSize; v++) {
      const e = bar.addr + m.tableOffset + MSIX_ENTRY.SIZE * v;
      await this.bus.write(e + MSIX_ENTRY.addr_lo, 4, (words + 4 * v) >>> 0);
      await this.bus.write(e + MSIX_ENTRY.addr_hi, 4, 0);
      await this.bus.write(e + MSIX_ENTRY.data, 4, msixData(v));
      await this.bus.write(e + MSIX_ENTRY.ctrl, 4, 0);
    }
    const ctrl = await this.bus.pciConfigRead(this.address, m.pos + MSIX_CAP.msg_ctrl, 2);
    await this.bus.pciConfigWrite(this.address, m.pos + MSIX_CAP.msg_ctrl, 2, ctrl | MSIX_CTRL_ENABLE);
    this.msix = { words, vectors: m.tableSize, configVector: VIRTIO_MSI_NO_VECTOR };
    this.mem = mem;
    return this.setConfigVector(0);
  }

  /** Write config_msix_vector and return what reads back (also needed again after a reset). */
  async setConfigVector(v: number): Promise<number> {
    await this.commonWrite('config_msix_vector', v);
    const got = await this.commonRead('config_msix_vector');
    if (this.msix) this.msix.configVector = got;
    return got;
  }

  private mem: GuestMemory | undefined;

  /** Vector for queue q: 1 + q, shared with the last one if the table is small. */
  defaultQueueVector(q: number): number {
    const n = this.msix?.vectors ?? 1;
    return n > 1 ? Math.min(1 + q, n - 1) : 0;
  }

  /** The queue's MSI-X vector as read back after setup (undefined: none set). */
  queueMsixVector(q: number): number | undefined { return this.queueVector.get(q); }

  private async pollMsix(v: number): Promise<number> {
    if (!this.msix || !this.mem || v >= this.msix.vectors) return 0;
    const a = this.msix.words + 4 * v;
    const b = await this.mem.read(a, 4);
    const got = b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
    if (got !== msixData(v)) return 0;
    await this.mem.write(a, new Uint8Array(4));
    return 1;
  }
}
