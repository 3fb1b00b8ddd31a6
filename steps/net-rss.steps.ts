// Network device receive-side scaling and the RSS configuration fields (5.1.4.1, 5.1.9.5.7):
// the suite configures RSS (key, hash types, indirection table, unclassified_queue), sends
// flows whose Toeplitz hash it computes itself (virtio/net-hash.ts) and checks each frame
// arrives on the receiveq the table names (and, with HASH_REPORT, the hash it reports).
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive, notApplicable } from './support/assert.ts';
import { drv, expect, featureBits, hex, settle } from './common.steps.ts';
import { NET_PEER, NET_WIRE_MS, netCtrl, netInject, netQueues, netState } from './net.steps.ts';
import { ctrlCommand, netReady, readNetConfig, takeUsed } from '../driver/net.ts';
import { DriverError, type AnyUsedElem } from '../driver/index.ts';
import { VIRTIO_F, bit, hasBit } from '../virtio/features.ts';
import {
  NET_CONFIG, NET_HDR_SIZE, VIRTIO_NET_CTRL, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_ERR, VIRTIO_NET_F, VIRTIO_NET_OK, receiveq,
} from '../virtio/net.ts';
import {
  DEFAULT_RSS_KEY, NET_HDR_HASH_SIZE, RSS_MAX_INDIRECTION_TABLE_LENGTH_MIN, RSS_MAX_KEY_SIZE_MIN, VIRTIO_NET_HASH_TYPE, decodeHashFields,
  encodeRssConfig, makeFlowFrame, packetHash, parseIp, type Flow, type RssConfig,
  VIRTIO_NET_CTRL_HASH_TUNNEL_SET, VIRTIO_NET_HASH_TUNNEL_TYPE, encapsulate, encodeHashConfig, packetHashTunnel,
} from '../virtio/net-hash.ts';

const SPEED_MAX = 0x7fffffff, SPEED_UNKNOWN = 0xffffffff;
const HASH_NAMES = Object.fromEntries(Object.entries(VIRTIO_NET_HASH_TYPE).map(([k, v]) => [k, v])) as Record<string, number>;

interface RssState { config?: RssConfig; frames: Uint8Array[]; hashReport: boolean; ack?: number; asked?: string }
const states = new WeakMap<CtsWorld, RssState>();
function R(w: CtsWorld): RssState {
  let s = states.get(w);
  if (!s) { s = { frames: [], hashReport: false }; states.set(w, s); }
  return s;
}

// ---- configuration fields (5.1.4.1) --------------------------------------------------------

Then('speed is at most 0x7fffffff or is 0xffffffff', async function (this: CtsWorld) {
  const v = (await readNetConfig(await drv(this))).speed >>> 0;
  expect(this, v <= SPEED_MAX || v === SPEED_UNKNOWN, 'speed in [0, 0x7fffffff] (Mbit/s) or 0xffffffff (unknown)', `speed ${hex(v)}`);
});

Then('rss_max_key_size is at least 40 if VIRTIO_NET_F_RSS or VIRTIO_NET_F_HASH_REPORT is offered', async function (this: CtsWorld) {
  const d = await drv(this);
  const offered = await d.transport.readDeviceFeatures();
  const which = [hasBit(offered, VIRTIO_NET_F.RSS) && 'RSS', hasBit(offered, VIRTIO_NET_F.HASH_REPORT) && 'HASH_REPORT'].filter(Boolean).join(' and ');
  if (!which) notApplicable(`device_feature ${hex(offered)}: neither VIRTIO_NET_F_RSS nor VIRTIO_NET_F_HASH_REPORT offered`);
  const v = await d.transport.readConfig(NET_CONFIG.rss_max_key_size[0], 1);
  expect(this, v >= RSS_MAX_KEY_SIZE_MIN, `rss_max_key_size at least ${RSS_MAX_KEY_SIZE_MIN} (${which} offered)`, `rss_max_key_size ${v}`);
});

Then('rss_max_indirection_table_length is at least 128', async function (this: CtsWorld) {
  const v = await (await drv(this)).transport.readConfig(NET_CONFIG.rss_max_indirection_table_length[0], 2);
  expect(this, v >= RSS_MAX_INDIRECTION_TABLE_LENGTH_MIN, `rss_max_indirection_table_length at least ${RSS_MAX_INDIRECTION_TABLE_LENGTH_MIN}`, `rss_max_indirection_table_length ${v}`);
});

// ---- initialization with RSS ---------------------------------------------------------------

