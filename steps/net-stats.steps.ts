// Device statistics (5.1.9.5.11): VIRTIO_NET_CTRL_STATS_QUERY and _GET as a driver sees
// them: the ack, the used len, and the command-specific-result buffer (canary 0xa5 where
// the device wrote nothing). Requests name queues as receiveq1, transmitq1, controlq or
// "beyond" (a vq_index past every queue) and types by their VIRTIO_NET_STATS_TYPE_ suffix
// ("bit8": a type v1.4 does not define).
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive } from './support/assert.ts';
import { expect, hex } from './common.steps.ts';
import { ctrlCommandResult } from '../driver/net.ts';
import {
  STATS_COUNTERS, STATS_REPLY_HDR_SIZE, VIRTIO_NET_CTRL, VIRTIO_NET_CTRL_STATS, VIRTIO_NET_ERR, VIRTIO_NET_OK, VIRTIO_NET_STATS_TYPE, controlq, decodeStatsReplies, encodeStatsRequest, statsBit, statsTypeName, type StatsTypeName,
} from '../virtio/net.ts';
import { NET_WIRE_MS, netCtrl, netState, netVqIndex } from './net.steps.ts';

/** Result buffer the driver offers: room for every reply the scenarios ask for, and spare. */
const RESULT_ROOM = 512;
const CANARY = 0xa5;

interface Asked { vq_index: number; types: number[] }
interface StatsState { caps?: bigint; asked?: Asked[]; ack?: number; usedLen?: number; result?: Uint8Array }
const states = new WeakMap<CtsWorld, StatsState>();
const S = (w: CtsWorld): StatsState => { let s = states.get(w); if (!s) { s = {}; states.set(w, s); } return s; };

/** v1.4 size of a reply: header plus its le64 counters. */
const replySize = (type: number): number | undefined => {
  const name = statsTypeName(type) as StatsTypeName;
  return STATS_COUNTERS[name] ? STATS_REPLY_HDR_SIZE + 8 * STATS_COUNTERS[name].length : undefined;
};

function typeOf(name: string): number {
  const m = /^bit(\d+)$/.exec(name);
  if (m) return Number(m[1]);
  const t = VIRTIO_NET_STATS_TYPE[name.replace('VIRTIO_NET_STATS_TYPE_', '') as StatsTypeName];
  if (t === undefined) throw new Error(`unknown statistics type '${name}'`);
  return t;
}

async function query(w: CtsWorld): Promise<{ ack: number; usedLen: number; caps: bigint }> {
  const r = await ctrlCommandResult(netCtrl(w), VIRTIO_NET_CTRL.STATS, VIRTIO_NET_CTRL_STATS.QUERY, [], 8, { timeoutMs: w.ms(NET_WIRE_MS) });
  return { ack: r.ack, usedLen: r.usedLen, caps: new DataView(r.result.buffer, r.result.byteOffset, 8).getBigUint64(0, true) };
}

async function get(w: CtsWorld, asked: Asked[]) {
  const req = encodeStatsRequest(asked.map((a) => ({ vq_index: a.vq_index, types: a.types.reduce((m, t) => m | statsBit(t), 0n) })));
  return ctrlCommandResult(netCtrl(w), VIRTIO_NET_CTRL.STATS, VIRTIO_NET_CTRL_STATS.GET, req, RESULT_ROOM, { timeoutMs: w.ms(NET_WIRE_MS) });
}

/** The replies of the last GET, one per type asked, walked by their v1.4 sizes; INCONCLUSIVE when they cannot be located. */
function replies(w: CtsWorld): ReturnType<typeof decodeStatsReplies>['replies'] {
  const s = S(w);
  if (s.ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_STATS_GET of listed types was answered with ack ${hex(s.ack ?? -1)}`);
  const want = s.asked!.reduce((n, a) => n + a.types.length, 0);
  const walked = decodeStatsReplies(s.result!).replies.slice(0, want);
  const off = walked.find((r) => r.size !== replySize(r.type));
  if (walked.length < want || off) inconclusive(`the replies cannot be located: sizes ${walked.map((r) => r.size).join(', ')} for ${want} replies`);
  return walked;
}

Given('the device lists {} in supported_stats_types', async function (this: CtsWorld, names: string) {
  const q = await query(this);
  if (q.ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_STATS_QUERY answered with ack ${hex(q.ack)}`);
  S(this).caps = q.caps;
  const missing = names.split(/\s+and\s+/).filter((n) => !(q.caps & statsBit(typeOf(n))));
  if (missing.length) inconclusive(`supported_stats_types ${hex(q.caps)} lacks ${missing.join(', ')}: the request cannot be made`);
});

When('the driver sends VIRTIO_NET_CTRL_STATS_QUERY', async function (this: CtsWorld) {
  const q = await query(this);
  Object.assign(S(this), { ack: q.ack, usedLen: q.usedLen, caps: q.caps });
});

