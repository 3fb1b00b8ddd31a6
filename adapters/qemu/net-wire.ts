// The wire of a QEMU network device: `-netdev socket,udp=…,localaddr=…` sends every frame
// the guest transmits as one UDP datagram to a socket the suite owns, and takes each
// datagram the suite sends to its local address as a frame from the network. Loopback
// only; the suite's end is bound before QEMU starts, so no frame is lost.
import { createSocket, type Socket } from 'node:dgram';
import type { NetWire } from '../types.ts';

const HOST = '127.0.0.1';

function bind(port = 0): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, HOST, () => { s.off('error', reject); resolve(s); });
  });
}

/** A free loopback UDP port for QEMU's end (bound and released; QEMU binds it next). */
async function freePort(): Promise<number> {
  const s = await bind();
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export class UdpWire implements NetWire {
  private frames: Uint8Array[] = [];
  private closed = false;
  /** Set by the adapter: QMP set_link on the NIC. */
  setLink?: (up: boolean) => Promise<void>;
  /** Set by the adapter: QMP announce-self. */
  announce?: () => Promise<void>;

  private constructor(private readonly sock: Socket, readonly port: number, readonly peerPort: number) {
    sock.on('message', (msg) => { this.frames.push(new Uint8Array(msg)); });
  }

  static async open(): Promise<UdpWire> {
    const sock = await bind();
    return new UdpWire(sock, sock.address().port, await freePort());
  }

  /** The -netdev option value for QEMU. */
  netdev(id: string): string {
    return `socket,id=${id},udp=${HOST}:${this.port},localaddr=${HOST}:${this.peerPort}`;
  }

  inject(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the wire is closed'));
    return new Promise((resolve, reject) => this.sock.send(frame, this.peerPort, HOST, (e) => (e ? reject(e) : resolve())));
  }

  sent(): Uint8Array[] {
    const out = this.frames;
    this.frames = [];
    return out;
  }

  /** Forget frames not read yet (between scenarios). */
  clear(): void { this.frames = []; }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((r) => this.sock.close(() => r()));
  }
}