Given('the net driver has initialized the device for RSS with {string}', async function (this: CtsWorld, names: string) {
  const d = await drv(this);
  const want = featureBits(this, names) | bit(VIRTIO_F.VERSION_1);
  const offered = await d.transport.readDeviceFeatures();
  if ((offered & want) !== want) notApplicable(`device_feature ${hex(offered)}: not all of ${names} offered`);
  try {
    const r = await netReady(d, { features: want });
    const s = netState(this);
    s.queues = r.queues;
    s.accepted = r.init.accepted;
    s.rx = r.queues.rx.map(() => []);
    s.cfg = await readNetConfig(d);
    R(this).hashReport = hasBit(r.init.accepted, VIRTIO_NET_F.HASH_REPORT);
  } catch (e) {
    if (e instanceof DriverError) inconclusive(`initialization failed: ${e.message}`);
    throw e;
  }
});

// ---- RSS configuration ---------------------------------------------------------------------

function hashTypes(names: string): number {
  return names.split(/\s+and\s+|,\s*/).reduce((t, n) => {
    const v = HASH_NAMES[n.trim()];
    if (v === undefined) throw new Error(`unknown hash type ${n}`);
    return t | v;
  }, 0);
}

/**
 * Send VIRTIO_NET_CTRL_MQ_RSS_CONFIG: the default key (cut to rss_max_key_size), `types`,
 * a table of the largest power-of-two length up to 128 the device takes, filled by `entry`.
 */