Then('the device answers with the 8 bytes of supported_stats_types', function (this: CtsWorld) {
  const s = S(this);
  expect(this, s.ack === VIRTIO_NET_OK && s.usedLen === 1 + 8, 'ack VIRTIO_NET_OK and used len 9 (ack + virtio_net_stats_capabilities)',
    `ack ${hex(s.ack!)}, used len ${s.usedLen}`);
});

Then('every statistic type VIRTIO_NET_CTRL_STATS_GET answers is in supported_stats_types', async function (this: CtsWorld) {
  const caps = S(this).caps ?? 0n;
  const answered: string[] = [];
  for (const [name, type] of Object.entries(VIRTIO_NET_STATS_TYPE)) {
    const vq = netVqIndex(this, name === 'CVQ' ? 'controlq' : name.startsWith('RX_') ? 'receiveq1' : 'transmitq1');
    const r = await get(this, [{ vq_index: vq, types: [type] }]);
    // Answered: acknowledged with a reply of that type.
    if (r.ack === VIRTIO_NET_OK && r.usedLen > 1 + STATS_REPLY_HDR_SIZE && r.result[0] === type && !(caps & statsBit(type))) answered.push(name);
  }
  expect(this, answered.length === 0, `every type VIRTIO_NET_CTRL_STATS_GET answers listed in supported_stats_types ${hex(caps)}`,
    `answered but not listed: ${answered.map((n) => `VIRTIO_NET_STATS_TYPE_${n}`).join(', ')}`);
});

When('the driver sends VIRTIO_NET_CTRL_STATS_GET for {string}', async function (this: CtsWorld, spec: string) {
  // "receiveq1: RX_BASIC; transmitq1: TX_BASIC TX_CSUM"
  const asked = spec.split(';').map((part) => {
    const [q, types] = part.split(':').map((x) => x.trim());
    return { vq_index: netVqIndex(this, q!), types: types!.split(/\s+/).map(typeOf) };
  });
  const r = await get(this, asked);
  Object.assign(S(this), { asked, ack: r.ack, usedLen: r.usedLen, result: r.result });
  netState(this).ack = r.ack;
});

Then('the control command ack is VIRTIO_NET_ERR', function (this: CtsWorld) {
  const a = netState(this).ack!;
  expect(this, a === VIRTIO_NET_ERR, 'ack VIRTIO_NET_ERR', `ack ${hex(a)}`);
});

Then('the command fails as a whole: ack VIRTIO_NET_ERR and no statistics reply', function (this: CtsWorld) {
  const s = S(this);
  const written = s.result!.findIndex((b) => b !== CANARY);
  expect(this, s.ack === VIRTIO_NET_ERR && written < 0, 'ack VIRTIO_NET_ERR and the result buffer untouched',
    `ack ${hex(s.ack!)}, used len ${s.usedLen}${written >= 0 ? `, result written from byte ${written}` : ''}`);
});

Then('each statistics reply\'s size is the bytes its type occupies', function (this: CtsWorld) {
  const s = S(this);
  if (s.ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_STATS_GET of listed types was answered with ack ${hex(s.ack!)}`);
  const want = s.asked!.flatMap((a) => a.types);
  const got = decodeStatsReplies(s.result!).replies.slice(0, want.length);
  const bad = got.filter((r) => r.size !== replySize(r.type));
  expect(this, got.length === want.length && bad.length === 0,
    `${want.length} replies of sizes ${want.map((t) => `${statsTypeName(t)} ${replySize(t)}`).join(', ')}`,
    `${got.map((r) => `${statsTypeName(r.type)} size ${r.size}`).join(', ') || 'no reply'} (used len ${s.usedLen})`);
});

Then('each statistics reply header has the type and vq_index asked for', function (this: CtsWorld) {
  const s = S(this);
  const key = (t: number, q: number): string => `${statsTypeName(t)}@${q}`;
  const want = s.asked!.flatMap((a) => a.types.map((t) => key(t, a.vq_index))).sort();
  const got = replies(this).map((r) => key(r.type, r.vq_index)).sort();
  expect(this, want.join() === got.join(), `reply headers ${want.join(', ')}`, `reply headers ${got.join(', ')}`);
});

Then('the result buffer past the replies is untouched', function (this: CtsWorld) {
  const s = S(this);
  const end = replies(this).reduce((n, r) => n + r.size, 0);
  const touched = s.result!.subarray(end).findIndex((b) => b !== CANARY);
  expect(this, touched < 0, `bytes ${end}..${RESULT_ROOM - 1} of the result buffer unwritten (canary ${hex(CANARY)})`,
    `byte ${end + touched} written (${hex(s.result![end + touched]!)}), used len ${s.usedLen}`);
});
