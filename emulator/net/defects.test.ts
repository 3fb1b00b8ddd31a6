// Each defect the net device takes, triggered, changes exactly the observable of its
// clause: a probe reads it through the suite's net driver helpers (driver/net.ts, no
// scenario code) on the defect-free device and on the defective one, on both transports;
// a control next to the trigger shows the defect stays dormant otherwise.
import { describe, expect, it } from 'vitest';
import { createReferenceTarget, type ReferenceTarget } from '../../adapters/reference/index.ts';
import { openDriver, type Driver } from '../../driver/index.ts';
import {
  ctrlCommand, ctrlCommandResult, netReady, postRxBuffers, readNetConfig, readRxPacket, sendFrame, takeUsed, type NetQueues, type RxBuffer,
} from '../../driver/net.ts';
import { VIRTIO_F, bit, missingPrerequisites } from '../../virtio/features.ts';
import {
  NET_CONFIG, NET_HDR_SIZE, VIRTIO_NET_CTRL, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_VLAN,
  VIRTIO_NET_F, BROADCAST_MAC, encodeMacTable, makeFrame, parseMac, vlanTag,
} from '../../virtio/net.ts';
import {
  VIRTIO_NET_CTRL_NOTF_COAL, VIRTIO_NET_CTRL_STATS, VIRTIO_NET_STATS_TYPE, decodeCoal, encodeCoal, encodeCoalVq, encodeStatsRequest, statsBit,
} from '../../virtio/net.ts';
import type { SplitRingDriver } from '../../virtio/split-ring-driver.ts';
import { DEFECTS } from '../defects.ts';
import { OFFLOAD_PROBES } from './offload-probes.ts';
import { transmitProbes } from '../transmit-probes.ts';
import {
  DEFAULT_RSS_KEY, VIRTIO_NET_CTRL_HASH_TUNNEL_SET, VIRTIO_NET_HASH_TUNNEL_TYPE, VIRTIO_NET_HASH_TYPE, encapsulate, encodeHashConfig, encodeRssConfig,
  makeFlowFrame, packetHash, packetHashTunnel, parseIp, type Flow,
} from '../../virtio/net-hash.ts';

type Transport = 'pci' | 'mmio';
interface Ctx { transport: Transport; defect?: string; ring?: 'split' | 'packed' }
const F = VIRTIO_NET_F;
const feats = (...n: number[]): bigint => n.reduce((f, x) => f | bit(x), bit(VIRTIO_F.VERSION_1));
const PEER = parseMac('02:00:5e:00:00:01');
const OTHER = parseMac('02:00:5e:00:00:99');
const X = parseMac('02:00:5e:00:00:77');
const MCAST = parseMac('01:00:5e:00:00:fb');
const CTRL: number[] = [F.MAC, F.CTRL_VQ, F.CTRL_RX];

async function target(c: Ctx): Promise<{ t: ReferenceTarget; d: Driver }> {
  const t = await createReferenceTarget({ device: 'net', transport: c.transport, defect: c.defect, timeoutScale: 0.05 });
  return { t, d: await openDriver(t, { ring: c.ring ?? 'split' }) };
}

async function up(c: Ctx, ...bits: number[]): Promise<{ t: ReferenceTarget; d: Driver; q: NetQueues; mac: Uint8Array }> {
  const { t, d } = await target(c);
  const { queues } = await netReady(d, { features: feats(...bits) });
  return { t, d, q: queues, mac: (await readNetConfig(d)).mac };
}

/** Post buffers, inject one frame, return the packet's header fields, buffer lens and whether the frame came back intact. */
async function receive(c: Ctx, bits: number[], sizes: number[], len: number, l4?: 'tcp4' | 'udp4' | 'tcp6') {
  const u = await up(c, F.MAC, ...bits);
  const bufs: RxBuffer[] = await postRxBuffers(u.q.rx[0]!, sizes);
  const f = makeFrame({ dst: u.mac, src: PEER, len, l4 });
  await u.t.wire!.inject(f);
  const used = await takeUsed(u.q.rx[0]!);
  const p = await readRxPacket(u.q.rx[0]!, bufs, used);
  return { hdr: p.hdr, lens: used.map((e) => e.len), intact: p.frame.length === f.length && p.frame.every((b, i) => b === f[i]) };
}

/** Transmit one frame, return what the wire carried (length and whether unchanged). */
async function transmit(c: Ctx, bits: number[], frame: (mac: Uint8Array) => Uint8Array, hdr = {}) {
  const u = await up(c, F.MAC, ...bits);
  const f = frame(u.mac);
  await sendFrame(u.q.tx[0]!, f, hdr);
  const sent = u.t.wire!.sent();
  return sent.map((s) => ({ len: s.length, same: s.length === f.length && s.every((b, i) => b === f[i]) }));
}

