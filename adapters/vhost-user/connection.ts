// One vhost-user front-end connection: strictly one request in flight, its fds sent with
// it, its reply read header-first and then exactly `size` bytes (so a stream read never
// joins two messages and fds stay with their message). Every wait is bounded. The first
// error poisons the connection: the socket is closed and every later call fails with it.
import { close, connect, isNativeError, recvmsg, sendmsg, watch } from '../../native/index.ts';
import { FLAG, HEADER_SIZE, decodeHeader, encodeMessage, requestName } from './protocol.ts';

export type VhostUserErrorKind = 'closed' | 'timeout' | 'protocol';

/**
 * The back-end closed the socket, stopped answering, or broke the protocol. The
 * connection is unusable afterwards, so the runner reports the scenario WEDGED.
 */
export class VhostUserError extends Error {
  readonly wedged = true;
  constructor(readonly kind: VhostUserErrorKind, message: string) {
    super(`vhost-user: ${message}`);
    this.name = 'VhostUserError';
  }
}

export interface ConnectionOptions {
  /** Bound on each reply (already multiplied by timeoutScale). Default 5000. */
  replyTimeoutMs?: number;
  /** Appended to error messages (e.g. the back-end's stderr). */
  describe?: () => string;
}

/** Most fds a reply may carry before we call it a protocol error (extra ones are closed). */
const MAX_REPLY_FDS = 8;
const TRACE_LEN = 32;

export class VhostUserConnection {
  private failed: VhostUserError | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly replyTimeoutMs: number;
  /** The last messages exchanged, newest last ("→ SET_OWNER flags 0x9 size 0"), for error reports. */
  readonly trace: string[] = [];
  /** Messages sent on this connection. */
  sent = 0;

  constructor(readonly fd: number, private readonly o: ConnectionOptions = {}) {
    this.replyTimeoutMs = o.replyTimeoutMs ?? 5000;
  }

