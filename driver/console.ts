// Console driver helpers (spec 5.3): initialization with the queue layout the negotiated
// features call for (port 0 only, or control queues and every port with MULTIPORT),
// receive buffers kept posted on the receive queues, data sent on a transmitq, control
// messages both ways, emergency writes.
import {
  CONSOLE_CONFIG, CONTROL_RECEIVEQ, CONTROL_SIZE, CONTROL_TRANSMITQ, VIRTIO_CONSOLE_F, consoleNumQueues, decodeControl,
  encodeControl, receiveq, transmitq, type ConsoleControl,
} from '../virtio/console.ts';
import { bit, hasBit } from '../virtio/features.ts';
import { DRIVER_OK } from '../virtio/status.ts';
import { CANARY_A, fillCanary } from './canary.ts';
import type { Driver, InitResult } from './driver.ts';
import { splitBuffer } from './layout.ts';
import { addBuffers, type AnyUsedElem, type Virtqueue } from './ring.ts';
import { DriverError, TIMEOUT } from './wait.ts';

export interface ConsoleConfig { cols: number; rows: number; max_nr_ports: number; emerg_wr: number }

export async function readConsoleConfig(d: Driver): Promise<ConsoleConfig> {
  return d.readConfigStable(async () => ({
    cols: await d.transport.readConfig(CONSOLE_CONFIG.cols[0], 2),
    rows: await d.transport.readConfig(CONSOLE_CONFIG.rows[0], 2),
    max_nr_ports: await d.transport.readConfig(CONSOLE_CONFIG.max_nr_ports[0], 4),
    emerg_wr: await d.transport.readConfig(CONSOLE_CONFIG.emerg_wr[0], 4),
  }));
}

/** Write `value` to emerg_wr (5.3.5.1: allowed at any time, the device outputs its lower byte). */
export async function writeEmergency(d: Driver, value: number, width: 1 | 2 | 4 = 4): Promise<void> {
  await d.transport.writeConfig(CONSOLE_CONFIG.emerg_wr[0], width, value);
}

export interface ConsoleOpenOptions {
  /** Driver features to accept (default: offered ∩ supported). */
  features?: bigint;
  /** Receive buffers posted per receive queue before DRIVER_OK (default 4). */
  rxBuffers?: number;
  /** Bytes per receive buffer (default 256; control buffers are at least 64). */
  rxBufferSize?: number;
  /** Set up queues for at most this many ports (default: max_nr_ports). */
  maxPorts?: number;
  /** Stop before DRIVER_OK (queues set up, receive buffers posted and notified). */
  stopBeforeDriverOk?: boolean;
}

interface RxBuffer { addr: number; len: number }

export interface ConsoleReceived {
  /** The first usedLen bytes of the buffer (all of it if usedLen overstates it). */
  data: Uint8Array;
  usedLen: number;
  /** Size of the buffer the device used. */
  bufferLen: number;
  /** The whole buffer after use (canary where the device wrote nothing). */
  buffer: Uint8Array;
}

export interface PendingSend { q: number; head: number; addr: number; len: number }

export interface ConsoleSent {
  usedLen: number;
  /** The transmit buffer read back after the device used it. */
  bufferAfter: Uint8Array;
  elem: AnyUsedElem;
}

/** The console as the suite's driver sees it after initialization. */
export class ConsoleDriver {
  private rx = new Map<number, Map<number, RxBuffer>>();

  private constructor(
    readonly d: Driver, readonly init: InitResult, readonly multiport: boolean, readonly maxNrPorts: number,
    /** Ports whose queues were set up. */
    readonly ports: number, private readonly rxBufferSize: number,
  ) {}

  /**
   * Initialize (3.1.1) with the console's queue layout: receiveq/transmitq of port 0, and
   * with MULTIPORT negotiated the control queues and the queues of the other ports; every
   * receive queue gets buffers before DRIVER_OK (5.3.5 step 4).
   */
  static async open(d: Driver, o: ConsoleOpenOptions = {}): Promise<ConsoleDriver> {
    const r = await d.init({ ...(o.features === undefined ? {} : { features: o.features }), stopBefore: 'queues' });
    if (!r.featuresOk) throw new DriverError('console: the device refused FEATURES_OK');
    const multiport = hasBit(r.accepted, VIRTIO_CONSOLE_F.MULTIPORT);
    const maxNrPorts = multiport ? await d.transport.readConfig(CONSOLE_CONFIG.max_nr_ports[0], 4) : 1;
    if (multiport && maxNrPorts < 1) throw new DriverError(`console: max_nr_ports reads ${maxNrPorts}`);
    const ports = Math.min(maxNrPorts, o.maxPorts ?? maxNrPorts);
    const c = new ConsoleDriver(d, r, multiport, maxNrPorts, ports, o.rxBufferSize ?? 256);
    const queues = multiport ? consoleNumQueues(ports) : 2;
    for (let q = 0; q < queues; q++) r.rings.push(await d.setupQueue(q));
    for (let q = 0; q < queues; q += 2) await c.postReceive(q, o.rxBuffers ?? 4);
    if (o.stopBeforeDriverOk) return c;
    await c.driverOk();
    return c;
  }

  async driverOk(): Promise<void> {
    const s = await this.d.transport.getStatus();
    await this.d.transport.setStatus(s | DRIVER_OK);
    this.init.status = await this.d.transport.getStatus();
  }

  queue(q: number): Virtqueue { return this.d.ring(q); }

