// Checksum and segmentation offloads of the reference network device (5.1.6.2, 5.1.6.4,
// 5.1.9.2.2, 5.1.9.4.1). Receive: what the device makes of a frame its host backend hands
// over with offload metadata (virtio/net.ts WireOffload, as a tap's vnet header would):
//   - a partial checksum: passed on with NEEDS_CSUM when GUEST_CSUM is negotiated and the
//     checksums before it (the IPv4 header's) are right and the metadata names the
//     transport checksum; otherwise completed here and delivered with flags 0;
//   - a TCP packet to segment: passed on as one GSO packet (NEEDS_CSUM, gso_type, gso_size,
//     hdr_len) when GUEST_TSO4/TSO6 (and GUEST_ECN for a CWR packet) are negotiated;
//     otherwise segmented here into fully checksummed packets of at most gso_size bytes —
//     not dropped, because a host stack whose peer cannot take GSO segments it (Linux tap
//     with the offload turned off), so the data still reaches the driver;
//   - a TCP packet to segment inside a UDP tunnel (VXLAN): always segmented here, inner TCP
//     and outer IPv4/UDP lengths fixed per segment, since GUEST_UDP_TUNNEL_GSO is not offered.
// Transmit: with HOST_TSO4/TSO6 a TCPV4/TCPV6 packet is segmented onto the wire; the
// header sizes come from the packet itself, never from hdr_len (GUEST_HDRLEN is not offered).
import {
  ETH_HLEN, IPPROTO_TCP, IPPROTO_UDP, TCP_FLAG, VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO, completeChecksum, ipv4HeaderChecksum, ipv4HeaderOk, l4Of,
  pseudoHeaderSum, type NetHdr, type WireOffload,
} from '../../virtio/net.ts';
import type { Defects } from '../defects.ts';

/** One packet for the driver and the virtio_net_hdr fields the offload gives it. */
export interface RxOffloaded { frame: Uint8Array; hdr: Partial<NetHdr> }

/** Negotiated receive offloads. */
export interface RxOffloadFeatures { guestCsum: boolean; tso4: boolean; tso6: boolean; ecn: boolean }

/** Negotiated transmit segmentation offloads. */
export interface TxOffloadFeatures { tso4: boolean; tso6: boolean }

const GSO_BASE = ~(VIRTIO_NET_HDR_GSO.ECN | VIRTIO_NET_HDR_GSO.UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO.UDP_TUNNEL_IPV6) & 0xff;

/** The packets a frame with host offload metadata becomes on the receive path. */
export function receiveOffload(frame: Uint8Array, off: WireOffload, f: RxOffloadFeatures, defects: Defects): RxOffloaded[] {
  const i = l4Of(frame);
  const gso = off.gso;
  if (gso?.tunnel && i?.proto === IPPROTO_UDP) {
    // The defect passes it on as plain TCP GSO (no tunnel bits: GUEST_UDP_TUNNEL_GSO is not offered).
    if (defects.on('net-rx-tunnel-gso-as-tcp') && f.guestCsum && (gso.type === VIRTIO_NET_HDR_GSO.TCPV6 ? f.tso6 : f.tso4)) {
      const inner = l4Of(frame.subarray(i.payload + VXLAN_HLEN));
      const hdr = { flags: VIRTIO_NET_HDR_F.NEEDS_CSUM, gso_type: gso.type, gso_size: gso.size, hdr_len: i.payload + VXLAN_HLEN + (inner?.payload ?? 0) };
      return [{ frame: frame.slice(), hdr: inner ? { ...hdr, csum_start: i.payload + VXLAN_HLEN + inner.l4, csum_offset: inner.csumOffset } : hdr }];
    }
    return segmentTunnel(frame, gso.size).map((s) => ({ frame: s, hdr: {} }));
  }
  if (gso && i?.proto === IPPROTO_TCP && (gso.type === VIRTIO_NET_HDR_GSO.TCPV4 || gso.type === VIRTIO_NET_HDR_GSO.TCPV6)) {
    const negotiated = gso.type === VIRTIO_NET_HDR_GSO.TCPV6 ? f.tso6 : f.tso4;
    // Without GUEST_ECN a CWR packet is not passed as GSO (5.1.9.4.1 SHOULD NOT); the defect ignores the CWR.
    const ecnIgnored = defects.on('net-rx-gso-ecn-ignored');
    const ecnOk = !gso.ecn || f.ecn || ecnIgnored;
    if (negotiated && f.guestCsum && ecnOk && ipv4HeaderOk(frame)) {
      const out = frame.slice();
      const hdr = needsCsum(out, i.l4, i.csumOffset, defects);
      if (defects.on('net-rx-gso-without-needs-csum')) hdr.flags = 0;
      hdr.gso_type = gso.type | (gso.ecn && !ecnIgnored ? VIRTIO_NET_HDR_GSO.ECN : 0);
      hdr.gso_size = gso.size;
      // Ethernet, IP and TCP headers: what precedes the payload.
      hdr.hdr_len = defects.on('net-rx-gso-hdr-len-zero') ? 0 : i.payload;
      return [{ frame: out, hdr }];
    }
    return segmentTcp(frame, gso.size).map((s) => ({ frame: s, hdr: {} }));
  }
  const c = off.csum;
  if (!c) return [{ frame, hdr: {} }];
  const out = frame.slice();
  // Passed on only when it is the transport checksum and the IPv4 header checksum before it is right.
  const valid = i !== undefined && c.start === i.l4 && c.offset === i.csumOffset && (ipv4HeaderOk(frame) || defects.on('net-rx-needs-csum-unvalidated'));
  if (f.guestCsum && valid) return [{ frame: out, hdr: needsCsum(out, i.l4, i.csumOffset, defects) }];
  // Flags 0: a fully checksummed packet (5.1.9.4.1), unless the defect leaves it partial.
  if (f.guestCsum || !defects.on('net-rx-partial-csum-not-completed')) completeChecksum(out, c.start, c.offset);
  return [{ frame: out, hdr: {} }];
}

