// Start and stop one qemu-system-x86_64 with a qtest socket and a QMP socket.
//
// Socket roles (libqtest style): the harness LISTENS on both unix sockets in a per-run
// temp dir and QEMU connects as a client (`-qtest unix:PATH` and a client-mode
// `-chardev socket,path=PATH` for the QMP monitor). So there is no polling for a socket
// file to appear, and a QEMU that dies before connecting is reported through its exit.
//
// QEMU runs in its own process group (detached) so the whole group can be killed; a
// process-wide registry kills every QEMU still alive when Node exits, on an uncaught
// error and on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../cli/errors.ts';
import { QmpClient } from './qmp.ts';
import { QtestClient } from './qtest.ts';
import { type LiveChild, childRegistry, installReaper, killGroup } from '../children.ts';

export const DEFAULT_QEMU_BINARY = 'qemu-system-x86_64';
export const QEMU_DEBIAN_PACKAGE = 'qemu-system-x86';
const STDERR_LIMIT = 16 * 1024;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export function missingBinaryMessage(binary: string): string {
  return `QEMU binary '${binary}' not found; install the Debian package ${QEMU_DEBIAN_PACKAGE} ` +
    `(apt-get install --no-install-recommends ${QEMU_DEBIAN_PACKAGE}) or pass the path to qemu-system-x86_64`;
}

/**
 * A 64 KiB BIOS that only halts: `cli; hlt; jmp hlt` at the reset vector (0xfff0).
 * No firmware runs, so nothing enumerates PCI or touches the devices behind our back.
 */
export function haltBios(): Uint8Array {
  const b = new Uint8Array(0x10000).fill(0xff);
  b.set([0xfa, 0xf4, 0xeb, 0xfd], 0xfff0);
  return b;
}

// ---- process-wide registry -------------------------------------------------------

type Live = LiveChild;
const live = childRegistry();

/** Number of QEMU processes this Node process started and has not yet reaped. */
export function liveQemuCount(): number { return live.size; }

// ---- one QEMU --------------------------------------------------------------------

export interface QemuProcessOptions {
  binary?: string;
  /** Machine and device arguments; the socket, display and BIOS options are added here. */
  args: (dir: string) => string[];
  timeoutScale?: number;
}

