// The suite's driver: device initialization (spec 3.1.1) over any Transport, where every
// step can be skipped, stopped before, or done differently on purpose.
import type { GuestMemory, Target } from '../adapters/types.ts';
import { VIRTIO_BLK_F } from '../virtio/blk.ts';
import { VIRTIO_NET_F } from '../virtio/net.ts';
import { VIRTIO_CONSOLE_F } from '../virtio/console.ts';
import { VIRTIO_F, bit, dropUnsatisfied, hasBit } from '../virtio/features.ts';
import { DEVICE_ID, type DeviceType } from '../virtio/ids.ts';
import { ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK, formatStatus } from '../virtio/status.ts';
import type { MmioTransport } from './mmio-transport.ts';
import type { PciTransport } from './pci-transport.ts';
import type { Transport } from './transport.ts';
import { SplitRingDriver, allocateParts } from '../virtio/split-ring-driver.ts';
import { PackedRingDriver, allocatePackedParts } from '../virtio/packed-ring-driver.ts';
import type { RingLayout, Virtqueue } from './ring.ts';
import { DriverError, TIMEOUT, waitFor } from './wait.ts';

export type { RingLayout, Virtqueue };

/**
 * The driver was asked for the packed ring and the device does not offer
 * VIRTIO_F_RING_PACKED: nothing to test on this target. Named 'NotApplicable' with a
 * `reason`, which is what the runner maps to NOT_APPLICABLE (steps/support/outcome.ts),
 * so a scenario need not catch it.
 */
export class RingNotOfferedError extends DriverError {
  readonly notApplicable = true;
  readonly reason: string;
  constructor(offered: bigint) {
    super(`the device does not offer VIRTIO_F_RING_PACKED (device_feature 0x${offered.toString(16)}): packed virtqueues cannot be used`);
    this.name = 'NotApplicable';
    this.reason = this.message;
  }
}

/** What the suite's driver understands per device type (the default accepted set ∩ offered). */
export const SUPPORTED_FEATURES: Record<'entropy' | 'blk' | 'console' | 'net', bigint> = {
  entropy: bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.INDIRECT_DESC) | bit(VIRTIO_F.EVENT_IDX),
  blk: bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.INDIRECT_DESC) | bit(VIRTIO_F.EVENT_IDX)
    | [VIRTIO_BLK_F.SIZE_MAX, VIRTIO_BLK_F.SEG_MAX, VIRTIO_BLK_F.GEOMETRY, VIRTIO_BLK_F.RO, VIRTIO_BLK_F.BLK_SIZE,
      VIRTIO_BLK_F.FLUSH, VIRTIO_BLK_F.TOPOLOGY, VIRTIO_BLK_F.CONFIG_WCE, VIRTIO_BLK_F.DISCARD,
      VIRTIO_BLK_F.WRITE_ZEROES].reduce((f, n) => f | bit(n), 0n),
  console: bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.INDIRECT_DESC) | bit(VIRTIO_F.EVENT_IDX)
    | bit(VIRTIO_CONSOLE_F.SIZE) | bit(VIRTIO_CONSOLE_F.MULTIPORT) | bit(VIRTIO_CONSOLE_F.EMERG_WRITE),
  // No offloads the driver would have to honour (GUEST_TSO*, HOST_TSO*): scenarios add them.
  net: bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.INDIRECT_DESC) | bit(VIRTIO_F.EVENT_IDX)
    | [VIRTIO_NET_F.CSUM, VIRTIO_NET_F.MTU, VIRTIO_NET_F.MAC, VIRTIO_NET_F.MRG_RXBUF, VIRTIO_NET_F.STATUS, VIRTIO_NET_F.CTRL_VQ,
      VIRTIO_NET_F.CTRL_RX, VIRTIO_NET_F.MQ, VIRTIO_NET_F.CTRL_MAC_ADDR].reduce((f, n) => f | bit(n), 0n),
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
  /**
   * Packed driver only: leave VIRTIO_F_RING_PACKED out of the features written (to probe a
   * device); the queues are then not set up. Default: the packed driver always adds it.
   */
  omitRingFeature?: boolean;
}

export interface InitResult {
  offered: bigint;
  accepted: bigint;
  featuresOk: boolean;
  status: number;
  stoppedBefore?: InitStep;
  /** Split virtqueues set up (empty when the driver uses the packed ring: see rings). */
  queues: SplitRingDriver[];
  /** Every virtqueue set up, whatever the layout. */
  rings: Virtqueue[];
}

export interface QueueOptions {
  size?: number;
  eventIdx?: boolean;
  /** Packed only: VIRTIO_F_IN_ORDER batches (default: negotiated). */
  inOrder?: boolean;
  msixVector?: number;
}

export const DEFAULT_QUEUE_SIZE = 64;

export class Driver {
  readonly mem: GuestMemory;
  readonly timeoutScale: number;
  private queues = new Map<number, Virtqueue>();
  private negotiated = 0n;
  private offeredCache: bigint | undefined;

