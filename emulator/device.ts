// The transport-independent part of a reference virtio device (spec 2, 3): device
// status, feature negotiation, virtqueue state, device configuration and its
// generation, reset, and processing of available buffers on a notification. A
// transport (emulator/pci.ts, emulator/mmio.ts) maps registers onto this and turns
// its interrupt requests into ISR/MSI-X/INTx or InterruptStatus.
import { type DeviceType } from '../virtio/ids.ts';
import { VIRTIO_F, bit, hasBit, missingPrerequisites } from '../virtio/features.ts';
import { RingError, SplitRingDevice, type Chain } from '../virtio/split-ring-device.ts';
import { PackedRingDevice, type DeviceRing, type PackedDeviceHooks } from '../virtio/packed-ring-device.ts';
import { DESC, DESC_SIZE } from '../virtio/split-ring.ts';
import { DEVICE_NEEDS_RESET, DRIVER_OK, FEATURES_OK } from '../virtio/status.ts';
import { VIRTIO_MSI_NO_VECTOR } from '../virtio/pci.ts';
import type { Defects } from './defects.ts';
import { DmaError, type GuestRam } from './ram.ts';

/** What a device model sees while it handles one chain. */
export interface ChainContext {
  /** The queue's ring, split or packed (VIRTIO_F_RING_PACKED negotiated). */
  ring: DeviceRing;
  chain: Chain;
  /** Features negotiated at FEATURES_OK. */
  features: bigint;
  defects: Defects;
  /** Guest RAM, for the rare deviation that writes outside the writable buffers. */
  ram: GuestRam;
}

/** A device type (entropy, blk): queues, feature bits, configuration, request handling. */
export interface DeviceModel {
  readonly type: Extract<DeviceType, 'entropy' | 'blk' | 'net' | 'console'>;
  readonly deviceId: number;
  readonly numQueues: number;
  queueMaxSize(q: number): number;
  /** Device-type feature bits offered (the core adds the reserved bits it supports). */
  offeredFeatures(): bigint;
  /** The device-specific configuration as it is now (empty when the type has none). */
  config(): Uint8Array;
  writeConfig(offset: number, data: Uint8Array): void;
  /** Handle one chain of queue `q`; returns the number of bytes written (used len). */
  process(q: number, ctx: ChainContext): Promise<number>;
  reset(): void;
  /**
   * Receive queues (console, net): the device fills their buffers when it has data, not
   * when they arrive. A notification (or DRIVER_OK) on such a queue only calls
   * receiveReady; the model then uses buffers with VirtioDevice.fillBuffer.
   */
  isReceiveQueue?(q: number): boolean;
  /** Buffers may be usable now: a notification on receive queue `q`, or DRIVER_OK (q undefined). */
  receiveReady?(q?: number): Promise<void>;
  /** Called once with the device the model runs in (fillBuffer, configChanged). */
  attach?(device: VirtioDevice): void;
}

/** Where a transport receives the device's interrupt requests. */
export interface InterruptSink {
  queue(q: number): void;
  config(): void;
  /** The device was reset: clear pending interrupt state. */
  reset(): void;
}

export interface QueueState {
  maxSize: number;
  size: number;
  desc: number;
  driver: number;
  device: number;
  enabled: boolean;
  /** queue_enable reads 1 although the queue is off (a defect). */
  enabledReadback: boolean;
  msixVector: number;
  ring?: DeviceRing;
}

/**
 * Reserved feature bits the reference devices implement (chapter 6). IN_ORDER holds
 * trivially (each notification's buffers are used in ring order); with the packed ring
 * the device also writes one used descriptor per batch (2.8.8).
 */
const CORE_FEATURES = bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.INDIRECT_DESC) | bit(VIRTIO_F.EVENT_IDX)
  | bit(VIRTIO_F.RING_PACKED) | bit(VIRTIO_F.IN_ORDER) | bit(VIRTIO_F.RING_RESET);
