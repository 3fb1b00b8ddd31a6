// driver/transport.ts over vhost-user messages. The mapping (README.md has the table):
// device features ↔ GET/SET_FEATURES (bit 30 hidden from the driver), status ↔
// SET/GET_STATUS when STATUS is negotiated and otherwise kept here, queues ↔ SET_VRING_*,
// notify ↔ the kick eventfd, used-buffer notifications ↔ the call eventfd's counter,
// config ↔ GET/SET_CONFIG. What has no equivalent throws VhostUserNotApplicable.
import type { QueueSetup, Transport } from '../../driver/transport.ts';
import { eventfdRead, eventfdWrite, watch } from '../../native/index.ts';
import { DEVICE_ID } from '../../virtio/ids.ts';
import { DEVICE_NEEDS_RESET, DRIVER_OK, FEATURES_OK } from '../../virtio/status.ts';
import { VhostUserFrontend, VhostUserNotApplicable } from './frontend.ts';
import { VHOST_F_LOG_ALL, VHOST_USER_F_PROTOCOL_FEATURES } from './protocol.ts';

export type VhostUserDevice = 'blk' | 'net' | 'entropy';

export interface VhostUserTransportOptions {
  device: VhostUserDevice;
  /** What queueMaxSize() answers: vhost-user has no such query, the front-end picks the size. */
  queueSize?: number;
}

export const DEFAULT_QUEUE_SIZE = 256;
const F_PROTOCOL = 1n << VHOST_USER_F_PROTOCOL_FEATURES;
/** Bits GET/SET_FEATURES carry for vhost-user itself, not for the virtio device: never shown to or taken from the driver. */
export const VHOST_TRANSPORT_BITS = F_PROTOCOL | (1n << VHOST_F_LOG_ALL);

export class VhostUserTransport implements Transport {
  readonly kind = 'vhost-user' as const;
  private localStatus = 0;
  /** Set when a ring's error eventfd fired; cleared by reset. */
  private needsReset = false;
  /** Queues whose error eventfd fired (evidence for reports). */
  readonly ringErrors: number[] = [];

  constructor(readonly fe: VhostUserFrontend, private readonly o: VhostUserTransportOptions) {}

  /** From the --device option: the protocol has no device-type query. */
  async deviceId(): Promise<number> { return DEVICE_ID[this.o.device]; }

  async readDeviceFeatures(): Promise<bigint> { return (await this.fe.getFeatures()) & ~VHOST_TRANSPORT_BITS; }

  async writeDriverFeatures(features: bigint): Promise<void> { await this.fe.setFeatures(features & ~VHOST_TRANSPORT_BITS); }

  /**
   * With STATUS: GET_STATUS. Without it the status is the suite's own copy, where
   * FEATURES_OK stands for the back-end's REPLY_ACK to SET_FEATURES (its only way to
   * refuse features). Without STATUS and REPLY_ACK nothing the back-end said backs
   * FEATURES_OK, so reading it back is NOT_APPLICABLE rather than an echo of our write.
   */
  async getStatus(): Promise<number> {
    // A signal on a ring's error eventfd is the back-end saying the device is broken:
    // DEVICE_NEEDS_RESET, as QEMU's front-end reports it to its guest.
    const errs = this.fe.takeRingErrors();
    if (errs.length) { this.needsReset = true; this.ringErrors.push(...errs); }
    const nr = this.needsReset ? DEVICE_NEEDS_RESET : 0;
    if (this.fe.has('STATUS')) return (await this.fe.getStatus()) | nr;
    if ((this.localStatus & FEATURES_OK) && !this.fe.has('REPLY_ACK')) {
      throw new VhostUserNotApplicable('vhost-user: FEATURES_OK cannot be read back (the back-end negotiated neither STATUS nor REPLY_ACK)');
    }
    return this.localStatus | nr;
  }

  async setStatus(status: number): Promise<void> {
    if (status === 0) return this.reset();
    if (this.fe.has('STATUS')) {
      await this.fe.setStatus(status);
      this.localStatus = status;
      return;
    }
    let s = status;
    // A refused SET_FEATURES is the back-end declining the feature set: FEATURES_OK does not stick.
    if ((s & FEATURES_OK) && !(this.localStatus & FEATURES_OK)) {
      const last = this.fe.lastSetFeatures;
      if (!last || (last.ack !== undefined && last.ack !== 0n)) s &= ~FEATURES_OK;
    }
    this.localStatus = s;
  }

  async reset(): Promise<void> {
    await this.fe.reset();
    this.fe.takeRingErrors();
    this.needsReset = false;
    this.localStatus = 0;
  }