/** NEEDS_CSUM on `f` (modified): the checksum field holds the pseudo-header sum, csum_start/offset name it. */
function needsCsum(f: Uint8Array, l4: number, csumOffset: number, defects: Defects): Partial<NetHdr> & { flags: number } {
  const i = l4Of(f)!;
  const field = defects.on('net-rx-csum-field-zeroed') ? 0 : pseudoHeaderSum(f, i);
  f[l4 + csumOffset] = field >> 8; f[l4 + csumOffset + 1] = field & 0xff;
  // The defect reports UDP's checksum offset whatever the protocol.
  return { flags: VIRTIO_NET_HDR_F.NEEDS_CSUM, csum_start: l4, csum_offset: defects.on('net-rx-csum-offset-wrong') ? 6 : csumOffset };
}

/** The virtio_net_hdr of a received packet: the plain header's, with an offload's fields over it. */
export function withOffload<T extends { flags: number; gso_type: number }>(h: T, o: Partial<NetHdr> | undefined): T & Partial<NetHdr> {
  if (!o) return h;
  return { ...h, ...o, flags: h.flags | (o.flags ?? 0), gso_type: o.gso_type || h.gso_type };
}

/**
 * What a transmitted packet becomes on the wire: a TCPV4/TCPV6 GSO packet is segmented
 * when HOST_TSO4/TSO6 is negotiated; anything else goes as it is.
 */
export function transmitOffload(frame: Uint8Array, hdr: NetHdr, f: TxOffloadFeatures, defects: Defects): Uint8Array[] {
  const base = hdr.gso_type & GSO_BASE;
  const on = (base === VIRTIO_NET_HDR_GSO.TCPV4 && f.tso4) || (base === VIRTIO_NET_HDR_GSO.TCPV6 && f.tso6);
  if (!on || hdr.gso_size === 0) return [frame];
  // hdr_len is only a hint (5.1.9.2.2): the defect takes it as the header size.
  return segmentTcp(frame, hdr.gso_size, defects.on('net-tx-gso-trusts-hdr-len') ? hdr.hdr_len : undefined);
}

/**
 * Cut a TCP packet into segments of at most `mss` payload bytes, each with its own IP
 * length (and IPv4 id and header checksum), sequence number and a complete TCP checksum;
 * CWR stays on the first segment, FIN and PSH on the last. `hdrLen` overrides the header
 * size taken from the packet (only the tx defect passes it). A packet that is not TCP, or
 * fits, comes back as it is.
 */
