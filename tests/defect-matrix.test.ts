// The proof that every scenario can fail (issue 3 §7): the device-role features run on the
// defect-free reference emulator (everything PASSes or is NOT_APPLICABLE) with split and
// with packed virtqueues (--ring: @ring:packed / @ring:any scenarios on packed), then once
// per defect of emulator/defects.ts on every device × transport × ring it applies to:
//   - some scenario of the defect's clause is not PASS,
//   - every scenario of another clause (alsoBreaks aside) keeps its defect-free verdict
//     (INCONCLUSIVE allowed: the defect took away a precondition, it blames no clause),
//   - and every scenario that PASSes defect-free is failed by at least one defect on each
//     ring it runs on (sensitivity, printed; must be 100%).
// On the packed ring a defect that applies to both layouts runs only where one of its
// clauses has a scenario that device × transport runs on packed: elsewhere it has no
// packed scenario to fail, and its effect on unrelated scenarios is checked on split.
// Cucumber loads step definitions once per process (ESM cache), so the jobs run in two
// worker processes (2 cores), each loading support once and calling runCucumber per job.
// The reference target answers at once, so waits for what a defect prevents are cut to a
// quarter (--timeout-scale 0.25).
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFECTS, defectApplies, type DefectDevice, type DefectInfo } from '../emulator/defects.ts';
import { resolveClause } from '../spec-refs/load.ts';
import { combinationExpression, findFeatureFiles, planScenarios, ringExpression, selectScenarios, tagValuesSeen } from '../steps/support/runner/plan.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Device types: entropy and blk, and any other a scenario names with @device: (a model's
// defects join the matrix with its first scenario; until then they are listed as not run).
const PLANNED = planScenarios(findFeatureFiles('features', ROOT), ROOT).scenarios;
// DEFECT_MATRIX_DEVICES=entropy,blk narrows it for a local run.
const ONLY = process.env.DEFECT_MATRIX_DEVICES?.split(',').map((x) => x.trim()).filter(Boolean);
const DEVICES: readonly DefectDevice[] = ([...new Set(['entropy', 'blk', ...tagValuesSeen(PLANNED, 'device')])] as DefectDevice[])
  .filter((d) => !ONLY || ONLY.includes(d));
const TRANSPORTS = ['pci', 'mmio'] as const;
const RINGS = ['split', 'packed'] as const;
type Device = DefectDevice;
type Transport = (typeof TRANSPORTS)[number];
type Ring = (typeof RINGS)[number];

interface Job { defect?: string; device: Device; transport: Transport; ring: Ring; tags: string }
interface Row { key: string; name: string; clauses: string[]; verdict: string; message?: string }
interface JobResult { job: Job; rows: Row[]; ms: number }

// Runs in a worker: `node --import tsx`, job list in argv[1] (JSON), one JSON line per job out.
const WORKER = `
import { loadConfiguration, loadSupport, runCucumber } from '@cucumber/cucumber/api';
import { Writable } from 'node:stream';
import { SUPPORT_FILES, Collector } from './steps/support/runner/execute.ts';
import { findFeatureFiles } from './steps/support/runner/plan.ts';
import { latestVersion } from './spec-refs/load.ts';
const jobs = JSON.parse(process.argv[1]);
const cwd = process.cwd();
const sink = () => new Writable({ write(_c, _e, cb) { cb(); } });
const env = { cwd, stdout: sink(), stderr: process.stderr, env: process.env };
const features = findFeatureFiles('features', cwd);
const { runConfiguration } = await loadConfiguration({ file: false, provided: { paths: features, import: [...SUPPORT_FILES, 'steps/*.steps.ts'], format: [] } }, env);
const support = await loadSupport(runConfiguration, env);
for (const job of jobs) {
  const t0 = Date.now();
  const c = new Collector({ device: job.device, transport: job.transport, ring: job.ring });
  const params = { target: 'reference', device: job.device, transport: job.transport, ring: job.ring, timeoutScale: 0.25, specVersion: latestVersion(), ...(job.defect ? { defect: job.defect } : {}) };
  await runCucumber({ ...runConfiguration, support,
    sources: { ...runConfiguration.sources, tagExpression: job.tags },
    runtime: { ...runConfiguration.runtime, worldParameters: params } }, env, (e) => c.add(e));
  const rows = c.results.map((r) => ({ key: r.uri + ':' + r.line + ' ' + r.name, name: r.name, clauses: r.clauses, verdict: r.verdict, message: r.message }));
  process.stdout.write(JSON.stringify({ job, rows, ms: Date.now() - t0 }) + '\\n');
}
`;

function runWorker(jobs: Job[]): Promise<JobResult[]> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WORKER, JSON.stringify(jobs)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d: Buffer) => { out += d; });
    p.stderr.on('data', (d: Buffer) => { err += d; });
    p.on('error', rej);
    p.on('close', (code) => {
      if (code !== 0) return rej(new Error(`matrix worker exited ${code}: ${err.slice(-2000)}`));
      res(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as JobResult));
    });
  });
}

const KNOWN = { devices: ['entropy', 'blk', ...tagValuesSeen(PLANNED, 'device')], transports: ['pci', 'mmio', ...tagValuesSeen(PLANNED, 'transport')] };

/** The scenarios of one device × transport × ring, as `virtio-cts run` selects them. */
function tagsOf(device: Device, transport: Transport, ring: Ring): string {
  return combinationExpression(device, transport, KNOWN) + ` and ${ringExpression(ring)}`;
}

const combos = RINGS.flatMap((ring) => DEVICES.flatMap((device) => TRANSPORTS.map((transport) => ({ device, transport, ring, tags: tagsOf(device, transport, ring) }))));
const comboKey = (j: { device: string; transport: string; ring: string }): string => `${j.device}/${j.transport}/${j.ring}`;

