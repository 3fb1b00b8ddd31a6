// Network device (5.1): the suite is the driver and the wire. Frames are injected on the
// target's wire and read back from receive buffers; frames the driver sends are captured
// on the wire. Assertions name the scenario's @clause (expect from common.steps.ts).
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive, notApplicable } from './support/assert.ts';
import { drv, expect, featureBits, hex, settle } from './common.steps.ts';
import type { NetWire } from '../adapters/types.ts';
import {
  ctrlCommand, netReady, postRxBuffers, readNetConfig, readRxPacket, sendFrame, takeUsed, type NetConfig, type NetQueues, type RxBuffer,
  type RxPacket,
} from '../driver/net.ts';
import { DriverError, type AnyUsedElem, type Virtqueue } from '../driver/index.ts';
import { VIRTIO_F, bit, hasBit } from '../virtio/features.ts';
import {
  ETH_HLEN, MQ_PAIRS_MAX, MQ_PAIRS_MIN, MTU_MAX, MTU_MIN, MTU_RECOMMENDED_MIN, NET_CONFIG, NET_HDR_SIZE, VIRTIO_NET_CTRL, VIRTIO_NET_CTRL_MAC,
  VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_RX, VIRTIO_NET_F, VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO, VIRTIO_NET_OK, VIRTIO_NET_S_LINK_UP, encodeMacTable,
  formatMac, makeFrame, parseMac, BROADCAST_MAC, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_S_ANNOUNCE, vlanTag,
  controlq, receiveq, transmitq,
} from '../virtio/net.ts';

/** A unicast address that is never the device's own. */
const OTHER = parseMac('02:00:5e:00:00:99');
const PEER = parseMac('02:00:5e:00:00:01');
const TABLE_MAC = parseMac('02:00:5e:00:00:77');
const NEW_MAC = parseMac('02:00:5e:00:00:42');
const MULTICAST = parseMac('01:00:5e:00:00:fb');
/** How long a real target gets to use a transmit or control buffer (× timeout scale). */
const WIRE_MS = 1000;

interface NetState {
  queues?: NetQueues;
  cfg?: NetConfig;
  accepted?: bigint;
  rx: RxBuffer[][];
  injected: Uint8Array[];
  received?: { used: AnyUsedElem[]; packet?: RxPacket };
  perQueue?: number[];
  sent?: Uint8Array[];
  ack?: number;
  seen: Record<string, unknown>;
}

const states = new WeakMap<CtsWorld, NetState>();
function N(w: CtsWorld): NetState {
  let s = states.get(w);
  if (!s) { s = { rx: [], injected: [], seen: {} }; states.set(w, s); }
  return s;
}

async function wire(w: CtsWorld): Promise<NetWire> {
  const t = await w.target();
  if (!t.wire) inconclusive('this target has no wire the suite can use');
  return t.wire;
}

function queues(w: CtsWorld): NetQueues {
  const q = N(w).queues;
  if (!q) throw new Error('the net device has not been initialized by this scenario');
  return q;
}

function ctrl(w: CtsWorld): Virtqueue {
  const c = queues(w).ctrl;
  if (!c) throw new Error('no controlq: negotiate VIRTIO_NET_F_CTRL_VQ');
  return c;
}

async function init(w: CtsWorld, names: string): Promise<void> {
  const d = await drv(w);
  const want = featureBits(w, names) | bit(VIRTIO_F.VERSION_1);
  const offered = await d.transport.readDeviceFeatures();
  if ((offered & want) !== want) notApplicable(`the device does not offer all of ${names}`);
  if (hasBit(want, VIRTIO_NET_F.MQ)) {
    // Readable before FEATURES_OK (2.5.2): a layout the queues cannot follow is not this scenario's finding.
    const pairs = await d.transport.readConfig(NET_CONFIG.max_virtqueue_pairs[0], 2);
    if (pairs < 2) inconclusive(`max_virtqueue_pairs ${pairs}: steering over several receive queues cannot be observed`);
  }
  try {
    const r = await netReady(d, { features: want });
    const s = N(w);
    s.queues = r.queues;
    s.accepted = r.init.accepted;
    s.rx = r.queues.rx.map(() => []);
    s.cfg = await readNetConfig(d);
  } catch (e) {
    if (e instanceof DriverError) inconclusive(`initialization failed: ${e.message}`);
    throw e;
  }
}

/**
 * Frames sent on the wire: what arrived, or, if fewer than `n`, what arrived once the
 * target settled (Bus.settle: at once on the reference, the observation window on real targets).
 */
