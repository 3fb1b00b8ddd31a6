// Spawned back-ends never outlive the suite: normal close, a back-end that dies before
// listening, and a Node process ended by SIGINT, SIGTERM or SIGKILL (parent-death signal).
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../native/index.ts';
import { leakedFds, openFds, timeoutScale, until } from '../../native/testing.ts';
import { createVhostUserTarget, liveBackendCount, VhostUserError } from './index.ts';

const haveQsd = spawnSync('qemu-storage-daemon', ['--version']).status === 0;
const fixture = fileURLToPath(new URL('./testing/hold-target.mjs', import.meta.url));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe.skipIf(!nativeAvailable() || !haveQsd)('spawned vhost-user back-ends are cleaned up', () => {
  it('close() ends the daemon and removes its temp dir', async () => {
    const t = await createVhostUserTarget({ spawn: 'qemu-storage-daemon', device: 'blk', timeoutScale });
    const pid = t.backend!.pid;
    const dir = t.backend!.dir;
    expect(alive(pid)).toBe(true);
    await t.close();
    await t.close(); // idempotent
    expect(alive(pid)).toBe(false);
    expect(spawnSync('test', ['-e', dir]).status).not.toBe(0);
    expect(liveBackendCount()).toBe(0);
  }, 30_000 * timeoutScale);

  it('a back-end that exits before listening → a clear error with its stderr, nothing left', async () => {
    const before = openFds();
    const e = await createVhostUserTarget({ spawn: 'qemu-storage-daemon', device: 'blk', timeoutScale, binary: '/bin/false' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VhostUserError);
    expect((e as Error).message).toMatch(/exited before listening/);
    expect(liveBackendCount()).toBe(0);
    await until(() => leakedFds(before).length === 0, 2000, 'fds to close');
  }, 30_000 * timeoutScale);

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    it(`the suite ended by ${signal} → the daemon is gone`, async () => {
      const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
      const pid = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (b: Buffer) => { out += b; if (out.includes('\n')) resolve(Number(out.trim())); });
        child.once('exit', (c) => reject(new Error(`fixture exited (${c}) before starting the daemon`)));
      });
      expect(alive(pid)).toBe(true);
      const exited = new Promise<{ code: number | null; sig: string | null }>((r) => child.once('exit', (code, sig) => r({ code, sig })));
      child.kill(signal);
      const x = await exited;
      expect(x.sig).toBe(signal); // re-raised after cleanup: the default disposition
      await until(() => !alive(pid), 5000, `daemon ${pid} to exit after ${signal}`);
    }, 30_000 * timeoutScale);
  }
});