/** Frames for `dsts` after the control commands `cmds`: which came through on receiveq1. */
async function filtered(c: Ctx, cmds: Array<[number, number, Uint8Array | Uint8Array[]]>, dsts: Array<Uint8Array | 'own'>, bits: number[] = CTRL): Promise<boolean[]> {
  const u = await up(c, ...bits);
  for (const [cls, cmd, data] of cmds) expect((await ctrlCommand(u.q.ctrl!, cls, cmd, data)).ack).toBe(0);
  await postRxBuffers(u.q.rx[0]!, Array(8).fill(2048));
  const out: boolean[] = [];
  for (const dst of dsts) {
    await u.t.wire!.inject(makeFrame({ dst: dst === 'own' ? u.mac : dst, src: PEER, len: 200 }));
    out.push((await takeUsed(u.q.rx[0]!)).length > 0);
  }
  return out;
}

const PROMISC_OFF: [number, number, Uint8Array] = [VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.PROMISC, new Uint8Array([0])];
const rx = (cmd: number): [number, number, Uint8Array] => [VIRTIO_NET_CTRL.RX, cmd, new Uint8Array([1])];
const EXTRA = [...CTRL, F.CTRL_RX_EXTRA];

/** Frames per receiveq after `pairsSets` VQ_PAIRS_SET commands and 6 injected frames. */
async function steering(c: Ctx, pairsSets: number[]): Promise<number[]> {
  const u = await up(c, F.MAC, F.CTRL_VQ, F.MQ);
  for (const n of pairsSets) expect((await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.MQ, VIRTIO_NET_CTRL_MQ.VQ_PAIRS_SET, new Uint8Array([n, 0]))).ack).toBe(0);
  for (const vq of u.q.rx) await postRxBuffers(vq, Array(8).fill(2048));
  for (let i = 0; i < 6; i++) await u.t.wire!.inject(makeFrame({ dst: u.mac, src: PEER, len: 100, seed: i }));
  return Promise.all(u.q.rx.map(async (vq) => (await takeUsed(vq)).length));
}

/** With promiscuous mode off and VLANs `added`, which tagged frames for the own MAC come through. */
async function vlanFiltered(c: Ctx, added: number[], tried: number[]): Promise<boolean[]> {
  const u = await up(c, ...CTRL, F.CTRL_VLAN);
  expect((await ctrlCommand(u.q.ctrl!, ...PROMISC_OFF)).ack).toBe(0);
  for (const v of added) expect((await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.VLAN, VIRTIO_NET_CTRL_VLAN.ADD, new Uint8Array([v, 0]))).ack).toBe(0);
  await postRxBuffers(u.q.rx[0]!, Array(4).fill(2048));
  const out: boolean[] = [];
  for (const v of tried) {
    await u.t.wire!.inject(vlanTag(makeFrame({ dst: u.mac, src: PEER, len: 200 }), v));
    out.push((await takeUsed(u.q.rx[0]!)).length > 0);
  }
  return out;
}

/** RSS over both pairs (TCPv4 hashing, runs of 4 table entries per pair, unclassified on pair 1): the pair each frame lands on. */
const RSS_TABLE = Array.from({ length: 128 }, (_, i) => (i >> 2) % 2);
const RSS_FLOWS: Flow[] = Array.from({ length: 8 }, (_, i) => ({ proto: i < 6 ? 'tcp' : 'udp', src: parseIp(`198.51.100.${i + 1}`), dst: parseIp('192.0.2.1'), sport: 30000 + 101 * i, dport: 80 }));
const rssFrame = (mac: Uint8Array, flow: Flow): Uint8Array => makeFlowFrame({ dstMac: mac, srcMac: PEER, flow, len: 120 });
async function rssPairs(c: Ctx): Promise<number[]> {
  const u = await up(c, F.MAC, F.CTRL_VQ, F.MQ, F.RSS);
  const cfg = encodeRssConfig({ hash_types: VIRTIO_NET_HASH_TYPE.TCPv4, indirection_table_mask: 127, unclassified_queue: 1, indirection_table: RSS_TABLE, max_tx_vq: 2, hash_key: DEFAULT_RSS_KEY });
  expect((await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.MQ, VIRTIO_NET_CTRL_MQ.RSS_CONFIG, cfg)).ack).toBe(0);
  for (const vq of u.q.rx) await postRxBuffers(vq, Array(8).fill(2048));
  const out: number[] = [];
  for (const flow of RSS_FLOWS) {
    await u.t.wire!.inject(rssFrame(u.mac, flow));
    for (const [pair, vq] of u.q.rx.entries()) if ((await takeUsed(vq)).length) out.push(pair);
  }
  return out;
}
/** The pairs RSS must pick (or a defect picks), computed here from the hash. */
const rssExpected = (pick: (h: number | undefined) => number, swap = false): number[] => RSS_FLOWS.map((flow) => {
  const f = rssFrame(new Uint8Array(6), swap ? { ...flow, sport: flow.dport, dport: flow.sport } : flow);
  return pick(packetHash(f, VIRTIO_NET_HASH_TYPE.TCPv4, DEFAULT_RSS_KEY)?.value);
});
const RSS_GOOD = rssExpected((h) => (h === undefined ? 1 : RSS_TABLE[h & 127]!));