async function collectSent(w: CtsWorld, n: number): Promise<Uint8Array[]> {
  const wr = await wire(w);
  const out = wr.sent();
  if (out.length >= n) return out;
  await settle(w);
  return [...out, ...wr.sent()];
}

/** Used receive buffers of every receiveq after the target settled. */
async function usedPerQueue(w: CtsWorld): Promise<AnyUsedElem[][]> {
  await settle(w);
  return Promise.all(queues(w).rx.map((vq) => takeUsed(vq)));
}

async function inject(w: CtsWorld, frame: Uint8Array): Promise<void> {
  N(w).injected.push(frame);
  await (await wire(w)).inject(frame);
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

// ---- initialization and configuration ----------------------------------------------------

Given('the net driver has initialized the device with {string}', async function (this: CtsWorld, names: string) {
  await init(this, names);
});

Then('{word} is not offered without VIRTIO_NET_F_CTRL_VQ', async function (this: CtsWorld, name: string) {
  const n = VIRTIO_NET_F[name.replace('VIRTIO_NET_F_', '') as keyof typeof VIRTIO_NET_F];
  if (n === undefined) throw new Error(`unknown net feature ${name}`);
  const offered = await (await drv(this)).transport.readDeviceFeatures();
  const bad = hasBit(offered, n) && !hasBit(offered, VIRTIO_NET_F.CTRL_VQ);
  expect(this, !bad, `${name} only together with VIRTIO_NET_F_CTRL_VQ`, `device_feature ${hex(offered)}: ${name} without CTRL_VQ`);
});

Then('max_virtqueue_pairs is between 1 and 0x8000', function (this: CtsWorld) {
  const v = N(this).cfg!.max_virtqueue_pairs;
  expect(this, v >= MQ_PAIRS_MIN && v <= MQ_PAIRS_MAX, `max_virtqueue_pairs in [1, 0x8000]`, `max_virtqueue_pairs ${hex(v)}`);
});

Then('mtu is between 68 and 65535', function (this: CtsWorld) {
  const v = N(this).cfg!.mtu;
  expect(this, v >= MTU_MIN && v <= MTU_MAX, 'mtu in [68, 65535]', `mtu ${v}`);
});

Then('mtu is at least 1280', function (this: CtsWorld) {
  const v = N(this).cfg!.mtu;
  expect(this, v >= MTU_RECOMMENDED_MIN, 'mtu at least 1280', `mtu ${v}`);
});

Then('duplex is 0x00, 0x01 or 0xff', function (this: CtsWorld) {
  const v = N(this).cfg!.duplex;
  expect(this, v === 0x00 || v === 0x01 || v === 0xff, 'duplex 0x00 (full), 0x01 (half) or 0xff (unknown)', `duplex ${hex(v)}`);
});

Then('speed reads the same again while the link is up', async function (this: CtsWorld) {
  const s = N(this);
  if (!(s.cfg!.status & VIRTIO_NET_S_LINK_UP)) inconclusive('the link is down');
  await settle(this);
  const again = await readNetConfig(await drv(this));
  if (!(again.status & VIRTIO_NET_S_LINK_UP)) inconclusive('the link went down meanwhile');
  expect(this, again.speed === s.cfg!.speed, `speed ${s.cfg!.speed} unchanged`, `speed ${again.speed}`);
});

When('the link goes down and up again', async function (this: CtsWorld) {
  const wr = await wire(this);
  if (!wr.setLink) inconclusive('this target cannot change the link state');
  await wr.setLink(false);
  await wr.setLink(true);
  await settle(this);
});

Then('mtu reads the same as before', async function (this: CtsWorld) {
  const before = N(this).cfg!.mtu;
  const after = (await readNetConfig(await drv(this))).mtu;
  expect(this, after === before, `mtu ${before} unchanged`, `mtu ${after}`);
});

// ---- link status -----------------------------------------------------------------------

When('the link goes down', async function (this: CtsWorld) {
  const s = N(this);
  const d = await drv(this);
  if (!(s.cfg!.status & VIRTIO_NET_S_LINK_UP)) inconclusive('the link was not up to begin with');
  s.seen.gen0 = await d.transport.configGeneration();
  const wr = await wire(this);
  if (!wr.setLink) inconclusive('this target cannot change the link state');
  await wr.setLink(false);
  await settle(this);
});

Then('config_generation differs once status shows the link down', async function (this: CtsWorld) {
  const d = await drv(this);
  const status = await d.transport.readConfig(NET_CONFIG.status[0], 2);
  if (status & VIRTIO_NET_S_LINK_UP) inconclusive(`status ${hex(status)} still shows VIRTIO_NET_S_LINK_UP`);
  const gen0 = N(this).seen.gen0 as number;
  const gen1 = await d.transport.configGeneration();
  expect(this, gen1 !== gen0, `config_generation other than ${hex(gen0)} after status changed`, `config_generation ${hex(gen1)}`);
});

// ---- receive ---------------------------------------------------------------------------

Given('the driver has posted {int} receive buffers of {int} bytes', async function (this: CtsWorld, n: number, size: number) {
  const s = N(this);
  for (const [i, vq] of queues(this).rx.entries()) s.rx[i]!.push(...await postRxBuffers(vq, Array(n).fill(size)));
});

Given('the driver has posted {int} receive buffers big enough for mtu', async function (this: CtsWorld, n: number) {
  const s = N(this);
  const mtu = s.cfg!.mtu;
  if (mtu < MTU_MIN) inconclusive(`mtu ${mtu}: no frame size to test`);
  for (const [i, vq] of queues(this).rx.entries()) s.rx[i]!.push(...await postRxBuffers(vq, Array(n).fill(NET_HDR_SIZE + mtu + ETH_HLEN + 64)));
});

When('the wire brings a frame of {int} bytes for the device\'s MAC address', async function (this: CtsWorld, len: number) {
  await inject(this, makeFrame({ dst: N(this).cfg!.mac, src: PEER, len, seed: N(this).injected.length }));
});

When('the wire brings an {word} {word} frame of {int} bytes for the device\'s MAC address', async function (this: CtsWorld, ip: string, l4: string, len: number) {
  const kind = `${l4.toLowerCase()}${ip === 'IPv6' ? '6' : '4'}` as 'tcp4' | 'udp4' | 'tcp6' | 'udp6';
  await inject(this, makeFrame({ dst: N(this).cfg!.mac, src: PEER, len, l4: kind }));
});

When('the wire brings an IPv4 UDP frame of {int} bytes with a wrong IPv4 header checksum for the device\'s MAC address', async function (this: CtsWorld, len: number) {
  await inject(this, makeFrame({ dst: N(this).cfg!.mac, src: PEER, len, l4: 'udp4', badIpChecksum: true }));
});

When('the wire brings a frame of mtu plus {int} bytes and then one of mtu plus {int} bytes', async function (this: CtsWorld, over: number, exact: number) {
  const mtu = N(this).cfg!.mtu;
  await inject(this, makeFrame({ dst: N(this).cfg!.mac, src: PEER, len: mtu + over, seed: 1 }));
  await inject(this, makeFrame({ dst: N(this).cfg!.mac, src: PEER, len: mtu + exact, seed: 2 }));
});

const mergeable = (w: CtsWorld): boolean => hasBit(N(w).accepted ?? 0n, VIRTIO_NET_F.MRG_RXBUF);

async function received(w: CtsWorld): Promise<{ used: AnyUsedElem[]; packet?: RxPacket }> {
  const s = N(w);
  if (!s.received) {
    const per = await usedPerQueue(w);
    const used = per[0]!;
    s.received = { used, packet: used.length ? await readRxPacket(queues(w).rx[0]!, s.rx[0]!, used, { mergeable: mergeable(w) }) : undefined };
  }
  return s.received;
}

async function packet(w: CtsWorld): Promise<RxPacket> {
  const r = await received(w);
  if (!r.packet) inconclusive('no frame was received');
  return r.packet;
}

Then('exactly one receive buffer is used for the frame', async function (this: CtsWorld) {
  const r = await received(this);
  if (r.used.length === 0) inconclusive('the frame was not received at all');
  expect(this, r.used.length === 1, 'one used receive buffer', `${r.used.length} used buffers (lens ${r.used.map((u) => u.len).join(', ')})`);
});

Then('the received header has num_buffers {int}', async function (this: CtsWorld, n: number) {
  const p = await packet(this);
  expect(this, p.hdr.num_buffers === n, `num_buffers ${n}`, `num_buffers ${p.hdr.num_buffers}`);
});

Then('num_buffers counts the buffers the frame was spread over', async function (this: CtsWorld) {
  const r = await received(this);
  const p = await packet(this);
  const total = NET_HDR_SIZE + N(this).injected[0]!.length;
  // The buffers the packet takes, whatever num_buffers says: used lens summing to the packet.
  let sum = 0, count = 0;
  for (const u of r.used) { if (sum >= total) break; sum += u.len; count++; }
  // Buffers of the packet still unused when the driver looked: nothing to count them against (50ccf054's matter).
  if (sum < total) inconclusive(`the used buffers hold ${sum} of the packet's ${total} bytes (num_buffers ${p.hdr.num_buffers}): the rest was not used yet`);
  expect(this, p.hdr.num_buffers === count && count > 1, `num_buffers ${count} (the packet of ${total} bytes over ${count} buffers)`,
    `num_buffers ${p.hdr.num_buffers}, used lens ${r.used.map((u) => u.len).join(', ')}`);
});

Then('every buffer of the frame but the last is used to its full length', async function (this: CtsWorld) {
  const p = await packet(this);
  if (p.used.length < 2) inconclusive(`the frame took ${p.used.length} buffer(s): nothing to check`);
  const short = p.used.slice(0, -1).filter((u) => u.len !== u.size);
  expect(this, short.length === 0, 'all buffers but the last filled completely',
    short.map((u) => `buffer ${u.id}: len ${u.len} of ${u.size}`).join(', '));
});

Then('the received frame is the frame from the wire', async function (this: CtsWorld) {
  const p = await packet(this);
  const f = N(this).injected[0]!;
  expect(this, eq(p.frame, f), `the ${f.length}-byte frame`, `${p.frame.length} bytes${p.frame.length === f.length ? ' that differ' : ''}`);
});

Then('the received header has flags 0', async function (this: CtsWorld) {
  const p = await packet(this);
  expect(this, p.hdr.flags === 0, 'flags 0', `flags ${hex(p.hdr.flags)}`);
});

const GSO_NAME: Record<number, string> = Object.fromEntries(Object.entries(VIRTIO_NET_HDR_GSO).map(([k, v]) => [v, `VIRTIO_NET_HDR_GSO_${k}`]));

Then('the received header has gso_type VIRTIO_NET_HDR_GSO_NONE', async function (this: CtsWorld) {
  const p = await packet(this);
  expect(this, p.hdr.gso_type === VIRTIO_NET_HDR_GSO.NONE, 'gso_type VIRTIO_NET_HDR_GSO_NONE', `gso_type ${GSO_NAME[p.hdr.gso_type] ?? hex(p.hdr.gso_type)}`);
});

Then('the received header\'s gso_type is not {word}', async function (this: CtsWorld, name: string) {
  const v = VIRTIO_NET_HDR_GSO[name.replace('VIRTIO_NET_HDR_GSO_', '') as keyof typeof VIRTIO_NET_HDR_GSO];
  if (v === undefined) throw new Error(`unknown gso type ${name}`);
  const p = await packet(this);
  const base = p.hdr.gso_type & ~(VIRTIO_NET_HDR_GSO.UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO.UDP_TUNNEL_IPV6 | VIRTIO_NET_HDR_GSO.ECN);
  expect(this, base !== v, `gso_type other than ${name}`, `gso_type ${GSO_NAME[p.hdr.gso_type] ?? hex(p.hdr.gso_type)}`);
});

const FLAG_BIT: Record<string, number> = Object.fromEntries(Object.entries(VIRTIO_NET_HDR_F).map(([k, v]) => [`VIRTIO_NET_HDR_F_${k}`, v]));

Then('the received header\'s flags do not have {word}', async function (this: CtsWorld, name: string) {
  const b = FLAG_BIT[name];
  if (b === undefined) throw new Error(`unknown flag ${name}`);
  const p = await packet(this);
  expect(this, (p.hdr.flags & b) === 0, `${name} clear`, `flags ${hex(p.hdr.flags)}`);
});

Then('the received header\'s gso_type has no UDP tunnel bit', async function (this: CtsWorld) {
  const p = await packet(this);
  const t = p.hdr.gso_type & (VIRTIO_NET_HDR_GSO.UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO.UDP_TUNNEL_IPV6);
  expect(this, t === 0, 'neither UDP_TUNNEL_IPV4 nor UDP_TUNNEL_IPV6 in gso_type', `gso_type ${hex(p.hdr.gso_type)}`);
});

When('the wire brings a VLAN-tagged frame of {int} bytes for the device\'s MAC address', async function (this: CtsWorld, len: number) {
  const s = N(this);
  const f = makeFrame({ dst: s.cfg!.mac, src: PEER, len });
  // 802.1Q tag: TPID 0x8100, VLAN 42, then the frame's own ethertype.
  const tagged = new Uint8Array(f.length + 4);
  tagged.set(f.subarray(0, 12), 0);
  tagged.set([0x81, 0x00, 0x00, 42], 12);
  tagged.set(f.subarray(12), 16);
  await inject(this, tagged);
  s.seen.delivered = (await usedPerQueue(this)).flat().length > 0;
  s.seen.dest = 'the device\'s MAC address (VLAN 42)';
});

Then('only the frame of mtu plus {int} bytes is received', async function (this: CtsWorld, exact: number) {
  const r = await received(this);
  const s = N(this);
  const lens: number[] = [];
  let rest = r.used;
  while (rest.length) {
    const p = await readRxPacket(queues(this).rx[0]!, s.rx[0]!, rest, { mergeable: mergeable(this) });
    lens.push(p.frame.length);
    rest = rest.slice(p.used.length);
  }
  const want = s.cfg!.mtu + exact;
  if (!lens.includes(want)) inconclusive(`the frame of mtu + ${exact} bytes was not received either (received ${lens.join(', ') || 'nothing'})`);
  expect(this, lens.length === 1, `only the ${want}-byte frame`, `frames of ${lens.join(', ')} bytes`);
});

// ---- packed ring: a packet over several buffers becomes used at once ----------------------

Given('the driver watches the order of used descriptor flags', async function (this: CtsWorld) {
  const t = await this.target() as unknown as { observeUsedWrites?: (fn: ((step: string, pos: { off: number }) => void) | undefined) => void };
  if (typeof t.observeUsedWrites !== 'function') inconclusive('this target cannot show used-descriptor writes as they happen');
  const order: number[] = [];
  N(this).seen.flagsOrder = order;
  t.observeUsedWrites((step, pos) => { if (step === 'flags') order.push(pos.off); });
});

Then('the first buffer of the frame is marked used after the others', async function (this: CtsWorld) {
  const p = await packet(this);
  const order = N(this).seen.flagsOrder as number[];
  if (p.used.length < 2 || order.length < 2) inconclusive(`the frame took ${p.used.length} buffer(s): nothing to order`);
  // A fresh queue: the packet's buffers sit at the ring's first positions, its first buffer lowest.
  const first = Math.min(...order);
  expect(this, order[order.length - 1] === first, `the descriptor at position ${first} (the packet's first buffer, num_buffers ${p.hdr.num_buffers}) made used last`,
    `used flags written at positions ${order.join(', ')}: the driver could see the first buffer before the rest`);
});

// ---- transmit --------------------------------------------------------------------------

When('the driver sends a {int}-byte frame with header flags {int}', async function (this: CtsWorld, len: number, flags: number) {
  const f = makeFrame({ dst: OTHER, src: N(this).cfg!.mac, len, l4: 'udp4' });
  N(this).injected = [f];
  await sendFrame(queues(this).tx[0]!, f, { flags }, { timeoutMs: this.ms(WIRE_MS) });
});

When('the driver sends a {int}-byte IPv4 UDP frame with a wrong header checksum and flags 0', async function (this: CtsWorld, len: number) {
  const f = makeFrame({ dst: OTHER, src: N(this).cfg!.mac, len, l4: 'udp4', badIpChecksum: true });
  N(this).injected = [f];
  await sendFrame(queues(this).tx[0]!, f, { flags: 0 }, { timeoutMs: this.ms(WIRE_MS) });
});

When('the driver sends a {int}-byte IPv4 UDP frame with flags 0, csum_start {int} and csum_offset {int}', async function (this: CtsWorld, len: number, start: number, off: number) {
  const f = makeFrame({ dst: OTHER, src: N(this).cfg!.mac, len, l4: 'udp4' });
  N(this).injected = [f];
  await sendFrame(queues(this).tx[0]!, f, { flags: 0, csum_start: start, csum_offset: off }, { timeoutMs: this.ms(WIRE_MS) });
});

When('the driver sends a frame of mtu plus {int} bytes', async function (this: CtsWorld, extra: number) {
  const mtu = N(this).cfg!.mtu;
  if (mtu < MTU_MIN) inconclusive(`mtu ${mtu}: no frame size to test`);
  const f = makeFrame({ dst: OTHER, src: N(this).cfg!.mac, len: mtu + extra });
  N(this).injected = [f];
  await sendFrame(queues(this).tx[0]!, f, {}, { timeoutMs: this.ms(WIRE_MS) });
});

When('the driver sends a {int}-byte frame with gso_type {int} and header flags {int}', async function (this: CtsWorld, len: number, gso: number, flags: number) {
  const f = makeFrame({ dst: OTHER, src: N(this).cfg!.mac, len, l4: 'udp4' });
  N(this).injected = [f];
  // csum_start/csum_offset of the UDP checksum, for the combinations that carry NEEDS_CSUM.
  await sendFrame(queues(this).tx[0]!, f, { flags, gso_type: gso, gso_size: 1000, hdr_len: 42, csum_start: 34, csum_offset: 6 }, { timeoutMs: this.ms(WIRE_MS) });
});

Then('the wire does not carry the frame', async function (this: CtsWorld) {
  const sent = await collectSent(this, 1);
  expect(this, sent.length === 0, 'the packet refused (nothing on the wire)', `${sent.length} frame(s) on the wire (${sent.map((x) => x.length).join(', ')} bytes)`);
});

Then('the wire carries the frame unchanged', async function (this: CtsWorld) {
  const sent = await collectSent(this, 1);
  const f = N(this).injected[0]!;
  const same = sent.length === 1 && eq(sent[0]!, f);
  const diff = sent.length === 1 ? (sent[0]!.length !== f.length ? `${sent[0]!.length} bytes` : `byte ${sent[0]!.findIndex((b, i) => b !== f[i])} differs`) : '';
  expect(this, same, `the ${f.length}-byte frame, unchanged`, sent.length === 0 ? 'nothing on the wire' : sent.length > 1 ? `${sent.length} frames` : diff);
});

// ---- control virtqueue -----------------------------------------------------------------

const RX_CMD: Record<string, number> = Object.fromEntries(Object.entries(VIRTIO_NET_CTRL_RX).map(([k, v]) => [`VIRTIO_NET_CTRL_RX_${k}`, v]));

Given('the driver has turned {word} on', async function (this: CtsWorld, name: string) {
  const cmd = RX_CMD[name];
  if (cmd === undefined) throw new Error(`unknown RX command ${name}`);
  await needOk(this, `${name} 1`, VIRTIO_NET_CTRL.RX, cmd, new Uint8Array([1]));
});

When('the driver sends the control command {word} {int}', async function (this: CtsWorld, name: string, on: number) {
  const cmd = RX_CMD[name];
  if (cmd === undefined) throw new Error(`unknown RX command ${name}`);
  const r = await ctrlCommand(ctrl(this), VIRTIO_NET_CTRL.RX, cmd, new Uint8Array([on]), { timeoutMs: this.ms(WIRE_MS) });
  N(this).ack = r.ack;
});

Then('the control command ack is VIRTIO_NET_OK', function (this: CtsWorld) {
  const a = N(this).ack!;
  expect(this, a === VIRTIO_NET_OK, 'ack VIRTIO_NET_OK', `ack ${hex(a)}`);
});

/** A control command whose success the scenario needs: anything else is INCONCLUSIVE. */
async function needOk(w: CtsWorld, what: string, cls: number, cmd: number, data: Uint8Array | Uint8Array[]): Promise<void> {
  const r = await ctrlCommand(ctrl(w), cls, cmd, data, { timeoutMs: w.ms(WIRE_MS) });
  if (r.ack !== VIRTIO_NET_OK) inconclusive(`${what} was answered with ack ${hex(r.ack)}`);
}

Given('promiscuous mode is off', async function (this: CtsWorld) {
  await needOk(this, 'VIRTIO_NET_CTRL_RX_PROMISC 0', VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.PROMISC, new Uint8Array([0]));
});

Given('promiscuous mode is turned off and on again', async function (this: CtsWorld) {
  await needOk(this, 'VIRTIO_NET_CTRL_RX_PROMISC 0', VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.PROMISC, new Uint8Array([0]));
  await needOk(this, 'VIRTIO_NET_CTRL_RX_PROMISC 1', VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.PROMISC, new Uint8Array([1]));
});

Given('all-multicast receive is on', async function (this: CtsWorld) {
  await needOk(this, 'VIRTIO_NET_CTRL_RX_ALLMULTI 1', VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.ALLMULTI, new Uint8Array([1]));
});

const DEST: Record<string, () => Uint8Array> = {
  'the broadcast address': () => BROADCAST_MAC,
  'another unicast address': () => OTHER,
  'a multicast address not in the MAC table': () => MULTICAST,
  'the address in the MAC table': () => TABLE_MAC,
};

function dest(w: CtsWorld, what: string): Uint8Array {
  if (what === 'the device\'s MAC address') return N(w).cfg!.mac;
  const d = DEST[what];
  if (!d) throw new Error(`unknown destination '${what}'`);
  return d();
}

/** Inject one frame for `what` and say whether receiveq1 got it. */
async function deliveredTo(w: CtsWorld, what: string): Promise<boolean> {
  const s = N(w);
  if (s.rx[0]!.length === 0) s.rx[0]!.push(...await postRxBuffers(queues(w).rx[0]!, Array(8).fill(2048)));
  await inject(w, makeFrame({ dst: dest(w, what), src: PEER, len: 200, seed: s.injected.length }));
  const used = (await usedPerQueue(w)).flat();
  return used.length > 0;
}

When('the wire brings a frame for {}', async function (this: CtsWorld, what: string) {
  N(this).seen.delivered = await deliveredTo(this, what);
  N(this).seen.dest = what;
});

Then('the frame is received', function (this: CtsWorld) {
  const s = N(this);
  expect(this, s.seen.delivered === true, `the frame for ${String(s.seen.dest)} received`, 'no receive buffer used');
});

Then('the frame is not passed to the driver', function (this: CtsWorld) {
  const s = N(this);
  // The RX_EXTRA modes are SHOULD NOT send (5.1.9.5.1.1).
  expect(this, s.seen.delivered === false, `the frame for ${String(s.seen.dest)} dropped`, 'it was received', 'SHOULD');
});

Then('the frame is not received', function (this: CtsWorld) {
  const s = N(this);
  expect(this, s.seen.delivered === false, `the frame for ${String(s.seen.dest)} dropped`, 'it was received');
});

Given('a frame for {} is received', async function (this: CtsWorld, what: string) {
  if (!await deliveredTo(this, what)) inconclusive(`a frame for ${what} was not received: the scenario's premise does not hold`);
});

Given('a frame for {} is not received', async function (this: CtsWorld, what: string) {
  if (await deliveredTo(this, what)) inconclusive(`a frame for ${what} was received: the device does not filter by MAC, so the table cannot be observed`);
});

When('the driver sets the MAC table to the unicast address 02:00:5e:00:00:77', async function (this: CtsWorld) {
  await needOk(this, 'VIRTIO_NET_CTRL_MAC_TABLE_SET', VIRTIO_NET_CTRL.MAC, VIRTIO_NET_CTRL_MAC.TABLE_SET, [encodeMacTable([TABLE_MAC]), encodeMacTable([])]);
});

When('the driver resets and initializes the device again with {string}', async function (this: CtsWorld, names: string) {
  await init(this, names); // netReady resets first
});

When('the driver adds VLAN {int} to the filter table', async function (this: CtsWorld, vid: number) {
  await needOk(this, `VIRTIO_NET_CTRL_VLAN_ADD ${vid}`, VIRTIO_NET_CTRL.VLAN, VIRTIO_NET_CTRL_VLAN.ADD, new Uint8Array([vid & 0xff, vid >> 8]));
});

async function vlanDelivered(w: CtsWorld, vid: number): Promise<boolean> {
  const s = N(w);
  if (s.rx[0]!.length === 0) s.rx[0]!.push(...await postRxBuffers(queues(w).rx[0]!, Array(8).fill(2048)));
  await inject(w, vlanTag(makeFrame({ dst: s.cfg!.mac, src: PEER, len: 200, seed: s.injected.length }), vid));
  return (await usedPerQueue(w)).flat().length > 0;
}

When('the wire brings a frame of VLAN {int} for the device\'s MAC address', async function (this: CtsWorld, vid: number) {
  N(this).seen.delivered = await vlanDelivered(this, vid);
  N(this).seen.dest = `the device's MAC address on VLAN ${vid}`;
});

Given('a frame of VLAN {int} for the device\'s MAC address is received', async function (this: CtsWorld, vid: number) {
  if (!await vlanDelivered(this, vid)) inconclusive(`a frame of VLAN ${vid}, which is in the filter table, was not received: the scenario's premise does not hold`);
});

Then('the frame of a VLAN not in the table is dropped', function (this: CtsWorld) {
  const s = N(this);
  // The clause's second half: SHOULD drop.
  expect(this, s.seen.delivered === false, `the frame for ${String(s.seen.dest)} dropped`, 'it was received', 'SHOULD');
});

When('the device asks the driver to announce itself', async function (this: CtsWorld) {
  const wr = await wire(this);
  if (!wr.announce) inconclusive('this target cannot make the device announce');
  await wr.announce();
  const d = await drv(this);
  const deadline = performance.now() + this.ms(WIRE_MS);
  for (;;) {
    await settle(this);
    const status = await d.transport.readConfig(NET_CONFIG.status[0], 2);
    if (status & VIRTIO_NET_S_ANNOUNCE) break;
    if (performance.now() > deadline) inconclusive(`status ${hex(status)}: VIRTIO_NET_S_ANNOUNCE never set, nothing to acknowledge`);
    await new Promise((r) => setTimeout(r, 10));
  }
});

When('the driver sends VIRTIO_NET_CTRL_ANNOUNCE_ACK', async function (this: CtsWorld) {
  await needOk(this, 'VIRTIO_NET_CTRL_ANNOUNCE_ACK', VIRTIO_NET_CTRL.ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE.ACK, new Uint8Array(0));
});

Then('status does not have VIRTIO_NET_S_ANNOUNCE', async function (this: CtsWorld) {
  const status = await (await drv(this)).transport.readConfig(NET_CONFIG.status[0], 2);
  expect(this, (status & VIRTIO_NET_S_ANNOUNCE) === 0, 'VIRTIO_NET_S_ANNOUNCE clear once the ACK was used', `status ${hex(status)}`);
});

When('the driver sets the MAC address to 02:00:5e:00:00:42', async function (this: CtsWorld) {
  await needOk(this, 'VIRTIO_NET_CTRL_MAC_ADDR_SET', VIRTIO_NET_CTRL.MAC, VIRTIO_NET_CTRL_MAC.ADDR_SET, NEW_MAC);
});

Then('mac in the configuration reads 02:00:5e:00:00:42', async function (this: CtsWorld) {
  const mac = (await readNetConfig(await drv(this))).mac;
  expect(this, eq(mac, NEW_MAC), `mac ${formatMac(NEW_MAC)}`, `mac ${formatMac(mac)}`);
});

When('the driver sets VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET to {int}', async function (this: CtsWorld, n: number) {
  await needOk(this, `VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ${n}`, VIRTIO_NET_CTRL.MQ, VIRTIO_NET_CTRL_MQ.VQ_PAIRS_SET, new Uint8Array([n & 0xff, n >> 8]));
});

When('the wire brings {int} frames for the device\'s MAC address', async function (this: CtsWorld, n: number) {
  for (let i = 0; i < n; i++) await inject(this, makeFrame({ dst: N(this).cfg!.mac, src: parseMac(`02:00:5e:00:01:${(i + 16).toString(16)}`), len: 200, seed: i }));
  N(this).perQueue = (await usedPerQueue(this)).map((u) => u.length);
});

Then('all {int} frames arrive on receiveq1', function (this: CtsWorld, n: number) {
  const per = N(this).perQueue!;
  const total = per.reduce((a, b) => a + b, 0);
  if (total < n) inconclusive(`only ${total} of ${n} frames were received`);
  expect(this, per[0] === n, `${n} frames on receiveq1, none elsewhere`, per.map((c, i) => `receiveq${i + 1}: ${c}`).join(', '));
});

/**
 * A virtqueue a scenario names: receiveq1, transmitq1, controlq (after max_virtqueue_pairs
 * pairs with MQ or RSS), or 'beyond' (past controlq even with every pair max_virtqueue_pairs allows).
 */
export function netVqIndex(w: CtsWorld, name: string): number {
  const s = N(w);
  const mq = hasBit(s.accepted ?? 0n, VIRTIO_NET_F.MQ) || hasBit(s.accepted ?? 0n, VIRTIO_NET_F.RSS);
  const pairs = queues(w).maxPairs;
  if (name === 'receiveq1') return receiveq(1);
  if (name === 'transmitq1') return transmitq(1);
  if (name === 'controlq') return controlq(mq, pairs);
  if (name === 'beyond') return 2 * Math.max(s.cfg?.max_virtqueue_pairs ?? 1, pairs, 1) + 1;
  throw new Error(`unknown queue '${name}'`);
}

// For the other steps/net-*.steps.ts files: the same scenario state and helpers.
export { N as netState, queues as netQueues, ctrl as netCtrl, wire as netWire, inject as netInject, WIRE_MS as NET_WIRE_MS, PEER as NET_PEER };
