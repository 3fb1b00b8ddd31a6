// The QEMU targets against their committed expectations files (expectations/qemu-*.yaml):
// a change in the suite (a scenario added, renamed or judging differently) or in QEMU's
// behaviour makes this fail with the differences listed. Skipped without QEMU.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Results } from '../reports/results.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HAVE_QEMU = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!HAVE_QEMU)('QEMU verdicts match expectations/qemu-<transport>.yaml', () => {
  for (const transport of ['pci', 'mmio']) {
    it(`--target qemu --transport ${transport} --ring all (entropy, blk, net and console)`, () => {
      const out = mkdtempSync(join(tmpdir(), 'cts-qemu-exp-'));
      try {
        const p = spawnSync(process.execPath, ['cli/bin.mjs', 'run', '--target', 'qemu', '--device', 'all', '--transport', transport, '--ring', 'all',
          '--expectations', `expectations/qemu-${transport}.yaml`, '--quiet', '--out', out],
        { cwd: ROOT, encoding: 'utf8', timeout: 150_000, env: { ...process.env, NO_COLOR: '1' } });
        const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
        // On a difference, the message is the CLI's own list of them.
        expect(res.expectations?.differences, p.stdout.slice(p.stdout.indexOf('expectations '))).toEqual([]);
        expect(p.status).toBe(0);
        // One run per device and ring; the packed runs put packed=on on QEMU's -device.
        const ring = (c: (typeof res.target.combinations)[number]) => (c.commandLines ?? []).some((l) => l.some((a) => a.includes('packed=on'))) ? 'packed' : 'split';
        expect(res.target.combinations.map((c) => `${c.device}/${ring(c)}`).sort()).toEqual(['blk/packed', 'blk/split', 'console/packed', 'console/split', 'entropy/packed', 'entropy/split', 'net/packed', 'net/split']);
        for (const c of res.target.combinations) {
          expect(c.targetVersion).toMatch(/^\d+\.\d+\.\d+$/);
          expect(c.commandLines?.[0]?.[0]).toMatch(/qemu-system-x86_64$/);
        }
      } finally { rmSync(out, { recursive: true, force: true }); }
    }, 180_000);
  }
});