/** Inner header hash: hash_value of one tunnel packet after `setup` (HASH_CONFIG TCPv4|UDPv4 first, VXLAN enabled). */
const TUNNEL_TYPES = VIRTIO_NET_HASH_TYPE.TCPv4 | VIRTIO_NET_HASH_TYPE.UDPv4;
const tunnelFrame = (mac: Uint8Array, type: 'vxlan' | 'geneve'): Uint8Array => encapsulate({ dstMac: mac, srcMac: PEER, type,
  outer: { proto: 'udp', src: parseIp('203.0.113.7'), dst: parseIp('203.0.113.9'), sport: 49152, dport: 0 },
  inner: makeFlowFrame({ dstMac: X, srcMac: PEER, len: 120, flow: { proto: 'tcp', src: parseIp('10.1.1.1'), dst: parseIp('10.2.2.2'), sport: 1234, dport: 80 } }) });
const TUNNEL_BITS = [F.MAC, F.CTRL_VQ, F.HASH_REPORT, F.HASH_TUNNEL];
const le32 = (n: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n >>> 0, true); return b; };
async function tunnelHash(c: Ctx, type: 'vxlan' | 'geneve', after: 'zero' | 'reset' | undefined): Promise<number> {
  let u = await up(c, ...TUNNEL_BITS);
  const hashConfig = async () => expect((await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.MQ, VIRTIO_NET_CTRL_MQ.HASH_CONFIG, encodeHashConfig(TUNNEL_TYPES, DEFAULT_RSS_KEY))).ack).toBe(0);
  const tunnelSet = async (t: number) => expect((await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.HASH_TUNNEL, VIRTIO_NET_CTRL_HASH_TUNNEL_SET, le32(t))).ack).toBe(0);
  await hashConfig();
  await tunnelSet(VIRTIO_NET_HASH_TUNNEL_TYPE.VXLAN);
  if (after === 'zero') await tunnelSet(0);
  if (after === 'reset') {
    const { queues } = await netReady(u.d, { features: feats(...TUNNEL_BITS) });
    u = { ...u, q: queues };
    await hashConfig();
  }
  const [buf] = await postRxBuffers(u.q.rx[0]!, [2048]);
  await u.t.wire!.inject(tunnelFrame(u.mac, type));
  expect((await takeUsed(u.q.rx[0]!)).length).toBe(1);
  return new DataView((await u.d.mem.read(buf!.addr + 12, 4)).buffer).getUint32(0, true);
}
const tunnelExpected = (type: 'vxlan' | 'geneve', inner: boolean): number =>
  packetHashTunnel(tunnelFrame(new Uint8Array(6), type), TUNNEL_TYPES, DEFAULT_RSS_KEY, inner ? ~0 : 0)!.value;


/** VIRTIO_NET_CTRL_STATS_GET for `entries` with a `room`-byte result: ack, used len, result bytes. */
async function statsGet(c: Ctx, entries: Array<[number, keyof typeof VIRTIO_NET_STATS_TYPE]>, room = 256) {
  const u = await up(c, F.CTRL_VQ, F.DEVICE_STATS);
  const req = encodeStatsRequest(entries.map(([vq, t]) => ({ vq_index: vq, types: statsBit(VIRTIO_NET_STATS_TYPE[t]) })));
  const r = await ctrlCommandResult(u.q.ctrl!, VIRTIO_NET_CTRL.STATS, VIRTIO_NET_CTRL_STATS.GET, req, room);
  const v = new DataView(r.result.buffer, r.result.byteOffset);
  return { ack: r.ack, usedLen: r.usedLen, result: r.result, vq: v.getUint16(2, true), size: v.getUint16(6, true) };
}

/** One NOTF_COAL command (VQ_GET: the coal it answered) after `before` commands. */
async function coal(c: Ctx, cmd: number, data: Uint8Array, o: { before?: Array<[number, Uint8Array]>; resetBefore?: boolean } = {}) {
  const bits = [F.CTRL_VQ, F.NOTF_COAL, F.VQ_NOTF_COAL];
  let u = await up(c, ...bits);
  for (const [b, d] of o.before ?? []) expect((await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.NOTF_COAL, b, d)).ack).toBe(0);
  if (o.resetBefore) u = { ...u, q: (await netReady(u.d, { features: feats(...bits) })).queues };
  if (cmd === VIRTIO_NET_CTRL_NOTF_COAL.VQ_GET) {
    const r = await ctrlCommandResult(u.q.ctrl!, VIRTIO_NET_CTRL.NOTF_COAL, cmd, data, 8);
    return { ack: r.ack, coal: r.ack === 0 ? decodeCoal(r.result) : undefined };
  }
  return { ack: (await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.NOTF_COAL, cmd, data)).ack };
}
const BIG = { max_packets: 1_000_000, max_usecs: 10 }, SMALL = { max_packets: 16, max_usecs: 10 };

