// Spawned vhost-user back-ends (qemu-storage-daemon, dpdk-testpmd), started the way
// adapters/qemu/process.ts starts QEMU: in a temp dir of their own, detached into their
// own process group, under `setpriv --pdeathsig KILL` (so they die with a SIGKILLed
// Node), and in a process-wide registry that kills every group still alive on exit, on
// an uncaught error and on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../cli/errors.ts';
import { resolveBinary } from '../qemu/process.ts';
import { type LiveChild, childRegistry, installReaper, killGroup } from '../children.ts';

const STDERR_LIMIT = 16 * 1024;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

type Live = LiveChild;
const live = childRegistry();

/** Back-end processes this Node process started and has not reaped yet. */
export function liveBackendCount(): number { return live.size; }

export interface BackendSpec {
  /** Debian package that has the binary, for the "not installed" message. */
  package: string;
  binary: string;
  /** Arguments, given the temp dir and the socket path in it. */
  args: (dir: string, socket: string) => string[];
  /** Prepare the temp dir (disk images) before the start. */
  prepare?: (dir: string) => void;
  /** How the back-end is asked to stop before the group is killed (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** Remove state the back-end keeps outside the temp dir, after it exited. */
  cleanup?: () => void;
}

export class BackendProcess {
  private stderrBuf = '';
  private exitedFlag = false;
  private readonly exitInfo: Promise<void>;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly child: ChildProcess, readonly dir: string, readonly socket: string,
    readonly commandLine: string[], private readonly entry: Live, private readonly spec: BackendSpec,
    private readonly timeoutScale: number,
  ) {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => { this.stderrBuf = (this.stderrBuf + s).slice(-STDERR_LIMIT); });
    this.exitInfo = new Promise((resolve) => child.once('exit', () => { this.exitedFlag = true; resolve(); }));
  }

  get pid(): number { return this.child.pid!; }
  /** The back-end's recent stderr (last 16 KiB). */
  stderr(): string { return this.stderrBuf; }
  get exited(): boolean { return this.exitedFlag; }

  describe(): string {
    const parts: string[] = [];
    if (this.exitedFlag) parts.push(`${this.spec.binary} (pid ${this.pid}) exited (code ${this.child.exitCode}, signal ${this.child.signalCode})`);
    const err = this.stderrBuf.trim();
    if (err) parts.push(`${this.spec.binary} stderr:\n${err}`);
    return parts.join('\n');
  }

  static async start(spec: BackendSpec, timeoutScale = 1): Promise<BackendProcess> {
    const resolved = resolveBinary(spec.binary);
    if (!resolved) throw new UsageError(`'${spec.binary}' not found; install the Debian package ${spec.package} (apt-get install --no-install-recommends ${spec.package})`);
    const dir = mkdtempSync(join(tmpdir(), 'virtio-cts-vhost-user-'));
    try {
      const socket = join(dir, 'vhost-user.sock');
      spec.prepare?.(dir);
      const args = spec.args(dir, socket);
      installReaper();
      const [file, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', resolved, ...args]] : [resolved, args];
      const child = spawn(file, argv, { detached: true, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      const failed = await new Promise<Error | undefined>((resolve) => {
        child.once('spawn', () => resolve(undefined));
        child.once('error', (e) => resolve(e));
      });
      if (failed) throw new Error(`cannot start ${spec.binary}: ${failed.message}`);
      const entry: Live = { pid: child.pid!, dir };
      live.add(entry);
      return new BackendProcess(child, dir, socket, [spec.binary, ...args], entry, spec, timeoutScale);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Ask it to stop, kill the group if it does not, remove the temp dir. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.exitedFlag) killGroup(this.pid, this.spec.stopSignal ?? 'SIGTERM');
      if (!this.exitedFlag) await Promise.race([this.exitInfo, delay(2_000 * this.timeoutScale)]);
      if (!this.exitedFlag) killGroup(this.pid, 'SIGKILL');
      if (!this.exitedFlag) await Promise.race([this.exitInfo, delay(5_000 * this.timeoutScale)]);
      // The group may hold more than the leader (testpmd's threads are one process; be sure).
      killGroup(this.pid, 'SIGKILL');
      live.delete(this.entry);
      this.spec.cleanup?.();
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.closing;
  }
}

function delay(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