export function segmentTcp(frame: Uint8Array, mss: number, hdrLen?: number): Uint8Array[] {
  const i = l4Of(frame);
  if (!i || i.proto !== IPPROTO_TCP || mss <= 0) return [frame];
  const h = Math.min(hdrLen ?? i.payload, frame.length);
  const end = i.l4 + i.l4Len;
  if (end - h <= mss) {
    // Fits: one segment, still with a complete checksum (the host's may be partial).
    const one = frame.slice();
    fixSegment(one, new DataView(one.buffer).getUint32(i.l4 + 4, false), i.v6 ? 0 : new DataView(one.buffer).getUint16(i.l3 + 4, false), true, true);
    return [one];
  }
  const out: Uint8Array[] = [];
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.length);
  const seq0 = dv.getUint32(i.l4 + 4, false);
  const id0 = i.v6 ? 0 : dv.getUint16(i.l3 + 4, false);
  for (let off = h, n = 0; off < end; off += mss, n++) {
    const chunk = frame.subarray(off, Math.min(off + mss, end));
    const s = new Uint8Array(h + chunk.length);
    s.set(frame.subarray(0, h), 0);
    s.set(chunk, h);
    fixSegment(s, seq0 + (off - h), id0 + n, n === 0, off + mss >= end);
    out.push(s);
  }
  return out;
}

/** IP length, id and checksum, TCP sequence number, flags and checksum of one segment. */
function fixSegment(s: Uint8Array, seq: number, id: number, first: boolean, last: boolean): void {
  const v = new DataView(s.buffer, s.byteOffset, s.length);
  const l3 = ETH_HLEN;
  const v6 = (s[l3]! >> 4) === 6;
  if (v6) v.setUint16(l3 + 4, s.length - l3 - 40, false);
  else {
    v.setUint16(l3 + 2, s.length - l3, false);
    v.setUint16(l3 + 4, id & 0xffff, false);
    v.setUint16(l3 + 10, 0, false);
    v.setUint16(l3 + 10, ipv4HeaderChecksum(s.subarray(l3, l3 + (s[l3]! & 0xf) * 4)), false);
  }
  const i = l4Of(s);
  if (!i || i.proto !== IPPROTO_TCP) return; // headers cut short (only under the tx defect): left as they are
  v.setUint32(i.l4 + 4, seq >>> 0, false);
  let flags = s[i.l4 + 13]!;
  if (!first) flags &= ~TCP_FLAG.CWR;
  if (!last) flags &= ~(TCP_FLAG.FIN | TCP_FLAG.PSH);
  s[i.l4 + 13] = flags;
  v.setUint16(i.l4 + i.csumOffset, pseudoHeaderSum(s, i), false);
  completeChecksum(s, i.l4, i.csumOffset);
}

/** VXLAN header after the outer UDP header. */
const VXLAN_HLEN = 8;

/**
 * Segment the TCP packet inside a UDP tunnel (outer Ethernet/IPv4/UDP, VXLAN, inner
 * frame): the inner frame as segmentTcp does, each behind a copy of the outer headers with
 * the outer IPv4 length, id and checksum and the UDP length fixed (outer UDP checksum 0).
 */
export function segmentTunnel(frame: Uint8Array, mss: number): Uint8Array[] {
  const o = l4Of(frame);
  if (!o || o.proto !== IPPROTO_UDP || o.v6) return [frame];
  const innerAt = o.payload + VXLAN_HLEN;
  const v0 = new DataView(frame.buffer, frame.byteOffset, frame.length);
  const id0 = v0.getUint16(o.l3 + 4, false);
  return segmentTcp(frame.subarray(innerAt, o.l4 + o.l4Len), mss).map((seg, n) => {
    const s = new Uint8Array(innerAt + seg.length);
    s.set(frame.subarray(0, innerAt), 0);
    s.set(seg, innerAt);
    const v = new DataView(s.buffer);
    v.setUint16(o.l3 + 2, s.length - o.l3, false);
    v.setUint16(o.l3 + 4, (id0 + n) & 0xffff, false);
    v.setUint16(o.l3 + 10, 0, false);
    v.setUint16(o.l3 + 10, ipv4HeaderChecksum(s.subarray(o.l3, o.l4)), false);
    v.setUint16(o.l4 + 4, s.length - o.l4, false);
    v.setUint16(o.l4 + 6, 0, false);
    return s;
  });
}