  /** GET_QUEUE_NUM (MQ only); for net it counts queue pairs, so twice that many queues. */
  async numQueues(): Promise<number> {
    const n = this.fe.info.queueNum;
    if (n === undefined) throw new VhostUserNotApplicable('vhost-user: the number of queues is only known with the MQ protocol feature (GET_QUEUE_NUM)');
    return this.o.device === 'net' ? 2 * n : n;
  }

  async queueMaxSize(q: number): Promise<number> {
    const n = this.fe.info.queueNum;
    if (n !== undefined && q >= (this.o.device === 'net' ? 2 * n : n)) return 0;
    return this.o.queueSize ?? DEFAULT_QUEUE_SIZE;
  }

  async setupQueue(q: number, s: QueueSetup): Promise<void> {
    await this.fe.setupRing(q, { size: s.size, desc: s.desc, avail: s.driver, used: s.device });
  }

  async queueEnabled(q: number): Promise<boolean> { return this.fe.ringEnabled(q); }

  /**
   * Without STATUS the back-end is never told about DRIVER_OK: a ring runs from
   * SET_VRING_KICK on. A notification on a running ring before DRIVER_OK would then test
   * the protocol, not the device, so it is NOT_APPLICABLE (not a made-up pass or a FAIL the
   * device did not earn). A stopped ring (after a reset: GET_VRING_BASE) is kicked as asked.
   */
  async notify(q: number): Promise<void> {
    if (!(this.localStatus & DRIVER_OK) && !this.fe.has('STATUS') && this.fe.ringStarted(q)) {
      throw new VhostUserNotApplicable('vhost-user without the STATUS protocol feature: the back-end is never told about DRIVER_OK (a ring runs from SET_VRING_KICK on), so what it does before DRIVER_OK cannot be observed');
    }
    if (!eventfdWrite(this.fe.kickFd(q), 1n)) throw new Error(`vhost-user: kick eventfd of queue ${q} is full`);
  }

  /** The call eventfd's counter: the back-end's signals since the last call (coalesced by the kernel only in value, not lost). */
  async takeNotifications(q: number): Promise<number> {
    return Number(eventfdRead(this.fe.callFd(q)) ?? 0n);
  }

  /**
   * Wait until the back-end signals queue `q`'s call eventfd (or `timeoutMs` passes) and
   * return the signals read (0 on timeout). Consumes them, like takeNotifications().
   */
  waitNotification(q: number, timeoutMs: number): Promise<number> {
    const fd = this.fe.callFd(q);
    const now = Number(eventfdRead(fd) ?? 0n);
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { w.stop(); resolve(0); }, timeoutMs);
      const w = watch(fd, 'readable', () => {
        const n = Number(eventfdRead(fd) ?? 0n);
        if (!n) return;
        clearTimeout(timer);
        w.stop();
        resolve(n);
      });
    });
  }

  async takeConfigNotifications(): Promise<number> {
    throw new VhostUserNotApplicable('vhost-user: configuration-change notifications arrive on the back-end request channel (BACKEND_REQ), which this front-end does not set up');
  }

  async configGeneration(): Promise<number> {
    throw new VhostUserNotApplicable('vhost-user: there is no config_generation; each GET_CONFIG is one atomic message');
  }

  /**
   * GET_CONFIG always from offset 0 through the field, then the field: some back-ends
   * (libvhost-user's blk export) ignore the offset, and QEMU itself always asks from 0.
   */
  async readConfig(offset: number, width: 1 | 2 | 4): Promise<number> {
    this.needConfig();
    const b = await this.fe.getConfig(0, offset + width);
    if (!b) throw new VhostUserNotApplicable(`vhost-user: back-end refused GET_CONFIG of ${offset + width} bytes (the field at ${offset} is beyond the config space it exposes)`);
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    return width === 1 ? v.getUint8(offset) : width === 2 ? v.getUint16(offset, true) : v.getUint32(offset, true);
  }

  async writeConfig(offset: number, width: 1 | 2 | 4, value: number): Promise<void> {
    this.needConfig();
    const b = new Uint8Array(width);
    const v = new DataView(b.buffer);
    if (width === 1) v.setUint8(0, value); else if (width === 2) v.setUint16(0, value, true); else v.setUint32(0, value, true);
    await this.fe.setConfig(offset, b);
  }

  private needConfig(): void {
    if (!this.fe.has('CONFIG')) throw new VhostUserNotApplicable('vhost-user: the back-end did not offer the CONFIG protocol feature (no GET_CONFIG/SET_CONFIG)');
  }
}
