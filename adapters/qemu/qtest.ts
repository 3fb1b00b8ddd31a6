// qtest client: the line protocol QEMU speaks on its -qtest socket. Requests are
// pipelined (one FIFO of pending replies, since QEMU answers in order); the
// asynchronous `IRQ raise N` / `IRQ lower N` lines that follow `irq_intercept_in`
// arrive interleaved with replies and are routed apart into a level per line.
import type { Socket } from 'node:net';

/**
 * The target stopped answering (connection lost or a request timed out). The runner
 * maps any error with `wedged === true` to the WEDGED verdict.
 */
export class TargetWedgedError extends Error {
  readonly wedged = true;
  constructor(message: string) { super(message); this.name = 'TargetWedgedError'; }
}

/** QEMU answered `FAIL …` to a command. */
export class QtestCommandError extends Error {
  constructor(readonly command: string, readonly reply: string) {
    super(`qtest: '${command}' failed: ${reply}`);
    this.name = 'QtestCommandError';
  }
}

interface Pending {
  command: string;
  resolve(v: string): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface QtestClientOptions {
  /** Per-request timeout in ms (already scaled by the caller). */
  timeoutMs: number;
  /** Extra context (e.g. QEMU's stderr) appended to wedged errors. */
  describeLoss?: () => string;
  /**
   * Awaited (the caller bounds it) between noticing a lost connection and rejecting:
   * lets the process layer collect QEMU's exit status and last stderr first.
   */
  beforeLoss?: () => Promise<void>;
}

export class QtestClient {
  private readonly pending: Pending[] = [];
  private buf = '';
  private dead: TargetWedgedError | undefined;
  private losing = false;
  private readonly levels = new Map<number, boolean>();
  private readonly listeners = new Set<(line: number, level: boolean) => void>();

  constructor(private readonly sock: Socket, private readonly opts: QtestClientOptions) {
    sock.setEncoding('latin1');
    sock.setNoDelay?.(true);
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (e) => this.lost(`qtest connection lost (${e.message})`));
    sock.on('close', () => this.lost('qtest connection lost'));
  }

  /** Current level of an intercepted interrupt line (false until raised). */
  irqLevel(line: number): boolean { return this.levels.get(line) ?? false; }

  /** Called on every IRQ line change; returns an unsubscribe function. */
  onIrq(fn: (line: number, level: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get closed(): boolean { return this.dead !== undefined || this.losing; }

  /**
   * Send one command; resolves with the text after `OK` (trimmed, may be empty).
   * The line is written synchronously, so two calls made in the same tick reach QEMU
   * back to back in call order (pciConfig relies on this for its 0xcf8/0xcfc pair).
   */
  request(command: string): Promise<string> {
    if (this.dead) return Promise.reject(this.dead);
    if (command.includes('\n')) return Promise.reject(new Error(`qtest: newline in command '${command}'`));
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        // QEMU answers in order: once one reply is overdue the stream cannot be trusted.
        this.fail(`qtest: no reply to '${abbrev(command)}' within ${this.opts.timeoutMs} ms`);
      }, this.opts.timeoutMs);
      this.pending.push({ command, resolve, reject, timer });
      if (!this.losing) this.sock.write(command + '\n');
    });
  }

  /** Stop the client: pending requests reject, the socket is closed. */
  close(reason = 'qtest client closed'): void {
    this.fail(reason);
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    const irq = /^IRQ (raise|lower) (\d+)$/.exec(line);
    if (irq) {
      const n = Number(irq[2]);
      const level = irq[1] === 'raise';
      this.levels.set(n, level);
      for (const fn of this.listeners) fn(n, level);
      return;
    }
    const p = this.pending.shift();
    if (!p) {
      this.fail(`qtest: unexpected line from QEMU: '${abbrev(line)}'`);
      return;
    }
    clearTimeout(p.timer);
    if (line === 'OK' || line.startsWith('OK ')) p.resolve(line.slice(2).trim());
    else if (line.startsWith('FAIL')) p.reject(new QtestCommandError(p.command, line.slice(4).trim()));
    else {
      p.reject(new QtestCommandError(p.command, `malformed reply '${abbrev(line)}'`));
    }
  }

  private lost(reason: string): void {
    if (this.dead || this.losing) return;
    this.losing = true;
    const wait = this.opts.beforeLoss?.() ?? Promise.resolve();
    wait.catch(() => undefined).then(() => this.fail(reason));
  }

  private fail(reason: string): void {
    if (this.dead) return;
    const extra = this.opts.describeLoss?.();
    this.dead = new TargetWedgedError(extra ? `${reason}\n${extra}` : reason);
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(this.dead);
    }
    this.sock.destroy();
  }
}

/** Shortened, with control characters escaped (garbage from QEMU must not reach a terminal raw). */
function abbrev(s: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return safe.length > 120 ? `${safe.slice(0, 117)}...` : safe;
}

/**
 * Format an address or value as unsigned hex. QEMU aborts on a malformed number (e.g.
 * `0x-1f…` from a negative JS bitwise result), so anything negative is refused here.
 */
export function hex(v: number | bigint): string {
  if (typeof v === 'bigint') {
    if (v < 0n || v >= 1n << 64n) throw new RangeError(`qtest: value out of range: ${v}`);
    return '0x' + v.toString(16);
  }
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`qtest: value out of range: ${v}`);
  return '0x' + v.toString(16);
}

/** Mask a register value to `bytes` bytes, unsigned (accepts the negatives `|`/`<<` produce). */
export function hexValue(v: number | bigint, bytes: 1 | 2 | 4 | 8): string {
  return '0x' + BigInt.asUintN(bytes * 8, BigInt(v)).toString(16);
}
