// `virtio-cts run --target vhost-user` end to end: a spawned qemu-storage-daemon run whose
// verdicts match expectations/vhost-user-qemu-storage-daemon-blk.yaml (register scenarios
// NOT_APPLICABLE with the reason), nothing left running, and the usage errors (exit 2).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../native/index.ts';
import { timeoutScale } from '../../native/testing.ts';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const haveQsd = spawnSync('qemu-storage-daemon', ['--version']).status === 0;
// The CLI's TMPDIR is the test's own folder, so its daemons (in virtio-cts-vhost-user-* temp
// dirs) are told apart from those of test files running alongside.
const env = (dir: string) => ({ ...process.env, NO_COLOR: '1', TMPDIR: dir });
const run = (out: string, ...args: string[]) => spawnSync(process.execPath, ['cli/bin.mjs', 'run', '--out', join(out, 'reports'), '--quiet', ...args], {
  cwd: ROOT, encoding: 'utf8', timeout: 300_000 * timeoutScale, env: env(out),
});
const ours = (dir: string) => spawnSync('pgrep', ['-f', `${dir}/virtio-cts-vhost-use[r]-`], { encoding: 'utf8' }).stdout.trim();

describe('virtio-cts run --target vhost-user', () => {
  it.skipIf(!nativeAvailable() || !haveQsd)('--spawn qemu-storage-daemon: verdicts as in the expectations file; register scenarios NOT_APPLICABLE; no daemon left', () => {
    const out = mkdtempSync(join(tmpdir(), 'cts-vu-run-'));
    try {
      const p = run(out, '--target', 'vhost-user', '--spawn', 'qemu-storage-daemon');
      expect(p.status, p.stderr).toBe(1); // known FAILs
      const results = JSON.parse(readFileSync(join(out, 'reports', 'results.json'), 'utf8')) as { scenarios: { id: string; verdict: string; messages: string[]; tags: string[] }[] };
      const exp = parse(readFileSync(join(ROOT, 'expectations/vhost-user-qemu-storage-daemon-blk.yaml'), 'utf8')) as { scenarios: Record<string, { verdict: string }> };
      const diff = results.scenarios.filter((s) => s.verdict !== (exp.scenarios[s.id]?.verdict ?? 'PASS')).map((s) => `${s.id}: ${s.verdict} ${s.messages[0] ?? ''}`);
      expect(diff).toEqual([]);
      expect(Object.keys(exp.scenarios).filter((id) => !results.scenarios.some((s) => s.id === id))).toEqual([]);
      const regs = results.scenarios.filter((s) => s.tags.some((t) => t === '@transport:pci' || t === '@transport:mmio'));
      expect(regs.length).toBeGreaterThan(10);
      for (const s of regs) {
        expect(s.verdict).toBe('NOT_APPLICABLE');
        expect(s.messages[0]).toMatch(/vhost-user has no PCI\/MMIO registers/);
      }
      expect(results.scenarios.filter((s) => s.verdict === 'PASS').length).toBeGreaterThan(20);
      expect(ours(out)).toBe('');
    } finally {
      rmSync(out, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  }, 300_000 * timeoutScale);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it.skipIf(!nativeAvailable() || !haveQsd)(`${signal} in the middle of a run: exit ${signal === 'SIGINT' ? 130 : 143}, partial reports, no daemon left`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'cts-vu-sig-'));
      try {
        const p = spawn(process.execPath, ['cli/bin.mjs', 'run', '--out', join(out, 'reports'), '--quiet', '--target', 'vhost-user', '--spawn', 'qemu-storage-daemon'], {
          cwd: ROOT, env: env(out), stdio: ['ignore', 'ignore', 'pipe'],
        });
        const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
        const deadline = performance.now() + 60_000 * timeoutScale;
        // Keep what pgrep saw: between two scenarios the run may briefly have no daemon.
        let seen = '';
        while (!(seen = ours(out)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(seen).not.toBe('');
        p.kill(signal);
        expect(await exited).toBe(signal === 'SIGINT' ? 130 : 143);
        for (let i = 0; i < 100 && ours(out); i++) await new Promise((r) => setTimeout(r, 20));
        expect(ours(out)).toBe('');
        expect(JSON.parse(readFileSync(join(out, 'reports', 'results.json'), 'utf8')).run.interrupted).toBe(true);
      } finally {
        rmSync(out, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      }
    }, 120_000 * timeoutScale);
  }

  it('usage errors exit 2 with one line', () => {
    const out = mkdtempSync(join(tmpdir(), 'cts-vu-usage-'));
    for (const [args, msg] of [
      [['--target', 'vhost-user'], /exactly one of --socket PATH or --spawn/],
      [['--target', 'vhost-user', '--socket', '/x', '--spawn', 'qemu-storage-daemon'], /exactly one of/],
      [['--target', 'vhost-user', '--spawn', 'nope'], /unknown back-end 'nope'/],
      [['--target', 'vhost-user', '--spawn', 'qemu-storage-daemon', '--device', 'entropy'], /is a blk device, not entropy/],
      [['--target', 'vhost-user', '--socket', '/x'], /say which device/],
      [['--target', 'vhost-user', '--spawn', 'qemu-storage-daemon', '--transport', 'pci'], /its own transport/],
      [['--target', 'reference', '--socket', '/x'], /need --target vhost-user/],
    ] as const) {
      const p = run(out, ...args);
      expect(p.status, `${args.join(' ')}: ${p.stderr}`).toBe(2);
      expect(p.stderr).toMatch(msg);
    }
    rmSync(out, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }, 120_000 * timeoutScale);
});
