import { describe, expect, it } from 'vitest';
import { TargetPool } from './pool.ts';
import type { CtsTarget, TargetFactory, TargetParams } from './targets.ts';

const P: TargetParams = { target: 'qemu', device: 'entropy', transport: 'pci', timeoutScale: 1 };

/** Fake targets that log what happens to them. */
function fakes(o: { resetFails?: boolean; notResettable?: boolean } = {}): { factory: TargetFactory; log: string[] } {
  const log: string[] = [];
  let n = 0;
  const factory: TargetFactory = async () => {
    const id = ++n;
    log.push(`start ${id}`);
    return {
      description: `t${id}`, timeoutScale: 1, location: { transport: 'pci', address: { bus: 0, device: 1, fn: 0 }, irqLine: 21 },
      bus: {} as CtsTarget['bus'], mem: {} as CtsTarget['mem'],
      resettable: !o.notResettable,
      reset: async () => { log.push(`reset ${id}`); if (o.resetFails) throw new Error('gone'); },
      close: async () => { log.push(`close ${id}`); },
    } as CtsTarget;
  };
  return { factory, log };
}

describe('TargetPool', () => {
  it('reuses one target per feature file, reset before each reuse, and closes it when the file changes', async () => {
    const { factory, log } = fakes();
    const pool = new TargetPool(factory);
    for (const uri of ['a.feature', 'a.feature', 'a.feature', 'b.feature']) {
      const t = await pool.factory(P, {}, { uri });
      await t.release!({ reusable: true });
    }
    await pool.closeAll();
    expect(log).toEqual(['start 1', 'reset 1', 'reset 1', 'close 1', 'start 2', 'close 2']);
    expect(pool.stats).toEqual({ created: 2, reused: 2, replaced: 0, closed: 2 });
  });

  it('replaces a target released as not reusable (WEDGED, ERROR)', async () => {
    const { factory, log } = fakes();
    const pool = new TargetPool(factory);
    await (await pool.factory(P, {}, { uri: 'a' })).release!({ reusable: false });
    await (await pool.factory(P, {}, { uri: 'a' })).release!({ reusable: true });
    await pool.closeAll();
    expect(log).toEqual(['start 1', 'close 1', 'start 2', 'close 2']);
    expect(pool.stats.replaced).toBe(1);
  });

  it('starts a fresh target when the reset fails or the target says it cannot be reset', async () => {
    for (const o of [{ resetFails: true }, { notResettable: true }]) {
      const { factory, log } = fakes(o);
      const pool = new TargetPool(factory);
      await (await pool.factory(P, {}, { uri: 'a' })).release!({ reusable: true });
      await (await pool.factory(P, {}, { uri: 'a' })).release!({ reusable: true });
      await pool.closeAll();
      expect(log, JSON.stringify(o)).toEqual(o.resetFails
        ? ['start 1', 'reset 1', 'close 1', 'start 2', 'close 2']
        : ['start 1', 'close 1', 'start 2', 'close 2']);
    }
  });

  it('keeps targets with different options apart (a read-only blk is not a writable one)', async () => {
    const { factory, log } = fakes();
    const pool = new TargetPool(factory);
    const a = await pool.factory(P, {}, { uri: 'a' });
    await a.release!({ reusable: true });
    const b = await pool.factory(P, { blk: { readOnly: true } }, { uri: 'a' });
    await b.release!({ reusable: true });
    expect(log).toEqual(['start 1', 'start 2']);
    expect(pool.idleCount).toBe(2);
    await pool.closeAll();
    expect(pool.idleCount).toBe(0);
    expect(log.filter((l) => l.startsWith('close')).sort()).toEqual(['close 1', 'close 2']);
  });

  it('close() on a lent target closes it for good; a second release is ignored', async () => {
    const { factory, log } = fakes();
    const pool = new TargetPool(factory);
    const t = await pool.factory(P, {}, { uri: 'a' });
    await t.close();
    await t.release!({ reusable: true });
    expect(pool.idleCount).toBe(0);
    expect(log).toEqual(['start 1', 'close 1']);
  });
});