/** How much the used-len-too-long defect over-reports. */
const USED_LEN_EXCESS = 16;
/** A bit the spec does not define anywhere (for the offers-undefined-feature defect). */
const UNDEFINED_FEATURE_BIT = 50;

export class VirtioDevice {
  status = 0;
  driverFeatures = 0n;
  /** Features in force since FEATURES_OK was accepted. */
  features = 0n;
  configGeneration = 0;
  configMsixVector = VIRTIO_MSI_NO_VECTOR;
  queues: QueueState[] = [];
  /** Why the device last set DEVICE_NEEDS_RESET (for debugging; never read by scenarios). */
  lastError?: string;
  irq: InterruptSink = { queue: () => {}, config: () => {}, reset: () => {} };
  /** Observers of packed used-descriptor writes (tests, monitors); taken by rings made after it is set. */
  packedHooks?: PackedDeviceHooks;
  private negotiatedOnce = false;
  private statusReadback?: number;
  /** The previous request, kept only by the used-len-too-long defect. */
  private lastRequestKey?: string;
  /** Queues as they were before a queue reset, kept only by the queue-reset-keeps-ring-state defect. */
  private preReset = new Map<number, QueueState>();
  /** Queues from before the last reset, kept only by the works-after-reset defect. */
  private ghosts: (QueueState | undefined)[] = [];

  constructor(readonly model: DeviceModel, readonly ram: GuestRam, readonly defects: Defects, readonly transport: 'pci' | 'mmio') {
    this.queues = this.freshQueues();
    model.attach?.(this);
  }

  private freshQueues(): QueueState[] {
    return Array.from({ length: this.model.numQueues }, (_, q) => {
      const real = this.model.queueMaxSize(q);
      const max = real > 0 && this.defects.on('non-pow2-queue-size') ? 100 : real;
      return { maxSize: max, size: max, desc: 0, driver: 0, device: 0, enabled: false, enabledReadback: false, msixVector: VIRTIO_MSI_NO_VECTOR };
    });
  }

  // --- features ------------------------------------------------------------------------

  offeredFeatures(): bigint {
    let f = this.model.offeredFeatures() | CORE_FEATURES;
    if (this.defects.on('no-version-1')) f &= ~bit(VIRTIO_F.VERSION_1);
    if (this.defects.on('offers-undefined-feature')) f |= bit(UNDEFINED_FEATURE_BIT);
    return f;
  }

  /** 32-bit window `sel` of the offered features. */
  deviceFeatureWindow(sel: number): number {
    if (sel > 1) return 0;
    return Number((this.offeredFeatures() >> BigInt(32 * sel)) & 0xffffffffn);
  }

  driverFeatureWindow(sel: number): number {
    if (sel > 1) return 0;
    return Number((this.driverFeatures >> BigInt(32 * sel)) & 0xffffffffn);
  }

  writeDriverFeatureWindow(sel: number, value: number): void {
    // Feature bits are fixed once FEATURES_OK is set (3.1.1).
    if (this.status & FEATURES_OK || sel > 1) return;
    const shift = BigInt(32 * sel);
    this.driverFeatures = (this.driverFeatures & ~(0xffffffffn << shift)) | (BigInt(value >>> 0) << shift);
  }

  /** May the driver's feature set be accepted at FEATURES_OK (2.2.2)? */
  private acceptable(f: bigint): boolean {
    const offered = this.offeredFeatures();
    // A device that forgot to advertise VERSION_1 still implements it.
    const implemented = this.defects.on('no-version-1') ? offered | bit(VIRTIO_F.VERSION_1) : offered;
    if ((f & ~implemented) !== 0n) return false;
    // A device that offers a feature without its prerequisite does not know the dependency.
    if (!this.defects.on('offers-feature-without-prerequisite') && missingPrerequisites(this.model.type, f).length > 0) return false;
    // A modern-only device may refuse a driver that does not accept VERSION_1 (6.2).
    if (!hasBit(f, VIRTIO_F.VERSION_1) && !this.defects.on('no-version-1')) return false;
    if (this.defects.on('rejects-valid-feature-subset') && f === bit(VIRTIO_F.VERSION_1) && offered !== f) return false;
    if (this.defects.on('renegotiation-fails') && this.negotiatedOnce) return false;
    return true;
  }