  /**
   * Connect to a back-end's listening socket, retrying while it is not there yet (ENOENT)
   * or bound but not yet listening (ECONNREFUSED), up to timeoutMs.
   */
  static async connect(path: string, timeoutMs: number, o: ConnectionOptions & { alive?: () => boolean } = {}): Promise<VhostUserConnection> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        return new VhostUserConnection(connect(path), o);
      } catch (e) {
        const retry = isNativeError(e) && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EAGAIN');
        if (!retry) throw e;
        if (o.alive && !o.alive()) throw new VhostUserError('closed', `back-end exited before listening on ${path}${o.describe ? `\n${o.describe()}` : ''}`);
        if (performance.now() > deadline) {
          throw new VhostUserError('timeout', `no back-end listening on ${path} after ${Math.round(timeoutMs)} ms (${e.code})${o.describe ? `\n${o.describe()}` : ''}`);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  }

  get usable(): boolean { return !this.failed && !this.closed; }

  /**
   * Send one message; if `reply` says so, read its reply and check request code, REPLY
   * flag and size. Returns the reply payload (undefined if none was expected).
   */
  request(request: number, payload: Uint8Array, o: { fds?: readonly number[]; flags?: number; replySize?: number | readonly number[] } = {}): Promise<Uint8Array | undefined> {
    const run = async () => {
      this.check();
      try {
        await this.send(request, (o.flags ?? 0) | FLAG.VERSION, payload, o.fds ?? []);
        if (o.replySize === undefined) return undefined;
        return await this.readReply(request, o.replySize);
      } catch (e) {
        throw this.fail(e);
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Close the socket (idempotent). Later requests fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { close(this.fd); } catch { /* already closed */ }
  }

  private check(): void {
    if (this.failed) throw new VhostUserError(this.failed.kind, `connection unusable after an earlier error: ${this.failed.message.replace(/^vhost-user: /, '')}`);
    if (this.closed) throw new VhostUserError('closed', 'connection closed by the suite');
  }

  private fail(e: unknown): VhostUserError {
    let err: VhostUserError;
    if (e instanceof VhostUserError) err = e;
    else if (isNativeError(e) && ['EPIPE', 'ECONNRESET', 'ENOTCONN', 'EBADF'].includes(e.code)) err = new VhostUserError('closed', `socket error ${e.code} (${e.syscall})`);
    else err = new VhostUserError('protocol', (e as Error)?.message ?? String(e));
    if (!this.failed) {
      const extra = this.o.describe?.();
      const trace = this.trace.length ? `\nlast messages:\n  ${this.trace.join('\n  ')}` : '';
      if (extra || trace) err.message += `${trace}${extra ? `\n${extra}` : ''}`;
      this.failed = err;
    }
    this.close();
    return err;
  }

  private log(s: string): void {
    this.trace.push(s);
    if (this.trace.length > TRACE_LEN) this.trace.shift();
  }

  private async send(request: number, flags: number, payload: Uint8Array, fds: readonly number[]): Promise<void> {
    const msg = encodeMessage(request, flags, payload);
    this.log(`→ ${requestName(request)} flags 0x${flags.toString(16)} size ${payload.length}${fds.length ? ` fds ${fds.length}` : ''}`);
    const deadline = performance.now() + this.replyTimeoutMs;
    let off = 0;
    while (off < msg.length) {
      // fds travel with the first byte only
      const n = sendmsg(this.fd, msg.subarray(off), off === 0 ? fds : []);
      if (n === null) {
        await this.wait('writable', deadline, `the socket to accept ${requestName(request)}`);
        continue;
      }
      off += n;
    }
    this.sent++;
  }

  private async readReply(request: number, replySize: number | readonly number[]): Promise<Uint8Array> {
    const name = requestName(request);
    const h = decodeHeader(await this.readExact(HEADER_SIZE, `the reply header to ${name}`));
    this.log(`← ${requestName(h.request)} flags 0x${h.flags.toString(16)} size ${h.size}`);
    if (h.request !== request) throw new VhostUserError('protocol', `reply to ${name} carries request code ${h.request} (${requestName(h.request)})`);
    if ((h.flags & FLAG.VERSION_MASK) !== FLAG.VERSION) throw new VhostUserError('protocol', `reply to ${name} has version ${h.flags & FLAG.VERSION_MASK} (flags 0x${h.flags.toString(16)}), expected 1`);
    if (!(h.flags & FLAG.REPLY)) throw new VhostUserError('protocol', `reply to ${name} lacks the REPLY flag (flags 0x${h.flags.toString(16)})`);
    const sizes = typeof replySize === 'number' ? [replySize] : replySize;
    // Never read a payload of a size we did not ask for: the stream is out of step anyway.
    if (!sizes.includes(h.size)) throw new VhostUserError('protocol', `reply to ${name} has size ${h.size}, expected ${sizes.join(' or ')}`);
    return h.size === 0 ? new Uint8Array() : this.readExact(h.size, `the ${h.size}-byte reply payload of ${name}`);
  }

  /** Exactly `len` bytes; fds on a reply are closed and reported as a protocol error. */
  private async readExact(len: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(len);
    let have = 0;
    const deadline = performance.now() + this.replyTimeoutMs;
    while (have < len) {
      const r = recvmsg(this.fd, len - have, MAX_REPLY_FDS);
      if (r === null) {
        await this.wait('readable', deadline, what);
        continue;
      }
      if (r.fds.length > 0 || r.truncated.control) {
        for (const fd of r.fds) { try { close(fd); } catch { /* ignore */ } }
        throw new VhostUserError('protocol', `back-end sent ${r.fds.length}${r.truncated.control ? '+' : ''} unexpected fd(s) while the suite waited for ${what} (closed them)`);
      }
      if (r.data.length === 0) throw new VhostUserError('closed', `back-end closed the socket while the suite waited for ${what}`);
      out.set(r.data, have);
      have += r.data.length;
    }
    return out;
  }

  private wait(event: 'readable' | 'writable', deadline: number, what: string): Promise<void> {
    const left = deadline - performance.now();
    if (left <= 0) return Promise.reject(new VhostUserError('timeout', `timed out after ${Math.round(this.replyTimeoutMs)} ms waiting for ${what}`));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        w.stop();
        reject(new VhostUserError('timeout', `timed out after ${Math.round(this.replyTimeoutMs)} ms waiting for ${what}`));
      }, left);
      // An error from the poll itself: read/write again to learn the real errno.
      const w = watch(this.fd, event, () => { clearTimeout(timer); w.stop(); resolve(); });
    });
  }
}