export class QemuProcess {
  private stderrBuf = '';
  /** Characters of stderr received so far (the buffer keeps the last STDERR_LIMIT). */
  private stderrTotal = 0;
  private readonly exitInfo: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Settles once QEMU has exited and its stderr pipe is drained. */
  private readonly closedInfo: Promise<void>;
  private exitedFlag = false;
  private closing: Promise<void> | undefined;
  qtest!: QtestClient;
  qmp!: QmpClient;
  version = '';

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly commandLine: string[],
    readonly timeoutScale: number,
    private readonly entry: Live,
  ) {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      this.stderrTotal += s.length;
      this.stderrBuf = (this.stderrBuf + s).slice(-STDERR_LIMIT);
    });
    this.exitInfo = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.exitedFlag = true;
      resolve({ code, signal });
    }));
    this.closedInfo = new Promise((resolve) => child.once('close', () => resolve()));
  }

  get pid(): number { return this.child.pid!; }
  get exited(): boolean { return this.exitedFlag; }
  stderr(): string { return this.stderrBuf; }
  /** A mark for stderrSince(): how much stderr has arrived so far. */
  stderrMark(): number { return this.stderrTotal; }
  /** Stderr received after `mark` (as much of it as the buffer still holds). */
  stderrSince(mark: number): string {
    const n = this.stderrTotal - mark;
    return n <= 0 ? '' : this.stderrBuf.slice(Math.max(0, this.stderrBuf.length - n));
  }

  /** What to attach to an error: exit status (if any) and QEMU's recent stderr. */
  describe(): string {
    const parts: string[] = [];
    if (this.exitedFlag) {
      parts.push(`QEMU (pid ${this.pid}) exited (code ${this.child.exitCode}, signal ${this.child.signalCode})`);
    }
    const err = this.stderrBuf.trim();
    if (err) parts.push(`QEMU stderr:\n${err}`);
    return parts.join('\n');
  }

  static async start(opts: QemuProcessOptions): Promise<QemuProcess> {
    const scale = opts.timeoutScale ?? 1;
    const binary = opts.binary ?? DEFAULT_QEMU_BINARY;
    const resolved = resolveBinary(binary);
    if (!resolved) throw new UsageError(missingBinaryMessage(binary));
    const dir = mkdtempSync(join(tmpdir(), 'virtio-cts-qemu-'));
    const qtestPath = join(dir, 'qtest.sock');
    const qmpPath = join(dir, 'qmp.sock');
    writeFileSync(join(dir, 'halt.bin'), haltBios());
    let servers: Server[] = [];
    try {
      const [qtestServer, qmpServer] = servers = await Promise.all([listen(qtestPath), listen(qmpPath)]);
      const args = [
        '-qtest', `unix:${qtestPath}`, '-qtest-log', '/dev/null',
        '-chardev', `socket,path=${qmpPath},id=qmp0`, '-mon', 'chardev=qmp0,mode=control',
        '-display', 'none', '-nodefaults', '-no-user-config',
        '-bios', join(dir, 'halt.bin'),
        // Stay stopped until the harness is connected and says `cont`.
        '-S',
        ...opts.args(dir),
      ];
      installReaper();
      // With util-linux's setpriv, QEMU also gets SIGKILL if Node itself is SIGKILLed
      // (PR_SET_PDEATHSIG survives the exec); no hook can run in that case.
      const [file, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', resolved, ...args]] : [resolved, args];
      const child = spawn(file, argv, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
      const spawned = await new Promise<Error | undefined>((resolve) => {
        child.once('spawn', () => resolve(undefined));
        child.once('error', (e) => resolve(e));
      });
      if (spawned) {
        if ((spawned as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(missingBinaryMessage(binary));
        throw new Error(`cannot start ${binary}: ${spawned.message}`);
      }
      const entry: Live = { pid: child.pid!, dir };
      live.add(entry);
      const q = new QemuProcess(child, dir, [binary, ...args], scale, entry);
      try {
        const timeoutMs = 10_000 * scale;
        const [qtestSock, qmpSock] = await q.raceExit(
          Promise.all([accept(qtestServer), accept(qmpServer)]), timeoutMs, 'connecting its qtest and QMP sockets');
        q.qtest = new QtestClient(qtestSock, {
          timeoutMs: 5_000 * scale,
          describeLoss: () => q.describe(),
          // A lost socket usually means QEMU died: wait briefly for its exit and stderr.
          beforeLoss: () => Promise.race([q.closedInfo, delay(500 * scale)]),
        });
        q.qmp = new QmpClient(qmpSock, 5_000 * scale);
        const v = await q.raceExit(q.qmp.handshake(), timeoutMs, 'the QMP handshake');
        q.version = `${v.major}.${v.minor}.${v.micro}`;
        return q;
      } catch (e) {
        // A socket error usually means QEMU is exiting: let its status and stderr arrive.
        await Promise.race([q.closedInfo, delay(500 * scale)]);
        const detail = q.exited && !(e as Error).message.includes('QEMU stderr') ? `\n${q.describe()}` : '';
        await q.close();
        if (detail && !(e instanceof UsageError)) throw new Error(`QEMU failed to start: ${(e as Error).message}${detail}`);
        throw e;
      }
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    } finally {
      for (const s of servers) s.close();
    }
  }

  /** Wait for `p`, but fail early (with stderr) if QEMU exits, or after `ms`. */
  async raceExit<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        this.exitInfo.then(({ code, signal }) => {
          throw new Error(`QEMU exited (code ${code}, signal ${signal}) while ${what}\n${this.describe()}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`QEMU: timed out after ${ms} ms ${what}\n${this.describe()}`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ask QEMU to quit; kill its process group if it does not exit promptly. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.exitedFlag && this.qmp) {
        try { await this.raceExit(this.qmp.execute('quit'), 1_000 * this.timeoutScale, 'quitting'); } catch { /* fall through to kill */ }
      }
      if (!this.exitedFlag) {
        await Promise.race([this.exitInfo, delay(1_000 * this.timeoutScale)]);
      }
      if (!this.exitedFlag) killGroup(this.pid);
      if (!this.exitedFlag) await Promise.race([this.exitInfo, delay(5_000 * this.timeoutScale)]);
      this.qtest?.close('QEMU closed');
      this.qmp?.close();
      live.delete(this.entry);
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.closing;
  }
}

/** The executable `binary` names (a path, or a name looked up on PATH), if any. */
export function resolveBinary(binary: string): string | undefined {
  const candidates = binary.includes('/')
    ? [binary]
    : (process.env.PATH ?? '').split(':').filter(Boolean).map((d) => join(d, binary));
  return candidates.find((c) => {
    try { accessSync(c, constants.X_OK); return statSync(c).isFile(); } catch { return false; }
  });
}

function delay(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(path, () => resolve(s));
  });
}

function accept(server: Server): Promise<Socket> {
  return new Promise((resolve) => server.once('connection', resolve));
}