  // --- status and reset ----------------------------------------------------------------

  readStatus(): number {
    return this.statusReadback ?? this.status;
  }

  writeStatus(value: number): void {
    value &= 0xff;
    if (value === 0) { this.reset(); return; }
    this.statusReadback = undefined;
    const added = value & ~this.status;
    if (added & FEATURES_OK) {
      if (this.acceptable(this.driverFeatures)) {
        this.features = this.driverFeatures;
        this.negotiatedOnce = true;
      } else {
        value &= ~FEATURES_OK;
      }
    }
    // DEVICE_NEEDS_RESET is the device's to set; the driver cannot clear it either.
    this.status = (value & ~DEVICE_NEEDS_RESET) | (this.status & DEVICE_NEEDS_RESET);
    // Data the device held for receive queues can go out now.
    if (added & DRIVER_OK && this.model.receiveReady) void this.model.receiveReady().catch((e: unknown) => this.needsReset(String(e)));
  }

  reset(): void {
    const before = this.status;
    this.ghosts = this.defects.on('works-after-reset') ? this.queues.map((q) => (q.enabled ? q : undefined)) : [];
    const keepEnable = this.defects.on('queue-enable-kept-after-reset');
    const old = this.queues;
    this.status = 0;
    this.driverFeatures = 0n;
    this.features = 0n;
    this.configMsixVector = VIRTIO_MSI_NO_VECTOR;
    this.queues = this.freshQueues();
    this.preReset.clear();
    if (keepEnable) this.queues.forEach((q, i) => { q.enabledReadback = old[i].enabled || old[i].enabledReadback; });
    this.model.reset();
    this.irq.reset();
    this.statusReadback = before !== 0 && this.defects.on('status-nonzero-after-reset') ? before : undefined;
  }

  /** Enter the error state (2.1.2): DEVICE_NEEDS_RESET, and tell a running driver. */
  needsReset(reason: string): void {
    this.lastError = reason;
    if (this.status & DEVICE_NEEDS_RESET) return;
    this.status |= DEVICE_NEEDS_RESET;
    if (this.status & DRIVER_OK) this.irq.config();
  }

  // --- configuration -------------------------------------------------------------------

  readConfig(offset: number, width: number): number {
    if (this.defects.on('config-unreadable-before-features-ok') && !(this.status & FEATURES_OK)) return 0;
    const cfg = this.model.config();
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + (offset + i < cfg.length ? cfg[offset + i] : 0);
    return v;
  }

  writeConfig(offset: number, width: number, value: number): void {
    const b = new Uint8Array(width);
    for (let i = 0; i < width; i++) b[i] = Math.floor(value / 256 ** i) & 0xff;
    this.model.writeConfig(offset, b);
  }

  configSize(): number { return this.model.config().length; }

  /** The device changed its configuration: new generation, and a notification once running. */
  configChanged(): void {
    const frozen = this.defects.on('static-config-generation') || this.defects.on('mmio-static-config-generation');
    if (!frozen) this.configGeneration = (this.configGeneration + 1) & 0xff;
    if (this.status & DRIVER_OK) this.irq.config();
  }

  // --- virtqueues ----------------------------------------------------------------------

  enableQueue(q: number): void {
    const qs = this.queues[q];
    if (!qs || qs.enabled) return;
    qs.enabled = true;
    const before = this.preReset.get(q);
    this.preReset.delete(q);
    qs.ring = this.makeRing(qs);
    if (before?.ring && qs.ring && this.defects.on('queue-reset-keeps-ring-state')) carryRingState(before.ring, qs.ring);
  }

