// Reference console device (spec 5.3): port 0 (a console port) on receiveq/transmitq, and
// with VIRTIO_CONSOLE_F_MULTIPORT the control queues and further ports. The "host side"
// (ConsoleHost) is what the suite controls: it injects bytes toward the driver, captures
// what the driver sends, captures emergency writes, and can unplug a port.
import {
  CONSOLE_CONFIG, CONSOLE_CONFIG_SIZE, CONTROL_RECEIVEQ, CONTROL_TRANSMITQ, VIRTIO_CONSOLE, VIRTIO_CONSOLE_F,
  consoleNumQueues, decodeControl, encodeControl, queuePort, receiveq, type ConsoleControl,
} from '../../virtio/console.ts';
import { bit, hasBit } from '../../virtio/features.ts';
import { DEVICE_ID } from '../../virtio/ids.ts';
import { DRIVER_OK } from '../../virtio/status.ts';
import type { ChainContext, DeviceModel, VirtioDevice } from '../device.ts';
import type { Defects } from '../defects.ts';

export const CONSOLE_QUEUE_SIZE = 128;
export const DEFAULT_CONSOLE_COLS = 80;
export const DEFAULT_CONSOLE_ROWS = 25;
export const DEFAULT_MAX_NR_PORTS = 2;
/** Port 0 is the console port; the others are generic ports with a name. */
export const portName = (port: number): string => `org.virtio-cts.port${port}`;

export interface ConsoleModelOptions { cols?: number; rows?: number; maxNrPorts?: number }

/** What the suite controls on the host side of the reference console. */
export interface ConsoleHost {
  /** Bytes toward the driver on `port` (delivered into its receiveq as buffers allow). */
  inject(port: number, data: Uint8Array): Promise<void>;
  /** Bytes the driver sent on `port` since the last call. */
  received(port: number): Uint8Array;
  /** Bytes written through emerg_wr since the last call. */
  emergency(): Uint8Array;
  /** Hot-unplug `port` (the device tells a ready driver with DEVICE_REMOVE). */
  unplug(port: number): Promise<void>;
  /** Hot-plug `port` again (the device tells a ready driver with DEVICE_ADD). */
  plug(port: number): Promise<void>;
  /** New console size: cols/rows change and the device signals a configuration change. */
  resize(cols: number, rows: number): Promise<void>;
}

interface Port {
  present: boolean;
  /** DEVICE_ADD sent for it since the last reset. */
  added: boolean;
  /** The driver said PORT_OPEN 1 (multiport only; port 0 without MULTIPORT is always open). */
  guestOpen: boolean;
  toDriver: Uint8Array[];
  fromDriver: number[];
}

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

export class ConsoleModel implements DeviceModel, ConsoleHost {
  readonly type = 'console' as const;
  readonly deviceId = DEVICE_ID.console;
  readonly numQueues: number;
  /** The console size (port 0); the host changes it with resize(). */
  cols: number;
  rows: number;
  readonly maxNrPorts: number;
  private device?: VirtioDevice;
  private ports: Port[];
  /** Control messages waiting for a buffer in the control receiveq. */
  private controlOut: ConsoleControl[] = [];
  /** The driver sent DEVICE_READY since the last reset: hot-plugged ports are announced. */
  private driverReady = false;
  private emerg: number[] = [];

  constructor(o: ConsoleModelOptions, private readonly defects: Defects) {
    this.cols = o.cols ?? DEFAULT_CONSOLE_COLS;
    this.rows = o.rows ?? DEFAULT_CONSOLE_ROWS;
    this.maxNrPorts = o.maxNrPorts ?? DEFAULT_MAX_NR_PORTS;
    this.numQueues = consoleNumQueues(this.maxNrPorts);
    this.ports = Array.from({ length: this.maxNrPorts }, () => ({ present: true, added: false, guestOpen: false, toDriver: [], fromDriver: [] }));
  }

  attach(device: VirtioDevice): void { this.device = device; }

  private get multiport(): boolean { return hasBit(this.device?.features ?? 0n, VIRTIO_CONSOLE_F.MULTIPORT); }

  queueMaxSize(q: number): number { return q < this.numQueues ? CONSOLE_QUEUE_SIZE : 0; }

