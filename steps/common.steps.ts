// Shared scenario state and the steps every area uses: initialization (with or without
// the whole sequence), making a request available, notifying, resetting, and what a
// driver can observe afterwards (used ring, used buffer notifications, device status).
// Assertions name the scenario's own @clause tag, so one phrase serves every clause
// that is observed the same way (e.g. "not used" before DRIVER_OK, after a reset, with
// QueueReady 0).
import { Before, Given, Then, When, type ITestCaseHookParameter } from '@cucumber/cucumber';
import { check, inconclusive, notApplicable } from './support/assert.ts';
import type { CtsWorld } from './support/world.ts';
import {
  REQUEST_QUEUE, SUPPORTED_FEATURES, addBuffers, isPacked, PackedRingDriver, smallestRequest, SplitRingDriver, type AnyUsedElem,
  type Driver, type Virtqueue,
} from '../driver/index.ts';
import type { DescBuffer, AddOptions } from '../virtio/split-ring-driver.ts';
import { DRIVER_OK, FEATURES_OK, DEVICE_NEEDS_RESET, formatStatus } from '../virtio/status.ts';
import { bit, dropUnsatisfied, featureByName, hasBit } from '../virtio/features.ts';
import { VIRTQ_DESC_F_INDIRECT } from '../virtio/split-ring.ts';

/** The scenario's virtqueue: split or packed, as the run's --ring chose. */
export type Vq = Virtqueue;

/** What one submitted request left behind. */
export interface Submitted {
  head: number;               // split: head descriptor index; packed: Buffer ID
  elem?: AnyUsedElem;         // undefined: not used within the wait
  /** What the driver read instead of a used element a conforming device could write (packed garbage). */
  garbage?: { clause?: string; observed: string; error: unknown };
  notifications: number;      // used buffer notifications observed right after it was used
  /** Split: used ring flags; packed: device event suppression flags (both right after it was used). */
  usedFlags: number;
  descBefore: Uint8Array;     // split: descriptor table as the driver wrote it (after add)
  descAfter?: Uint8Array;     // split: descriptor table after the device used the chain
}

export interface ScenarioState {
  clauses: string[];
  drv?: Driver;
  vq?: Vq;
  accepted?: bigint;
  offered?: bigint;
  featuresOk?: boolean;
  posted?: { head: number };
  submitted: Submitted[];
  /** Free-form values a When step leaves for its Then step. */
  seen: Record<string, unknown>;
}

const states = new WeakMap<CtsWorld, ScenarioState>();

export function S(w: CtsWorld): ScenarioState {
  let s = states.get(w);
  if (!s) { s = { clauses: [], submitted: [], seen: {} }; states.set(w, s); }
  return s;
}

Before(function (this: CtsWorld, { pickle }: ITestCaseHookParameter) {
  S(this).clauses = pickle.tags.filter((t) => t.name.startsWith('@clause:')).map((t) => t.name.slice('@clause:'.length));
});

/** The clause the scenario checks (every scenario of the suite names exactly one). */
export function clauseOf(w: CtsWorld): string {
  const c = S(w).clauses;
  if (c.length !== 1) throw new Error(`scenario must carry exactly one @clause tag, has ${c.length}`);
  return c[0]!;
}

/** Assert on the scenario's clause. */
export function expect(w: CtsWorld, ok: boolean, expected: string, observed: string, level?: 'MUST' | 'SHOULD'): void {
  check(clauseOf(w), ok, { expected, observed, ...(level ? { level } : {}) });
}

export async function drv(w: CtsWorld): Promise<Driver> {
  const s = S(w);
  s.drv ??= await w.driver();
  return s.drv;
}

export function vq(w: CtsWorld): Vq {
  const q = S(w).vq;
  if (!q) throw new Error('no virtqueue: the scenario has not set one up');
  return q;
}

/** The scenario's split virtqueue (a step written for split-ring fields; tagged @ring:split). */
export function splitVq(w: CtsWorld): SplitRingDriver {
  const q = vq(w);
  if (!(q instanceof SplitRingDriver)) throw new Error('this step reads split-ring fields: tag the scenario @ring:split');
  return q;
}

/** The scenario's packed virtqueue (tagged @ring:packed). */
export function packedVq(w: CtsWorld): PackedRingDriver {
  const q = vq(w);
  if (!(q instanceof PackedRingDriver)) throw new Error('this step reads packed-ring fields: tag the scenario @ring:packed');
  return q;
}

