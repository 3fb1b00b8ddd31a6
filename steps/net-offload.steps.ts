// Network device checksum and segmentation offloads (5.1.6.2, 5.1.6.4, 5.1.9.2.2,
// 5.1.9.4.1). Receive: the wire hands the device a frame with host offload metadata (a
// partial checksum, a TCP packet to segment; NetWire.injectOffloaded, a target without it
// is INCONCLUSIVE) and the driver judges what arrives. Transmit: the driver sends a TCP
// GSO packet and judges the segments on the wire. The scenario state is this file's own
// (net.steps.ts keeps its state private), so these scenarios use these steps throughout.
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive, notApplicable } from './support/assert.ts';
import { drv, expect, featureBits, hex, settle } from './common.steps.ts';
import type { NetWire } from '../adapters/types.ts';
import { netReady, postRxBuffers, readNetConfig, readRxPacket, sendFrame, takeUsed, type NetQueues, type RxBuffer, type RxPacket } from '../driver/net.ts';
import { DriverError } from '../driver/index.ts';
import { VIRTIO_F, bit, hasBit } from '../virtio/features.ts';
import {
  TCP_FLAG, VIRTIO_NET_F, VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO, completeChecksum, ipv4HeaderOk, l4ChecksumOk, l4Of, makeL4Frame, parseMac, pseudoHeaderSum, vxlanEncap, VXLAN_OVERHEAD,
  type WireOffload,
} from '../virtio/net.ts';

const PEER = parseMac('02:00:5e:00:00:01');
const OTHER = parseMac('02:00:5e:00:00:99');
/** How long a real target gets to use a transmit buffer (× timeout scale). */
const WIRE_MS = 1000;

interface OffloadState {
  queues?: NetQueues;
  accepted?: bigint;
  mac?: Uint8Array;
  bufs: RxBuffer[];
  /** The frame as the host handed it over (receive) or the driver sent it (transmit). */
  frame?: Uint8Array;
  offload?: WireOffload;
  packets?: RxPacket[];
  mss?: number;
}

const states = new WeakMap<CtsWorld, OffloadState>();
function O(w: CtsWorld): OffloadState {
  let s = states.get(w);
  if (!s) { s = { bufs: [] }; states.set(w, s); }
  return s;
}

function queues(w: CtsWorld): NetQueues {
  const q = O(w).queues;
  if (!q) throw new Error('the net device has not been initialized by this scenario');
  return q;
}

async function wire(w: CtsWorld): Promise<NetWire> {
  const t = await w.target();
  if (!t.wire) inconclusive('this target has no wire the suite can use');
  return t.wire;
}

const hdrText = (p: RxPacket): string =>
  `flags ${hex(p.hdr.flags)}, gso_type ${hex(p.hdr.gso_type)}, gso_size ${p.hdr.gso_size}, hdr_len ${p.hdr.hdr_len}, csum_start ${p.hdr.csum_start}, csum_offset ${p.hdr.csum_offset}`;
const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const u16 = (f: Uint8Array, at: number): number => (f[at]! << 8) | f[at + 1]!;

// ---- initialization -----------------------------------------------------------------------

Given('the net device is initialized for offloads with {string}', async function (this: CtsWorld, names: string) {
  const d = await drv(this);
  const want = featureBits(this, names) | bit(VIRTIO_F.VERSION_1);
  const offered = await d.transport.readDeviceFeatures();
  if ((offered & want) !== want) notApplicable(`the device does not offer all of ${names}`);
  try {
    const r = await netReady(d, { features: want });
    const s = O(this);
    s.queues = r.queues;
    s.accepted = r.init.accepted;
    s.mac = (await readNetConfig(d)).mac;
  } catch (e) {
    if (e instanceof DriverError) inconclusive(`initialization failed: ${e.message}`);
    throw e;
  }
});

Given('{int} receive buffers of {int} bytes are posted for offloaded packets', async function (this: CtsWorld, n: number, size: number) {
  O(this).bufs.push(...await postRxBuffers(queues(this).rx[0]!, Array(n).fill(size)));
});

// ---- receive: the host's offloads ---------------------------------------------------------

