// Network device hash calculation (spec 5.1.9.4.3) and RSS wire formats (5.1.9.5.6.4,
// 5.1.9.5.7): the Toeplitz hash, which packet fields feed it for each hash type, the
// hash report values, the header fields HASH_REPORT adds, and the RSS/hash config
// commands. Shared by the reference device and the suite, which computes the expected
// hash and queue itself.
import { ETH_HLEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_TCP, IPPROTO_UDP, NET_HDR_SIZE } from './net.ts';

/** Hash types (5.1.9.4.3.1): bits of supported_hash_types / hash_types. */
export const VIRTIO_NET_HASH_TYPE = {
  IPv4: 1 << 0, TCPv4: 1 << 1, UDPv4: 1 << 2, IPv6: 1 << 3, TCPv6: 1 << 4, UDPv6: 1 << 5,
  IP_EX: 1 << 6, TCP_EX: 1 << 7, UDP_EX: 1 << 8,
} as const;
export const VIRTIO_NET_HASH_TYPE_ALL = 0x1ff;

/** hash_report values (5.1.9.4.4); type bit = 1 << (report - 1). */
export const VIRTIO_NET_HASH_REPORT = {
  NONE: 0, IPv4: 1, TCPv4: 2, UDPv4: 3, IPv6: 4, TCPv6: 5, UDPv6: 6, IPv6_EX: 7, TCPv6_EX: 8, UDPv6_EX: 9,
} as const;

/** Configuration minimums (5.1.4.1). */
export const RSS_MAX_KEY_SIZE_MIN = 40;
export const RSS_MAX_INDIRECTION_TABLE_LENGTH_MIN = 128;

/** With HASH_REPORT the header grows by le32 hash_value, le16 hash_report, le16 padding_reserved. */
export const NET_HDR_HASH_SIZE = NET_HDR_SIZE + 8;
export const NET_HDR_HASH = { hash_value: 12, hash_report: 16, padding_reserved: 18 } as const;

export interface HashFields { hash_value: number; hash_report: number; padding_reserved: number }

export function encodeHashFields(h: HashFields): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, h.hash_value >>> 0, true);
  v.setUint16(4, h.hash_report, true);
  v.setUint16(6, h.padding_reserved, true);
  return b;
}

/** The HASH_REPORT fields of a received header (at least NET_HDR_HASH_SIZE bytes). */
export function decodeHashFields(hdr: Uint8Array): HashFields {
  if (hdr.length < NET_HDR_HASH_SIZE) throw new Error(`the hash report header needs ${NET_HDR_HASH_SIZE} bytes, got ${hdr.length}`);
  const v = new DataView(hdr.buffer, hdr.byteOffset, NET_HDR_HASH_SIZE);
  return {
    hash_value: v.getUint32(NET_HDR_HASH.hash_value, true), hash_report: v.getUint16(NET_HDR_HASH.hash_report, true),
    padding_reserved: v.getUint16(NET_HDR_HASH.padding_reserved, true),
  };
}

// --- Toeplitz ---------------------------------------------------------------------------