async function configureRss(w: CtsWorld, types: number, entry: (i: number, pairs: number) => number, unclassified: (pairs: number) => number): Promise<void> {
  const d = await drv(w);
  const pairs = netQueues(w).rx.length;
  if (pairs < 2) inconclusive(`max_virtqueue_pairs ${netQueues(w).maxPairs}: RSS steering over several receive queues cannot be observed`);
  const supported = await d.transport.readConfig(NET_CONFIG.supported_hash_types[0], 4);
  if ((supported & types) !== types) inconclusive(`supported_hash_types ${hex(supported)} lacks some of ${hex(types)}`);
  const maxKey = await d.transport.readConfig(NET_CONFIG.rss_max_key_size[0], 1);
  const maxTable = await d.transport.readConfig(NET_CONFIG.rss_max_indirection_table_length[0], 2);
  let len = 1;
  while (len * 2 <= Math.min(maxTable, 128)) len *= 2;
  if (len < 8) inconclusive(`rss_max_indirection_table_length ${maxTable}: too short a table to spread over`);
  const config: RssConfig = {
    hash_types: types, indirection_table_mask: len - 1, unclassified_queue: unclassified(pairs),
    indirection_table: Array.from({ length: len }, (_, i) => entry(i, pairs)), max_tx_vq: pairs,
    hash_key: DEFAULT_RSS_KEY.slice(0, Math.min(DEFAULT_RSS_KEY.length, maxKey)),
  };
  const r = await ctrlCommand(netCtrl(w), VIRTIO_NET_CTRL.MQ, VIRTIO_NET_CTRL_MQ.RSS_CONFIG, encodeRssConfig(config), { timeoutMs: w.ms(NET_WIRE_MS) });
  if (r.ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_MQ_RSS_CONFIG (table of ${len}, key of ${config.hash_key.length} bytes, hash_types ${hex(types)}) answered with ack ${hex(r.ack)}`);
  R(w).config = config;
  await w.evidence('rss_config', `hash_types ${hex(types)}, ${len} entries, unclassified_queue ${config.unclassified_queue}, key ${config.hash_key.length} bytes`);
}

When('the driver configures RSS with {} hashing and a table spreading over every receive queue', async function (this: CtsWorld, names: string) {
  // Runs of four entries per queue: a device spreading by index alone lands elsewhere.
  await configureRss(this, hashTypes(names), (i, pairs) => (i >> 2) % pairs, (pairs) => pairs - 1);
});

When('the driver configures RSS with {} hashing, every table entry receiveq1 and unclassified_queue the last receiveq', async function (this: CtsWorld, names: string) {
  await configureRss(this, hashTypes(names), () => 0, (pairs) => pairs - 1);
});

// ---- flows ---------------------------------------------------------------------------------

function flows(n: number, proto: 'tcp' | 'udp' | 'mixed'): Flow[] {
  return Array.from({ length: n }, (_, i) => ({
    proto: proto === 'mixed' ? (i % 2 ? 'udp' : 'tcp') : proto,
    src: parseIp(`198.51.100.${10 + i}`), dst: parseIp('192.0.2.1'), sport: 20000 + 97 * i, dport: i % 3 ? 443 : 53,
  }));
}

async function injectAll(w: CtsWorld, frames: Uint8Array[]): Promise<void> {
  const mac = netState(w).cfg!.mac;
  for (const f of frames) {
    f.set(mac, 0);
    R(w).frames.push(f);
    await netInject(w, f);
  }
}

When('the wire brings {int} IPv4 {word} frames of different flows for the device\'s MAC address', async function (this: CtsWorld, n: number, proto: string) {
  const p = proto === 'TCP' ? 'tcp' : proto === 'UDP' ? 'udp' : 'mixed';
  await injectAll(this, flows(n, p).map((flow) => makeFlowFrame({ dstMac: new Uint8Array(6), srcMac: NET_PEER, flow, len: 200 })));
});

When('the wire brings {int} frames that are not IP for the device\'s MAC address', async function (this: CtsWorld, n: number) {
  await injectAll(this, Array.from({ length: n }, (_, i) => {
    const f = new Uint8Array(120);
    f.set(NET_PEER, 6);
    f[12] = 0x88; f[13] = 0xb5; // IEEE local experimental ethertype
    for (let j = 14; j < f.length; j++) f[j] = (j + 31 * i) & 0xff;
    return f;
  }));
});

// ---- what arrived where --------------------------------------------------------------------

interface Arrival { queue: number; frame: Uint8Array; hdr: Uint8Array }

/** Every used receive buffer, as (receiveq index, frame, header). One buffer per packet (no MRG_RXBUF). */
async function arrivals(w: CtsWorld): Promise<Arrival[]> {
  await settle(w);
  const s = netState(w);
  const hdrLen = hasBit(s.accepted ?? 0n, VIRTIO_NET_F.HASH_REPORT) ? NET_HDR_HASH_SIZE : NET_HDR_SIZE;
  const out: Arrival[] = [];
  for (const [q, vq] of netQueues(w).rx.entries()) {
    const used: AnyUsedElem[] = await takeUsed(vq);
    for (const e of used) {
      const b = s.rx[q]!.find((x) => x.id === e.id);
      if (!b) throw new DriverError(`receiveq${q + 1}: used id ${e.id} is not a posted buffer`);
      const bytes = await vq.mem.read(b.addr, Math.min(e.len, b.len));
      out.push({ queue: q, hdr: bytes.slice(0, hdrLen), frame: bytes.slice(hdrLen) });
    }
  }
  return out;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The queue RSS must pick for `f` (index into rx), and the hash it calculates, if any. */
function expected(c: RssConfig, f: Uint8Array): { queue: number; hash?: { value: number; report: number } } {
  const hash = packetHash(f, c.hash_types, c.hash_key);
  if (!hash) return { queue: c.unclassified_queue };
  return { queue: c.indirection_table[hash.value & c.indirection_table_mask]!, hash };
}

Then('each frame arrives on the receiveq RSS selects for it', async function (this: CtsWorld) {
  const r = R(this);
  const c = r.config!;
  const got = await arrivals(this);
  const wrong: string[] = [];
  let missing = 0;
  for (const [i, f] of r.frames.entries()) {
    const a = got.find((x) => same(x.frame, f));
    if (!a) { missing++; continue; }
    const e = expected(c, f);
    if (a.queue !== e.queue) {
      wrong.push(`frame ${i} (${e.hash ? `hash ${hex(e.hash.value)}, entry ${e.hash.value & c.indirection_table_mask}` : 'no hash'}): receiveq${a.queue + 1}, expected receiveq${e.queue + 1}`);
    }
  }
  if (missing === r.frames.length) inconclusive(`none of the ${r.frames.length} frames was received`);
  await this.evidence('per receiveq', netQueues(this).rx.map((_, q) => `receiveq${q + 1}: ${got.filter((x) => x.queue === q).length}`).join(', '));
  expect(this, wrong.length === 0, `each of ${r.frames.length - missing} received frames on receiveq(indirection_table[hash & ${c.indirection_table_mask}] + 1), or unclassified_queue + 1 without a hash`,
    `${wrong.length} on another queue: ${wrong.slice(0, 4).join('; ')}${wrong.length > 4 ? '; …' : ''}`);
  if (missing) inconclusive(`${missing} of ${r.frames.length} frames were not received; the received ones went where RSS selects`);
});

Then('each frame reports the hash that selected its receiveq', async function (this: CtsWorld) {
  const r = R(this);
  const c = r.config!;
  if (!r.hashReport) throw new Error('VIRTIO_NET_F_HASH_REPORT was not negotiated');
  const got = await arrivals(this);
  const wrong: string[] = [];
  let seen = 0;
  for (const [i, f] of r.frames.entries()) {
    const a = got.find((x) => same(x.frame, f));
    if (!a) continue;
    seen++;
    const e = expected(c, f);
    const h = decodeHashFields(a.hdr);
    const want = e.hash ?? { value: h.hash_value, report: 0 };
    if (h.hash_report !== want.report || h.hash_value !== want.value || a.queue !== e.queue) {
      wrong.push(`frame ${i}: hash_report ${h.hash_report}, hash_value ${hex(h.hash_value)} on receiveq${a.queue + 1}; expected ${want.report}, ${hex(want.value)} on receiveq${e.queue + 1}`);
    }
  }
  if (seen === 0) inconclusive(`none of the ${r.frames.length} frames was received`);
  expect(this, wrong.length === 0, `each frame's hash_report/hash_value those of its flow (5.1.9.4.3) and the frame on the receiveq its table entry names`,
    `${wrong.length} of ${seen} differ: ${wrong.slice(0, 3).join('; ')}${wrong.length > 3 ? '; …' : ''}`);
});