/** Hand the device a TCP/IPv4 frame with offload metadata, then read every packet receiveq1 got. */
async function bring(w: CtsWorld, o: { payload: number; partial: boolean; badIp?: boolean; cwr?: boolean; mss?: number; tunnel?: boolean }): Promise<void> {
  const s = O(w);
  const wr = await wire(w);
  if (!wr.injectOffloaded) inconclusive('this target\'s wire cannot hand the device host offload metadata (partial checksums, packets to segment)');
  const tcp = makeL4Frame({ dst: o.tunnel ? OTHER : s.mac!, src: PEER, l4: 'tcp4', payload: o.payload, partial: o.partial, badIpChecksum: o.badIp, cwr: o.cwr });
  const i = l4Of(tcp)!;
  // In a tunnel the checksum to complete is the inner TCP one, behind the outer headers.
  const frame = o.tunnel ? vxlanEncap(tcp, { dst: s.mac!, src: PEER }) : tcp;
  const csum = { start: (o.tunnel ? VXLAN_OVERHEAD : 0) + i.l4, offset: i.csumOffset };
  s.frame = frame;
  s.mss = o.mss;
  s.offload = o.mss ? { csum, gso: { type: VIRTIO_NET_HDR_GSO.TCPV4, size: o.mss, ecn: o.cwr, tunnel: o.tunnel } } : { csum };
  await wr.injectOffloaded(frame, s.offload);
  await settle(w);
  const vq = queues(w).rx[0]!;
  let used = await takeUsed(vq);
  const mergeable = hasBit(s.accepted ?? 0n, VIRTIO_NET_F.MRG_RXBUF);
  s.packets = [];
  while (used.length) {
    const p = await readRxPacket(vq, s.bufs, used, { mergeable });
    s.packets.push(p);
    used = used.slice(p.used.length);
  }
  // Offload fields can only be judged on whole packets: a cut or garbled one is another clause's failure.
  const broken = s.packets.findIndex((p) => l4Of(p.frame) === undefined);
  if (broken >= 0) {
    inconclusive(`packet ${broken + 1} of ${s.packets.length} (${s.packets[broken]!.frame.length} bytes after the header, ${hdrText(s.packets[broken]!)}) is no whole TCP/IPv4 datagram: its offload fields cannot be judged`);
  }
}

When('the wire brings an IPv4 TCP packet of {int} payload bytes whose checksum the host left partial', async function (this: CtsWorld, n: number) {
  await bring(this, { payload: n, partial: true });
});

When('the wire brings an IPv4 TCP packet of {int} payload bytes whose checksum the host left partial and whose IPv4 header checksum is wrong', async function (this: CtsWorld, n: number) {
  await bring(this, { payload: n, partial: true, badIp: true });
});

When('the wire brings an IPv4 TCP packet of {int} payload bytes for segmentation with MSS {int}', async function (this: CtsWorld, n: number, mss: number) {
  await bring(this, { payload: n, partial: true, mss });
});

When('the wire brings an IPv4 TCP packet of {int} payload bytes with CWR set for segmentation with MSS {int}', async function (this: CtsWorld, n: number, mss: number) {
  await bring(this, { payload: n, partial: true, mss, cwr: true });
});

When('the wire brings a UDP-tunnelled IPv4 TCP packet of {int} payload bytes for segmentation with MSS {int}', async function (this: CtsWorld, n: number, mss: number) {
  await bring(this, { payload: n, partial: true, mss, tunnel: true });
});

function packets(w: CtsWorld): RxPacket[] {
  const p = O(w).packets ?? [];
  if (p.length === 0) inconclusive('nothing was received from the wire');
  return p;
}

function withNeedsCsum(w: CtsWorld): RxPacket {
  const p = packets(w).find((x) => x.hdr.flags & VIRTIO_NET_HDR_F.NEEDS_CSUM);
  if (!p) inconclusive(`no packet arrived with VIRTIO_NET_HDR_F_NEEDS_CSUM (the device completed the checksum itself: ${hdrText(packets(w)[0]!)})`);
  return p;
}

function gsoPackets(w: CtsWorld): RxPacket[] {
  const g = packets(w).filter((x) => x.hdr.gso_type !== VIRTIO_NET_HDR_GSO.NONE);
  if (g.length === 0) inconclusive(`the device segmented the packet itself (${packets(w).length} packets with gso_type NONE): no GSO packet to judge`);
  return g;
}

Then('completing the checksum at csum_start and csum_offset of a packet with NEEDS_CSUM gives a right TCP checksum', function (this: CtsWorld) {
  const p = withNeedsCsum(this);
  const f = p.frame.slice();
  const inside = completeChecksum(f, p.hdr.csum_start, p.hdr.csum_offset);
  const i = l4Of(f);
  const ok = inside && i !== undefined && l4ChecksumOk(f) && ipv4HeaderOk(f);
  const tcp = i ? `TCP checksum field ${hex(u16(f, i.l4 + i.csumOffset))}` : 'no TCP/IPv4 headers left';
  expect(this, ok, 'the packet fully checksummed (TCP and IPv4 header checksums right) after the completion',
    inside ? `${hdrText(p)}: after the completion ${tcp}, TCP checksum ${i && l4ChecksumOk(f) ? 'right' : 'wrong'}, IPv4 header checksum ${ipv4HeaderOk(f) ? 'right' : 'wrong'}`
      : `${hdrText(p)}: csum_start + csum_offset + 2 beyond the ${f.length}-byte packet`);
});

