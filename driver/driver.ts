// The suite's driver: device initialization (spec 3.1.1) over any Transport, where every
// step can be skipped, stopped before, or done differently on purpose.
import type { GuestMemory, Target } from '../adapters/types.ts';
import { VIRTIO_BLK_F } from '../virtio/blk.ts';
import { VIRTIO_F, bit, dropUnsatisfied, hasBit } from '../virtio/features.ts';
import { DEVICE_ID, type DeviceType } from '../virtio/ids.ts';
import { ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK, formatStatus } from '../virtio/status.ts';
import type { MmioTransport } from './mmio-transport.ts';
import type { PciTransport } from './pci-transport.ts';
import type { Transport } from './transport.ts';
import { SplitRingDriver, allocateParts } from '../virtio/split-ring-driver.ts';
import { DriverError, TIMEOUT, waitFor } from './wait.ts';

/** A split virtqueue bound to this driver's transport (see virtio/split-ring-driver.ts). */
export type Virtqueue = SplitRingDriver;

/** What the suite's driver understands per device type (the default accepted set ∩ offered). */
export const SUPPORTED_FEATURES: Record<'entropy' | 'blk', bigint> = {
  entropy: bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.INDIRECT_DESC) | bit(VIRTIO_F.EVENT_IDX),
  blk: bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.INDIRECT_DESC) | bit(VIRTIO_F.EVENT_IDX)
    | [VIRTIO_BLK_F.SIZE_MAX, VIRTIO_BLK_F.SEG_MAX, VIRTIO_BLK_F.GEOMETRY, VIRTIO_BLK_F.RO, VIRTIO_BLK_F.BLK_SIZE,
      VIRTIO_BLK_F.FLUSH, VIRTIO_BLK_F.TOPOLOGY, VIRTIO_BLK_F.CONFIG_WCE, VIRTIO_BLK_F.DISCARD,
      VIRTIO_BLK_F.WRITE_ZEROES].reduce((f, n) => f | bit(n), 0n),
};

export type InitStep = 'ACKNOWLEDGE' | 'DRIVER' | 'FEATURES_OK' | 'queues' | 'DRIVER_OK';

export interface InitOptions {
  /** Do not reset first. */
  skipReset?: boolean;
  /** Stop before this step; the result says where init stopped. */
  stopBefore?: InitStep;
  /** Exact driver features to write (any subset, even an illegal one). Default: see defaultFeatures. */
  features?: bigint;
  /** Do not read device_status back after setting FEATURES_OK (featuresOk is then true). */
  skipFeaturesOkCheck?: boolean;
  /** How many queues to set up (default 1). */
  queues?: number;
  /** queue_size to write (any value: odd ones on purpose). Default min(queueMaxSize, 64). */
  queueSize?: number;
  /** Send an available-buffer notification on every queue before DRIVER_OK (spurious). */
  spuriousNotifyBeforeDriverOk?: boolean;
}

export interface InitResult {
  offered: bigint;
  accepted: bigint;
  featuresOk: boolean;
  status: number;
  stoppedBefore?: InitStep;
  queues: SplitRingDriver[];
}

export interface QueueOptions { size?: number; eventIdx?: boolean; msixVector?: number }

export const DEFAULT_QUEUE_SIZE = 64;

export class Driver {
  readonly mem: GuestMemory;
  readonly timeoutScale: number;
  private queues = new Map<number, SplitRingDriver>();
  private negotiated = 0n;
  private offeredCache: bigint | undefined;

  constructor(readonly target: Target, readonly transport: Transport, readonly pci?: PciTransport, readonly mmio?: MmioTransport) {
    this.mem = target.mem;
    this.timeoutScale = target.timeoutScale;
  }

  /** ms × timeoutScale. */
  timeout(ms: number): number { return ms * this.timeoutScale; }

  async deviceType(): Promise<DeviceType | undefined> {
    const id = await this.transport.deviceId();
    return (Object.keys(DEVICE_ID) as DeviceType[]).find((k) => DEVICE_ID[k] === id);
  }

  /** Offered ∩ supported for this device type, with features lacking a prerequisite dropped. */
  async defaultFeatures(offered: bigint): Promise<bigint> {
    const type = await this.deviceType();
    const supported = type === 'entropy' || type === 'blk' ? SUPPORTED_FEATURES[type] : bit(VIRTIO_F.VERSION_1);
    return dropUnsatisfied(type ?? 'entropy', offered & supported);
  }

  negotiatedFeatures(): bigint { return this.negotiated; }

  /** Write 0 to the status and wait for it to read back 0; forget the queues. */
  async reset(): Promise<void> {
    await this.transport.reset();
    this.queues.clear();
    if (this.pci?.msix) await this.pci.setConfigVector(0);
  }

