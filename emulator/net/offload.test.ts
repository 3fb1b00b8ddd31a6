// Checksum helpers (virtio/net.ts) against checksums computed by hand, and the reference
// device's offload decisions (offload.ts) on frames built from them.
import { describe, expect, it } from 'vitest';
import {
  VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO, VXLAN_OVERHEAD, completeChecksum, vxlanEncap, ipv4HeaderOk, l4ChecksumOk, l4Of, makeL4Frame, onesSum, parseMac, pseudoHeaderSum,
  type NetHdr,
} from '../../virtio/net.ts';
import { Defects } from '../defects.ts';
import { receiveOffload, segmentTcp, segmentTunnel, transmitOffload } from './offload.ts';

const hexBytes = (s: string): Uint8Array => new Uint8Array(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
const u16 = (f: Uint8Array, at: number): number => (f[at]! << 8) | f[at + 1]!;

/**
 * Ethernet + IPv4 192.0.2.1 → 192.0.2.2 (header checksum by hand: 4500+001e+4000+4011+c000+0201+c000+0202 = 0x24932,
 * folded 0x4934, so 0xb6cb) + UDP 0x3039 → 0x0050,
 * length 10, payload "hi". By hand: pseudo header c000+0201+c000+0202+0011+000a = 0x1841e,
 * folded 0x841f; UDP words 3039+0050+000a+6869 with the field 0 give 0x1d1c with the
 * pseudo header, so the checksum is ~0x1d1c = 0xe2e3.
 */
const UDP_HI = hexBytes(`
  020000000002 020000000001 0800
  4500 001e 0000 4000 4011 b6cb c0000201 c0000202
  3039 0050 000a 0000 6869`);

describe('checksum helpers (virtio/net.ts)', () => {
  it('sums the textbook IPv4 header to 0xffff (its checksum 0xb861 is right)', () => {
    const h = hexBytes('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
    expect(onesSum(h)).toBe(0xffff);
    h[11] ^= 1;
    expect(onesSum(h)).not.toBe(0xffff);
  });

  it('pads an odd trailing byte with zero and folds carries', () => {
    expect(onesSum(hexBytes('ff ff 01'))).toBe(0x0100);
    expect(onesSum(hexBytes('ffff ffff 0002'))).toBe(0x0002);
  });

  it('finds the headers and the pseudo-header sum of a hand-made UDP/IPv4 frame', () => {
    expect(ipv4HeaderOk(UDP_HI)).toBe(true);
    const i = l4Of(UDP_HI)!;
    expect(i).toMatchObject({ v6: false, proto: 17, l4: 34, payload: 42, l4Len: 10, csumOffset: 6 });
    expect(pseudoHeaderSum(UDP_HI, i)).toBe(0x841f);
  });

  it('completes a partial checksum (pseudo-header sum in the field) to the hand-computed 0xe2e3', () => {
    const f = UDP_HI.slice();
    f[40] = 0x84; f[41] = 0x1f;
    expect(l4ChecksumOk(f)).toBe(false);
    expect(completeChecksum(f, 34, 6)).toBe(true);
    expect(u16(f, 40)).toBe(0xe2e3);
    expect(l4ChecksumOk(f)).toBe(true);
    expect(completeChecksum(f, 34, 200)).toBe(false);
  });

  it('IPv6 pseudo header: 2001:db8::1 → 2001:db8::2, 20 TCP bytes sum to 0x5b8f by hand', () => {
    const f = makeL4Frame({ dst: parseMac('02:00:00:00:00:02'), src: parseMac('02:00:00:00:00:01'), l4: 'tcp6', payload: 0 });
    f.set(hexBytes('20010db8000000000000000000000001 20010db8000000000000000000000002'), 14 + 8);
    expect(pseudoHeaderSum(f, l4Of(f)!)).toBe(0x5b8f);
  });

  it('builds frames whose checksums check out, or are partial on request', () => {
    for (const l4 of ['tcp4', 'udp4', 'tcp6', 'udp6'] as const) {
      const o = { dst: parseMac('02:00:00:00:00:02'), src: parseMac('02:00:00:00:00:01'), l4, payload: 333 };
      expect(l4ChecksumOk(makeL4Frame(o))).toBe(true);
      const p = makeL4Frame({ ...o, partial: true });
      const i = l4Of(p)!;
      expect(u16(p, i.l4 + i.csumOffset)).toBe(pseudoHeaderSum(p, i));
      expect(ipv4HeaderOk(makeL4Frame({ ...o, badIpChecksum: true }))).toBe(l4.endsWith('6'));
    }
  });
});

const D = Defects.none();
const MAC = { dst: parseMac('02:00:00:00:00:02'), src: parseMac('02:00:00:00:00:01') };
const ALL = { guestCsum: true, tso4: true, tso6: true, ecn: true };

describe('reference offloads (offload.ts)', () => {
  it('cuts a TCP packet into checksummed segments that carry its payload in order', () => {
    const f = makeL4Frame({ ...MAC, l4: 'tcp4', payload: 2500, partial: true, cwr: true, seq: 0xfffffc00 });
    const segs = segmentTcp(f, 1000);
    expect(segs.map((s) => s.length)).toEqual([1054, 1054, 554]);
    expect(segs.every((s) => l4ChecksumOk(s) && ipv4HeaderOk(s))).toBe(true);
    expect(segs.map((s) => new DataView(s.buffer).getUint32(38, false))).toEqual([0xfffffc00, 0xfffffc00 + 1000, (0xfffffc00 + 2000) >>> 0]);
    expect(segs.map((s) => s[47]! & 0x80)).toEqual([0x80, 0, 0]); // CWR on the first only
    expect(segs.map((s) => s[47]! & 0x08)).toEqual([0, 0, 0x08]); // PSH on the last only
    const joined = segs.flatMap((s) => [...s.subarray(54)]);
    expect(joined).toEqual([...f.subarray(54)]);
  });

  it('segments the TCP packet inside a VXLAN tunnel behind fixed outer headers', () => {
    const inner = makeL4Frame({ ...MAC, l4: 'tcp4', payload: 2500, partial: true });
    const f = vxlanEncap(inner, MAC);
    expect(l4Of(f)).toMatchObject({ proto: 17, l4: 34, l4Len: 16 + inner.length });
    const segs = segmentTunnel(f, 1000);
    expect(segs.map((s) => s.length)).toEqual([VXLAN_OVERHEAD + 1054, VXLAN_OVERHEAD + 1054, VXLAN_OVERHEAD + 554]);
    for (const s of segs) {
      expect(ipv4HeaderOk(s)).toBe(true);
      expect(u16(s, 16)).toBe(s.length - 14); // outer IPv4 total length
      expect(u16(s, 38)).toBe(s.length - 34); // outer UDP length
      expect(l4ChecksumOk(s.subarray(VXLAN_OVERHEAD))).toBe(true);
    }
    expect(segs.flatMap((s) => [...s.subarray(VXLAN_OVERHEAD + 54)])).toEqual([...inner.subarray(54)]);
    // Without GUEST_UDP_TUNNEL_GSO (never offered) it is segmented even with GUEST_TSO4.
    const gso = { type: VIRTIO_NET_HDR_GSO.TCPV4, size: 1000, tunnel: true };
    expect(receiveOffload(f, { gso }, ALL, D).map((p) => p.hdr)).toEqual([{}, {}, {}]);
  });

  it('receive: passes a partial checksum on with NEEDS_CSUM only with GUEST_CSUM and a right IPv4 header', () => {
    const f = makeL4Frame({ ...MAC, l4: 'tcp4', payload: 100, partial: true });
    const csum = { start: 34, offset: 16 };
    expect(receiveOffload(f, { csum }, ALL, D)[0]!.hdr).toEqual({ flags: VIRTIO_NET_HDR_F.NEEDS_CSUM, csum_start: 34, csum_offset: 16 });
    const plain = receiveOffload(f, { csum }, { ...ALL, guestCsum: false }, D)[0]!;
    expect(plain.hdr).toEqual({});
    expect(l4ChecksumOk(plain.frame)).toBe(true);
    const bad = makeL4Frame({ ...MAC, l4: 'tcp4', payload: 100, partial: true, badIpChecksum: true });
    expect(receiveOffload(bad, { csum }, ALL, D)[0]!.hdr).toEqual({});
  });

  it('receive: a GSO packet goes whole with GUEST_TSO4, segmented without it or (CWR) without GUEST_ECN', () => {
    const f = makeL4Frame({ ...MAC, l4: 'tcp4', payload: 3000, partial: true, cwr: true });
    const gso = { type: VIRTIO_NET_HDR_GSO.TCPV4, size: 1400, ecn: true };
    const whole = receiveOffload(f, { gso }, ALL, D);
    expect(whole.length).toBe(1);
    expect(whole[0]!.hdr).toMatchObject({ flags: VIRTIO_NET_HDR_F.NEEDS_CSUM, gso_type: 0x81, gso_size: 1400, hdr_len: 54, csum_start: 34, csum_offset: 16 });
    expect(receiveOffload(f, { gso }, { ...ALL, ecn: false }, D).length).toBe(3);
    expect(receiveOffload(f, { gso }, { ...ALL, tso4: false }, D).every((p) => l4ChecksumOk(p.frame))).toBe(true);
  });

  it('transmit: segments a TCPV4 GSO packet with HOST_TSO4, whatever hdr_len says', () => {
    const f = makeL4Frame({ ...MAC, l4: 'tcp4', payload: 3000, partial: true });
    const hdr: NetHdr = { flags: 1, gso_type: VIRTIO_NET_HDR_GSO.TCPV4, hdr_len: 34, gso_size: 1000, csum_start: 34, csum_offset: 16, num_buffers: 0 };
    const out = transmitOffload(f, hdr, { tso4: true, tso6: false }, D);
    expect(out.length).toBe(3);
    expect(out.every(l4ChecksumOk)).toBe(true);
    expect(transmitOffload(f, hdr, { tso4: false, tso6: false }, D)).toEqual([f]);
  });
});
