// `virtio-cts run --target qemu` when things go wrong: no QEMU left behind after a normal
// run, after a FAIL and after SIGINT/SIGTERM (processes counted before and after); a
// missing binary is exit 2 naming the package; QEMU killed, aborting or hung mid-scenario
// ends that scenario only (WEDGED, QEMU's stderr attached) and the next one gets a
// working QEMU. Each run gets its own TMPDIR, so its QEMUs are told apart from those of
// anything else running on the machine by their socket paths.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Results } from '../reports/results.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HAVE_QEMU = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).status === 0;
const FIX = 'tests/fixtures/qemu';

/** PIDs of QEMU processes whose command line mentions `marker` (the run's TMPDIR). */
function qemusWith(marker: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let cmd: string;
    try { cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8'); } catch { continue; }
    if (cmd.includes('qemu-system') && cmd.includes(marker)) out.push(Number(e));
  }
  return out;
}

async function settleCount(marker: string, ms = 3000): Promise<number> {
  const end = Date.now() + ms;
  let n = qemusWith(marker).length;
  while (n > 0 && Date.now() < end) { await new Promise((r) => setTimeout(r, 50)); n = qemusWith(marker).length; }
  return n;
}

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; results?: Results; seenQemus: number }

/** Run the CLI with a private TMPDIR; `stopWith` signals it once `when(stdout)` holds. */
async function runCli(args: string[], o: { stopWith?: NodeJS.Signals; when?: (stdout: string) => boolean } = {}): Promise<Run & { tmp: string }> {
  const tmp = mkdtempSync(join(tmpdir(), 'cts-qemu-rb-'));
  const out = join(tmp, 'out');
  const p = spawn(process.execPath, ['cli/bin.mjs', 'run', '--out', out, ...args], {
    cwd: ROOT, env: { ...process.env, NO_COLOR: '1', TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let seenQemus = 0;
  const poll = setInterval(() => { seenQemus = Math.max(seenQemus, qemusWith(tmp).length); }, 20);
  p.stderr.on('data', (d: Buffer) => { stderr += d; });
  p.stdout.on('data', (d: Buffer) => {
    stdout += d;
    if (o.stopWith && !p.killed && o.when?.(stdout) && qemusWith(tmp).length > 0) p.kill(o.stopWith);
  });
  const killer = setTimeout(() => p.kill('SIGKILL'), 150_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => p.on('exit', (c, s) => res([c, s])));
  clearTimeout(killer);
  clearInterval(poll);
  let results: Results | undefined;
  try { results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results; } catch { /* none written */ }
  return { code, signal, stdout, stderr, results, seenQemus, tmp };
}

describe.skipIf(!HAVE_QEMU)('virtio-cts run --target qemu: robustness', () => {
  it('a normal run leaves no QEMU behind', async () => {
    const r = await runCli(['--target', 'qemu', '--device', 'entropy', '--transport', 'pci', '--tags', '@clause:dev/pci/pci-device-discovery#c6a7eb77', '--quiet']);
    try {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.seenQemus).toBeGreaterThan(0);
      expect(r.results!.scenarios.every((s) => s.verdict === 'PASS')).toBe(true);
      expect(await settleCount(r.tmp)).toBe(0);
    } finally { rmSync(r.tmp, { recursive: true, force: true }); }
  });

  it('a run with a FAIL exits 1 and leaves no QEMU behind', async () => {
    // QEMU 7.2 does not handle a trailing indirect descriptor (see the expectations files).
    const r = await runCli(['--target', 'qemu', '--device', 'entropy', '--transport', 'mmio', '--tags', '@clause:dev/core/virtqueues/the-virtqueue-descriptor-table/indirect-descriptors#5a914a16', '--quiet']);
    try {
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.results!.summary.FAIL).toBeGreaterThan(0);
      expect(await settleCount(r.tmp)).toBe(0);
    } finally { rmSync(r.tmp, { recursive: true, force: true }); }
  });

  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${sig} mid-run: exit ${code}, partial reports, no QEMU behind`, async () => {
      const r = await runCli(['--target', 'qemu', '--device', 'entropy', '--transport', 'pci'], {
        stopWith: sig, when: (s) => (s.match(/ PASS /g) ?? []).length >= 3,
      });
      try {
        expect(r.code, r.stderr).toBe(code);
        expect(r.seenQemus).toBeGreaterThan(0);
        expect(r.results?.run.interrupted).toBe(true);
        expect(await settleCount(r.tmp)).toBe(0);
      } finally { rmSync(r.tmp, { recursive: true, force: true }); }
    });
  }

  it('a QEMU answering garbage: that scenario ends in ERROR with its stderr attached, the others still run', async () => {
    const r = await runCli(['--target', 'qemu', '--qemu', join(ROOT, FIX, 'fake-qemu.mjs'), '--device', 'entropy', '--transport', 'pci',
      '--features', `${FIX}/features`, '--steps', `${FIX}/steps/*.steps.ts`, '--tags', 'not @none', '--quiet']);
    try {
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const res = r.results!;
      expect(res.scenarios).toHaveLength(5);
      for (const s of res.scenarios) {
        expect(s.verdict === 'ERROR' || s.verdict === 'WEDGED', `${s.name}: ${s.verdict} ${s.messages[0]}`).toBe(true);
      }
      const first = res.scenarios[0];
      expect(first.verdict).toBe('ERROR');
      expect(first.messages[0]).toMatch(/malformed reply '\\x01\\x02 not a reply'/);
      expect(first.evidence.find((e) => e.label === 'target stderr')?.body).toContain('answering garbage');
      expect(res.target.combinations[0].targetVersion).toBe('7.2.99');
    } finally { rmSync(r.tmp, { recursive: true, force: true }); }
  });

  it('a missing QEMU binary: exit 2 and a message naming the package to install', async () => {
    const r = await runCli(['--target', 'qemu', '--qemu', '/nonexistent/qemu-system-x86_64']);
    try {
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/not found; install the Debian package qemu-system-x86/);
    } finally { rmSync(r.tmp, { recursive: true, force: true }); }
  });

  it('QEMU killed, aborting or hung mid-scenario: that scenario is WEDGED (stderr attached), the next one runs on a fresh QEMU', async () => {
    const r = await runCli(['--target', 'qemu', '--device', 'entropy', '--transport', 'pci', '--timeout-scale', '0.3',
      '--features', `${FIX}/features`, '--steps', `${FIX}/steps/*.steps.ts`, '--quiet']);
    try {
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const v = Object.fromEntries(r.results!.scenarios.map((s) => [s.name, s.verdict]));
      expect(v).toEqual({
        'QEMU is killed mid-scenario': 'WEDGED',
        'the scenario after a killed QEMU gets a working one': 'PASS',
        'QEMU aborts on a malformed qtest number': 'WEDGED',
        'QEMU stops answering': 'WEDGED',
        'the scenario after a hung QEMU gets a working one': 'PASS',
      });
      const aborted = r.results!.scenarios.find((s) => s.name === 'QEMU aborts on a malformed qtest number')!;
      expect(aborted.evidence.find((e) => e.label === 'target stderr')?.body).toMatch(/assertion failed/);
      const pool = r.results!.target.combinations[0].pool!;
      expect(pool.replaced).toBe(3);
      expect(pool.created).toBe(pool.closed);
      expect(await settleCount(r.tmp)).toBe(0);
    } finally { rmSync(r.tmp, { recursive: true, force: true }); }
  });
});