async function suppressedRx(c: Ctx, coalescing: boolean): Promise<number> {
  const u = await up(c, F.MAC, F.CTRL_VQ, F.VQ_NOTF_COAL);
  if (coalescing) expect((await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.NOTF_COAL, VIRTIO_NET_CTRL_NOTF_COAL.VQ_SET, encodeCoalVq(0, 0, { max_packets: 2, max_usecs: 1_000_000 }))).ack).toBe(0);
  await postRxBuffers(u.q.rx[0]!, [2048, 2048, 2048, 2048]);
  await (u.q.rx[0]! as SplitRingDriver).setAvailFlags(1); // VIRTQ_AVAIL_F_NO_INTERRUPT
  await u.d.transport.takeNotifications(0);
  for (let i = 0; i < 2; i++) await u.t.wire!.inject(makeFrame({ dst: u.mac, src: PEER, len: 200, seed: i }));
  return u.d.transport.takeNotifications(0);
}

interface Probe { probe: (c: Ctx) => Promise<unknown>; control?: (c: Ctx) => Promise<unknown>; good: unknown; bad: unknown; ring?: 'packed' }

const PROBES: Record<string, Probe> = {
  ...OFFLOAD_PROBES,
  'static-config-generation': {
    probe: async (c) => { const u = await up(c, F.STATUS); const g = await u.d.transport.configGeneration(); await u.t.wire!.setLink!(false); return (await u.d.transport.configGeneration()) !== g; },
    good: true, bad: false,
  },
  'mmio-static-config-generation': {
    probe: async (c) => { const u = await up(c, F.STATUS); const g = await u.d.transport.configGeneration(); await u.t.wire!.setLink!(false); return (await u.d.transport.configGeneration()) !== g; },
    good: true, bad: false,
  },
  'net-max-pairs-zero': { probe: async (c) => (await readNetConfig((await target(c)).d)).max_virtqueue_pairs, good: 2, bad: 0 },
  'net-mtu-out-of-range': { probe: async (c) => (await readNetConfig((await target(c)).d)).mtu, good: 4000, bad: 60 },
  'net-mtu-below-1280': { probe: async (c) => (await readNetConfig((await target(c)).d)).mtu, good: 4000, bad: 576 },
  'net-mtu-changes': {
    probe: async (c) => { const u = await up(c, F.MTU, F.STATUS); await u.t.wire!.setLink!(false); await u.t.wire!.setLink!(true); return (await readNetConfig(u.d)).mtu; },
    control: async (c) => { const u = await up(c, F.MTU, F.STATUS); return (await readNetConfig(u.d)).mtu; },
    good: 4000, bad: 6000,
  },
  'net-rx-exceeds-mtu': {
    probe: async (c) => { const u = await up(c, F.MAC, F.MTU); await postRxBuffers(u.q.rx[0]!, [5000, 5000]); await u.t.wire!.inject(makeFrame({ dst: u.mac, src: PEER, len: 4015 })); return (await takeUsed(u.q.rx[0]!)).length; },
    control: async (c) => { const u = await up(c, F.MAC); await postRxBuffers(u.q.rx[0]!, [5000, 5000]); await u.t.wire!.inject(makeFrame({ dst: u.mac, src: PEER, len: 4015 })); return (await takeUsed(u.q.rx[0]!)).length; },
    good: 0, bad: 1,
  },
  'net-tx-truncates-at-1514': {
    probe: (c) => transmit(c, [F.MTU], (mac) => makeFrame({ dst: OTHER, src: mac, len: 4014 })),
    control: (c) => transmit(c, [F.MTU], (mac) => makeFrame({ dst: OTHER, src: mac, len: 1514 })),
    good: [{ len: 4014, same: true }], bad: [{ len: 1514, same: false }],
  },
  'net-offers-mq-without-ctrl-vq': {
    probe: async (c) => missingPrerequisites('net', await (await target(c)).d.transport.readDeviceFeatures()).map((m) => m.feature),
    good: [], bad: ['VIRTIO_NET_F_CTRL_RX', 'VIRTIO_NET_F_CTRL_VLAN', 'VIRTIO_NET_F_GUEST_ANNOUNCE', 'VIRTIO_NET_F_MQ', 'VIRTIO_NET_F_CTRL_MAC_ADDR', 'VIRTIO_NET_F_RSS'],
  },
  'net-offers-rx-extra-without-ctrl-vq': {
    probe: async (c) => { const o = await (await target(c)).d.transport.readDeviceFeatures(); return [(o >> BigInt(F.CTRL_RX_EXTRA)) & 1n, (o >> BigInt(F.CTRL_VQ)) & 1n]; },
    good: [1n, 1n], bad: [1n, 0n],
  },
  'net-offers-hash-report-without-ctrl-vq': {
    probe: async (c) => { const o = await (await target(c)).d.transport.readDeviceFeatures(); return [(o >> BigInt(F.HASH_REPORT)) & 1n, (o >> BigInt(F.CTRL_VQ)) & 1n]; },
    good: [1n, 1n], bad: [1n, 0n],
  },
  'net-tx-drops-unknown-flags': {
    probe: (c) => transmit(c, [], (mac) => makeFrame({ dst: OTHER, src: mac, len: 300, l4: 'udp4' }), { flags: 0x80 }),
    control: (c) => transmit(c, [], (mac) => makeFrame({ dst: OTHER, src: mac, len: 300, l4: 'udp4' }), { flags: 0 }),
    good: [{ len: 300, same: true }], bad: [],
  },
  'net-tx-csum-without-needs-csum': {
    probe: (c) => transmit(c, [F.CSUM], (mac) => makeFrame({ dst: OTHER, src: mac, len: 300, l4: 'udp4' }), { csum_start: 34, csum_offset: 6 }),
    control: (c) => transmit(c, [F.CSUM], (mac) => makeFrame({ dst: OTHER, src: mac, len: 300, l4: 'udp4' })),
    good: [{ len: 300, same: true }], bad: [{ len: 300, same: false }],
  },
  'net-tx-drops-bad-checksum': {
    probe: (c) => transmit(c, [], (mac) => makeFrame({ dst: OTHER, src: mac, len: 300, l4: 'udp4', badIpChecksum: true })),
    control: (c) => transmit(c, [], (mac) => makeFrame({ dst: OTHER, src: mac, len: 300, l4: 'udp4' })),
    good: [{ len: 300, same: true }], bad: [],
  },
  'net-splits-without-mrg-rxbuf': {
    probe: async (c) => { const r = await receive(c, [], [2048, 2048], 1500); return [r.lens.length, r.hdr.num_buffers]; },
    control: async (c) => { const r = await receive(c, [], [2048, 2048], 900); return [r.lens.length, r.hdr.num_buffers]; },
    good: [1, 1], bad: [2, 2],
  },
  'net-num-buffers-zero': { probe: async (c) => (await receive(c, [], [2048], 1000)).hdr.num_buffers, good: 1, bad: 0 },
  'net-mrg-num-buffers-one': {
    probe: async (c) => (await receive(c, [F.MRG_RXBUF], Array(6).fill(512), 1500)).hdr.num_buffers,
    control: async (c) => (await receive(c, [F.MRG_RXBUF], Array(6).fill(512), 400)).hdr.num_buffers,
    good: 3, bad: 1,
  },
  'net-mrg-partial-fill': {
    probe: async (c) => (await receive(c, [F.MRG_RXBUF], Array(6).fill(512), 1500)).lens,
    good: [512, 512, 488], bad: [500, 500, 500, 12],
  },
  'net-rx-data-valid-without-guest-csum': { probe: async (c) => (await receive(c, [], [2048], 600, 'udp4')).hdr.flags, good: 0, bad: 2 },
  'net-rx-gso-from-frame': {
    probe: async (c) => (await receive(c, [], [2048], 1400, 'tcp4')).hdr.gso_type,
    control: async (c) => (await receive(c, [], [2048], 1400)).hdr.gso_type,
    good: 0, bad: 1,
  },
  'net-ctrl-rx-unsupported': {
    probe: async (c) => { const u = await up(c, ...CTRL); return (await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.ALLMULTI, new Uint8Array([1]))).ack; },
    control: async (c) => { const u = await up(c, ...CTRL); return (await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.MAC, VIRTIO_NET_CTRL_MAC.TABLE_SET, [encodeMacTable([]), encodeMacTable([])])).ack; },
    good: 0, bad: 1,
  },
  'net-promisc-ignored': {
    probe: (c) => filtered(c, [PROMISC_OFF, [VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.PROMISC, new Uint8Array([1])]], [OTHER]),
    good: [true], bad: [false],
  },
  'net-allmulti-ignored': {
    probe: (c) => filtered(c, [PROMISC_OFF, [VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.ALLMULTI, new Uint8Array([1])]], [MCAST]),
    good: [true], bad: [false],
  },
  'net-no-rx-filter': { probe: (c) => filtered(c, [PROMISC_OFF], ['own', OTHER]), good: [true, false], bad: [true, true] },
  'net-mac-table-late': {
    probe: (c) => filtered(c, [PROMISC_OFF, [VIRTIO_NET_CTRL.MAC, VIRTIO_NET_CTRL_MAC.TABLE_SET, [encodeMacTable([X]), encodeMacTable([])]]], [X]),
    good: [true], bad: [false],
  },
  'net-mac-table-kept-after-reset': {
    probe: async (c) => {
      const u = await up(c, ...CTRL);
      expect((await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.MAC, VIRTIO_NET_CTRL_MAC.TABLE_SET, [encodeMacTable([X]), encodeMacTable([])])).ack).toBe(0);
      const { queues } = await netReady(u.d, { features: feats(...CTRL) });
      expect((await ctrlCommand(queues.ctrl!, ...PROMISC_OFF)).ack).toBe(0);
      await postRxBuffers(queues.rx[0]!, [2048]);
      await u.t.wire!.inject(makeFrame({ dst: X, src: PEER, len: 200 }));
      return (await takeUsed(queues.rx[0]!)).length;
    },
    good: 0, bad: 1,
  },
  'net-mac-addr-config-stale': {
    probe: async (c) => {
      const u = await up(c, F.MAC, F.CTRL_VQ, F.CTRL_MAC_ADDR);
      expect((await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.MAC, VIRTIO_NET_CTRL_MAC.ADDR_SET, X)).ack).toBe(0);
      return [...(await readNetConfig(u.d)).mac];
    },
    good: [...X], bad: [0x52, 0x54, 0x00, 0xc7, 0x5a, 0x01],
  },
  'net-mq-spreads-at-start': { probe: (c) => steering(c, []), control: (c) => steering(c, [2, 1]), good: [6, 0], bad: [3, 3] },
  'net-mq-shrink-ignored': { probe: (c) => steering(c, [2, 1]), control: (c) => steering(c, []), good: [6, 0], bad: [3, 3] },
  'net-rx-stray-flag-bits': { probe: async (c) => (await receive(c, [], [2048], 600, 'udp4')).hdr.flags, good: 0, bad: 0x3c },
  'net-rx-gso-udp-l4-tunnel': {
    probe: async (c) => (await receive(c, [], [2048], 600, 'udp4')).hdr.gso_type,
    control: async (c) => (await receive(c, [], [2048], 600, 'tcp4')).hdr.gso_type,
    good: 0, bad: 0x25,
  },
  'net-drops-vlan-tagged': {
    probe: async (c) => {
      const u = await up(c, F.MAC);
      await postRxBuffers(u.q.rx[0]!, [2048]);
      const f = makeFrame({ dst: u.mac, src: PEER, len: 200 });
      const tagged = new Uint8Array([...f.subarray(0, 12), 0x81, 0x00, 0x00, 42, ...f.subarray(12)]);
      await u.t.wire!.inject(tagged);
      return (await takeUsed(u.q.rx[0]!)).length;
    },
    good: 1, bad: 0,
  },
  'net-tx-accepts-malformed-tunnel': {
    probe: async (c) => (await transmit(c, [], (mac) => makeFrame({ dst: OTHER, src: mac, len: 300, l4: 'udp4' }), { gso_type: 0x61, flags: 1, csum_start: 34, csum_offset: 6 })).length,
    control: async (c) => (await transmit(c, [], (mac) => makeFrame({ dst: OTHER, src: mac, len: 300, l4: 'udp4' }))).length,
    good: 0, bad: 1,
  },
  'net-vlan-add-ignored': {
    probe: (c) => vlanFiltered(c, [42], [42, 43]),
    good: [true, false], bad: [false, false],
  },
  'net-vlan-no-filter': {
    probe: (c) => vlanFiltered(c, [42], [42, 43]),
    good: [true, false], bad: [true, true],
  },
  'net-rx-data-valid-unvalidated': {
    probe: async (c) => (await receive(c, [F.GUEST_CSUM], [2048], 600, 'udp4')).hdr.flags,
    control: async (c) => (await receive(c, [], [2048], 600, 'udp4')).hdr.flags,
    good: 0, bad: 2,
  },
  'net-duplex-invalid': { probe: async (c) => (await readNetConfig((await up(c, F.SPEED_DUPLEX)).d)).duplex, good: 0, bad: 2 },
  'net-speed-out-of-range': { probe: async (c) => (await readNetConfig((await up(c, F.SPEED_DUPLEX)).d)).speed >>> 0, good: 10_000, bad: 0x80000000 },
  'net-rss-key-size-small': { probe: async (c) => (await target(c)).d.transport.readConfig(NET_CONFIG.rss_max_key_size[0], 1), good: 40, bad: 32 },
  'net-rss-table-length-small': { probe: async (c) => (await target(c)).d.transport.readConfig(NET_CONFIG.rss_max_indirection_table_length[0], 2), good: 128, bad: 64 },
  'net-rss-indirection-ignored': { probe: rssPairs, good: RSS_GOOD, bad: rssExpected((h) => (h === undefined ? 1 : (h & 127) % 2)) },
  'net-rss-unclassified-to-receiveq1': { probe: rssPairs, good: RSS_GOOD, bad: rssExpected((h) => (h === undefined ? 0 : RSS_TABLE[h & 127]!)) },
  'net-inner-hash-any-tunnel': { probe: (c) => tunnelHash(c, 'geneve', undefined), good: tunnelExpected('geneve', false), bad: tunnelExpected('geneve', true) },
  'net-inner-hash-zero-ignored': { probe: (c) => tunnelHash(c, 'vxlan', 'zero'), good: tunnelExpected('vxlan', false), bad: tunnelExpected('vxlan', true) },
  'net-inner-hash-kept-after-reset': { probe: (c) => tunnelHash(c, 'vxlan', 'reset'), good: tunnelExpected('vxlan', false), bad: tunnelExpected('vxlan', true) },
  'net-hash-tunnel-accepts-unsupported': {
    probe: async (c) => { const u = await up(c, ...TUNNEL_BITS); return (await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.HASH_TUNNEL, VIRTIO_NET_CTRL_HASH_TUNNEL_SET, le32(VIRTIO_NET_HASH_TUNNEL_TYPE.IPIP))).ack; },
    control: async (c) => { const u = await up(c, ...TUNNEL_BITS); return (await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.HASH_TUNNEL, VIRTIO_NET_CTRL_HASH_TUNNEL_SET, le32(VIRTIO_NET_HASH_TUNNEL_TYPE.GENEVE))).ack; },
    good: 1, bad: 0,
  },
  'net-rss-hash-ports-swapped': { probe: rssPairs, good: RSS_GOOD, bad: rssExpected((h) => (h === undefined ? 1 : RSS_TABLE[h & 127]!), true) },
  'net-speed-changes-link-up': {
    probe: async (c) => { const u = await up(c, F.SPEED_DUPLEX, F.STATUS); const a = (await readNetConfig(u.d)).speed; return (await readNetConfig(u.d)).speed !== a; },
    control: async (c) => { const u = await up(c, F.SPEED_DUPLEX, F.STATUS); await u.t.wire!.setLink!(false); const a = (await readNetConfig(u.d)).speed; return (await readNetConfig(u.d)).speed !== a; },
    good: false, bad: true,
  },
  'net-ctrl-rx-extra-unsupported': {
    probe: async (c) => { const u = await up(c, ...EXTRA); return (await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.NOBCAST, new Uint8Array([1]))).ack; },
    control: async (c) => { const u = await up(c, ...EXTRA); return (await ctrlCommand(u.q.ctrl!, VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.PROMISC, new Uint8Array([1]))).ack; },
    good: 0, bad: 1,
  },
  'net-alluni-ignored': { probe: (c) => filtered(c, [PROMISC_OFF, rx(VIRTIO_NET_CTRL_RX.ALLUNI)], [OTHER], EXTRA), good: [true], bad: [false] },
  'net-nomulti-ignored': {
    probe: (c) => filtered(c, [PROMISC_OFF, rx(VIRTIO_NET_CTRL_RX.ALLMULTI), rx(VIRTIO_NET_CTRL_RX.NOMULTI)], [MCAST], EXTRA), good: [false], bad: [true],
  },
  'net-nouni-ignored': { probe: (c) => filtered(c, [PROMISC_OFF, rx(VIRTIO_NET_CTRL_RX.NOUNI)], ['own'], EXTRA), good: [false], bad: [true] },
  'net-nobcast-ignored': { probe: (c) => filtered(c, [PROMISC_OFF, rx(VIRTIO_NET_CTRL_RX.NOBCAST)], [BROADCAST_MAC], EXTRA), good: [false], bad: [true] },
  'net-announce-not-cleared': {
    probe: async (c) => {
      const { t, d } = await target(c);
      const { queues } = await netReady(d, { features: feats(F.STATUS, F.CTRL_VQ, F.GUEST_ANNOUNCE) });
      await t.wire!.announce!();
      const before = (await readNetConfig(d)).status;
      expect((await ctrlCommand(queues.ctrl!, VIRTIO_NET_CTRL.ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE.ACK)).ack).toBe(0);
      return [before, (await readNetConfig(d)).status];
    },
    good: [3, 1], bad: [3, 3],
  },
  'net-mrg-buffers-used-apart': {
    // What the driver sees used right after the frame arrived: [elements, num_buffers].
    probe: async (c) => { const r = await receive(c, [F.MRG_RXBUF], Array(8).fill(256), 1500); return [r.lens.length, r.hdr.num_buffers]; },
    control: async (c) => { const r = await receive(c, [F.MRG_RXBUF], Array(8).fill(256), 200); return [r.lens.length, r.hdr.num_buffers]; },
    good: [6, 6], bad: [1, 6],
  },
  'net-stats-caps-incomplete': {
    probe: async (c) => {
      const u = await up(c, F.CTRL_VQ, F.DEVICE_STATS);
      const r = await ctrlCommandResult(u.q.ctrl!, VIRTIO_NET_CTRL.STATS, VIRTIO_NET_CTRL_STATS.QUERY, [], 8);
      return (new DataView(r.result.buffer, r.result.byteOffset).getBigUint64(0, true) >> 32n) & 1n;
    },
    good: 1n, bad: 0n,
  },
  'net-stats-get-unchecked': {
    probe: async (c) => (await statsGet(c, [[0, 'TX_BASIC']])).ack,
    control: async (c) => (await statsGet(c, [[0, 'RX_BASIC']])).ack,
    good: 1, bad: 0,
  },
  'net-stats-partial-get': {
    probe: async (c) => (await statsGet(c, [[0, 'RX_BASIC'], [0, 'TX_BASIC']])).ack,
    control: async (c) => (await statsGet(c, [[0, 'TX_BASIC']])).ack,
    good: 1, bad: 0,
  },
  'net-stats-size-without-hdr': { probe: async (c) => (await statsGet(c, [[0, 'RX_BASIC']])).size, good: 56, bad: 48 },
  'net-stats-reply-vq-index-zero': {
    probe: async (c) => (await statsGet(c, [[1, 'TX_BASIC']])).vq,
    control: async (c) => (await statsGet(c, [[0, 'RX_BASIC']])).vq,
    good: 1, bad: 0,
  },
  'net-stats-fills-result': {
    probe: async (c) => { const r = await statsGet(c, [[0, 'RX_BASIC']], 128); return [r.usedLen, r.result[56]]; },
    good: [57, 0xa5], bad: [129, 0],
  },
  'net-coal-reserved-rejected': {
    probe: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.VQ_SET, encodeCoalVq(0, 1, SMALL))).ack,
    control: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.VQ_SET, encodeCoalVq(0, 0, SMALL))).ack,
    good: 0, bad: 1,
  },
  'net-coal-set-clamps': {
    probe: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.RX_SET, encodeCoal(BIG))).ack,
    control: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.RX_SET, encodeCoal(SMALL))).ack,
    good: 1, bad: 0,
  },
  'net-coal-vq-set-clamps': {
    probe: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.VQ_SET, encodeCoalVq(0, 0, BIG))).ack,
    control: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.VQ_SET, encodeCoalVq(0, 0, SMALL))).ack,
    good: 1, bad: 0,
  },
  'net-coal-vq-any-index': {
    probe: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.VQ_GET, encodeCoalVq(2, 0))).ack,
    control: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.VQ_GET, encodeCoalVq(0, 0))).ack,
    good: 1, bad: 0,
  },
  'net-coal-kept-after-reset': {
    probe: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.VQ_GET, encodeCoalVq(0, 0), { before: [[VIRTIO_NET_CTRL_NOTF_COAL.VQ_SET, encodeCoalVq(0, 0, SMALL)]], resetBefore: true })).coal,
    control: async (c) => (await coal(c, VIRTIO_NET_CTRL_NOTF_COAL.VQ_GET, encodeCoalVq(0, 0))).coal,
    good: { max_packets: 0, max_usecs: 0 }, bad: SMALL,
  },
  'net-coal-notifies-suppressed': {
    // Notifications for receiveq1 while avail flags say NO_INTERRUPT, after 2 frames (with or without max_packets 2).
    probe: (c) => suppressedRx(c, true),
    control: (c) => suppressedRx(c, false),
    good: 0, bad: 1,
  },
  'packed-multi-buffer-first-early': {
    ring: 'packed',
    probe: async (c) => {
      const { t, d } = await target(c);
      const { queues } = await netReady(d, { features: feats(F.MAC, F.MRG_RXBUF) });
      const mac = (await readNetConfig(d)).mac;
      await postRxBuffers(queues.rx[0]!, Array(6).fill(512));
      const order: number[] = [];
      t.observeUsedWrites((step, pos) => { if (step === 'flags') order.push(pos.off); });
      await t.wire!.inject(makeFrame({ dst: mac, src: PEER, len: 1500 }));
      return order;
    },
    good: [1, 2, 0], bad: [0, 1, 2],
  },
};