/** The well-known 40-byte RSS key (Microsoft's verification suite; many NICs' default). */
export const DEFAULT_RSS_KEY = new Uint8Array([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

/**
 * Toeplitz hash of `input` under `key`: for every input bit set (most significant first),
 * XOR in the 32 key bits starting at that bit's position. Key bits past the end read 0.
 */
export function toeplitz(key: Uint8Array, input: Uint8Array): number {
  const keyBit = (i: number): number => (i >> 3 < key.length ? (key[i >> 3]! >> (7 - (i & 7))) & 1 : 0);
  let window = 0;
  for (let i = 0; i < 32; i++) window = ((window << 1) | keyBit(i)) >>> 0;
  let hash = 0;
  for (let i = 0; i < input.length * 8; i++) {
    if ((input[i >> 3]! >> (7 - (i & 7))) & 1) hash = (hash ^ window) >>> 0;
    window = ((window << 1) | keyBit(i + 32)) >>> 0;
  }
  return hash;
}

// --- which fields feed the hash (5.1.9.4.3.2-4) --------------------------------------------

export interface HashInput { report: number; input: Uint8Array }

const IPV6_HOP_BY_HOP = 0, IPV6_ROUTING = 43, IPV6_FRAGMENT = 44, IPV6_DEST_OPTS = 60;
const HOME_ADDRESS_OPTION = 0xc9;

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
};

/** Ethertype and offset of the network header, past one 802.1Q tag. */
function l3Of(f: Uint8Array): { type: number; off: number } | undefined {
  if (f.length < ETH_HLEN) return undefined;
  let type = (f[12]! << 8) | f[13]!;
  let off = ETH_HLEN;
  if (type === 0x8100 && f.length >= ETH_HLEN + 4) { type = (f[16]! << 8) | f[17]!; off += 4; }
  return { type, off };
}

/**
 * The report type and the bytes the hash runs over for a frame under the enabled hash
 * types `types`, or undefined when the device does not calculate a hash for it.
 */
export function hashInputOf(frame: Uint8Array, types: number): HashInput | undefined {
  const l3 = l3Of(frame);
  if (!l3) return undefined;
  const T = VIRTIO_NET_HASH_TYPE, R = VIRTIO_NET_HASH_REPORT;
  if (l3.type === ETHERTYPE_IPV4) {
    const o = l3.off;
    if (frame.length < o + 20 || frame[o]! >> 4 !== 4) return undefined;
    const ihl = (frame[o]! & 0xf) * 4;
    const addrs = frame.subarray(o + 12, o + 20);
    // A fragment (MF set or a fragment offset) has no transport header to read.
    const frag = (((frame[o + 6]! << 8) | frame[o + 7]!) & 0x3fff) !== 0;
    const ports = !frag && frame.length >= o + ihl + 4 ? frame.subarray(o + ihl, o + ihl + 4) : undefined;
    const proto = frame[o + 9]!;
    if (types & T.TCPv4 && proto === IPPROTO_TCP && ports) return { report: R.TCPv4, input: cat(addrs, ports) };
    if (types & T.UDPv4 && proto === IPPROTO_UDP && ports) return { report: R.UDPv4, input: cat(addrs, ports) };
    if (types & T.IPv4) return { report: R.IPv4, input: addrs.slice() };
    return undefined;
  }
  if (l3.type !== ETHERTYPE_IPV6) return undefined;
  const o = l3.off;
  if (frame.length < o + 40 || frame[o]! >> 4 !== 6) return undefined;
  let src = frame.subarray(o + 8, o + 24), dst = frame.subarray(o + 24, o + 40);
  // Walk the extension headers: the home address option and a type 2 routing header stand in for the addresses.
  let next = frame[o + 6]!, off = o + 40, ext = false, frag = false;
  let home: Uint8Array | undefined, rt2: Uint8Array | undefined;
  while (next === IPV6_HOP_BY_HOP || next === IPV6_ROUTING || next === IPV6_FRAGMENT || next === IPV6_DEST_OPTS) {
    if (frame.length < off + 8) return undefined;
    ext = true;
    const len = next === IPV6_FRAGMENT ? 8 : (frame[off + 1]! + 1) * 8;
    if (frame.length < off + len) return undefined;
    if (next === IPV6_FRAGMENT) frag = (((frame[off + 2]! << 8) | frame[off + 3]!) & 0xfff9) !== 0;
    if (next === IPV6_ROUTING && frame[off + 2] === 2 && len >= 24) rt2 = frame.subarray(off + 8, off + 24);
    if (next === IPV6_DEST_OPTS) {
      for (let p = off + 2; p + 2 <= off + len;) {
        if (frame[p] === 0) { p++; continue; } // Pad1
        const optLen = frame[p + 1]!;
        if (frame[p] === HOME_ADDRESS_OPTION && optLen === 16 && p + 18 <= off + len) home = frame.subarray(p + 2, p + 18);
        p += 2 + optLen;
      }
    }
    next = frame[off]!;
    off += len;
  }
  const ports = !frag && frame.length >= off + 4 ? frame.subarray(off, off + 4) : undefined;
  const tcp = next === IPPROTO_TCP && ports, udp = next === IPPROTO_UDP && ports;
  if (ext) {
    const exAddrs = cat(home ?? src, rt2 ?? dst);
    if (types & T.TCP_EX && tcp) return { report: R.TCPv6_EX, input: cat(exAddrs, ports) };
    if (types & T.UDP_EX && udp) return { report: R.UDPv6_EX, input: cat(exAddrs, ports) };
    if (types & T.IP_EX) return { report: R.IPv6_EX, input: exAddrs };
    // Else as a packet without extension headers.
  }
  src = src.slice(); dst = dst.slice();
  if (types & T.TCPv6 && tcp) return { report: R.TCPv6, input: cat(src, dst, ports) };
  if (types & T.UDPv6 && udp) return { report: R.UDPv6, input: cat(src, dst, ports) };
  if (types & T.IPv6) return { report: R.IPv6, input: cat(src, dst) };
  return undefined;
}

/** The hash a device calculates for `frame`, or undefined when it calculates none. */
export function packetHash(frame: Uint8Array, types: number, key: Uint8Array): { value: number; report: number } | undefined {
  const h = hashInputOf(frame, types);
  return h && { value: toeplitz(key, h.input), report: h.report };
}

// --- control commands (5.1.9.5.6.4, 5.1.9.5.7.1) -------------------------------------------

/**
 * struct virtio_net_rss_config. Queue ids are rss_rq_id values (bits 1-16 of the virtqueue
 * index: receiveqN is N-1). The table has mask + 1 entries.
 */
export interface RssConfig {
  hash_types: number;
  indirection_table_mask: number;
  unclassified_queue: number;
  indirection_table: number[];
  max_tx_vq: number;
  hash_key: Uint8Array;
}

export function encodeRssConfig(c: RssConfig): Uint8Array {
  const n = c.indirection_table.length;
  const b = new Uint8Array(8 + 2 * n + 3 + c.hash_key.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, c.hash_types >>> 0, true);
  v.setUint16(4, c.indirection_table_mask, true);
  v.setUint16(6, c.unclassified_queue, true);
  c.indirection_table.forEach((q, i) => v.setUint16(8 + 2 * i, q, true));
  v.setUint16(8 + 2 * n, c.max_tx_vq, true);
  v.setUint8(10 + 2 * n, c.hash_key.length);
  b.set(c.hash_key, 11 + 2 * n);
  return b;
}

/** Decode an RSS_CONFIG command's data; undefined when it is too short for what it announces. */
export function decodeRssConfig(d: Uint8Array): RssConfig | undefined {
  if (d.length < 8) return undefined;
  const v = new DataView(d.buffer, d.byteOffset, d.length);
  const mask = v.getUint16(4, true);
  const n = mask + 1;
  if (d.length < 8 + 2 * n + 3) return undefined;
  const keyLen = v.getUint8(10 + 2 * n);
  if (d.length < 11 + 2 * n + keyLen) return undefined;
  return {
    hash_types: v.getUint32(0, true), indirection_table_mask: mask, unclassified_queue: v.getUint16(6, true),
    indirection_table: Array.from({ length: n }, (_, i) => v.getUint16(8 + 2 * i, true)),
    max_tx_vq: v.getUint16(8 + 2 * n, true), hash_key: d.slice(11 + 2 * n, 11 + 2 * n + keyLen),
  };
}

/** struct virtio_net_hash_config: hash_types, le16 reserved[4], key length, key. */
export function encodeHashConfig(hashTypes: number, key: Uint8Array): Uint8Array {
  const b = new Uint8Array(13 + key.length);
  new DataView(b.buffer).setUint32(0, hashTypes >>> 0, true);
  b[12] = key.length;
  b.set(key, 13);
  return b;
}

export function decodeHashConfig(d: Uint8Array): { hash_types: number; hash_key: Uint8Array } | undefined {
  if (d.length < 13 || d.length < 13 + d[12]!) return undefined;
  return { hash_types: new DataView(d.buffer, d.byteOffset, 4).getUint32(0, true), hash_key: d.slice(13, 13 + d[12]!) };
}

// --- test flows ---------------------------------------------------------------------------

export interface Flow {
  v6?: boolean;
  proto: 'tcp' | 'udp';
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
}

/** Parse a dotted IPv4 or a (compressed) IPv6 address. */
export function parseIp(s: string): Uint8Array {
  if (!s.includes(':')) {
    const p = s.split('.').map(Number);
    if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad IPv4 address '${s}'`);
    return new Uint8Array(p);
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const words = (x: string | undefined): number[] => (x ? x.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head), t = words(tail);
  const all = s.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill(0), ...t] : h;
  if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff))) throw new Error(`bad IPv6 address '${s}'`);
  const out = new Uint8Array(16);
  all.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

/** An Ethernet frame of one TCP or UDP flow (IPv4 or IPv6, no options), `len` bytes in all. */
export function makeFlowFrame(o: { dstMac: Uint8Array; srcMac: Uint8Array; flow: Flow; len: number }): Uint8Array {
  const { flow } = o;
  const ipLen = flow.v6 ? 40 : 20;
  const l4Len = flow.proto === 'tcp' ? 20 : 8;
  const f = new Uint8Array(Math.max(o.len, ETH_HLEN + ipLen + l4Len));
  const v = new DataView(f.buffer);
  f.set(o.dstMac.subarray(0, 6), 0);
  f.set(o.srcMac.subarray(0, 6), 6);
  for (let i = ETH_HLEN + ipLen + l4Len; i < f.length; i++) f[i] = (i * 13) & 0xff;
  const proto = flow.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
  const ip = ETH_HLEN;
  if (flow.v6) {
    v.setUint16(12, ETHERTYPE_IPV6, false);
    f[ip] = 0x60;
    v.setUint16(ip + 4, f.length - ip - 40, false);
    f[ip + 6] = proto; f[ip + 7] = 64;
    f.set(flow.src, ip + 8); f.set(flow.dst, ip + 24);
  } else {
    v.setUint16(12, ETHERTYPE_IPV4, false);
    f[ip] = 0x45;
    v.setUint16(ip + 2, f.length - ip, false);
    f[ip + 8] = 64; f[ip + 9] = proto;
    f.set(flow.src, ip + 12); f.set(flow.dst, ip + 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += (f[ip + i]! << 8) | f[ip + i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    v.setUint16(ip + 10, ~sum & 0xffff, false);
  }
  const l4 = ip + ipLen;
  v.setUint16(l4, flow.sport, false);
  v.setUint16(l4 + 2, flow.dport, false);
  if (flow.proto === 'tcp') f[l4 + 12] = 0x50; // data offset 5
  else v.setUint16(l4 + 4, f.length - l4, false);
  return f;
}

// --- inner header hash (5.1.9.4.4) ----------------------------------------------------------

/** Encapsulation types (supported_tunnel_types / enabled_tunnel_types bits). */
export const VIRTIO_NET_HASH_TUNNEL_TYPE = {
  GRE_2784: 1 << 0, GRE_2890: 1 << 1, GRE_7676: 1 << 2, GRE_UDP: 1 << 3, VXLAN: 1 << 4, VXLAN_GPE: 1 << 5,
  GENEVE: 1 << 6, IPIP: 1 << 7, NVGRE: 1 << 8,
} as const;
export const VIRTIO_NET_CTRL_HASH_TUNNEL_SET = 0;

/** The IANA UDP ports of the UDP encapsulations this module recognises. */
export const VXLAN_PORT = 4789, GENEVE_PORT = 6081;

/**
 * The inner Ethernet frame of a VXLAN or GENEVE packet (outer IPv4/IPv6 + UDP to the
 * encapsulation's port) and its encapsulation type, else undefined.
 */
export function encapsulationOf(frame: Uint8Array): { type: number; inner: Uint8Array } | undefined {
  const l3 = l3Of(frame);
  if (!l3) return undefined;
  let udp: number;
  if (l3.type === ETHERTYPE_IPV4) {
    const o = l3.off;
    if (frame.length < o + 20 || frame[o + 9] !== IPPROTO_UDP || (((frame[o + 6]! << 8) | frame[o + 7]!) & 0x3fff) !== 0) return undefined;
    udp = o + (frame[o]! & 0xf) * 4;
  } else if (l3.type === ETHERTYPE_IPV6) {
    if (frame.length < l3.off + 40 || frame[l3.off + 6] !== IPPROTO_UDP) return undefined;
    udp = l3.off + 40;
  } else return undefined;
  if (frame.length < udp + 8 + 8) return undefined;
  const dport = (frame[udp + 2]! << 8) | frame[udp + 3]!;
  const hdr = udp + 8;
  if (dport === VXLAN_PORT) return { type: VIRTIO_NET_HASH_TUNNEL_TYPE.VXLAN, inner: frame.subarray(hdr + 8) };
  if (dport === GENEVE_PORT && ((frame[hdr + 2]! << 8) | frame[hdr + 3]!) === 0x6558) {
    return { type: VIRTIO_NET_HASH_TUNNEL_TYPE.GENEVE, inner: frame.subarray(hdr + 8 + (frame[hdr]! & 0x3f) * 4) };
  }
  return undefined;
}

/** The hash with inner header hash: the inner frame's when its encapsulation is enabled, else the outer one's. */
export function packetHashTunnel(frame: Uint8Array, types: number, key: Uint8Array, enabledTunnels: number): { value: number; report: number } | undefined {
  const e = encapsulationOf(frame);
  return packetHash(e && e.type & enabledTunnels ? e.inner : frame, types, key);
}

/** Wrap an Ethernet frame in outer IPv4/UDP + VXLAN (VNI 42) or GENEVE (no options, Ethernet payload). */
export function encapsulate(o: { dstMac: Uint8Array; srcMac: Uint8Array; outer: Flow; type: 'vxlan' | 'geneve'; inner: Uint8Array }): Uint8Array {
  const dport = o.type === 'vxlan' ? VXLAN_PORT : GENEVE_PORT;
  const outerLen = ETH_HLEN + 20 + 8 + 8;
  const f = makeFlowFrame({ dstMac: o.dstMac, srcMac: o.srcMac, flow: { ...o.outer, v6: false, proto: 'udp', dport }, len: outerLen + o.inner.length });
  const tun = ETH_HLEN + 20 + 8;
  f.fill(0, tun, tun + 8);
  if (o.type === 'vxlan') { f[tun] = 0x08; f[tun + 6] = 42; } else { f[tun + 2] = 0x65; f[tun + 3] = 0x58; f[tun + 6] = 42; }
  f.set(o.inner, outerLen);
  return f;
}