/** Every job: each combination defect-free, then each defect where it applies (see the header). */
function matrixJobs(): Job[] {
  const jobs: Job[] = [...combos];
  for (const c of combos) {
    // Packed: clauses of the scenarios this combination runs there.
    const packed = c.ring === 'packed' ? new Set(selectScenarios(PLANNED, c.tags).flatMap((s) => s.clauses)) : undefined;
    for (const d of DEFECTS) {
      if (!defectApplies(d, c.device, c.transport, c.ring)) continue;
      if (packed && d.rings === undefined && ![d.clause, ...(d.alsoBreaks ?? [])].some((id) => packed.has(id))) continue;
      jobs.push({ defect: d.name, ...c });
    }
  }
  return jobs;
}

async function runMatrix(): Promise<JobResult[]> {
  const jobs = matrixJobs();
  const halves: Job[][] = [[], []];
  jobs.forEach((j, i) => halves[i % 2]!.push(j));
  return (await Promise.all(halves.map(runWorker))).flat();
}

const OK_UNRELATED = new Set(['PASS', 'NOT_APPLICABLE', 'INCONCLUSIVE']);

describe('defect matrix: every scenario passes defect-free and is failed by a defect of its clause', () => {
  it('defect clause IDs resolve in the clause index', () => {
    const bad = DEFECTS.flatMap((d) => [d.clause, ...(d.alsoBreaks ?? [])].filter((id) => !resolveClause(id)).map((id) => `${d.name}: ${id}`));
    expect(bad).toEqual([]);
  });

  it('runs the matrix', { timeout: 600_000 }, async () => {
    const t0 = Date.now();
    const results = await runMatrix();
    const baseline = new Map<string, Map<string, Row>>();
    for (const r of results.filter((r) => !r.job.defect)) baseline.set(comboKey(r.job), new Map(r.rows.map((x) => [x.key, x])));
    // A scenario counts once per ring it runs on: it must pass and be failed on each.
    const onRing = (ring: string, key: string): string => `${key} [${ring}]`;

    const problems: string[] = [];
    // 1. Defect-free: PASS or NOT_APPLICABLE everywhere, and PASS somewhere.
    const passedSomewhere = new Set<string>();
    const everyScenario = new Set<string>();
    for (const [combo, rows] of baseline) {
      const ring = combo.split('/')[2]!;
      for (const r of rows.values()) {
        everyScenario.add(onRing(ring, r.key));
        if (r.verdict === 'PASS') passedSomewhere.add(onRing(ring, r.key));
        else if (r.verdict !== 'NOT_APPLICABLE') problems.push(`defect-free ${combo}: ${r.key} → ${r.verdict} (${r.message ?? ''})`);
      }
    }
    for (const k of everyScenario) if (!passedSomewhere.has(k)) problems.push(`defect-free: ${k} never PASSes on any device × transport`);

    // 2. Each defect: its clause is hit; unrelated scenarios keep their verdict.
    const failedBy = new Map<string, string[]>();
    const byDefect = new Map<string, JobResult[]>();
    for (const r of results) if (r.job.defect) byDefect.set(r.job.defect, [...(byDefect.get(r.job.defect) ?? []), r]);
    for (const d of DEFECTS) {
      const runs = byDefect.get(d.name) ?? [];
      if (!runs.length) {
        // A defect of a device type the suite has no model for yet cannot be run here.
        if (!d.devices.some((x) => DEVICES.includes(x))) { console.log(`not run: ${d.name} (devices ${d.devices.join(', ')} have no scenario yet)`); continue; }
        problems.push(`${d.name}: applies to no device × transport × ring`);
        continue;
      }
      const own = new Set([d.clause, ...(d.alsoBreaks ?? [])]);
      let hit = false;
      for (const run of runs) {
        const base = baseline.get(comboKey(run.job))!;
        for (const r of run.rows) {
          const mine = r.clauses.some((c) => own.has(c));
          if (mine && r.verdict !== 'PASS' && base.get(r.key)?.verdict === 'PASS') {
            if (r.clauses.includes(d.clause)) hit = true;
            const k = onRing(run.job.ring, r.key);
            failedBy.set(k, [...(failedBy.get(k) ?? []), d.name]);
          }
          if (!mine && !(d as DefectInfo).breaksDriver) {
            const b = base.get(r.key)?.verdict;
            if (r.verdict !== b && !OK_UNRELATED.has(r.verdict)) {
              problems.push(`${d.name} on ${comboKey(run.job)}: unrelated ${r.key} → ${r.verdict} (defect-free ${b}): ${r.message ?? ''}`);
            }
          }
        }
      }
      if (!hit) problems.push(`${d.name}: no scenario of ${d.clause} goes from PASS to non-PASS`);
    }

    // 3. Sensitivity: every scenario that PASSes defect-free is failed by some defect.
    const unbroken = [...passedSomewhere].filter((k) => !failedBy.has(k));
    for (const k of unbroken) problems.push(`no defect fails ${k}`);
    const pct = passedSomewhere.size ? (100 * (passedSomewhere.size - unbroken.length)) / passedSomewhere.size : 0;
    console.log(`defect matrix: ${results.length} runs, ${passedSomewhere.size} scenario × ring pairs, sensitivity ${pct.toFixed(1)}% (${passedSomewhere.size - unbroken.length}/${passedSomewhere.size}), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const slow = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5).map((r) => `${r.job.defect ?? 'defect-free'} ${comboKey(r.job)} ${r.ms} ms`);
    console.log(`slowest runs: ${slow.join(', ')}`);
    if (problems.length) console.log(problems.join('\n'));
    expect(problems).toEqual([]);
    expect(pct).toBe(100);
  });
});