  /** Post `count` canary-filled device-writable buffers on receive queue `q` and notify. */
  async postReceive(q: number, count: number, size = q === CONTROL_RECEIVEQ ? Math.max(this.rxBufferSize, 64) : this.rxBufferSize): Promise<void> {
    const vq = this.queue(q);
    const bufs = this.rx.get(q) ?? new Map<number, RxBuffer>();
    this.rx.set(q, bufs);
    for (let i = 0; i < count; i++) {
      const addr = await this.d.mem.alloc(size);
      await fillCanary(this.d.mem, addr, size, CANARY_A);
      const head = await addBuffers(vq, [{ addr, len: size, write: true }]);
      bufs.set(head, { addr, len: size });
    }
    await vq.kick();
  }

  /**
   * The next used buffer of receive queue `q` within timeoutMs (undefined if none); the
   * buffer is posted again. Used len is not validated here: the scenario judges it.
   */
  async receive(q: number, timeoutMs: number = TIMEOUT.used): Promise<ConsoleReceived | undefined> {
    const vq = this.queue(q);
    let elem: AnyUsedElem;
    try {
      elem = await vq.waitUsed(timeoutMs, { validate: false });
    } catch (e) {
      if ((e as { name?: string }).name === 'DriverTimeoutError') return undefined;
      throw e;
    }
    const b = this.rx.get(q)?.get(elem.id);
    if (!b) throw new DriverError(`console: used id ${elem.id} on queue ${q} is not a receive buffer of ours`);
    this.rx.get(q)!.delete(elem.id);
    const buffer = await this.d.mem.read(b.addr, b.len);
    await this.postReceive(q, 1, b.len);
    return { data: buffer.slice(0, Math.min(elem.len, b.len)), usedLen: elem.len, bufferLen: b.len, buffer };
  }

  /** Every buffer the device uses on receive queue `q` until `done` says so or timeoutMs passes. */
  async receiveUntil(q: number, done: (all: ConsoleReceived[]) => boolean, timeoutMs: number = TIMEOUT.used): Promise<ConsoleReceived[]> {
    const out: ConsoleReceived[] = [];
    const deadline = performance.now() + timeoutMs * this.d.timeoutScale;
    while (!done(out)) {
      // Past the deadline, still one look at what is already used (timeoutMs 0 = no wait).
      const left = Math.max(0, (deadline - performance.now()) / this.d.timeoutScale);
      const r = await this.receive(q, left);
      if (!r) break;
      out.push(r);
    }
    return out;
  }

  /** Send `data` on `port`'s transmitq (split over `segments` descriptors) and wait until it is used. */
  async send(port: number, data: Uint8Array, o: { segments?: number; timeoutMs?: number } = {}): Promise<ConsoleSent> {
    return this.transmit(transmitq(port), data, o);
  }

  /** A control message on the control transmitq, waited until used. */
  async sendControl(c: ConsoleControl, o: { timeoutMs?: number } = {}): Promise<ConsoleSent> {
    if (!this.multiport) throw new DriverError('console: control messages need VIRTIO_CONSOLE_F_MULTIPORT');
    return this.transmit(CONTROL_TRANSMITQ, encodeControl(c), o);
  }

  /**
   * Control messages from the device until `done` (given all so far) or timeoutMs.
   * A used buffer shorter than the struct is returned as a message with event -1.
   */
  async controlMessages(done: (all: ConsoleControl[]) => boolean, timeoutMs: number = TIMEOUT.used): Promise<ConsoleControl[]> {
    if (!this.multiport) throw new DriverError('console: control messages need VIRTIO_CONSOLE_F_MULTIPORT');
    const msgs: ConsoleControl[] = [];
    await this.receiveUntil(CONTROL_RECEIVEQ, (all) => {
      while (msgs.length < all.length) {
        const r = all[msgs.length]!;
        msgs.push(decodeControl(r.data) ?? { id: -1, event: -1, value: r.usedLen });
      }
      return done(msgs);
    }, timeoutMs);
    return msgs;
  }

  /** Make `data` available on `port`'s transmitq and notify, without waiting (see sent()). */
  async post(port: number, data: Uint8Array, o: { segments?: number } = {}): Promise<PendingSend> {
    const q = transmitq(port);
    const vq = this.queue(q);
    const addr = await this.d.mem.alloc(Math.max(data.length, 1));
    await this.d.mem.write(addr, data);
    const head = await addBuffers(vq, splitBuffer(addr, data.length, o.segments ?? 1, false));
    await vq.kick();
    return { q, head, addr, len: data.length };
  }

  /** Wait until a posted transmit buffer is used (DriverTimeoutError after timeoutMs). */
  async sent(p: PendingSend, timeoutMs: number = TIMEOUT.used): Promise<ConsoleSent> {
    const elem = await this.queue(p.q).waitUsed(timeoutMs, { validate: false });
    if (elem.id !== p.head) throw new DriverError(`console: queue ${p.q} used id ${elem.id}, expected ${p.head}`);
    return { usedLen: elem.len, bufferAfter: await this.d.mem.read(p.addr, p.len), elem };
  }

  private async transmit(q: number, data: Uint8Array, o: { segments?: number; timeoutMs?: number }): Promise<ConsoleSent> {
    const vq = this.queue(q);
    const addr = await this.d.mem.alloc(Math.max(data.length, 1));
    await this.d.mem.write(addr, data);
    const head = await addBuffers(vq, splitBuffer(addr, data.length, o.segments ?? 1, false));
    await vq.kick();
    return this.sent({ q, head, addr, len: data.length }, o.timeoutMs);
  }
}

export { CONTROL_SIZE, receiveq, transmitq };
/** Features for a console driver that wants exactly these device bits (plus VERSION_1). */
export const consoleFeatures = (...bits: number[]): bigint => bits.reduce((f, n) => f | bit(n), bit(32));