  offeredFeatures(): bigint {
    return bit(VIRTIO_CONSOLE_F.SIZE) | bit(VIRTIO_CONSOLE_F.MULTIPORT) | bit(VIRTIO_CONSOLE_F.EMERG_WRITE);
  }

  config(): Uint8Array {
    const b = new Uint8Array(CONSOLE_CONFIG_SIZE);
    const v = new DataView(b.buffer);
    v.setUint16(CONSOLE_CONFIG.cols[0], this.cols, true);
    v.setUint16(CONSOLE_CONFIG.rows[0], this.rows, true);
    v.setUint32(CONSOLE_CONFIG.max_nr_ports[0], this.maxNrPorts, true);
    return b; // emerg_wr reads 0: it is a write-only mailbox
  }

  writeConfig(offset: number, data: Uint8Array): void {
    // emerg_wr works at any time, even before the driver touched the status (5.3.5.1).
    if (offset !== CONSOLE_CONFIG.emerg_wr[0] || data.length === 0) return;
    if (this.defects.on('console-emerg-wr-needs-driver-ok') && !((this.device?.status ?? 0) & DRIVER_OK)) return;
    // The lower byte of the little-endian field is the first one written.
    this.emerg.push(this.defects.on('console-emerg-wr-high-byte') ? data[data.length - 1]! : data[0]!);
  }

  reset(): void {
    for (const p of this.ports) { p.added = false; p.guestOpen = false; }
    this.controlOut = [];
    this.driverReady = false;
  }

  isReceiveQueue(q: number): boolean { return q % 2 === 0; }

  async receiveReady(q?: number): Promise<void> {
    if (q !== undefined) return this.flush(q);
    await this.flush(CONTROL_RECEIVEQ);
    for (let p = 0; p < this.maxNrPorts; p++) await this.flush(receiveq(p));
  }

  /** Transmit queues (data toward the host) and the control transmitq. */
  async process(q: number, ctx: ChainContext): Promise<number> {
    const { ring, chain, defects } = ctx;
    const bytes = await ring.readAll(chain);
    if (defects.on('writes-device-readable-buffer')) {
      for (const b of chain.readable) await ctx.ram.write(b.addr, new Uint8Array(b.len));
    }
    if (q === CONTROL_TRANSMITQ) {
      const c = decodeControl(bytes);
      if (c) await this.control(c);
      return 0;
    }
    const qp = queuePort(q);
    const port = qp && qp.dir === 'tx' ? this.ports[qp.port] : undefined;
    if (port) for (const b of bytes) port.fromDriver.push(b);
    // Nothing is written into a transmit buffer; the defect reports its whole length (the
    // legacy habit 5.3.6.3 mentions).
    return defects.on('console-tx-used-len-total') ? chain.readableLen : 0;
  }

  // --- control messages from the driver (5.3.6.2) --------------------------------------

  private async control(c: ConsoleControl): Promise<void> {
    const E = VIRTIO_CONSOLE;
    const port = this.ports[c.id];
    switch (c.event) {
      case E.DEVICE_READY:
        if (c.value !== 1) break;
        this.driverReady = true;
        // Announce each present port once; a port already announced is not announced again.
        for (const [id, p] of this.ports.entries()) {
          if (!p.present || p.added) continue;
          p.added = true;
          this.send({ id, event: E.DEVICE_ADD, value: 0 });
          if (id === 1 && this.defects.on('console-adds-port-twice')) this.send({ id, event: E.DEVICE_ADD, value: 0 });
        }
        if (this.defects.on('console-adds-port-beyond-max')) this.send({ id: this.maxNrPorts, event: E.DEVICE_ADD, value: 0 });
        break;
      case E.PORT_READY:
        if (!port?.added || c.value !== 1) break;
        if (this.defects.on('console-readds-port-on-port-ready')) this.send({ id: c.id, event: E.DEVICE_ADD, value: 0 });
        if (c.id === 0) this.send({ id: 0, event: E.CONSOLE_PORT, value: 1 });
        else this.send({ id: c.id, event: E.PORT_NAME, value: 1, extra: new TextEncoder().encode(portName(c.id)) });
        // The host end of every port is connected.
        this.send({ id: c.id, event: E.PORT_OPEN, value: 1 });
        break;
      case E.PORT_OPEN:
        if (!port?.added) break;
        port.guestOpen = c.value === 1;
        if (port.guestOpen) await this.flush(receiveq(c.id));
        break;
      default:
        break; // events the driver does not send are ignored
    }
    await this.flush(CONTROL_RECEIVEQ);
  }