Then('the TCP checksum field of a packet with NEEDS_CSUM holds the pseudo-header sum', function (this: CtsWorld) {
  const p = withNeedsCsum(this);
  const i = l4Of(p.frame);
  if (!i) inconclusive('the received packet has no TCP/IPv4 headers to read');
  const field = u16(p.frame, i.l4 + i.csumOffset);
  const want = pseudoHeaderSum(p.frame, i);
  // 0x0000 and 0xffff are the same ones' complement value.
  const ok = field === want || ((field | want) === 0xffff && (field & want) === 0);
  expect(this, ok, `TCP checksum field ${hex(want)} (the pseudo-header sum of the received packet)`, `${hex(field)} (${hdrText(p)})`);
});

Then('no packet arrives claiming VIRTIO_NET_HDR_F_NEEDS_CSUM', function (this: CtsWorld) {
  const got = O(this).packets ?? [];
  const bad = got.filter((x) => x.hdr.flags & VIRTIO_NET_HDR_F.NEEDS_CSUM);
  expect(this, bad.length === 0, 'NEEDS_CSUM clear (the IPv4 header checksum before the TCP checksum is wrong)',
    bad.length ? `${bad.length} packet(s) with NEEDS_CSUM: ${hdrText(bad[0]!)}` : 'ok');
});

Then('every packet delivered as GSO has VIRTIO_NET_HDR_F_NEEDS_CSUM and gso_size {int}', function (this: CtsWorld, mss: number) {
  const bad = gsoPackets(this).filter((p) => !(p.hdr.flags & VIRTIO_NET_HDR_F.NEEDS_CSUM) || p.hdr.gso_size !== mss);
  expect(this, bad.length === 0, `NEEDS_CSUM in flags and gso_size ${mss} (the MSS the host asked for)`, bad.length ? hdrText(bad[0]!) : 'ok');
});

Then('every packet delivered as GSO has VIRTIO_NET_HDR_GSO_ECN in gso_type', function (this: CtsWorld) {
  const bad = gsoPackets(this).filter((p) => !(p.hdr.gso_type & VIRTIO_NET_HDR_GSO.ECN));
  expect(this, bad.length === 0, `gso_type with VIRTIO_NET_HDR_GSO_ECN (${hex(VIRTIO_NET_HDR_GSO.ECN)}) for the packet with CWR set`, bad.length ? hdrText(bad[0]!) : 'ok');
});

Then('no packet is delivered as a TCP packet requiring segmentation', function (this: CtsWorld) {
  const cwr = (p: RxPacket): boolean => { const i = l4Of(p.frame)!; return (p.frame[i.l4 + 13]! & TCP_FLAG.CWR) !== 0; };
  const bad = packets(this).filter((p) => p.hdr.gso_type !== VIRTIO_NET_HDR_GSO.NONE && cwr(p));
  // The clause's first half: SHOULD NOT without GUEST_ECN.
  expect(this, bad.length === 0, 'gso_type VIRTIO_NET_HDR_GSO_NONE on every packet with CWR set (VIRTIO_NET_F_GUEST_ECN not negotiated)',
    bad.length ? `${bad.length} GSO packet(s) with CWR: ${hdrText(bad[0]!)}` : 'ok', 'SHOULD');
});

Then('no packet is delivered as a GSO packet', function (this: CtsWorld) {
  const bad = packets(this).filter((p) => p.hdr.gso_type !== VIRTIO_NET_HDR_GSO.NONE);
  expect(this, bad.length === 0, 'gso_type VIRTIO_NET_HDR_GSO_NONE on every packet (a UDP-tunnelled TCP packet, VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO not negotiated)',
    bad.length ? `${bad.length} GSO packet(s): ${hdrText(bad[0]!)}` : 'ok');
});

Then('every packet delivered as GSO has hdr_len covering its Ethernet, IP and TCP headers', function (this: CtsWorld) {
  const bad = gsoPackets(this).flatMap((p) => {
    const i = l4Of(p.frame);
    return i && p.hdr.hdr_len < i.payload ? [`hdr_len ${p.hdr.hdr_len} below the ${i.payload} header bytes (${hdrText(p)})`] : [];
  });
  expect(this, bad.length === 0, 'hdr_len not less than the header bytes before the TCP payload', bad[0] ?? 'ok');
});

