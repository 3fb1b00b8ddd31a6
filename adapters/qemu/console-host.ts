// The host end of a QEMU virtio-serial device's ports, owned by the suite: one unix
// socket per port on which the suite LISTENS (as for qtest and QMP, so nothing polls for a
// socket file) and QEMU's `-chardev socket` connects as a client. Port 0 is a virtconsole
// (QEMU writes emerg_wr bytes to the first connected console port, so they arrive on
// port 0's socket too); port 1 a named virtserialport.
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ConsoleHostSide } from '../types.ts';

/** Ports the QEMU console target has (max_ports on the device: port 0 and port 1). */
export const QEMU_CONSOLE_PORTS = 2;
export const qemuPortName = (port: number): string => `org.virtio-cts.port${port}`;
/** QOM id of the port device (for device_del). */
export const qemuPortId = (port: number): string => `vcon${port}`;

interface HostPort { server: Server; path: string; socket?: Socket; connected: Promise<Socket>; got: number[] }

export class QemuConsoleHost implements ConsoleHostSide {
  private ports: HostPort[] = [];
  /** Set by the target: QMP device_del / device_add of a port device. */
  unplugFn?: (port: number) => Promise<void>;
  plugFn?: (port: number, device: Record<string, unknown>) => Promise<void>;
  /** Ports unplugged (or plugged again): the machine is no longer the one a reset gives back. */
  readonly unplugged = new Set<number>();

  /** Listen on one socket per port in `dir` (synchronously bound, before QEMU starts). */
  constructor(dir: string, private readonly connectMs: number, n = QEMU_CONSOLE_PORTS) {
    for (let p = 0; p < n; p++) {
      const path = join(dir, `con${p}.sock`);
      const server = createServer();
      let resolve!: (s: Socket) => void;
      const connected = new Promise<Socket>((r) => { resolve = r; });
      const hp: HostPort = { server, path, connected, got: [] };
      server.on('connection', (s) => {
        hp.socket = s;
        s.on('data', (d: Buffer) => { for (const b of d) hp.got.push(b); });
        s.on('error', () => {});
        resolve(s);
      });
      server.on('error', () => {});
      server.listen(path);
      this.ports.push(hp);
    }
  }

  /** QEMU arguments: the chardevs and the port devices on the virtio-serial bus. */
  args(): string[] {
    const a: string[] = [];
    this.ports.forEach((p, i) => {
      a.push('-chardev', `socket,id=con${i},path=${p.path}`);
      const { driver, ...props } = this.deviceAdd(i);
      a.push('-device', [driver, ...Object.entries(props).map(([k, v]) => `${k}=${String(v)}`)].join(','));
    });
    return a;
  }

  private port(n: number): HostPort {
    const p = this.ports[n];
    if (!p) throw new Error(`QEMU console: no port ${n} (ports 0..${this.ports.length - 1})`);
    return p;
  }

  async inject(port: number, data: Uint8Array): Promise<void> {
    const p = this.port(port);
    let timer: NodeJS.Timeout | undefined;
    const s = await Promise.race([
      p.connected,
      new Promise<never>((_r, rej) => { timer = setTimeout(() => rej(new Error(`QEMU console: port ${port}'s chardev did not connect within ${this.connectMs} ms`)), this.connectMs); }),
    ]).finally(() => clearTimeout(timer));
    await new Promise<void>((res, rej) => s.write(data, (e) => (e ? rej(e) : res())));
  }

  received(port: number): Uint8Array {
    const p = this.port(port);
    const b = Uint8Array.from(p.got);
    p.got = [];
    return b;
  }

  /** QEMU puts emergency bytes on the first connected console port: port 0's stream. */
  emergency(): Uint8Array { return this.received(0); }

  /** QMP device_add arguments of port `port`'s device (as on the command line). */
  deviceAdd(port: number): Record<string, unknown> {
    this.port(port);
    return port === 0
      ? { driver: 'virtconsole', chardev: 'con0', nr: 0, id: qemuPortId(0) }
      : { driver: 'virtserialport', chardev: `con${port}`, nr: port, name: qemuPortName(port), id: qemuPortId(port) };
  }

  async plug(port: number): Promise<void> {
    if (!this.plugFn) throw new Error('QEMU console: plug is not wired to QMP');
    this.unplugged.add(port);
    await this.plugFn(port, this.deviceAdd(port));
  }

  async unplug(port: number): Promise<void> {
    if (!this.unplugFn) throw new Error('QEMU console: unplug is not wired to QMP');
    this.unplugged.add(port);
    await this.unplugFn(port);
  }

  /** Forget bytes in flight (a machine reset between scenarios). */
  drain(): void { for (const p of this.ports) p.got = []; }

  close(): void {
    for (const p of this.ports) {
      p.socket?.destroy();
      try { p.server.close(); } catch { /* not listening */ }
    }
  }
}