export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** Wait for a target to settle before asserting that something did NOT happen. */
export async function settle(w: CtsWorld): Promise<void> {
  await (await w.target()).bus.settle();
}

/** The driver features a scenario negotiates by default: offered ∩ what the suite supports. */
export async function defaultFeatures(w: CtsWorld): Promise<{ offered: bigint; base: bigint }> {
  const d = await drv(w);
  const offered = await d.transport.readDeviceFeatures();
  // Never accept a feature without its prerequisites (a device may offer one without them).
  return { offered, base: dropUnsatisfied(w.params.device, offered & SUPPORTED_FEATURES[w.params.device]) };
}

export function featureBits(w: CtsWorld, names: string): bigint {
  let b = 0n;
  for (const name of names.split(',').map((x) => x.trim()).filter(Boolean)) {
    const f = featureByName(w.params.device, name);
    if (!f) throw new Error(`unknown feature ${name} for device ${w.params.device}`);
    b |= bit(f.bit);
  }
  return b;
}

/**
 * The device type's request queue (driver/requests.ts): entropy and blk requestq 0, net
 * transmitq1 and console port 0's transmitq (both queue 1).
 */
export function requestQueue(w: CtsWorld): number { return REQUEST_QUEUE[w.params.device]; }

/**
 * How many queues initialization sets up: every queue up to the request queue. Net's
 * receiveq1 and console's port 0 receiveq are set up but get no buffers: nothing a device
 * does on them (it has nothing to deliver) can be taken for the request's completion.
 */
export function initQueues(w: CtsWorld): number { return requestQueue(w) + 1; }

/** The scenario's queue from an initialization's rings. */
export function requestRing(w: CtsWorld, rings: Virtqueue[]): Virtqueue | undefined { return rings[requestQueue(w)]; }

/** Full initialization up to DRIVER_OK; the scenario's queue is the request queue (either layout). */
export async function initialize(w: CtsWorld, features?: bigint, queueSize?: number): Promise<void> {
  const s = S(w);
  const d = await drv(w);
  const r = await d.ready({ queues: initQueues(w), ...(features === undefined ? {} : { features }), ...(queueSize === undefined ? {} : { queueSize }) });
  s.accepted = r.accepted; s.offered = r.offered; s.featuresOk = r.featuresOk;
  s.vq = requestRing(w, r.rings);
  await d.transport.takeNotifications(requestQueue(w)); // start counting from here
}

// ---- requests -------------------------------------------------------------------

/**
 * The device type's smallest request (driver/requests.ts): entropy 16 bytes; blk read of
 * sector 0; net one minimal frame (header, frame: two descriptors); console 4 bytes on
 * port 0 (two descriptors).
 */
export async function probeBuffers(w: CtsWorld): Promise<DescBuffer[]> {
  return smallestRequest((await drv(w)).mem, w.params.device);
}

/** Base wait for a used element (waitUsed scales it by --timeout-scale itself). */
export const USED_MS = 1000;
export function usedWaitMs(_w: CtsWorld): number { return USED_MS; }

/**
 * Make one probe request available, notify (per the ring's suppression rules, or always
 * with force) and wait for the device to use it. A request the device does not use is
 * recorded without elem: the Then steps judge it.
 */
export async function submit(w: CtsWorld, o: { force?: boolean; add?: AddOptions; packedAdd?: { idInLastOnly?: boolean }; bufs?: DescBuffer[]; takeNotifications?: boolean } = {}): Promise<Submitted> {
  const q = vq(w);
  const d = await drv(w);
  const bufs = o.bufs ?? (await probeBuffers(w));
  const head = isPacked(q) && o.packedAdd
    ? await q.add(bufs, { ...o.packedAdd, ...(o.add?.indirect === 'all' ? { indirect: 'all' as const } : {}) })
    : await addBuffers(q, bufs, o.add);
  // Split: the descriptor table, followed by the chain's indirect table when it has one
  // (a packed ring's descriptors are the device's to overwrite, so there is nothing to compare).
  const tables = async (): Promise<Uint8Array> => {
    if (!(q instanceof SplitRingDriver)) return new Uint8Array(0);
    const main = await q.readDescTable();
    const h = await q.readDesc(head);
    if (!(h.flags & VIRTQ_DESC_F_INDIRECT)) return main;
    return Buffer.concat([main, await d.mem.read(Number(h.addr), h.len)]);
  };
  const descBefore = await tables();
  await q.kick({ force: o.force ?? false });
  let elem: AnyUsedElem | undefined;
  let garbage: Submitted['garbage'];
  try {
    elem = await q.waitUsed(usedWaitMs(w), { validate: false });
  } catch (e) {
    const g = garbageOf(e);
    if (g) garbage = g;
    else if ((e as { wedged?: boolean }).wedged !== true) throw e;
  }
  await settle(w);
  const r: Submitted = {
    head, elem, descBefore, ...(garbage ? { garbage } : {}),
    descAfter: await tables(),
    usedFlags: isPacked(q) ? (await q.deviceEvent()).flags : await q.usedFlags(),
    notifications: o.takeNotifications === false ? 0 : await d.transport.takeNotifications(q.index),
  };
  S(w).submitted.push(r);
  return r;
}

