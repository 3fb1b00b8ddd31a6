// `virtio-cts run`: run the Gherkin scenarios against a target, once per (device,
// transport × ring) combination, and write results.json, junit.xml, messages.ndjson and
// report.html. Exit 0 when nothing FAILed/WEDGED/ERRORed, 1 otherwise, 2 on bad input;
// with --expectations: 0 when every verdict is the expected one, 1 when any differs.
import { type Command, Option } from 'commander';
import type { Envelope } from '@cucumber/messages';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { featureByName } from '../../virtio/features.ts';
import { hasVersion, latestVersion, listVersions, resolveClause, suggestClause } from '../../spec-refs/load.ts';
import { buildResults, type RunInfo } from '../../reports/results.ts';
import { loadSpecText, type SpecText } from '../../reports/spec-text.ts';
import { writeReports } from '../../reports/write.ts';
import { FAILING } from '../../reports/verdict.ts';
import { ExpectationsError, compareExpectations, formatDifferences, loadExpectations, type ExpectationsFile } from '../../reports/expectations.ts';
import { clauseInfo } from '../../steps/support/clauses.ts';
import { execute, type Combination, type CombinationResult, type ReuseMode, type ScenarioResult } from '../../steps/support/runner/execute.ts';
import {
  checkTagExpression, combinationExpression, findFeatureFiles, planScenarios, ringExpression, selectScenarios, tagValuesSeen, unknownClauses,
} from '../../steps/support/runner/plan.ts';
import { Progress } from '../../steps/support/runner/progress.ts';
import { TARGET_DEVICES, type DeviceType, type RingKind, type RunTransport, type TargetKind, type TransportKind } from '../../steps/support/targets.ts';
import { DEVICE_ID, type DeviceType as AnyDeviceType } from '../../virtio/ids.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TARGETS: TargetKind[] = ['reference', 'qemu', 'vhost-user'];
const SPAWNS = ['qemu-storage-daemon', 'dpdk-testpmd'] as const;
/** Every device type any target provides (the --device choices). */
const DEVICES: DeviceType[] = [...new Set(Object.values(TARGET_DEVICES).flat())];
const TRANSPORTS: TransportKind[] = ['pci', 'mmio'];
const RINGS: RingKind[] = ['split', 'packed'];
const REUSE: ReuseMode[] = ['feature', 'never'];
// Loaded by path: the catalog belongs to the emulator and may not exist in every checkout.
const DEFECTS_MODULE = join(ROOT, 'emulator/defects.ts');

export interface RunCliOptions {
  target: string;
  device: string;
  transport: string;
  defect?: string;
  specVersion?: string;
  specDir?: string;
  tags?: string;
  out: string;
  timeoutScale: string;
  features?: string;
  steps?: string;
  quiet?: boolean;
  qemu?: string;
  qemuDeviceProp?: string[];
  qemuArg?: string[];
  /** split (default), packed or all. */
  ring?: string;
  /** QEMU process reuse: feature (default) or never. */
  reuse?: string;
  expectations?: string;
  /** vhost-user: a listening back-end's socket, or a known back-end to start. */
  socket?: string;
  spawn?: string;
}

function oneOf<T extends string>(what: string, v: string, all: readonly T[], allowAll: boolean): T[] {
  if (allowAll && v === 'all') return [...all];
  if ((all as readonly string[]).includes(v)) return [v as T];
  throw new UsageError(`unknown ${what} '${v}' (one of ${[...all, ...(allowAll ? ['all'] : [])].join(', ')})`);
}

async function checkDefect(name: string, target: TargetKind): Promise<void> {
  if (target !== 'reference') throw new UsageError(`--defect needs --target reference (defects exist only in the reference emulator)`);
  if (!existsSync(DEFECTS_MODULE)) throw new UsageError(`--defect: no defect catalog in this checkout (${relative(process.cwd(), DEFECTS_MODULE)})`);
  const mod = (await import(DEFECTS_MODULE)) as { DEFECTS: readonly { name: string }[] };
  if (!mod.DEFECTS.some((d) => d.name === name)) {
    throw new UsageError(`unknown defect '${name}' (known: ${mod.DEFECTS.map((d) => d.name).join(', ')})`);
  }
}

function suiteInfo(): { name: string; version: string; commit?: string } {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim() || undefined;
  } catch { /* not a git checkout */ }
  return { name: pkg.name, version: pkg.version, ...(commit ? { commit } : {}) };
}

/** Scenario results regrouped per device/transport run (for a partial report). */
function combinationsOf(rs: ScenarioResult[]): CombinationResult[] {
  const m = new Map<string, CombinationResult>();
  for (const r of rs) {
    const k = `${r.device}/${r.transport}/${r.ring ?? 'split'}`;
    const c = m.get(k) ?? { device: r.device, transport: r.transport, ring: r.ring, startedAt: r.startedAt, finishedAt: r.startedAt, scenarios: [] };
    c.scenarios.push(r);
    c.finishedAt = new Date(Date.parse(r.startedAt) + r.durationMs).toISOString();
    m.set(k, c);
  }
  return [...m.values()];
}

