import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

describe('virtio-cts output to a reader that goes away', () => {
  it('`virtio-cts run | head -1`: no EPIPE crash; the run finishes, writes its reports and keeps its exit code', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cts-pipe-'));
    try {
      const p = spawn(process.execPath, [join(root, 'cli/bin.mjs'), 'run', '--device', 'entropy', '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr.on('data', (b) => { err += b; });
      // Take the first chunk (the header line), then close the pipe as head does; the
      // progress lines of every scenario still to come hit a closed pipe.
      await new Promise<void>((r) => p.stdout.once('data', () => { p.stdout.destroy(); r(); }));
      const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
      expect(err).not.toMatch(/EPIPE|Unhandled/);
      expect(code).toBe(0);
      expect(existsSync(join(out, 'results.json'))).toBe(true);
    } finally { rmSync(out, { recursive: true, force: true }); }
  }, 60_000);
});
