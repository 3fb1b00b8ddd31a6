// Probes of the offload defects for emulator/net/defects.test.ts: each reads, through the
// suite's net driver helpers and the reference wire, the one value its defect changes,
// and a control next to the trigger shows the defect dormant otherwise.
import { createReferenceTarget } from '../../adapters/reference/index.ts';
import { openDriver } from '../../driver/index.ts';
import { netReady, postRxBuffers, readNetConfig, readRxPacket, sendFrame, takeUsed, type RxPacket } from '../../driver/net.ts';
import { VIRTIO_F, bit } from '../../virtio/features.ts';
import {
  VIRTIO_NET_F, VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO, l4ChecksumOk, l4Of, makeL4Frame, parseMac, pseudoHeaderSum, vxlanEncap, VXLAN_OVERHEAD, type WireOffload,
} from '../../virtio/net.ts';

export interface OffloadProbeCtx { transport: 'pci' | 'mmio'; defect?: string; ring?: 'split' | 'packed' }
export interface OffloadProbe { probe: (c: OffloadProbeCtx) => Promise<unknown>; control?: (c: OffloadProbeCtx) => Promise<unknown>; good: unknown; bad: unknown }

const F = VIRTIO_NET_F;
const PEER = parseMac('02:00:5e:00:00:01');
const OTHER = parseMac('02:00:5e:00:00:99');
const CSUM = [F.MAC, F.GUEST_CSUM];
const TSO = [...CSUM, F.GUEST_TSO4];

async function up(c: OffloadProbeCtx, bits: number[]) {
  const t = await createReferenceTarget({ device: 'net', transport: c.transport, defect: c.defect, timeoutScale: 0.05 });
  const d = await openDriver(t, { ring: c.ring ?? 'split' });
  const { queues } = await netReady(d, { features: bits.reduce((f, x) => f | bit(x), bit(VIRTIO_F.VERSION_1)) });
  return { t, q: queues, mac: (await readNetConfig(d)).mac };
}

/** A TCP/IPv4 frame handed over with a partial checksum (and `mss`: to segment); the packets receiveq1 got. */
async function offloaded(c: OffloadProbeCtx, bits: number[], o: { badIp?: boolean; mss?: number; cwr?: boolean; tunnel?: boolean } = {}): Promise<RxPacket[]> {
  const u = await up(c, bits);
  const bufs = await postRxBuffers(u.q.rx[0]!, Array(4).fill(65562));
  const tcp = makeL4Frame({ dst: u.mac, src: PEER, l4: 'tcp4', payload: o.mss ? 4000 : 1000, partial: true, badIpChecksum: o.badIp, cwr: o.cwr });
  const i = l4Of(tcp)!;
  const f = o.tunnel ? vxlanEncap(tcp, { dst: u.mac, src: PEER }) : tcp;
  const start = (o.tunnel ? VXLAN_OVERHEAD : 0) + i.l4;
  const off: WireOffload = { csum: { start, offset: i.csumOffset }, ...(o.mss ? { gso: { type: VIRTIO_NET_HDR_GSO.TCPV4, size: o.mss, ecn: o.cwr, tunnel: o.tunnel } } : {}) };
  await u.t.wire!.injectOffloaded!(f, off);
  let used = await takeUsed(u.q.rx[0]!);
  const out: RxPacket[] = [];
  while (used.length) {
    const p = await readRxPacket(u.q.rx[0]!, bufs, used, { mergeable: false });
    out.push(p);
    used = used.slice(p.used.length);
  }
  return out;
}

const first = async (p: Promise<RxPacket[]>): Promise<RxPacket> => (await p)[0]!;
const fieldIsPseudo = (p: RxPacket): boolean => {
  const i = l4Of(p.frame)!;
  return ((p.frame[i.l4 + 16]! << 8) | p.frame[i.l4 + 17]!) === pseudoHeaderSum(p.frame, i);
};

