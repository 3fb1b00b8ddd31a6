// vhost-user adapter figures against qemu-storage-daemon: connect → handshake → a ready
// ring (driver init to DRIVER_OK) on a running daemon (target < 10 ms median), spawn to
// ready, and the seeded random-layout blk stress through the suite's driver (target
// ≥ 20,000 requests/s). Returns a skip note when the daemon or the native addon is missing.
import { spawnSync } from 'node:child_process';
import { asTarget, createVhostUserTarget } from '../adapters/vhost-user/index.ts';
import { backendSpec } from '../adapters/vhost-user/index.ts';
import { BackendProcess } from '../adapters/vhost-user/process.ts';
import { blkStress } from '../adapters/vhost-user/stress.ts';
import { Driver } from '../driver/driver.ts';
import { nativeAvailable } from '../native/index.ts';
import { median } from './lib/stats.ts';
import type { BenchFigure } from './run.ts';

const SEED = 20261123;
const STRESS_REQUESTS = 20_000;
const DEPTH = 32;
const SECTORS_PER_SLOT = 64;

export default async function bench(): Promise<BenchFigure[]> {
  if (!nativeAvailable()) return [{ name: 'vhost-user (skipped)', medianMs: 0, runs: 0, note: 'native addon not built' }];
  if (spawnSync('qemu-storage-daemon', ['--version']).status !== 0) {
    return [{ name: 'vhost-user (skipped)', medianMs: 0, runs: 0, note: 'qemu-storage-daemon not installed (package qemu-system-common)' }];
  }
  const out: BenchFigure[] = [];

  // Handshake to a ready ring, on one running daemon (it takes a new front-end after each close).
  const opts = { device: 'blk' as const, blk: { drive: 'null' as const } };
  const qsd = await BackendProcess.start(backendSpec('qemu-storage-daemon', { ...opts, spawn: 'qemu-storage-daemon' }));
  try {
    const ready: number[] = [];
    for (let i = 0; i < 31; i++) {
      const t0 = performance.now();
      const t = await createVhostUserTarget({ device: 'blk', socket: qsd.socket });
      await new Driver(asTarget(t), t.transport).ready();
      ready.push(performance.now() - t0);
      await t.close();
    }
    out.push({ name: 'qsd: connect, handshake, init to a ready ring', medianMs: median(ready.slice(1)), runs: 30, note: 'target < 10 ms' });
  } finally {
    await qsd.close();
  }

  const spawnReady: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const t = await createVhostUserTarget({ ...opts, spawn: 'qemu-storage-daemon' });
    await new Driver(asTarget(t), t.transport).ready();
    spawnReady.push(performance.now() - t0);
    await t.close();
  }
  out.push({ name: 'qsd: spawn to a ready ring', medianMs: median(spawnReady), runs: 5 });

  // Stress: file drive, 32 requests in flight, random layouts; 3 runs, median rate.
  const t = await createVhostUserTarget({ device: 'blk', spawn: 'qemu-storage-daemon', blk: { capacitySectors: DEPTH * SECTORS_PER_SLOT } });
  try {
    const drv = new Driver(asTarget(t), t.transport);
    const vq = (await drv.ready({ queueSize: 256 })).queues[0];
    const model = new Map<number, number>();
    const rates: number[] = [];
    const times: number[] = [];
    let digest = '';
    for (let i = 0; i < 3; i++) {
      const r = await blkStress(drv, vq, {
        seed: SEED, requests: STRESS_REQUESTS, depth: DEPTH, sectorsPerSlot: SECTORS_PER_SLOT, model,
        waitCompletion: () => t.transport.waitNotification(0, 2).then(() => undefined),
      });
      if (digest && r.layoutDigest !== digest) throw new Error(`stress: seed ${SEED} gave layout digest ${r.layoutDigest}, earlier ${digest}`);
      digest = r.layoutDigest;
      rates.push(r.perSecond);
      times.push(r.ms);
    }
    out.push({
      name: 'qsd: blk stress, random layouts (per run)', medianMs: median(times), runs: 3,
      note: `${Math.round(median(rates)).toLocaleString('en-US')} requests/s median (target ≥ 20,000); ${STRESS_REQUESTS} requests, depth ${DEPTH}, seed ${SEED}, layouts ${digest}`,
    });
  } finally {
    await t.close();
  }
  return out;
}