  private send(c: ConsoleControl): void { this.controlOut.push(c); }

  // --- filling receive buffers ---------------------------------------------------------

  private async flush(q: number): Promise<void> {
    const dev = this.device;
    if (!dev) return;
    if (q === CONTROL_RECEIVEQ) {
      if (!this.multiport) return;
      while (this.controlOut.length) {
        const msg = encodeControl(this.controlOut[0]!);
        const used = await dev.fillBuffer(q, async ({ ring, chain }) => {
          const n = Math.min(msg.length, chain.writableLen);
          await ring.writeAt(chain, 0, msg.subarray(0, n));
          return n;
        });
        if (!used) return;
        this.controlOut.shift();
      }
      return;
    }
    const qp = queuePort(q);
    if (!qp || qp.dir !== 'rx') return;
    const port = this.ports[qp.port];
    if (!port?.present || !this.portOpen(qp.port)) return;
    while (port.toDriver.length) {
      const pending = concat(port.toDriver);
      let took = 0;
      const used = await dev.fillBuffer(q, async ({ ring, chain, defects }) => {
        took = Math.min(pending.length, chain.writableLen);
        await ring.writeAt(chain, 0, pending.subarray(0, took));
        return defects.on('console-rx-len-overstated') ? chain.writableLen : took;
      });
      if (!used) return;
      port.toDriver = took < pending.length ? [pending.slice(took)] : [];
    }
  }

  /** Does data flow on `port` now? Port 0 without MULTIPORT always; otherwise once the driver opened it. */
  private portOpen(port: number): boolean {
    if (!this.multiport) return port === 0;
    const p = this.ports[port];
    return p !== undefined && p.added && p.guestOpen;
  }

  // --- host side -----------------------------------------------------------------------

  async inject(port: number, data: Uint8Array): Promise<void> {
    const p = this.ports[port];
    if (!p) throw new Error(`console: no port ${port} (max_nr_ports ${this.maxNrPorts})`);
    p.toDriver.push(data.slice());
    await this.flush(receiveq(port));
  }

  received(port: number): Uint8Array {
    const p = this.ports[port];
    if (!p) throw new Error(`console: no port ${port} (max_nr_ports ${this.maxNrPorts})`);
    const b = Uint8Array.from(p.fromDriver);
    p.fromDriver = [];
    return b;
  }

  emergency(): Uint8Array {
    const b = Uint8Array.from(this.emerg);
    this.emerg = [];
    return b;
  }

  async resize(cols: number, rows: number): Promise<void> {
    this.cols = cols;
    this.rows = rows;
    this.device?.configChanged();
  }

  async plug(port: number): Promise<void> {
    const p = this.ports[port];
    if (!p || p.present) return;
    p.present = true;
    if (!this.driverReady) return; // announced when the driver says DEVICE_READY
    // The defect announces every present port again, not only the new one.
    for (const [id, q] of this.ports.entries()) {
      if (!q.present || (q.added && !this.defects.on('console-hotplug-readds-ports'))) continue;
      q.added = true;
      this.send({ id, event: VIRTIO_CONSOLE.DEVICE_ADD, value: 0 });
    }
    await this.flush(CONTROL_RECEIVEQ);
  }

  async unplug(port: number): Promise<void> {
    const p = this.ports[port];
    if (!p?.present) return;
    p.present = false;
    p.toDriver = [];
    // Only a port the driver was told about is removed; the defect removes any.
    if (p.added || this.defects.on('console-removes-unannounced-port')) {
      p.added = false;
      this.send({ id: port, event: VIRTIO_CONSOLE.DEVICE_REMOVE, value: 0 });
      await this.flush(CONTROL_RECEIVEQ);
    }
  }
}