/**
 * A used element a conforming device cannot write (the driver's PackedUsedError or
 * UsedRingError, which carry the clause they show broken): the finding, not a suite error.
 */
export function garbageOf(e: unknown): { clause?: string; observed: string; error: unknown } | undefined {
  const x = e as { name?: string; clause?: unknown; observed?: unknown; message?: string };
  if (x?.name !== 'PackedUsedError' && x?.name !== 'UsedRingError') return undefined;
  return { ...(typeof x.clause === 'string' ? { clause: x.clause } : {}), observed: typeof x.observed === 'string' ? x.observed : String(x.message), error: e };
}

export function requireUsed(r: Submitted, what = 'the request'): AnyUsedElem {
  // Garbage in the ring is a finding of the clause the driver's error names (runner mapping).
  if (r.garbage) throw r.garbage.error;
  if (!r.elem) inconclusive(`the device did not use ${what}, so the clause cannot be observed`);
  return r.elem;
}

// ---- Given ----------------------------------------------------------------------

Given('the driver has initialized the device', async function (this: CtsWorld) {
  await initialize(this);
});

Given('the driver has initialized the device with {string} negotiated', async function (this: CtsWorld, names: string) {
  const want = featureBits(this, names);
  const { offered, base } = await defaultFeatures(this);
  if ((offered & want) !== want) notApplicable(`the device does not offer ${names}`);
  await initialize(this, base | want);
});

Given('the driver has initialized the device without {string} negotiated', async function (this: CtsWorld, names: string) {
  const { base } = await defaultFeatures(this);
  await initialize(this, dropUnsatisfied(this.params.device, base & ~featureBits(this, names)));
});

Given('the driver has initialized the device up to DRIVER_OK', async function (this: CtsWorld) {
  const s = S(this);
  const d = await drv(this);
  const r = await d.init({ stopBefore: 'DRIVER_OK', queues: initQueues(this) });
  const q = requestRing(this, r.rings);
  if (!r.featuresOk || !q) inconclusive(`initialization stopped early (status ${formatStatus(r.status)})`);
  s.vq = q; s.accepted = r.accepted;
  await d.transport.takeNotifications(q.index);
});

Given('the driver has made a request available without notifying the device', async function (this: CtsWorld) {
  await postRequest(this, false);
});

// ---- When -----------------------------------------------------------------------

async function postRequest(w: CtsWorld, notify: boolean): Promise<void> {
  const q = vq(w);
  const head = await addBuffers(q, await probeBuffers(w));
  await q.publish();
  if (notify) await (await drv(w)).transport.notify(q.index);
  S(w).posted = { head };
}

When('the driver makes a request available and notifies the device', async function (this: CtsWorld) {
  await postRequest(this, true);
});

When('the driver notifies the device', async function (this: CtsWorld) {
  await (await drv(this)).transport.notify(vq(this).index);
});

When('the driver sets DRIVER_OK and notifies the device', async function (this: CtsWorld) {
  const t = (await drv(this)).transport;
  await t.setStatus((await t.getStatus()) | DRIVER_OK);
  await t.notify(vq(this).index);
});

/** Write 0 to the status and give the device the reset timeout to read back 0. */
async function writeZeroAndPoll(w: CtsWorld): Promise<number> {
  const t = (await drv(w)).transport;
  await t.setStatus(0);
  const deadline = Date.now() + w.ms(1000);
  let st = await t.getStatus();
  while (st !== 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1));
    st = await t.getStatus();
  }
  return st;
}

When('the driver resets the device', async function (this: CtsWorld) {
  // A request made available without a notification may be used anyway by a device that
  // polls its queues (a DPDK vhost-user back-end does): then a use after the reset cannot
  // be told from that one.
  if (S(this).posted) {
    await settle(this);
    const early = await vq(this).getUsed({ validate: false }).catch(() => undefined);
    if (early) inconclusive(`the device used the request (buffer ${early.id}) before the reset without a notification (it polls its queues), so a use after the reset cannot be observed`);
  }
  const st = await writeZeroAndPoll(this);
  if (st !== 0) inconclusive(`device status stayed ${formatStatus(st)} after a reset, so what follows cannot be observed`);
});

