// Minimal QMP client: read the greeting, negotiate capabilities, then `execute` with
// id correlation. Events (lines carrying "event") are ignored.
import type { Socket } from 'node:net';

export class QmpError extends Error {
  constructor(readonly command: string, readonly errorClass: string, desc: string) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

interface Pending { command: string; resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }

export class QmpClient {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private greeting: ((g: Record<string, unknown>) => void) | undefined;
  private greeted: Record<string, unknown> | undefined;
  private dead: Error | undefined;
  private readonly eventListeners = new Set<(name: string, data: unknown) => void>();

  constructor(private readonly sock: Socket, private readonly timeoutMs: number) {
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => this.onData(c));
    sock.on('error', (e) => this.fail(new Error(`QMP connection error: ${e.message}`)));
    sock.on('close', () => this.fail(new Error('QMP connection lost')));
  }

  /** Wait for the greeting and leave capabilities-negotiation mode. Returns QEMU's version. */
  async handshake(): Promise<{ major: number; minor: number; micro: number }> {
    const g = this.greeted ?? await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`QMP: no greeting within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.greeting = (x) => { clearTimeout(timer); resolve(x); };
      if (this.dead) { clearTimeout(timer); reject(this.dead); }
    });
    await this.execute('qmp_capabilities');
    const v = (g as any).QMP?.version?.qemu ?? {};
    return { major: v.major ?? 0, minor: v.minor ?? 0, micro: v.micro ?? 0 };
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = `c${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP: no reply to ${command} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }) + '\n');
    });
  }

  /** Called for every QMP event; returns an unsubscribe function. */
  onEvent(fn: (name: string, data: unknown) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  /**
   * Run `command` and wait for its reply and for the event `event` (subscribed before
   * the command is sent, so an early event is not missed), within the client's timeout.
   */
  async executeAndWait(command: string, event: string, args?: Record<string, unknown>): Promise<void> {
    let off: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      off = this.onEvent((name) => { if (name === event) resolve(); });
      timer = setTimeout(() => reject(new Error(`QMP: no ${event} event within ${this.timeoutMs} ms after ${command}`)), this.timeoutMs);
    });
    try {
      await Promise.all([this.execute(command, args), seen]);
    } finally {
      off?.();
      clearTimeout(timer);
    }
  }

  close(): void { this.fail(new Error('QMP client closed')); }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: any;
    try { msg = JSON.parse(line); } catch { return; }
    if (msg.QMP) {
      this.greeted = msg;
      this.greeting?.(msg);
      return;
    }
    if (msg.event) {
      for (const l of this.eventListeners) l(String(msg.event), msg.data);
      return;
    }
    const p = typeof msg.id === 'string' ? this.pending.get(msg.id) : undefined;
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if ('error' in msg) p.reject(new QmpError(p.command, msg.error?.class ?? '?', msg.error?.desc ?? ''));
    else p.resolve(msg.return);
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(e); }
    this.pending.clear();
    this.sock.destroy();
  }
}
