// `virtio-cts run` end to end, as a user runs it: exit codes (0 clean, 1 with a defect or
// a failing scenario, 2 for bad input) and the four report files, valid.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { convert } from 'xmlbuilder2';
import { RESULTS_SCHEMA, type Results } from '../reports/results.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIX = 'tests/fixtures/run';
const HAVE_REFERENCE = existsSync(join(ROOT, 'adapters/reference/index.ts'));
const HAVE_QEMU = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).status === 0;

function run(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string; out: string; cleanup(): void } {
  const out = mkdtempSync(join(tmpdir(), 'cts-run-'));
  const p = spawnSync(process.execPath, ['cli/bin.mjs', 'run', '--out', out, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: p.status, stdout: p.stdout, stderr: p.stderr, out, cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

const validate = new Ajv2020.default({ allErrors: true, strict: false }).compile(RESULTS_SCHEMA);

function checkReports(out: string): Results {
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  expect(validate(results), JSON.stringify(validate.errors)).toBe(true);
  const junit = convert(readFileSync(join(out, 'junit.xml'), 'utf8'), { format: 'object' }) as { testsuites: Record<string, string> };
  expect(Number(junit.testsuites['@tests'])).toBe(results.scenarios.length);
  const envelopes = readFileSync(join(out, 'messages.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(envelopes.filter((e) => e.testRunStarted).length).toBe(results.target.combinations.length);
  expect(envelopes.filter((e) => e.testCaseFinished).length).toBe(results.scenarios.length);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  expect(html).toMatch(/^<!DOCTYPE html>/);
  for (const [v, n] of Object.entries(results.summary)) expect(html).toContain(`data-count="scenarios-${v}">${n}<`);
  for (const [v, n] of Object.entries(results.clauseSummary)) expect(html).toContain(`data-count="clauses-${v}">${n}<`);
  expect(html.match(/<tr class="scenario"/g)?.length ?? 0).toBe(results.scenarios.length);
  expect(html.match(/<tr class="clause"/g)?.length ?? 0).toBe(results.clauses.length);
  return results;
}

/** Reports of an interrupted run: valid, but the messages stream stops mid-run. */
function checkReportsPartial(out: string): Results {
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  expect(validate(results), JSON.stringify(validate.errors)).toBe(true);
  convert(readFileSync(join(out, 'junit.xml'), 'utf8'), { format: 'object' });
  expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('INTERRUPTED');
  return results;
}

describe('virtio-cts run (fixture scenarios: every verdict)', () => {
  it('maps each outcome to its verdict, filters by @device/@transport, exits 1 and writes valid reports', () => {
    const r = run(['--features', `${FIX}/features`, '--steps', `${FIX}/steps/*.steps.ts`, '--device', 'entropy', '--transport', 'all']);
    try {
      expect(r.code, r.stderr).toBe(1);
      const res = checkReports(r.out);
      const v = (name: string, t = 'pci') => res.scenarios.find((s) => s.name === name && s.transport === t)?.verdict;
      expect(v('a MUST clause holds')).toBe('PASS');
      expect(v('a MUST clause is broken')).toBe('FAIL');
      expect(v('a SHOULD clause is broken')).toBe('WARN');
      expect(v('a mixed clause broken at SHOULD level')).toBe('WARN');
      expect(v('the harness throws')).toBe('ERROR');
      expect(v('the target wedges')).toBe('WEDGED');
      expect(v('a step times out')).toBe('WEDGED');
      expect(v('not applicable')).toBe('NOT_APPLICABLE');
      expect(v('a step is undefined')).toBe('ERROR');
      expect(v('only for blk')).toBeUndefined();
      expect(v('only for mmio', 'pci')).toBeUndefined();
      expect(v('only for mmio', 'mmio')).toBe('PASS');
      const fail = res.scenarios.find((s) => s.verdict === 'FAIL')!;
      expect(fail.messages[0]).toMatch(/^dev\/core\/device-reset#3c77b259 \(§2\.4\.1 ¶1, MUST\): expected status 0; observed status 0x0f$/);
      expect(r.stdout).toMatch(/FAIL +entropy\/pci › a MUST clause is broken tests\/fixtures\/run\/features\/outcomes\.feature:10/);
      expect(r.stdout).toMatch(/\d+ scenarios: .*PASS/);
    } finally { r.cleanup(); }
  });

  it('exits 0 when nothing FAILed, WEDGED or ERRORed (WARN and NOT_APPLICABLE allowed); --tags filters', () => {
    const ok = run(['--features', `${FIX}/features`, '--steps', `${FIX}/steps/*.steps.ts`, '--device', 'entropy', '--transport', 'mmio', '--quiet',
      '--tags', '@transport:mmio']);
    try {
      expect(ok.code, ok.stderr).toBe(0);
      const res = checkReports(ok.out);
      expect(res.scenarios.map((s) => s.name)).toEqual(['only for mmio']);
      expect(res.run.tags).toBe('@transport:mmio');
    } finally { ok.cleanup(); }
  });
});

describe('virtio-cts run: bad input exits 2 with one line', () => {
  it('refuses an unknown @clause tag, naming the tag and file:line', () => {
    const r = run(['--features', `${FIX}/bad-tag`, '--steps', `${FIX}/steps/*.steps.ts`]);
    try {
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe('virtio-cts: error: unknown clause tag @clause:dev/core/no-such-clause#0badc0de at tests/fixtures/run/bad-tag/unknown.feature:8');
      expect(existsSync(join(r.out, 'results.json'))).toBe(false);
    } finally { r.cleanup(); }
  });
  it('refuses a @requires tag naming no feature, with file:line', () => {
    const r = run(['--features', `${FIX}/bad-requires`, '--steps', `${FIX}/steps/*.steps.ts`]);
    try {
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe('virtio-cts: error: unknown feature in tag @requires:VIRTIO_F_NO_SUCH_THING at tests/fixtures/run/bad-requires/bad.feature:5');
    } finally { r.cleanup(); }
  });
  it.each([
    [['--defect', 'no-such-defect'], /unknown defect 'no-such-defect' \(known: .*used-len-too-long/],
    [['--device', 'gpu'], /unknown device 'gpu' \(one of entropy, blk, console, net, all\)/],
    [['--target', 'vhost-user', '--socket', '/nonexistent', '--device', 'console'], /unknown device 'console' \(one of blk, net, entropy\)/],
    [['--transport', 'ccw'], /unknown transport 'ccw'/],
    [['--target', 'vfio'], /argument 'vfio' is invalid/],
    [['--timeout-scale', 'fast'], /--timeout-scale must be a positive number/],
    [['--spec-version', 'v0.9'], /unknown spec version 'v0.9'/],
    [['--tags', '@a and'], /bad --tags expression/],
    [['--tags', '@no-scenario-has-this-tag'], /no scenario to run for device all, transport all, ring split and --tags '@no-scenario-has-this-tag'/],
    [['--no-such-option'], /unknown option/],
    [['--features', '/nonexistent/features'], /no features folder/],
    [['--spec-dir', '/nonexistent/spec'], /not a VIRTIO spec source folder/],
    [['--target', 'qemu', '--defect', 'used-len-too-long'], /--defect needs --target reference/],
  ])('%j', (args, msg) => {
    const r = run(args);
    try {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally { r.cleanup(); }
  });
});

describe.skipIf(!HAVE_REFERENCE)('virtio-cts run on the reference target (the suite\'s own features)', () => {
  it('passes defect-free and writes the four reports; --spec-dir quotes clause text with the OASIS notice', () => {
    const r = run(['--device', 'entropy', '--transport', 'pci', '--spec-dir', join(ROOT, '../shared/virtio-spec/v1.4-cs01'), '--quiet']);
    try {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const res = checkReports(r.out);
      expect(res.scenarios.length).toBeGreaterThan(10);
      expect(res.scenarios.every((s) => s.verdict === 'PASS' || s.verdict === 'NOT_APPLICABLE')).toBe(true);
      expect(res.target.description).toMatch(/reference|emulator/i);
      const html = readFileSync(join(r.out, 'report.html'), 'utf8');
      expect(html).toContain('id="notice"');
      expect(html).toContain('Copyright © OASIS Open');
      expect(html).toContain('<blockquote class="spec"');
    } finally { r.cleanup(); }
  });

  it('makes a scenario NOT_APPLICABLE when the device does not offer its @requires feature or its clause is not in the spec version', () => {
    const args = ['--features', `${FIX}/requires`, '--steps', `${FIX}/steps/*.steps.ts`, '--device', 'entropy', '--transport', 'pci', '--quiet'];
    const r = run(args);
    const old = run([...args, '--spec-version', 'v1.0-cs04']);
    try {
      expect(r.code, r.stderr).toBe(0);
      const v = (res: Results) => Object.fromEntries(res.scenarios.map((s) => [s.name, `${s.verdict}${s.verdict === 'NOT_APPLICABLE' ? `: ${s.messages[0]}` : ''}`]));
      expect(v(checkReports(r.out))).toEqual({
        'requires a feature every modern device offers': 'PASS',
        'requires a feature the reference device does not offer': 'NOT_APPLICABLE: the device does not offer VIRTIO_F_SR_IOV',
        'a clause younger than the spec version': 'PASS',
      });
      expect(old.code, old.stderr).toBe(0);
      const res = checkReports(old.out);
      expect(v(res)['a clause younger than the spec version']).toBe('NOT_APPLICABLE: clause not in spec v1.0-cs04: dev/core/device-reset#3c77b259');
      expect(res.spec.version).toBe('v1.0-cs04');
      // section numbers follow the run's spec version
      expect(res.clauses.find((c) => c.id === 'dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4')?.section).toBe('2.4.8.2');
    } finally { r.cleanup(); old.cleanup(); }
  });

  it('closes every started target after its scenario, also after FAIL and ERROR', () => {
    const logDir = mkdtempSync(join(tmpdir(), 'cts-life-'));
    const log = join(logDir, 'log');
    const r = run(['--features', `${FIX}/lifecycle/features`, '--steps', `${FIX}/lifecycle/steps/*.steps.ts`, '--device', 'blk', '--transport', 'mmio', '--quiet'], { CTS_FIXTURE_LOG: log });
    try {
      expect(r.code).toBe(1);
      const res = checkReports(r.out);
      expect(Object.fromEntries(res.scenarios.map((s) => [s.name, s.verdict]))).toEqual({
        'passes with a target': 'PASS', 'fails with a target': 'FAIL', 'crashes with a target': 'ERROR',
        'needs no target': 'PASS', 'a blk option after the target started': 'PASS',
      });
      expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['open 1', 'close 1', 'open 2', 'close 2', 'open 3', 'close 3', 'open 4', 'close 4']);
      expect(res.scenarios.find((s) => s.name === 'needs no target')?.target).toBeUndefined();
      expect(res.scenarios.find((s) => s.name === 'passes with a target')?.target).toMatch(/blk/);
    } finally { r.cleanup(); rmSync(logDir, { recursive: true, force: true }); }
  });

  it('on SIGINT stops, writes the reports of the scenarios finished so far (marked interrupted) and exits 130', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cts-int-'));
    try {
      const p = spawn(process.execPath, ['cli/bin.mjs', 'run', '--out', out], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => { stderr += d; });
      const code = await new Promise<number | null>((res) => {
        p.stdout.on('data', (d: Buffer) => {
          stdout += d;
          if ((stdout.match(/ PASS /g) ?? []).length >= 3 && !p.killed) p.kill('SIGINT');
        });
        p.on('exit', (c) => res(c));
      });
      expect(code, stderr).toBe(130);
      expect(stderr).toMatch(/SIGINT: stopping/);
      const res = checkReportsPartial(out);
      expect(res.run.interrupted).toBe(true);
      expect(res.scenarios.length).toBeGreaterThanOrEqual(3);
      expect(res.scenarios.length).toBeLessThan(100);
    } finally { rmSync(out, { recursive: true, force: true }); }
  });

  it('runs the generic scenarios on net and console (their transmitq is the request queue): PASS defect-free, FAIL under a ring defect', () => {
    const tags = '@clause:dev/core/virtqueues/the-virtqueue-descriptor-table#8a81b0c7';
    for (const device of ['net', 'console']) {
      for (const defect of [undefined, 'writes-descriptor-table']) {
        const r = run(['--device', device, '--transport', 'mmio', '--tags', tags, ...(defect ? ['--defect', defect] : []), '--quiet']);
        try {
          expect(r.code, r.stdout + r.stderr).toBe(defect ? 1 : 0);
          const generic = checkReports(r.out).scenarios.filter((s) => s.uri === 'features/virtqueue/descriptor-table.feature');
          expect(generic.length).toBeGreaterThan(0);
          expect(generic.every((s) => s.device === device && s.verdict === (defect ? 'FAIL' : 'PASS')), JSON.stringify(generic.map((s) => [s.id, s.verdict]))).toBe(true);
        } finally { r.cleanup(); }
      }
    }
  });

  it('exits 1 with a defect and FAILs the defect\'s clause', () => {
    const r = run(['--device', 'entropy', '--transport', 'pci', '--defect', 'used-len-too-long', '--quiet']);
    try {
      expect(r.code).toBe(1);
      const res = checkReports(r.out);
      expect(res.target.defect).toBe('used-len-too-long');
      expect(res.clauses.find((c) => c.id === 'dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4')?.verdict).toBe('FAIL');
      expect(r.stdout).toMatch(/FAIL .*used-ring#d50e44f4 \(§2\.7\.8\.2 ¶2, MUST\)/s);
    } finally { r.cleanup(); }
  });
});

describe('virtio-cts run --ring', () => {
  const names = (ring: string): { code: number | null; ids: string[] } => {
    const r = run(['--features', `${FIX}/rings/features`, '--steps', `${FIX}/rings/steps/*.steps.ts`, '--device', 'entropy', '--transport', 'pci', '--ring', ring, '--quiet']);
    try {
      if (r.code !== 0) return { code: r.code, ids: [] };
      return { code: r.code, ids: checkReports(r.out).scenarios.map((s) => s.id) };
    } finally { r.cleanup(); }
  };
  it('runs untagged and @ring:split scenarios on split, @ring:packed on packed, @ring:any on both; the driver gets the run\'s ring', () => {
    expect(names('split')).toEqual({ code: 0, ids: ['untagged [entropy/pci]', 'split only [entropy/pci]', 'either ring [entropy/pci]'] });
    expect(names('packed')).toEqual({ code: 0, ids: ['packed only [entropy/pci/packed]', 'either ring [entropy/pci/packed]'] });
    expect(names('all').ids).toHaveLength(5);
  });
  it('refuses an unknown ring, and QEMU options on another target (exit 2)', () => {
    for (const args of [['--ring', 'circular'], ['--qemu-device-prop', 'event_idx=off'], ['--target', 'qemu', '--qemu-device-prop', 'a=1,b=2']]) {
      const r = run(args);
      try {
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      } finally { r.cleanup(); }
    }
  });
});

describe('virtio-cts run --expectations', () => {
  const ARGS = ['--features', `${FIX}/features`, '--steps', `${FIX}/steps/*.steps.ts`, '--device', 'entropy', '--transport', 'pci', '--quiet'];
  const withFile = (text: string, f: (path: string) => void): void => {
    const dir = mkdtempSync(join(tmpdir(), 'cts-exp-'));
    try { writeFileSync(join(dir, 'e.yaml'), text); f(join(dir, 'e.yaml')); } finally { rmSync(dir, { recursive: true, force: true }); }
  };
  // What the fixture scenarios give on entropy/pci (see the first test of this file).
  const NOT_PASS: Record<string, [string, string?]> = {
    'a MUST clause is broken': ['FAIL', 'dev/core/device-reset#3c77b259'],
    'a SHOULD clause is broken': ['WARN', 'dev/core/feature-bits#82457834'],
    'a mixed clause broken at SHOULD level': ['WARN', 'dev/core/feature-bits#8e5e2226'],
    'the harness throws': ['ERROR'], 'the target wedges': ['WEDGED'], 'a step times out': ['WEDGED'],
    'not applicable': ['NOT_APPLICABLE'], 'a step is undefined': ['ERROR'],
  };
  const yaml = (entries: Record<string, [string, string?]>): string => 'format: virtio-cts-expectations\nformatVersion: 1\ntarget: { adapter: reference }\nscenarios:\n'
    + Object.entries(entries).map(([n, [v, c]]) => `  "${n} [entropy/pci]": { verdict: ${v}, evidence: { observed: "seen", ${c ? `clause: "${c}"` : ''} } }\n`).join('');

  it('exits 0 when every verdict is the expected one, even with FAILs; results.json records it', () => {
    withFile(yaml(NOT_PASS), (path) => {
      const r = run([...ARGS, '--expectations', path]);
      try {
        expect(r.code, r.stdout + r.stderr).toBe(0);
        const res = checkReports(r.out);
        expect(res.expectations).toEqual({ file: path, matched: res.scenarios.length, differences: [] });
        expect(r.stdout).toMatch(/all \d+ scenario verdicts as expected/);
        expect(readFileSync(join(r.out, 'report.html'), 'utf8')).toContain('id="expectations"');
      } finally { r.cleanup(); }
    });
  });

  it('exits 1 and prints each difference when a verdict differs', () => {
    const { 'a MUST clause is broken': _fail, ...rest } = NOT_PASS;
    withFile(yaml({ ...rest, 'a MUST clause holds': ['FAIL', 'dev/core/device-reset#3c77b259'] }), (path) => {
      const r = run([...ARGS, '--expectations', path]);
      try {
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/2 differences/);
        expect(r.stdout).toMatch(/expected PASS, got FAIL: a MUST clause is broken \[entropy\/pci\]/);
        expect(r.stdout).toMatch(/expected FAIL, got PASS: a MUST clause holds \[entropy\/pci\]/);
        const res = checkReports(r.out);
        expect(res.expectations?.differences).toHaveLength(2);
        expect(readFileSync(join(r.out, 'report.html'), 'utf8').match(/<tr class="diff"/g)).toHaveLength(2);
      } finally { r.cleanup(); }
    });
  });

  it('exits 2 for a missing or malformed file', () => {
    withFile('format: virtio-cts-expectations\nformatVersion: 1\ntarget: { adapter: reference }\nscenarios:\n  "x [entropy/pci]": { verdict: FAIL, evidence: { observed: y } }\n', (path) => {
      for (const f of [path, `${path}.missing`]) {
        const r = run([...ARGS, '--expectations', f]);
        try {
          expect(r.code).toBe(2);
          expect(r.stderr.trim().split('\n')).toHaveLength(1);
          expect(r.stderr).toMatch(f === path ? /required property 'clause'/ : /cannot read expectations file/);
        } finally { r.cleanup(); }
      }
    });
  });
});

describe.skipIf(!HAVE_QEMU)('virtio-cts run --target qemu', () => {
  it('runs scenarios on real QEMU devices and leaves no QEMU behind', () => {
    const count = () => Number(spawnSync('sh', ['-c', 'pgrep -c -x qemu-system-x86_64 || true'], { encoding: 'utf8' }).stdout.trim() || 0);
    const before = count();
    const r = run(['--target', 'qemu', '--device', 'entropy', '--transport', 'pci', '--tags', '@clause:dev/pci/pci-device-discovery#c6a7eb77', '--quiet']);
    try {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const res = checkReports(r.out);
      expect(res.target.adapter).toBe('qemu');
      expect(res.scenarios.length).toBeGreaterThan(0);
      expect(res.scenarios.every((s) => s.verdict === 'PASS')).toBe(true);
      expect(res.target.description).toMatch(/QEMU .*virtio-rng-pci/);
      expect(count()).toBeLessThanOrEqual(before);
    } finally { r.cleanup(); }
  });
});
