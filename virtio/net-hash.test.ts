// The Toeplitz hash against the published RSS verification vectors (Microsoft's "Verifying
// the RSS Hash Calculation", also the 82599 datasheet's RSS verification suite) for the
// default 40-byte key, and the hash type rules of 5.1.9.4.3 on real frames.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RSS_KEY, VIRTIO_NET_HASH_REPORT as R, VIRTIO_NET_HASH_TYPE as T, VIRTIO_NET_HASH_TYPE_ALL, decodeHashConfig, decodeRssConfig,
  encodeHashConfig, encodeRssConfig, hashInputOf, makeFlowFrame, packetHash, parseIp, toeplitz, type Flow,
  VIRTIO_NET_HASH_TUNNEL_TYPE as TT, encapsulate, encapsulationOf, packetHashTunnel,
} from './net-hash.ts';
import { parseMac } from './net.ts';

const be16 = (n: number): Uint8Array => new Uint8Array([n >> 8, n & 0xff]);
const cat = (...p: Uint8Array[]): Uint8Array => Uint8Array.from(p.flatMap((x) => [...x]));

// [destination, destination port, source, source port, hash over the addresses, hash with the ports]
const V4: Array<[string, number, string, number, number, number]> = [
  ['161.142.100.80', 1766, '66.9.149.187', 2794, 0x323e8fc2, 0x51ccc178],
  ['65.69.140.83', 4739, '199.92.111.2', 14230, 0xd718262a, 0xc626b0ea],
  ['12.22.207.184', 38024, '24.19.198.95', 12898, 0xd2d0a5de, 0x5c2b394a],
  ['209.142.163.6', 2217, '38.27.205.30', 48228, 0x82989176, 0xafc7327f],
  ['202.188.127.2', 1303, '153.39.163.191', 44251, 0x5d1809c5, 0x10e828a2],
];
const V6: Array<[string, number, string, number, number, number]> = [
  ['3ffe:2501:200:3::1', 1766, '3ffe:2501:200:1fff::7', 2794, 0x2cc18cd5, 0x40207d3d],
  ['ff02::1', 4739, '3ffe:501:8::260:97ff:fe40:efab', 14230, 0x0f0c461c, 0xdde51bbf],
  ['fe80::200:f8ff:fe21:67cf', 38024, '3ffe:1900:4545:3:200:f8ff:fe21:67cf', 44251, 0x4b61e985, 0x02d1feef],
];
const MAC_A = parseMac('52:54:00:c7:5a:01'), MAC_B = parseMac('02:00:5e:00:00:01');

describe('toeplitz: the RSS verification vectors (default key)', () => {
  for (const [dst, dport, src, sport, l3, l4] of [...V4, ...V6]) {
    it(`${src}:${sport} → ${dst}:${dport}`, () => {
      const addrs = cat(parseIp(src), parseIp(dst));
      expect(toeplitz(DEFAULT_RSS_KEY, addrs)).toBe(l3);
      expect(toeplitz(DEFAULT_RSS_KEY, cat(addrs, be16(sport), be16(dport)))).toBe(l4);
    });
  }
  it('an all-zero input hashes to 0; one set bit gives the key window at that bit', () => {
    expect(toeplitz(DEFAULT_RSS_KEY, new Uint8Array(12))).toBe(0);
    expect(toeplitz(DEFAULT_RSS_KEY, new Uint8Array([0x80]))).toBe(0x6d5a56da);
    expect(toeplitz(DEFAULT_RSS_KEY, new Uint8Array([0, 0x80]))).toBe(0x5a56da25);
  });
});