  /** `layout`: which virtqueue layout init() negotiates and setupQueue() builds. */
  constructor(
    readonly target: Target, readonly transport: Transport, readonly pci?: PciTransport, readonly mmio?: MmioTransport,
    readonly layout: RingLayout = 'split',
  ) {
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
    const supported = type === 'entropy' || type === 'blk' || type === 'console' || type === 'net' ? SUPPORTED_FEATURES[type] : bit(VIRTIO_F.VERSION_1);
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
    const r: InitResult = { offered: 0n, accepted: 0n, featuresOk: false, status: 0, queues: [], rings: [] };
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
    if (this.layout === 'packed' && !o.omitRingFeature) {
      if (!hasBit(r.offered, VIRTIO_F.RING_PACKED)) throw new RingNotOfferedError(r.offered);
      r.accepted |= bit(VIRTIO_F.RING_PACKED);
    }
    await this.transport.writeDriverFeatures(r.accepted);
    this.negotiated = r.accepted;
    if (o.stopBefore === 'FEATURES_OK') return stop('FEATURES_OK');
    await this.transport.setStatus(status |= FEATURES_OK);
    r.featuresOk = o.skipFeaturesOkCheck ? true : ((await this.transport.getStatus()) & FEATURES_OK) !== 0;
    if (!r.featuresOk) return stop('queues');
    if (o.stopBefore === 'queues') return stop('queues');
    if (this.layout === 'packed' && !hasBit(r.accepted, VIRTIO_F.RING_PACKED)) return stop('queues');
    for (let q = 0; q < (o.queues ?? 1); q++) {
      const vq = await this.setupQueue(q, { size: o.queueSize });
      r.rings.push(vq);
      if (vq instanceof SplitRingDriver) r.queues.push(vq);
    }
    if (o.spuriousNotifyBeforeDriverOk) for (const vq of r.rings) await vq.notify();
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
   * Allocate rings for queue q in the driver's layout and program the transport (size,
   * addresses, enable). The size is whatever the caller asks (default min(queueMaxSize,
   * 64)); with the packed ring it need not be a power of 2.
   */
  async setupQueue(q: number, o: QueueOptions = {}): Promise<Virtqueue> {
    let size = o.size;
    if (size === undefined) {
      const max = await this.transport.queueMaxSize(q);
      if (max === 0) throw new DriverError(`queue ${q} is not available (maximum size 0)`);
      size = Math.min(max, DEFAULT_QUEUE_SIZE);
    }
    const common = {
      index: q, size, eventIdx: o.eventIdx ?? hasBit(this.negotiated, VIRTIO_F.EVENT_IDX), timeoutScale: this.timeoutScale,
      notify: () => this.transport.notify(q),
    };
    let vq: Virtqueue;
    if (this.layout === 'packed') {
      const parts = await allocatePackedParts(this.mem, size);
      const p = new PackedRingDriver(this.mem, { ...common, inOrder: o.inOrder ?? hasBit(this.negotiated, VIRTIO_F.IN_ORDER) }, parts.desc, parts.driver, parts.device);
      // The driver event suppression structure is set before the device can look at it.
      await p.init();
      // Driver Area = driver event suppression, Device Area = device event suppression (2.8.10).
      await this.transport.setupQueue(q, { size, desc: p.desc, driver: p.driver, device: p.device, msixVector: o.msixVector });
      vq = p;
    } else {
      const parts = await allocateParts(this.mem, size);
      const s = new SplitRingDriver(this.mem, common, parts.desc, parts.avail, parts.used);
      await this.transport.setupQueue(q, { size, desc: s.desc, driver: s.avail, device: s.used, msixVector: o.msixVector });
      vq = s;
    }
    this.queues.set(q, vq);
    return vq;
  }

  /** A split queue set up earlier (DriverError if it is packed: use ring()). */
  queue(q = 0): SplitRingDriver {
    const vq = this.lookup(q);
    if (!(vq instanceof SplitRingDriver)) throw new DriverError(`queue ${q} is a packed virtqueue; use ring(${q}) or packedQueue(${q})`);
    return vq;
  }

  /** A queue set up earlier, either layout. */
  ring(q = 0): Virtqueue { return this.lookup(q); }

  /** A packed queue set up earlier (DriverError if it is split). */
  packedQueue(q = 0): PackedRingDriver {
    const vq = this.lookup(q);
    if (!(vq instanceof PackedRingDriver)) throw new DriverError(`queue ${q} is a split virtqueue`);
    return vq;
  }

  private lookup(q: number): Virtqueue {
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
    // vhost-user has no config_generation (each GET_CONFIG is one message): read once.
    if (this.transport.kind === 'vhost-user') return read();
    return waitFor(async () => {
      const before = await this.transport.configGeneration();
      const v = await read();
      return (await this.transport.configGeneration()) === before ? { v } : undefined;
    }, { timeoutMs: this.timeout(1000), what: 'config_generation to stay the same across a configuration read' }).then((x) => x.v);
  }

  /** Features offered at the last init (undefined before one). */
  lastOffered(): bigint | undefined { return this.offeredCache; }
}