When('the driver writes 0 to the device status', async function (this: CtsWorld) {
  S(this).seen.statusAfterReset = await writeZeroAndPoll(this);
});

When('the driver submits {int} requests one after another', async function (this: CtsWorld, n: number) {
  for (let i = 0; i < n; i++) await submit(this);
});

When('the driver notifies the device {int} times without making buffers available', async function (this: CtsWorld, n: number) {
  const t = (await drv(this)).transport;
  for (let i = 0; i < n; i++) await t.notify(vq(this).index);
  await settle(this);
});

// ---- Then -----------------------------------------------------------------------

Then('the device has not used any buffer', async function (this: CtsWorld) {
  await settle(this);
  if (!S(this).posted) throw new Error('no request was made available');
  // Split: used idx has not moved; packed: the next used position still holds the driver's
  // descriptor. Anything else the device wrote there counts as used too.
  const q = vq(this);
  let used = 'nothing';
  try {
    const e = await q.getUsed({ validate: false });
    if (e) used = `buffer ${e.id} (len ${e.len})`;
  } catch (e) {
    const g = garbageOf(e);
    if (!g) throw e;
    used = g.observed;
  }
  expect(this, used === 'nothing', q instanceof SplitRingDriver ? 'used idx unchanged' : 'no used descriptor', `used: ${used}`);
});

Then('the device uses the buffer', async function (this: CtsWorld) {
  try {
    await vq(this).waitUsed(usedWaitMs(this), { validate: false });
  } catch (e) {
    if ((e as { wedged?: boolean }).wedged !== true) throw e;
    inconclusive('the device did not use the buffer after DRIVER_OK either');
  }
});

Then('the device has sent no used buffer notification', async function (this: CtsWorld) {
  await settle(this);
  const last = S(this).submitted.at(-1);
  if (last) requireUsed(last);
  const n = (last?.notifications ?? 0) + (await (await drv(this)).transport.takeNotifications(vq(this).index));
  expect(this, n === 0, 'no used buffer notification', `${n} notification(s)`);
});

Then('the device has sent a used buffer notification', async function (this: CtsWorld) {
  const last = S(this).submitted.at(-1);
  if (!last) throw new Error('no request was submitted');
  requireUsed(last);
  expect(this, last.notifications > 0, 'a used buffer notification after the buffer was used', 'none');
});

Then('the device status reads 0 within the reset timeout', function (this: CtsWorld) {
  const st = S(this).seen.statusAfterReset as number;
  expect(this, st === 0, 'device status 0', `device status ${formatStatus(st)}`);
});

Then('each request was used exactly once', async function (this: CtsWorld) {
  const sub = S(this).submitted;
  const unused = sub.filter((r) => !r.elem).length;
  const wrongId = sub.filter((r) => r.elem && r.elem.id !== r.head).length;
  const garbage = sub.flatMap((r) => (r.garbage ? [r.garbage.observed] : []));
  // Nothing used beyond them: no further used element (split: used idx = the count too).
  const q = vq(this);
  let extra = 'none';
  try {
    const more = await q.getUsed({ validate: false });
    if (more) extra = `buffer ${more.id}`;
  } catch (e) {
    const g = garbageOf(e);
    if (!g) throw e;
    extra = g.observed;
  }
  const idx = q instanceof SplitRingDriver ? await q.usedIdx() : sub.length;
  const ok = unused === 0 && wrongId === 0 && garbage.length === 0 && extra === 'none' && idx === sub.length;
  expect(this, ok, `${sub.length} requests used once each${q instanceof SplitRingDriver ? `, used idx ${sub.length}` : ''}, nothing else used`,
    `${unused} not used, ${wrongId} used with another id${garbage.length ? `, ${garbage.join('; ')}` : ''}, further used: ${extra}${q instanceof SplitRingDriver ? `, used idx ${idx}` : ''}`);
});

Then('the device status does not have DEVICE_NEEDS_RESET set', async function (this: CtsWorld) {
  const st = await (await drv(this)).transport.getStatus();
  expect(this, (st & DEVICE_NEEDS_RESET) === 0, 'DEVICE_NEEDS_RESET clear', `device status ${formatStatus(st)}`);
});

export { FEATURES_OK, hasBit };