export async function runCommand(o: RunCliOptions): Promise<number> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const write = (s: string): void => { process.stdout.write(s); };

  // --- validate the input (UsageError → exit 2) ---
  const [target] = oneOf('target', o.target, TARGETS, false);
  const vu = target === 'vhost-user' ? vhostUserChoice(o) : undefined;
  if (!vu && (o.socket !== undefined || o.spawn !== undefined)) throw new UsageError('--socket and --spawn need --target vhost-user');
  if (o.device !== 'all' && (DEVICES as string[]).includes(o.device) && !TARGET_DEVICES[target].includes(o.device as DeviceType)) {
    throw new UsageError(`--target ${target} has no ${o.device} device (it has ${TARGET_DEVICES[target].join(', ')})`);
  }
  const devices = vu ? [vu.device] : oneOf('device', o.device, TARGET_DEVICES[target], true);
  // vhost-user is its own transport: register scenarios are planned and reported NOT_APPLICABLE.
  const transports: RunTransport[] = vu ? ['vhost-user'] : oneOf('transport', o.transport, TRANSPORTS, true);
  const rings = oneOf('ring', o.ring ?? 'split', RINGS, true);
  const [reuse] = oneOf('reuse mode', o.reuse ?? 'feature', REUSE, false);
  const deviceProps = o.qemuDeviceProp ?? [];
  const qemuArgs = o.qemuArg ?? [];
  if (target !== 'qemu' && (o.qemu !== undefined || deviceProps.length || qemuArgs.length)) {
    throw new UsageError('--qemu, --qemu-device-prop and --qemu-arg need --target qemu');
  }
  for (const p of deviceProps) {
    // One property per option: a comma would smuggle a second one past the report.
    if (!/^[A-Za-z0-9_.-]+=[^,\s]*$/.test(p)) throw new UsageError(`--qemu-device-prop '${p}': expected KEY=VALUE (one property, no comma)`);
  }
  let expectations: ExpectationsFile | undefined;
  if (o.expectations !== undefined) {
    try { expectations = loadExpectations(o.expectations); } catch (e) {
      if (e instanceof ExpectationsError) throw new UsageError(e.message);
      throw e;
    }
  }
  const timeoutScale = Number(o.timeoutScale);
  if (!Number.isFinite(timeoutScale) || timeoutScale <= 0) throw new UsageError(`--timeout-scale must be a positive number, not '${o.timeoutScale}'`);
  const specVersion = o.specVersion ?? latestVersion();
  if (!hasVersion(specVersion)) throw new UsageError(`unknown spec version '${specVersion}' (known: ${listVersions().join(', ')})`);
  if (o.defect !== undefined) await checkDefect(o.defect, target);
  if (target === 'qemu') {
    const { probeQemu } = await import('../../adapters/qemu/index.ts');
    const p = await probeQemu(o.qemu);
    if (!p.available) throw new UsageError(`--target qemu: ${p.reason ?? 'QEMU is not available'}`);
    const missing = transports.filter((t) => !p.transports?.includes(t as TransportKind));
    if (missing.length) throw new UsageError(`--target qemu: ${p.binary} cannot run --transport ${missing.join(', ')} (no ${missing.map((t) => (t === 'pci' ? 'q35' : 'microvm')).join(', ')} machine)`);
  }
  if (o.tags) {
    try { checkTagExpression(o.tags); } catch (e) { throw new UsageError(`bad --tags expression '${o.tags}': ${(e as Error).message.split('\n')[0]}`); }
  }
  const featuresDir = o.features ? resolve(o.features) : join(ROOT, 'features');
  if (!existsSync(featuresDir) || !statSync(featuresDir).isDirectory()) throw new UsageError(`no features folder ${featuresDir}`);
  if (o.specDir !== undefined && !existsSync(join(o.specDir, 'main.tex'))) throw new UsageError(`--spec-dir ${o.specDir}: no main.tex (not a VIRTIO spec source folder)`);

  // --- plan: parse features, every @clause: tag must resolve ---
  const files = findFeatureFiles(featuresDir, ROOT);
  if (!files.length) throw new UsageError(`no .feature files under ${featuresDir}`);
  const { scenarios, errors } = planScenarios(files, ROOT);
  if (errors.length) {
    for (const e of errors) process.stderr.write(`virtio-cts: error: ${e.uri}:${e.line}: ${e.message}\n`);
    return 2;
  }
  const unknown = unknownClauses(scenarios, (id) => resolveClause(id) !== undefined, suggestClause);
  if (unknown.length) {
    for (const u of unknown) {
      process.stderr.write(`virtio-cts: error: unknown clause tag @clause:${u.id} at ${u.uri}:${u.line}${u.suggestion ? ` (did you mean ${u.suggestion}?)` : ''}\n`);
    }
    return 2;
  }
  // A misspelt @requires would make its scenario NOT_APPLICABLE forever: refuse it.
  for (const s of scenarios) {
    for (const name of s.tags.filter((t) => t.startsWith('@requires:')).map((t) => t.slice('@requires:'.length))) {
      if (!(Object.keys(DEVICE_ID) as AnyDeviceType[]).some((d) => featureByName(d, name))) {
        throw new UsageError(`unknown feature in tag @requires:${name} at ${s.uri}:${s.tagLines[`@requires:${name}`] ?? s.line}`);
      }
    }
  }
  const known = {
    devices: [...new Set([...DEVICES, ...tagValuesSeen(scenarios, 'device')])],
    transports: [...new Set([...TRANSPORTS, ...tagValuesSeen(scenarios, 'transport')])],
  };
  const combinations: (Combination & { count: number })[] = [];
  for (const ring of rings) {
    for (const device of devices) {
      for (const transport of transports) {
        // vhost-user: every transport's scenarios are selected (the Before hook reports register ones NOT_APPLICABLE).
        const kn = transport === 'vhost-user' ? { ...known, transports: [] } : known;
        const tagExpression = [combinationExpression(device, transport, kn, o.tags), ringExpression(ring)].filter(Boolean).join(' and ');
        const count = selectScenarios(scenarios, tagExpression).length;
        if (count) combinations.push({ device, transport, ring, tagExpression, count });
      }
    }
  }
  if (!combinations.length) {
    throw new UsageError(`no scenario to run for device ${o.device}, transport ${o.transport}, ring ${o.ring ?? 'split'}${o.tags ? ` and --tags '${o.tags}'` : ''}`);
  }
  const spec: SpecText | undefined = o.specDir
    ? loadSpecText(o.specDir, new Set(scenarios.flatMap((s) => s.clauses)))
    : undefined;

  // --- run ---
  const tty = !!process.stdout.isTTY;
  const progress = new Progress({
    write, colour: tty && !process.env.NO_COLOR, quiet: !!o.quiet, live: tty,
    total: combinations.reduce((n, c) => n + c.count, 0),
  });
  const envelopes: Envelope[] = [];
  let current = 0;
  const done: ScenarioResult[] = [];
  const info = (finishedAt: string, interrupted: boolean): RunInfo => ({
    suite: suiteInfo(),
    spec: { version: specVersion, ...(o.specDir ? { dir: o.specDir } : {}) },
    target: {
      adapter: target, device: o.device, transport: o.transport, ...(o.defect ? { defect: o.defect } : {}),
      ...(o.ring && o.ring !== 'split' ? { ring: o.ring } : {}),
    },
    ...(o.tags ? { tags: o.tags } : {}),
    timeoutScale, startedAt, finishedAt, ...(interrupted ? { interrupted } : {}),
  });
  // Ctrl-C / SIGTERM: keep what has run so far (reports marked interrupted), then exit
  // 128 + signo; process.exit runs the QEMU adapter's 'exit' hook, so no QEMU is left.
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\nvirtio-cts: ${sig}: stopping; writing the reports of the ${done.length} scenario runs finished so far\n`);
    try {
      const partial = combinationsOf(done);
      const { results } = buildResults(info(new Date().toISOString(), true), partial, (id) => clauseInfo(id, specVersion));
      writeReports(o.out, results, envelopes, spec);
    } finally {
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const combos = await execute({
    cwd: ROOT,
    features: files,
    steps: [o.steps ? (isAbsolute(o.steps) ? o.steps : resolve(o.steps)) : join(ROOT, 'steps/*.steps.ts')],
    target,
    combinations: combinations.map(({ count: _c, ...c }) => c),
    defect: o.defect,
    specVersion,
    timeoutScale,
    ...(vu ? { vhostUser: vu.params } : {}),
    ...(target === 'qemu' ? {
      qemu: {
        ...(o.qemu ? { binary: o.qemu } : {}),
        ...(deviceProps.length ? { extraDeviceProps: deviceProps } : {}),
        ...(qemuArgs.length ? { extraArgs: qemuArgs } : {}),
      },
      reuse,
    } : {}),
    onEnvelope: (e) => {
      envelopes.push(e);
      if (e.testRunStarted) {
        const c = combinations[current++];
        if (c) progress.combination(c.device, c.ring === 'split' ? c.transport : `${c.transport}/${c.ring}`, c.count, target);
      }
    },
    onScenario: (r) => { done.push(r); progress.scenario(r); },
    onScenarioStarted: (name) => progress.started(name),
  });

  // --- reports ---
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  const { results } = buildResults(info(new Date().toISOString(), false), combos, (id) => clauseInfo(id, specVersion));
  if (expectations) results.expectations = compareExpectations(expectations, results, o.expectations!);
  const written = writeReports(o.out, results, envelopes, spec);
  progress.summary(results.summary, results.clauseSummary, performance.now() - t0, written.map((f) => (relative(process.cwd(), f).startsWith('..') ? f : relative(process.cwd(), f))));
  // With expectations, the verdicts matching the file is what counts (known FAILs are fine).
  if (results.expectations) {
    write(`\n${formatDifferences(results.expectations)}`);
    return results.expectations.differences.length ? 1 : 0;
  }
  return results.scenarios.some((s) => FAILING.has(s.verdict)) ? 1 : 0;
}

function collect(v: string, prev: string[]): string[] { return [...prev, v]; }

/** --target vhost-user: exactly one of --socket/--spawn, one device (inferred from a spawned back-end). */
function vhostUserChoice(o: RunCliOptions): { device: DeviceType; params: { socket?: string; spawn?: typeof SPAWNS[number] } } {
  if ((o.socket === undefined) === (o.spawn === undefined)) throw new UsageError('--target vhost-user needs exactly one of --socket PATH or --spawn qemu-storage-daemon|dpdk-testpmd');
  if (o.transport !== 'all' && o.transport !== 'vhost-user') throw new UsageError(`--target vhost-user is its own transport (not --transport ${o.transport})`);
  const spawn = o.spawn === undefined ? undefined : oneOf('back-end', o.spawn, SPAWNS, false)[0];
  const inferred = spawn === 'qemu-storage-daemon' ? 'blk' : spawn === 'dpdk-testpmd' ? 'net' : undefined;
  const device = o.device === 'all' ? inferred : o.device;
  if (!device) throw new UsageError('--target vhost-user --socket: say which device the back-end is (--device blk|net|entropy)');
  if (inferred && device !== inferred) throw new UsageError(`--spawn ${spawn} is a ${inferred} device, not ${device}`);
  const [d] = oneOf('device', device, TARGET_DEVICES['vhost-user'], false);
  return { device: d, params: spawn ? { spawn } : { socket: resolve(o.socket!) } };
}

export function register(program: Command): void {
  program.command('run')
    .description('run the conformance scenarios against a target and write reports')
    .addOption(new Option('--target <name>', 'target to test').choices(TARGETS).default('reference'))
    .option('--device <type>', `device type: ${DEVICES.join(', ')} or all`, 'all')
    .option('--transport <kind>', `transport: ${TRANSPORTS.join(', ')} or all`, 'all')
    .option('--defect <name>', 'reference target only: inject a named defect (see `virtio-cts defects`)')
    .option('--spec-version <version>', 'spec version for section numbers and keywords (default: the newest)')
    .option('--spec-dir <dir>', 'VIRTIO spec source folder: quote clause text (with its OASIS notice) in report.html')
    .option('--tags <expr>', 'only scenarios matching this Cucumber tag expression')
    .option('--out <dir>', 'folder for results.json, junit.xml, messages.ndjson, report.html', 'reports-out')
    .option('--timeout-scale <n>', 'multiply every timeout by n (slow machines, emulated targets)', '1')
    .option('--features <dir>', 'folder of .feature files (default: the suite\'s features/)')
    .option('--steps <glob>', 'step definition files (default: the suite\'s steps/*.steps.ts)')
    .option('--ring <layout>', `virtqueue layout: ${RINGS.join(', ')} or all (scenarios without a @ring: tag run on split only; @ring:any on every layout)`, 'split')
    .option('--qemu <path>', 'qemu-system-x86_64 binary (--target qemu; default: from PATH)')
    .option('--qemu-device-prop <key=value>', 'extra property for the -device option, repeatable (--target qemu), e.g. event_idx=off', collect, [])
    .option('--qemu-arg <arg>', 'extra QEMU argument, repeatable; write --qemu-arg=-global for one starting with a dash (--target qemu)', collect, [])
    .option('--socket <path>', 'vhost-user back-end listening on this unix socket (--target vhost-user; give --device)')
    .option('--spawn <back-end>', `vhost-user back-end to start in a temp dir: ${SPAWNS.join(' or ')} (--target vhost-user)`)
    .option('--reuse <mode>', `QEMU processes: feature (one per feature file, system_reset between scenarios) or never (one per scenario)`, 'feature')
    .option('--expectations <file>', 'YAML file of the expected non-PASS verdicts: exit 0 when the run matches it, 1 when any verdict differs')
    .option('--quiet', 'print only scenarios that did not pass, and the summary')
    .action(async (o: RunCliOptions) => {
      process.exitCode = await runCommand(o);
    });
}