  /**
   * Reset one queue (2.6.1, VIRTIO_F_RING_RESET negotiated): the device stops using it and
   * its state returns to the defaults, so the driver can set it up again. It completes at
   * once, so queue_reset / QueueReset never reads 1.
   */
  resetQueue(q: number): void {
    if (!hasBit(this.features, VIRTIO_F.RING_RESET) || !this.queues[q]) return;
    if (this.defects.on('queue-reset-ignored')) return;
    if (this.defects.on('queue-reset-keeps-ring-state')) this.preReset.set(q, this.queues[q]!);
    this.queues[q] = this.freshQueues()[q]!;
  }

  private makeRing(qs: QueueState): DeviceRing | undefined {
    const layout = { size: qs.size, desc: qs.desc, driver: qs.driver, device: qs.device };
    const common = {
      eventIdx: hasBit(this.features, VIRTIO_F.EVENT_IDX),
      indirect: hasBit(this.features, VIRTIO_F.INDIRECT_DESC),
      defect: (n: string) => this.defects.on(n),
    };
    try {
      if (hasBit(this.features, VIRTIO_F.RING_PACKED)) {
        return new PackedRingDevice(this.ram, layout, { ...common, inOrder: hasBit(this.features, VIRTIO_F.IN_ORDER), hooks: this.packedHooks });
      }
      return new SplitRingDevice(this.ram, layout, common);
    } catch (e) {
      if (e instanceof RingError) { this.needsReset(e.message); return undefined; }
      throw e;
    }
  }

  /** An available-buffer notification for queue `q`. */
  async notify(q: number): Promise<void> {
    if (this.status & DEVICE_NEEDS_RESET) return;
    const qs = this.queues[q];
    if (!qs) return;
    const driverOk = (this.status & DRIVER_OK) !== 0;
    if (!qs.enabled) {
      const ghost = this.ghosts[q];
      if (ghost?.ring && this.defects.on('works-after-reset')) { await this.process(q, ghost.ring); return; }
      if (driverOk && qs.desc && qs.driver && qs.device && this.defects.on('mmio-uses-queue-not-ready')) {
        qs.ring ??= this.makeRing(qs);
        if (qs.ring) await this.process(q, qs.ring);
      }
      return;
    }
    if (!qs.ring) return;
    if (!driverOk) {
      if (this.defects.on('consumes-before-driver-ok')) await this.consume(q, qs.ring);
      else if (this.defects.on('notifies-before-driver-ok')) this.irq.queue(q);
      return;
    }
    await this.consume(q, qs.ring);
  }

  /** Request queues are processed now; receive queues only tell the model buffers are there. */
  private async consume(q: number, ring: DeviceRing): Promise<void> {
    if (this.model.isReceiveQueue?.(q)) await this.model.receiveReady?.(q);
    else await this.process(q, ring);
  }

  private fillLocks = new Map<number, Promise<unknown>>();