/** A TCP GSO packet of 3000 payload bytes (gso_size 1000) with `hdrLen`: are all wire frames checksummed right? */
async function txGso(c: OffloadProbeCtx, hdrLen: number): Promise<boolean> {
  const u = await up(c, [F.MAC, F.CSUM, F.HOST_TSO4]);
  const f = makeL4Frame({ dst: OTHER, src: u.mac, l4: 'tcp4', payload: 3000, partial: true });
  await sendFrame(u.q.tx[0]!, f, { flags: VIRTIO_NET_HDR_F.NEEDS_CSUM, gso_type: VIRTIO_NET_HDR_GSO.TCPV4, gso_size: 1000, hdr_len: hdrLen, csum_start: 34, csum_offset: 16 });
  const sent = u.t.wire!.sent();
  return sent.length === 3 && sent.every(l4ChecksumOk);
}

export const OFFLOAD_PROBES: Record<string, OffloadProbe> = {
  'net-rx-needs-csum-unvalidated': {
    probe: async (c) => (await first(offloaded(c, CSUM, { badIp: true }))).hdr.flags,
    control: async (c) => (await first(offloaded(c, CSUM))).hdr.flags,
    good: 0, bad: VIRTIO_NET_HDR_F.NEEDS_CSUM,
  },
  'net-rx-csum-field-zeroed': {
    probe: async (c) => fieldIsPseudo(await first(offloaded(c, CSUM))),
    control: async (c) => l4ChecksumOk((await first(offloaded(c, [F.MAC]))).frame),
    good: true, bad: false,
  },
  'net-rx-csum-offset-wrong': {
    probe: async (c) => (await first(offloaded(c, CSUM))).hdr.csum_offset,
    control: async (c) => (await first(offloaded(c, [F.MAC]))).hdr.csum_offset,
    good: 16, bad: 6,
  },
  'net-rx-gso-without-needs-csum': {
    probe: async (c) => (await first(offloaded(c, TSO, { mss: 1400 }))).hdr.flags,
    control: async (c) => (await first(offloaded(c, TSO))).hdr.flags,
    good: VIRTIO_NET_HDR_F.NEEDS_CSUM, bad: 0,
  },
  'net-rx-gso-ecn-ignored': {
    probe: async (c) => (await offloaded(c, [...TSO, F.GUEST_ECN], { mss: 1400, cwr: true })).map((p) => p.hdr.gso_type),
    control: async (c) => (await offloaded(c, [...TSO, F.GUEST_ECN], { mss: 1400 })).map((p) => p.hdr.gso_type),
    good: [VIRTIO_NET_HDR_GSO.TCPV4 | VIRTIO_NET_HDR_GSO.ECN], bad: [VIRTIO_NET_HDR_GSO.TCPV4],
  },
  'net-rx-gso-hdr-len-zero': {
    probe: async (c) => (await first(offloaded(c, TSO, { mss: 1400 }))).hdr.hdr_len,
    control: async (c) => (await offloaded(c, CSUM, { mss: 1400 })).map((p) => p.hdr.hdr_len),
    good: 54, bad: 0,
  },
  'net-tx-gso-trusts-hdr-len': {
    probe: (c) => txGso(c, 34),
    control: (c) => txGso(c, 54),
    good: true, bad: false,
  },
  'net-rx-tunnel-gso-as-tcp': {
    probe: async (c) => (await offloaded(c, TSO, { mss: 1400, tunnel: true })).map((p) => p.hdr.gso_type),
    control: async (c) => (await offloaded(c, TSO, { mss: 1400 })).map((p) => p.hdr.gso_type),
    good: [0, 0, 0], bad: [VIRTIO_NET_HDR_GSO.TCPV4],
  },
  'net-rx-partial-csum-not-completed': {
    probe: async (c) => l4ChecksumOk((await first(offloaded(c, [F.MAC]))).frame),
    control: async (c) => (await first(offloaded(c, CSUM))).hdr.flags,
    good: true, bad: false,
  },
};
