// A pool of targets behind the factory seam (targets.ts): one target process per
// feature file and device × transport × ring × blk options, reset between scenarios,
// replaced when a scenario left it unusable (WEDGED, ERROR, process gone) or when it
// cannot be reset to a fresh state. Targets without reset() are never pooled.
import type { CtsTarget, TargetContext, TargetFactory, TargetOverrides, TargetParams } from './targets.ts';

/** A target the pool can reuse: reset() puts it back in its just-started state. */
interface Resettable extends CtsTarget {
  reset(): Promise<void>;
  readonly resettable: boolean;
}

const canReset = (t: CtsTarget): t is Resettable => typeof (t as Partial<Resettable>).reset === 'function';

export interface PoolStats { created: number; reused: number; replaced: number; closed: number }

export interface PoolOptions {
  /**
   * Start the next feature file's target in the background while the current one is in
   * use (one spare per device × transport × ring, default options only), so that a new
   * file does not wait for a process to start.
   */
  prefetch?: boolean;
}

export class TargetPool {
  private readonly idle = new Map<string, { uri: string | undefined; t: Resettable }>();
  /** Started ahead of need, keyed like idle targets but without the feature file. */
  private readonly spares = new Map<string, Promise<CtsTarget | undefined>>();
  private readonly closing = new Set<Promise<void>>();
  readonly stats: PoolStats = { created: 0, reused: 0, replaced: 0, closed: 0 };

  constructor(private readonly create: TargetFactory, private readonly o: PoolOptions = {}) {}

  /** The factory to install with setTargetFactory(). */
  readonly factory: TargetFactory = (p, o, ctx) => this.acquire(p, o, ctx ?? {});

  private key(p: TargetParams, o: TargetOverrides, ctx: TargetContext): string {
    return JSON.stringify([ctx.uri ?? null, p.target, p.device, p.transport, p.ring ?? 'split', p.qemu ?? null, o.blk ?? null]);
  }

  async acquire(p: TargetParams, o: TargetOverrides, ctx: TargetContext): Promise<CtsTarget> {
    // A new feature file: the previous file's processes are done. They are closed in the
    // background (closeAll() waits for them): a QEMU takes tens of ms to quit.
    for (const [k, e] of this.idle) {
      if (e.uri !== ctx.uri) { this.idle.delete(k); this.background(this.closeQuietly(e.t)); }
    }
    const key = this.key(p, o, ctx);
    const idle = this.idle.get(key);
    let t: CtsTarget | undefined;
    if (idle) {
      this.idle.delete(key);
      try {
        await idle.t.reset();
        this.stats.reused++;
        t = idle.t;
      } catch {
        // Could not be reset (process died while idle, reset refused): start afresh.
        this.stats.replaced++;
        await this.closeQuietly(idle.t);
      }
    }
    if (!t) t = await this.takeSpare(p, o, ctx);
    if (!t) { t = await this.create(p, o, ctx); this.stats.created++; }
    this.prefetch(p, o, ctx);
    return this.lend(t, key, ctx.uri);
  }

  private spareKey(p: TargetParams, o: TargetOverrides): string | undefined {
    // Only the common case: a scenario asking for special options starts its own.
    if (!this.o.prefetch || Object.keys(o).length) return undefined;
    return this.key(p, o, {});
  }

  private prefetch(p: TargetParams, o: TargetOverrides, ctx: TargetContext): void {
    const k = this.spareKey(p, o);
    if (k === undefined || this.spares.has(k)) return;
    this.spares.set(k, this.create(p, o, ctx).then((t) => { this.stats.created++; return t; }, () => undefined));
  }

  private async takeSpare(p: TargetParams, o: TargetOverrides, _ctx: TargetContext): Promise<CtsTarget | undefined> {
    const k = this.spareKey(p, o);
    const spare = k === undefined ? undefined : this.spares.get(k);
    if (!spare) return undefined;
    this.spares.delete(k!);
    // A spare that failed to start is dropped: the caller starts one and sees the error.
    return spare;
  }

  /** The scenario's view: release() returns the target to the pool when it is sound. */
  private lend(t: CtsTarget, key: string, uri: string | undefined): CtsTarget {
    let released = false;
    const lent: CtsTarget = Object.create(t) as CtsTarget;
    Object.assign(lent, {
      release: async ({ reusable }: { reusable: boolean }) => {
        if (released) return;
        released = true;
        if (reusable && canReset(t) && t.resettable && !this.idle.has(key)) {
          this.idle.set(key, { uri, t });
          return;
        }
        if (!reusable) this.stats.replaced++;
        await this.closeTarget(t);
      },
      close: async () => {
        if (released) return;
        released = true;
        await this.closeTarget(t);
      },
    });
    return lent;
  }

  private background(p: Promise<void>): void {
    this.closing.add(p);
    void p.finally(() => this.closing.delete(p));
  }

  private async closeTarget(t: CtsTarget): Promise<void> {
    this.stats.closed++;
    await t.close();
  }

  private async closeQuietly(t: CtsTarget): Promise<void> {
    try { await this.closeTarget(t); } catch { /* already broken: nothing more to do */ }
  }

  /** Close every idle target (end of a combination or of the run). */
  async closeAll(): Promise<void> {
    const all = [...this.idle.values()];
    this.idle.clear();
    const spares = [...this.spares.values()];
    this.spares.clear();
    await Promise.all([
      ...this.closing,
      ...all.map((e) => this.closeQuietly(e.t)),
      ...spares.map(async (sp) => { const t = await sp; if (t) await this.closeQuietly(t); }),
    ]);
  }

  get idleCount(): number { return this.idle.size; }
}