  /**
   * Device-initiated use of receive queue `q`: take the next available buffer, let `fill`
   * write into it (returns the used len), publish it and decide the notification. False
   * when no buffer can be used now (none available, queue off, before DRIVER_OK, error
   * state). Calls on one queue run one at a time.
   */
  fillBuffer(q: number, fill: (ctx: ChainContext) => Promise<number>): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      if (this.status & DEVICE_NEEDS_RESET) return false;
      if (!(this.status & DRIVER_OK) && !this.defects.on('consumes-before-driver-ok')) return false;
      const ring = this.queues[q]?.enabled ? this.queues[q]!.ring : undefined;
      if (!ring) return false;
      try {
        const oldUsed = ring.usedIdx;
        const chain = await ring.pop();
        if (!chain) return false;
        const len = await fill({ ring, chain, features: this.features, defects: this.defects, ram: this.ram });
        await ring.push(chain.head, len);
        await ring.suppressNotifications(false);
        if (await ring.shouldNotify(oldUsed)) this.irq.queue(q);
        return true;
      } catch (e) {
        if (e instanceof RingError || e instanceof DmaError) { this.needsReset(e.message); return false; }
        throw e;
      }
    };
    const p = (this.fillLocks.get(q) ?? Promise.resolve()).then(run, run);
    this.fillLocks.set(q, p.catch(() => undefined));
    return p;
  }

  /** Use every available chain, then publish used idx and decide the notification. */
  private async process(q: number, ring: DeviceRing): Promise<void> {
    try {
      const oldUsed = ring.usedIdx;
      if (await ring.pending() === 0 && this.defects.on('spurious-notification-breaks')) {
        throw new RingError('notification without new buffers');
      }
      // Packed + IN_ORDER: used descriptors are written per batch once the batch is done.
      const batched = ring instanceof PackedRingDevice && hasBit(this.features, VIRTIO_F.IN_ORDER);
      const done: Array<{ id: number; len: number; writable: number }> = [];
      for (;;) {
        const chain = await ring.pop();
        if (!chain) break;
        const key = this.defects.on('used-len-too-long') ? await requestKey(ring, chain) : undefined;
        let len = await this.model.process(q, { ring, chain, features: this.features, defects: this.defects, ram: this.ram });
        // Stale accounting on a repeated request: 16 bytes more than were written.
        if (key !== undefined && key === this.lastRequestKey) len += USED_LEN_EXCESS;
        this.lastRequestKey = key;
        // Split only: the packed ring's descriptors are the device's to write (used descriptors).
        if (ring instanceof SplitRingDevice && this.defects.on('writes-descriptor-table')) {
          await this.ram.write(ring.layout.desc + chain.descIndices[0] * DESC_SIZE + DESC.flags, new Uint8Array(2));
        }
        if (batched) done.push({ id: chain.head, len, writable: chain.writableLen });
        else await ring.push(chain.head, len);
      }
      if (batched) await completeInOrder(ring as PackedRingDevice, done, this.defects.on('packed-in-order-out-of-order'));
      await ring.suppressNotifications(false);
      if (ring.usedIdx !== oldUsed && await ring.shouldNotify(oldUsed)) this.irq.queue(q);
    } catch (e) {
      if (e instanceof RingError || e instanceof DmaError) { this.needsReset(e.message); return; }
      throw e;
    }
  }
}

/**
 * IN_ORDER completion on the packed ring: one used descriptor per run of buffers, the run
 * ending at a buffer the device did not fill completely (a skipped buffer is taken as used
 * in full, 2.8.8, so only the descriptor written for it can say less). The defect instead
 * uses the buffers newest first, one descriptor each.
 */
async function completeInOrder(ring: PackedRingDevice, done: Array<{ id: number; len: number; writable: number }>, reversed: boolean): Promise<void> {
  if (reversed) {
    for (const d of [...done].reverse()) await ring.push(d.id, d.len);
    return;
  }
  let run: Array<{ id: number; len: number }> = [];
  for (const [i, d] of done.entries()) {
    run.push({ id: d.id, len: d.len });
    if (d.len !== d.writable || i === done.length - 1) { await ring.pushBatch(run); run = []; }
  }
}

/** Identity of a request: its device-readable bytes and the room it offers. */
/** The queue-reset-keeps-ring-state defect: the new rings continue at the old positions. */
function carryRingState(from: DeviceRing, to: DeviceRing): void {
  if (from instanceof SplitRingDevice && to instanceof SplitRingDevice) {
    to.lastAvailIdx = from.lastAvailIdx; to.usedIdx = from.usedIdx;
  } else if (from instanceof PackedRingDevice && to instanceof PackedRingDevice) {
    to.nextAvail = { ...from.nextAvail }; to.nextUsed = { ...from.nextUsed };
  }
}

async function requestKey(ring: DeviceRing, chain: Chain): Promise<string> {
  return `${Buffer.from(await ring.readAll(chain)).toString('hex')}/${chain.writableLen}`;
}