describe('hash types on frames (5.1.9.4.3)', () => {
  const [dst, dport, src, sport, l3, l4] = V4[0]!;
  const flow4 = (proto: 'tcp' | 'udp'): Flow => ({ proto, src: parseIp(src), dst: parseIp(dst), sport, dport });
  const frame4 = (proto: 'tcp' | 'udp') => makeFlowFrame({ dstMac: MAC_A, srcMac: MAC_B, flow: flow4(proto), len: 200 });

  it('IPv4 TCP: TCPv4 over addresses and ports, else IPv4 over the addresses, else none', () => {
    expect(packetHash(frame4('tcp'), T.TCPv4 | T.IPv4, DEFAULT_RSS_KEY)).toEqual({ value: l4, report: R.TCPv4 });
    expect(packetHash(frame4('tcp'), T.UDPv4 | T.IPv4, DEFAULT_RSS_KEY)).toEqual({ value: l3, report: R.IPv4 });
    expect(packetHash(frame4('tcp'), T.UDPv4 | T.IPv6 | T.TCPv6, DEFAULT_RSS_KEY)).toBeUndefined();
  });
  it('IPv4 UDP: UDPv4 over addresses and ports (the same bytes as TCP)', () => {
    expect(packetHash(frame4('udp'), T.UDPv4, DEFAULT_RSS_KEY)).toEqual({ value: l4, report: R.UDPv4 });
    expect(packetHash(frame4('udp'), T.TCPv4, DEFAULT_RSS_KEY)).toBeUndefined();
  });
  it('an IPv4 fragment has no ports to hash', () => {
    const f = frame4('tcp');
    f[14 + 6] = 0x20; // MF
    expect(packetHash(f, T.TCPv4 | T.IPv4, DEFAULT_RSS_KEY)).toEqual({ value: l3, report: R.IPv4 });
  });
  it('IPv6 TCP/UDP without extension headers', () => {
    const [d6, dp6, s6, sp6, h3, h4] = V6[0]!;
    const f = (proto: 'tcp' | 'udp') => makeFlowFrame({ dstMac: MAC_A, srcMac: MAC_B, len: 200, flow: { v6: true, proto, src: parseIp(s6), dst: parseIp(d6), sport: sp6, dport: dp6 } });
    expect(packetHash(f('tcp'), T.TCPv6, DEFAULT_RSS_KEY)).toEqual({ value: h4, report: R.TCPv6 });
    expect(packetHash(f('udp'), T.UDPv6 | T.IPv6, DEFAULT_RSS_KEY)).toEqual({ value: h4, report: R.UDPv6 });
    expect(packetHash(f('udp'), T.TCPv6 | T.IPv6, DEFAULT_RSS_KEY)).toEqual({ value: h3, report: R.IPv6 });
    expect(packetHash(f('tcp'), T.IPv4 | T.TCPv4, DEFAULT_RSS_KEY)).toBeUndefined();
  });
  it('IPv6 with a destination options header: the home address stands in for the source with the _EX types', () => {
    const [d6, dp6, s6, sp6, , h4] = V6[0]!;
    const home = parseIp(s6);
    const plain = makeFlowFrame({ dstMac: MAC_A, srcMac: MAC_B, len: 200, flow: { v6: true, proto: 'tcp', src: parseIp('2001:db8::99'), dst: parseIp(d6), sport: sp6, dport: dp6 } });
    // Insert a 24-byte destination options header (home address option 0xc9, 16 bytes, after 4 pad bytes).
    const dopt = new Uint8Array(24);
    dopt[0] = 6; dopt[1] = 2; dopt[2] = 1; dopt[3] = 2; // next TCP, (2+1)*8 bytes, PadN of 2
    dopt[6] = 0xc9; dopt[7] = 16; dopt.set(home, 8);
    const f = cat(plain.subarray(0, 54), dopt, plain.subarray(54));
    f[14 + 6] = 60;
    expect(packetHash(f, T.TCP_EX, DEFAULT_RSS_KEY)).toEqual({ value: h4, report: R.TCPv6_EX });
    // Without the _EX types the real source address counts (as a packet without extension headers).
    const viaSrc = hashInputOf(f, T.TCPv6)!;
    expect(viaSrc.report).toBe(R.TCPv6);
    expect([...viaSrc.input.subarray(0, 16)]).toEqual([...parseIp('2001:db8::99')]);
  });
  it('a frame that is not IP is never hashed', () => {
    const f = new Uint8Array(100);
    f[12] = 0x88; f[13] = 0xb5;
    expect(packetHash(f, VIRTIO_NET_HASH_TYPE_ALL, DEFAULT_RSS_KEY)).toBeUndefined();
  });
});

describe('RSS and hash config commands', () => {
  it('virtio_net_rss_config round-trips; its layout is le32, le16, le16, table, le16, u8, key', () => {
    const c = { hash_types: T.TCPv4, indirection_table_mask: 3, unclassified_queue: 1, indirection_table: [0, 1, 1, 0], max_tx_vq: 2, hash_key: DEFAULT_RSS_KEY };
    const b = encodeRssConfig(c);
    expect(b.length).toBe(8 + 8 + 3 + 40);
    expect([...b.subarray(0, 18)]).toEqual([2, 0, 0, 0, 3, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 2, 0]);
    expect(b[18]).toBe(40);
    expect(decodeRssConfig(b)).toEqual(c);
    expect(decodeRssConfig(b.subarray(0, b.length - 1))).toBeUndefined();
  });
  it('virtio_net_hash_config round-trips', () => {
    const b = encodeHashConfig(T.UDPv6, DEFAULT_RSS_KEY);
    expect(b.length).toBe(53);
    expect(decodeHashConfig(b)).toEqual({ hash_types: T.UDPv6, hash_key: DEFAULT_RSS_KEY });
  });
});

describe('inner header hash (5.1.9.4.4)', () => {
  const [dst, dport, src, sport, , l4] = V4[0]!;
  const inner = makeFlowFrame({ dstMac: MAC_B, srcMac: MAC_A, len: 120, flow: { proto: 'tcp', src: parseIp(src), dst: parseIp(dst), sport, dport } });
  const outer: Flow = { proto: 'udp', src: parseIp('10.0.0.1'), dst: parseIp('10.0.0.2'), sport: 5555, dport: 0 };
  const types = T.TCPv4 | T.UDPv4;
  for (const type of ['vxlan', 'geneve'] as const) {
    it(`${type}: recognised, inner frame found; inner hash only when its type is enabled`, () => {
      const f = encapsulate({ dstMac: MAC_A, srcMac: MAC_B, outer, type, inner });
      const e = encapsulationOf(f)!;
      expect(e.type).toBe(type === 'vxlan' ? TT.VXLAN : TT.GENEVE);
      expect([...e.inner]).toEqual([...inner]);
      const outerHash = toeplitz(DEFAULT_RSS_KEY, cat(parseIp('10.0.0.1'), parseIp('10.0.0.2'), be16(5555), be16(type === 'vxlan' ? 4789 : 6081)));
      expect(packetHashTunnel(f, types, DEFAULT_RSS_KEY, e.type)).toEqual({ value: l4, report: R.TCPv4 });
      expect(packetHashTunnel(f, types, DEFAULT_RSS_KEY, 0)).toEqual({ value: outerHash, report: R.UDPv4 });
      expect(packetHashTunnel(f, types, DEFAULT_RSS_KEY, TT.IPIP | (e.type === TT.VXLAN ? TT.GENEVE : TT.VXLAN))).toEqual({ value: outerHash, report: R.UDPv4 });
    });
  }
  it('a plain UDP packet is no encapsulation', () => {
    expect(encapsulationOf(makeFlowFrame({ dstMac: MAC_A, srcMac: MAC_B, len: 200, flow: { ...outer, dport: 53 } }))).toBeUndefined();
  });
});