Then('the packet arrives with flags 0 and fully checksummed', function (this: CtsWorld) {
  const p = packets(this);
  expect(this, p.every((x) => x.hdr.flags === 0), 'flags 0', p.map(hdrText).join('; '));
  const bad = p.filter((x) => !l4ChecksumOk(x.frame));
  const i = l4Of(p[0]!.frame);
  // The clause's second half: SHOULD supply a fully checksummed packet.
  expect(this, bad.length === 0, 'a right TCP checksum',
    `TCP checksum field ${i ? hex(u16(bad[0]?.frame ?? p[0]!.frame, i.l4 + i.csumOffset)) : '?'}, which does not check out`, 'SHOULD');
});

// ---- transmit: segmentation offload -------------------------------------------------------

When('the driver sends an IPv4 TCP packet of {int} payload bytes as VIRTIO_NET_HDR_GSO_TCPV4 with gso_size {int} and hdr_len {int}', async function (this: CtsWorld, n: number, mss: number, hdrLen: number) {
  const s = O(this);
  // What a driver hands over for TSO: the TCP checksum field holds the pseudo-header sum (NEEDS_CSUM).
  const f = makeL4Frame({ dst: OTHER, src: s.mac!, l4: 'tcp4', payload: n, partial: true });
  const i = l4Of(f)!;
  s.frame = f;
  s.mss = mss;
  await (await wire(this)).sent(); // nothing earlier counts
  await sendFrame(queues(this).tx[0]!, f, {
    flags: VIRTIO_NET_HDR_F.NEEDS_CSUM, gso_type: VIRTIO_NET_HDR_GSO.TCPV4, gso_size: mss, hdr_len: hdrLen, csum_start: i.l4, csum_offset: i.csumOffset,
  }, { timeoutMs: this.ms(WIRE_MS) });
});

/** What is wrong with the frames the wire carried for the sent TCP packet (undefined: nothing). */
function segmentationProblem(frames: Uint8Array[], sent: Uint8Array, mss: number): string | undefined {
  const si = l4Of(sent)!;
  const payload = sent.subarray(si.payload);
  const seq0 = new DataView(sent.buffer, sent.byteOffset).getUint32(si.l4 + 4, false);
  let off = 0;
  for (const [n, f] of frames.entries()) {
    const i = l4Of(f);
    if (!i || i.v6 || u16(f, i.l4) !== u16(sent, si.l4) || u16(f, i.l4 + 2) !== u16(sent, si.l4 + 2)) return `frame ${n} (${f.length} bytes) is not a segment of the TCP/IPv4 packet (headers do not parse or ports differ)`;
    if (!ipv4HeaderOk(f)) return `frame ${n}: IPv4 header checksum wrong`;
    if (!l4ChecksumOk(f)) return `frame ${n}: TCP checksum ${hex(u16(f, i.l4 + i.csumOffset))} wrong`;
    const data = f.subarray(i.payload, i.l4 + i.l4Len);
    const seq = new DataView(f.buffer, f.byteOffset).getUint32(i.l4 + 4, false);
    if (seq !== ((seq0 + off) >>> 0)) return `frame ${n}: sequence number ${seq}, expected ${(seq0 + off) >>> 0}`;
    if (frames.length > 1 && data.length > mss) return `frame ${n}: ${data.length} payload bytes, more than gso_size ${mss}`;
    if (!eq(data, payload.subarray(off, off + data.length))) return `frame ${n}: payload bytes ${off}..${off + data.length} differ from the packet's`;
    off += data.length;
  }
  return off === payload.length ? undefined : `${off} of ${payload.length} payload bytes on the wire`;
}

Then('the wire carries the TCP payload in segments of at most {int} bytes with right headers and checksums', async function (this: CtsWorld, mss: number) {
  const s = O(this);
  const wr = await wire(this);
  let frames = wr.sent();
  if (frames.length === 0) { await settle(this); frames = wr.sent(); }
  if (frames.length === 0) inconclusive('nothing on the wire: whether hdr_len was relied on cannot be told');
  const problem = segmentationProblem(frames, s.frame!, mss);
  expect(this, problem === undefined, `the ${s.frame!.length - l4Of(s.frame!)!.payload} payload bytes in order, every segment with right IPv4 and TCP checksums, whatever hdr_len said`,
    `${frames.length} frame(s) of ${frames.map((f) => f.length).join(', ')} bytes: ${problem}`);
});