// ---- inner header hash (5.1.9.4.4) ---------------------------------------------------------

const TUNNEL_NAMES = VIRTIO_NET_HASH_TUNNEL_TYPE as Record<string, number>;
/** The tunnel packets' outer and inner flows (the inner one is the first RSS verification vector). */
const OUTER: Flow = { proto: 'udp', src: parseIp('203.0.113.7'), dst: parseIp('203.0.113.9'), sport: 49152, dport: 0 };
const INNER_MAC = new Uint8Array([0x02, 0x00, 0x5e, 0x00, 0x00, 0x10]);
const INNER: Flow = { proto: 'tcp', src: parseIp('66.9.149.187'), dst: parseIp('161.142.100.80'), sport: 2794, dport: 1766 };

async function tunnelSet(w: CtsWorld, types: number): Promise<number> {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, types >>> 0, true);
  return (await ctrlCommand(netCtrl(w), VIRTIO_NET_CTRL.HASH_TUNNEL, VIRTIO_NET_CTRL_HASH_TUNNEL_SET, data, { timeoutMs: w.ms(NET_WIRE_MS) })).ack;
}

Given('the driver has enabled {} hashing with the default key', async function (this: CtsWorld, names: string) {
  const d = await drv(this);
  const types = hashTypes(names);
  const supported = await d.transport.readConfig(NET_CONFIG.supported_hash_types[0], 4);
  if ((supported & types) !== types) inconclusive(`supported_hash_types ${hex(supported)} lacks some of ${hex(types)}`);
  const key = DEFAULT_RSS_KEY.slice(0, Math.min(DEFAULT_RSS_KEY.length, await d.transport.readConfig(NET_CONFIG.rss_max_key_size[0], 1)));
  // With RSS the hash parameters come with RSS_CONFIG (every entry receiveq1), else with HASH_CONFIG (5.1.9.4.3).
  const rss = hasBit(netState(this).accepted ?? 0n, VIRTIO_NET_F.RSS);
  const config: RssConfig = { hash_types: types, indirection_table_mask: 0, unclassified_queue: 0, indirection_table: [0], max_tx_vq: 1, hash_key: key };
  const [cmd, data] = rss ? [VIRTIO_NET_CTRL_MQ.RSS_CONFIG, encodeRssConfig(config)] : [VIRTIO_NET_CTRL_MQ.HASH_CONFIG, encodeHashConfig(types, key)];
  const r = await ctrlCommand(netCtrl(this), VIRTIO_NET_CTRL.MQ, cmd, data, { timeoutMs: this.ms(NET_WIRE_MS) });
  if (r.ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_MQ_${rss ? 'RSS' : 'HASH'}_CONFIG (hash_types ${hex(types)}) answered with ack ${hex(r.ack)}`);
  R(this).config = config;
});

Given('the driver has enabled inner header hash for {word}', async function (this: CtsWorld, name: string) {
  const t = TUNNEL_NAMES[name];
  if (t === undefined) throw new Error(`unknown encapsulation type ${name}`);
  const supported = await (await drv(this)).transport.readConfig(NET_CONFIG.supported_tunnel_types[0], 4);
  if (!(supported & t)) inconclusive(`supported_tunnel_types ${hex(supported)} lacks ${name}: inner header hash cannot be enabled`);
  const ack = await tunnelSet(this, t);
  if (ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_HASH_TUNNEL_SET ${hex(t)} answered with ack ${hex(ack)}`);
});