  /**
   * Write 0 to the status and poll it for up to timeoutMs × scale; return the last value
   * read instead of throwing (0 = the reset completed), for scenarios that check reset.
   */
  async tryReset(timeoutMs = TIMEOUT.reset): Promise<number> {
    await this.transport.setStatus(0);
    let last = await this.transport.getStatus();
    const deadline = performance.now() + this.timeout(timeoutMs);
    while (last !== 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1));
      last = await this.transport.getStatus();
    }
    if (last === 0) {
      this.queues.clear();
      if (this.pci?.msix) await this.pci.setConfigVector(0);
    }
    return last;
  }

  /**
   * Device initialization (3.1.1): reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK and
   * its read-back, queues, DRIVER_OK. A refused FEATURES_OK is a result, not an error.
   */
  async init(o: InitOptions = {}): Promise<InitResult> {
    const r: InitResult = { offered: 0n, accepted: 0n, featuresOk: false, status: 0, queues: [] };
    const stop = async (step: InitStep): Promise<InitResult> => {
      r.stoppedBefore = step;
      r.status = await this.transport.getStatus();
      return r;
    };
    if (!o.skipReset) await this.reset();
    let status = 0;
    if (o.stopBefore === 'ACKNOWLEDGE') return stop('ACKNOWLEDGE');
    await this.transport.setStatus(status |= ACKNOWLEDGE);
    if (o.stopBefore === 'DRIVER') return stop('DRIVER');
    await this.transport.setStatus(status |= DRIVER);
    r.offered = await this.transport.readDeviceFeatures();
    this.offeredCache = r.offered;
    r.accepted = o.features ?? await this.defaultFeatures(r.offered);
    await this.transport.writeDriverFeatures(r.accepted);
    this.negotiated = r.accepted;
    if (o.stopBefore === 'FEATURES_OK') return stop('FEATURES_OK');
    await this.transport.setStatus(status |= FEATURES_OK);
    r.featuresOk = o.skipFeaturesOkCheck ? true : ((await this.transport.getStatus()) & FEATURES_OK) !== 0;
    if (!r.featuresOk) return stop('queues');
    if (o.stopBefore === 'queues') return stop('queues');
    for (let q = 0; q < (o.queues ?? 1); q++) r.queues.push(await this.setupQueue(q, { size: o.queueSize }));
    if (o.spuriousNotifyBeforeDriverOk) for (const vq of r.queues) await vq.notify();
    if (o.stopBefore === 'DRIVER_OK') return stop('DRIVER_OK');
    await this.transport.setStatus(status |= DRIVER_OK);
    r.status = await this.transport.getStatus();
    return r;
  }

  /** init(), and throw DriverError unless the device reached DRIVER_OK. */
  async ready(o: InitOptions = {}): Promise<InitResult> {
    const r = await this.init(o);
    if (r.stoppedBefore || !(r.status & DRIVER_OK)) {
      throw new DriverError(`device initialization did not complete: stopped before ${r.stoppedBefore ?? 'nothing'}, device_status ${formatStatus(r.status)}${r.featuresOk ? '' : ', FEATURES_OK refused'}`);
    }
    return r;
  }

  /**
   * Allocate rings for queue q and program the transport (size, addresses, enable).
   * The size is whatever the caller asks (default min(queueMaxSize, 64)).
   */
  async setupQueue(q: number, o: QueueOptions = {}): Promise<SplitRingDriver> {
    let size = o.size;
    if (size === undefined) {
      const max = await this.transport.queueMaxSize(q);
      if (max === 0) throw new DriverError(`queue ${q} is not available (maximum size 0)`);
      size = Math.min(max, DEFAULT_QUEUE_SIZE);
    }
    const parts = await allocateParts(this.mem, size);
    const vq = new SplitRingDriver(this.mem, {
      index: q, size, eventIdx: o.eventIdx ?? hasBit(this.negotiated, VIRTIO_F.EVENT_IDX), timeoutScale: this.timeoutScale,
      notify: () => this.transport.notify(q),
    }, parts.desc, parts.avail, parts.used);
    await this.transport.setupQueue(q, { size, desc: vq.desc, driver: vq.avail, device: vq.used, msixVector: o.msixVector });
    this.queues.set(q, vq);
    return vq;
  }

  /** A queue set up earlier. */
  queue(q = 0): SplitRingDriver {
    const vq = this.queues.get(q);
    if (!vq) throw new DriverError(`queue ${q} has not been set up`);
    return vq;
  }

  /** Device configuration read; width 8 as two 4-byte reads (low first) inside a generation loop. */
  async readConfig(offset: number, width: 1 | 2 | 4): Promise<number>;
  async readConfig(offset: number, width: 8): Promise<bigint>;
  async readConfig(offset: number, width: 1 | 2 | 4 | 8): Promise<number | bigint> {
    if (width !== 8) return this.transport.readConfig(offset, width);
    return this.readConfigStable(async () => {
      const lo = await this.transport.readConfig(offset, 4);
      const hi = await this.transport.readConfig(offset + 4, 4);
      return (BigInt(hi) << 32n) | BigInt(lo);
    });
  }

  /**
   * Run `read` until config_generation is the same before and after (2.5.1), bounded by a
   * timeout: a device whose generation never settles makes this throw DriverTimeoutError.
   */
  async readConfigStable<T>(read: () => Promise<T>): Promise<T> {
    return waitFor(async () => {
      const before = await this.transport.configGeneration();
      const v = await read();
      return (await this.transport.configGeneration()) === before ? { v } : undefined;
    }, { timeoutMs: this.timeout(1000), what: 'config_generation to stay the same across a configuration read' }).then((x) => x.v);
  }

  /** Features offered at the last init (undefined before one). */
  lastOffered(): bigint | undefined { return this.offeredCache; }
}
