// vhost-user target: the suite is the front-end (driver role) of a vhost-user back-end,
// either one already listening (`socket`) or one started here (`spawn`). There is no
// Bus: the target carries its own Transport (`transport`), and `bus` refuses every
// register access as NOT_APPLICABLE.
import { closeSync, ftruncateSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../cli/errors.ts';
import type { Bus, Target } from '../types.ts';
import { VhostUserConnection } from './connection.ts';
import { VhostUserFrontend, VhostUserNotApplicable, type HandshakeInfo } from './frontend.ts';
import { SharedGuestMemory, type RegionSpec } from './memory.ts';
import { BackendProcess, type BackendSpec } from './process.ts';
import { VhostUserTransport, type VhostUserDevice } from './transport.ts';

export { VhostUserError, VhostUserConnection } from './connection.ts';
export { VhostUserFrontend, VhostUserNotApplicable, VhostUserRefused } from './frontend.ts';
export { SharedGuestMemory, type RegionSpec } from './memory.ts';
export { VhostUserTransport, type VhostUserDevice } from './transport.ts';
export { liveBackendCount } from './process.ts';

export type SpawnBackend = 'qemu-storage-daemon' | 'dpdk-testpmd';

export interface VhostUserBlkOptions {
  /** 'file' (a sparse image in the temp dir, default) or 'null' (null-co, reads zeros). */
  drive?: 'file' | 'null';
  capacitySectors?: number;
  readOnly?: boolean;
  numQueues?: number;
}

export interface VhostUserTargetOptions {
  /** Connect to a back-end already listening here… */
  socket?: string;
  /** …or start one of the known back-ends in a temp dir. */
  spawn?: SpawnBackend;
  /** What the device is (the protocol has no device-type query). */
  device: VhostUserDevice;
  timeoutScale?: number;
  blk?: VhostUserBlkOptions;
  /** Guest memory regions shared with SET_MEM_TABLE (default: one of 64 MiB at 0). */
  memory?: RegionSpec[];
  /** queueMaxSize() answer (default 256). */
  queueSize?: number;
  /** Binary to run instead of the spawn name (a path). */
  binary?: string;
}

export interface VhostUserTarget extends Omit<Target, 'location'> {
  readonly location: { transport: 'vhost-user' };
  readonly transport: VhostUserTransport;
  readonly mem: SharedGuestMemory;
  readonly frontend: VhostUserFrontend;
  readonly handshake: HandshakeInfo;
  /** The spawned back-end's command line (undefined with `socket`). */
  readonly commandLine?: string[];
  readonly backend?: BackendProcess;
  /** What the spawned back-end printed on stderr since the target started (e.g. libvhost-user's vu_panic). */
  diagnostics(): string;
}

export const SECTOR_SIZE = 512;
export const DEFAULT_BLK_SECTORS = 2048;
let prefixCounter = 0;

/** How each known back-end is started (README.md documents these command lines). */
export function backendSpec(kind: SpawnBackend, o: VhostUserTargetOptions): BackendSpec {
  if (kind === 'qemu-storage-daemon') {
    const blk = o.blk ?? {};
    const bytes = (blk.capacitySectors ?? DEFAULT_BLK_SECTORS) * SECTOR_SIZE;
    return {
      package: 'qemu-system-common',
      binary: o.binary ?? 'qemu-storage-daemon',
      prepare: (dir) => {
        if (blk.drive === 'null') return;
        const fd = openSync(join(dir, 'disk.img'), 'w');
        try { ftruncateSync(fd, bytes); } finally { closeSync(fd); }
      },
      args: (dir, socket) => [
        '--blockdev', blk.drive === 'null'
          ? `driver=null-co,node-name=disk0,size=${bytes},read-zeroes=on`
          : `driver=file,node-name=disk0,filename=${join(dir, 'disk.img')}${blk.readOnly ? ',read-only=on' : ''}`,
        '--export', `type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=${socket},writable=${blk.readOnly ? 'off' : 'on'}`
          + (blk.numQueues ? `,num-queues=${blk.numQueues}` : ''),
      ],
    };
  }
  // Unique --file-prefix: DPDK keeps per-instance state in /var/run/dpdk/<prefix>.
  const prefix = `virtio-cts-${process.pid}-${++prefixCounter}`;
  return {
    package: 'dpdk-dev',
    binary: o.binary ?? 'dpdk-testpmd',
    stopSignal: 'SIGINT',
    args: (_dir, socket) => [
      '-l', '0,1', '--no-huge', '-m', '512', '--no-pci', `--file-prefix=${prefix}`,
      '--vdev', `net_vhost0,iface=${socket},queues=1`,
      '--', '--total-num-mbufs=8192', '--forward-mode=io', '--nb-cores=1', '--stats-period=1',
    ],
    cleanup: () => {
      for (const d of [`/var/run/dpdk/${prefix}`, `/run/user/${process.getuid?.() ?? 0}/dpdk/${prefix}`]) {
        try { rmSync(d, { recursive: true, force: true }); } catch { /* not ours to clean */ }
      }
    },
  };
}

/** Register access does not exist on vhost-user: every call is NOT_APPLICABLE. */
function noBus(timeoutScale: number): Bus {
  const na = (what: string) => async (): Promise<never> => {
    throw new VhostUserNotApplicable(`vhost-user has no registers (${what}): register-level scenarios apply to PCI and MMIO only`);
  };
  return {
    pciConfigRead: na('PCI configuration space'), pciConfigWrite: na('PCI configuration space'),
    read: na('MMIO'), write: na('MMIO'), read64: na('MMIO'), write64: na('MMIO'),
    allocMmio: () => { throw new VhostUserNotApplicable('vhost-user has no MMIO window'); },
    irqLevel: na('interrupt lines'),
    // The back-end runs on its own: give it a short observation window.
    settle: () => new Promise((r) => setTimeout(r, 20 * timeoutScale)),
  };
}

export async function createVhostUserTarget(o: VhostUserTargetOptions): Promise<VhostUserTarget> {
  if (!!o.socket === !!o.spawn) throw new UsageError('vhost-user: give exactly one of --socket PATH or --spawn qemu-storage-daemon|dpdk-testpmd');
  if (o.spawn === 'qemu-storage-daemon' && o.device !== 'blk') throw new UsageError(`vhost-user: qemu-storage-daemon exports blk devices, not ${o.device}`);
  if (o.spawn === 'dpdk-testpmd' && o.device !== 'net') throw new UsageError(`vhost-user: dpdk-testpmd's net_vhost is a net device, not ${o.device}`);
  // A running back-end's disk is what it is: a scenario asking for another cannot apply.
  if (o.socket && o.blk && Object.values(o.blk).some((v) => v !== undefined)) {
    throw new VhostUserNotApplicable(`vhost-user --socket: the back-end's disk options are fixed by whoever started it (asked for ${JSON.stringify(o.blk)})`);
  }
  const scale = o.timeoutScale ?? 1;
  let backend: BackendProcess | undefined;
  let mem: SharedGuestMemory | undefined;
  let fe: VhostUserFrontend | undefined;
  try {
    let path = o.socket!;
    if (o.spawn) {
      backend = await BackendProcess.start(backendSpec(o.spawn, o), scale);
      path = backend.socket;
    }
    const describe = backend ? () => backend!.describe() : undefined;
    const connectMs = (o.spawn === 'dpdk-testpmd' ? 30_000 : 10_000) * scale;
    const conn = await VhostUserConnection.connect(path, connectMs, {
      replyTimeoutMs: 5_000 * scale, describe, alive: backend ? () => !backend!.exited : undefined,
    });
    mem = new SharedGuestMemory(o.memory);
    fe = new VhostUserFrontend(conn, mem);
    const handshake = await fe.handshake();
    const transport = new VhostUserTransport(fe, { device: o.device, queueSize: o.queueSize });
    const name = o.spawn ?? `socket ${o.socket}`;
    let closing: Promise<void> | undefined;
    const f = fe, m = mem, b = backend;
    return {
      description: `vhost-user ${o.device} (${name})`,
      bus: noBus(scale), mem, location: { transport: 'vhost-user' }, timeoutScale: scale,
      transport, frontend: fe, handshake, commandLine: backend?.commandLine, backend,
      diagnostics: () => b?.stderr() ?? '',
      close: () => closing ??= (async () => {
        f.close();
        m.close();
        await b?.close();
      })(),
    };
  } catch (e) {
    fe?.close();
    mem?.close();
    await backend?.close();
    throw e;
  }
}

/**
 * The target as driver/openDriver sees it: adapters/types.ts's DeviceLocation does not list
 * 'vhost-user' yet, so this is the one place the type is widened.
 */
export function asTarget(t: VhostUserTarget): Target {
  return t as unknown as Target;
}