When('the driver sets enabled_tunnel_types to 0', async function (this: CtsWorld) {
  const ack = await tunnelSet(this, 0);
  if (ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_HASH_TUNNEL_SET 0 answered with ack ${hex(ack)}`);
});

async function bringTunnelPacket(w: CtsWorld, type: 'vxlan' | 'geneve'): Promise<Uint8Array> {
  const n = R(w).frames.length;
  const f = encapsulate({ dstMac: netState(w).cfg!.mac, srcMac: NET_PEER, outer: { ...OUTER, sport: OUTER.sport + n }, type,
    inner: makeFlowFrame({ dstMac: INNER_MAC, srcMac: NET_PEER, flow: INNER, len: 120 }) });
  R(w).frames.push(f);
  await netInject(w, f);
  return f;
}

/** The hash fields of the received copy of `f` (HASH_REPORT negotiated). */
async function reportedHash(w: CtsWorld, f: Uint8Array): Promise<{ value: number; report: number }> {
  if (!hasBit(netState(w).accepted ?? 0n, VIRTIO_NET_F.HASH_REPORT)) throw new Error('VIRTIO_NET_F_HASH_REPORT was not negotiated');
  const a = (await arrivals(w)).find((x) => same(x.frame, f));
  if (!a) inconclusive('the tunnel packet was not received');
  const h = decodeHashFields(a.hdr);
  return { value: h.hash_value, report: h.hash_report };
}

Given('a VXLAN packet is hashed on its inner header', async function (this: CtsWorld) {
  const c = R(this).config!;
  const f = await bringTunnelPacket(this, 'vxlan');
  const got = await reportedHash(this, f);
  const inner = packetHashTunnel(f, c.hash_types, c.hash_key, VIRTIO_NET_HASH_TUNNEL_TYPE.VXLAN)!;
  if (got.value !== inner.value || got.report !== inner.report) {
    inconclusive(`with VXLAN enabled a VXLAN packet reported hash_report ${got.report}, hash_value ${hex(got.value)}, not its inner header's (${inner.report}, ${hex(inner.value)}): the device shows no inner header hash to turn off`);
  }
});

When('the wire brings a {word} packet for the device\'s MAC address', async function (this: CtsWorld, type: string) {
  if (type !== 'VXLAN' && type !== 'GENEVE') throw new Error(`unknown encapsulation ${type}`);
  await bringTunnelPacket(this, type === 'VXLAN' ? 'vxlan' : 'geneve');
});

Then('its hash_value is the hash of its outer header', async function (this: CtsWorld) {
  const r = R(this);
  const f = r.frames[r.frames.length - 1]!;
  const c = r.config!;
  const got = await reportedHash(this, f);
  const outer = packetHash(f, c.hash_types, c.hash_key)!;
  const inner = packetHashTunnel(f, c.hash_types, c.hash_key, ~0)!;
  const what = got.value === inner.value && got.report === inner.report ? ' (the inner header\'s hash)' : '';
  expect(this, got.value === outer.value && got.report === outer.report, `hash_report ${outer.report}, hash_value ${hex(outer.value)} (the outer header's)`,
    `hash_report ${got.report}, hash_value ${hex(got.value)}${what}`);
});

When('the driver asks for inner header hash of an encapsulation type not in supported_tunnel_types', async function (this: CtsWorld) {
  const supported = await (await drv(this)).transport.readConfig(NET_CONFIG.supported_tunnel_types[0], 4);
  const entry = Object.entries(TUNNEL_NAMES).find(([, v]) => !(supported & v));
  // Every defined type supported: an undefined bit is not in supported_tunnel_types either.
  const [name, bitv] = entry ?? ['bit 31', 0x80000000];
  R(this).asked = `VIRTIO_NET_CTRL_HASH_TUNNEL_SET ${hex(bitv >>> 0)} (${name}; supported_tunnel_types ${hex(supported)})`;
  R(this).ack = await tunnelSet(this, bitv);
});

Then('the command is answered with VIRTIO_NET_ERR', function (this: CtsWorld) {
  const r = R(this);
  expect(this, r.ack === VIRTIO_NET_ERR, `${r.asked} answered with VIRTIO_NET_ERR`, `ack ${hex(r.ack ?? -1)}`, 'SHOULD');
});