// Device-independent defects (device core, ring, transports) on transmitq1: emulator/transmit-probes.ts.
for (const [name, p] of Object.entries(transmitProbes('net'))) PROBES[name] ??= p;

describe('net defect catalog', () => {
  it('has one probe per defect the net device takes', () => {
    expect(Object.keys(PROBES).sort()).toEqual(DEFECTS.filter((d) => d.devices.includes('net')).map((d) => d.name).sort());
  });
  it('NET_HDR_SIZE is the modern header (num_buffers included)', () => { expect(NET_HDR_SIZE).toBe(12); });
});

for (const info of DEFECTS.filter((d) => d.devices.includes('net'))) {
  const p = PROBES[info.name];
  if (!p) continue;
  for (const transport of info.transports ?? (['pci', 'mmio'] as const)) {
    describe(`${info.name} (net, ${transport})`, () => {
      const c: Ctx = { transport, ring: p.ring };
      it('probe: defect-free value', async () => { expect(await p.probe(c)).toEqual(p.good); });
      it('probe: the defect changes it', async () => { expect(await p.probe({ ...c, defect: info.name })).toEqual(p.bad); });
      if (p.control) {
        const control = p.control;
        it('control: dormant without the trigger', async () => {
          expect(await control({ ...c, defect: info.name })).toEqual(await control(c));
        });
      }
    });
  }
}
