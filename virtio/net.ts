// Network device wire formats (spec 5.1): feature bits, configuration layout,
// virtio_net_hdr, control virtqueue classes and commands, queue numbering.

/** Feature bits (5.1.3); bits 64 and up are listed for recognition only. */
export const VIRTIO_NET_F = {
  CSUM: 0, GUEST_CSUM: 1, CTRL_GUEST_OFFLOADS: 2, MTU: 3, MAC: 5, GUEST_TSO4: 7, GUEST_TSO6: 8,
  GUEST_ECN: 9, GUEST_UFO: 10, HOST_TSO4: 11, HOST_TSO6: 12, HOST_ECN: 13, HOST_UFO: 14, MRG_RXBUF: 15,
  STATUS: 16, CTRL_VQ: 17, CTRL_RX: 18, CTRL_VLAN: 19, CTRL_RX_EXTRA: 20, GUEST_ANNOUNCE: 21, MQ: 22,
  CTRL_MAC_ADDR: 23, DEVICE_STATS: 50, HASH_TUNNEL: 51, VQ_NOTF_COAL: 52, NOTF_COAL: 53, GUEST_USO4: 54,
  GUEST_USO6: 55, HOST_USO: 56, HASH_REPORT: 57, GUEST_HDRLEN: 59, RSS: 60, RSC_EXT: 61, STANDBY: 62,
  SPEED_DUPLEX: 63, RSS_CONTEXT: 64, GUEST_UDP_TUNNEL_GSO: 65, GUEST_UDP_TUNNEL_GSO_CSUM: 66,
  HOST_UDP_TUNNEL_GSO: 67, HOST_UDP_TUNNEL_GSO_CSUM: 68, OUT_NET_HEADER: 69, IPSEC: 70,
} as const;

/** struct virtio_net_config offsets (5.1.4): [offset, width]. */
export const NET_CONFIG = {
  mac: [0, 6], status: [6, 2], max_virtqueue_pairs: [8, 2], mtu: [10, 2], speed: [12, 4], duplex: [16, 1],
  rss_max_key_size: [17, 1], rss_max_indirection_table_length: [18, 2], supported_hash_types: [20, 4],
  supported_tunnel_types: [24, 4],
} as const satisfies Record<string, readonly [number, number]>;
/** Up to and including mtu: what a device without RSS/SPEED_DUPLEX needs to present. */
export const NET_CONFIG_SIZE = 12;

export const VIRTIO_NET_S_LINK_UP = 1;
export const VIRTIO_NET_S_ANNOUNCE = 2;

/** Configuration ranges (5.1.4.1). */
export const MQ_PAIRS_MIN = 1, MQ_PAIRS_MAX = 0x8000;
export const MTU_MIN = 68, MTU_MAX = 65535, MTU_RECOMMENDED_MIN = 1280;
/** The low-level (Ethernet) header added to mtu for frame sizes. */
export const ETH_HLEN = 14;

// --- virtio_net_hdr (5.1.6) -------------------------------------------------------------

export const VIRTIO_NET_HDR_F = {
  NEEDS_CSUM: 1, DATA_VALID: 2, RSC_INFO: 4, UDP_TUNNEL_CSUM: 8, SECURITY: 16, SECURITY_ERR: 32,
  SECURITY_SA_SOFT_EXPIRY_WARN: 64,
} as const;
export const VIRTIO_NET_HDR_GSO = {
  NONE: 0, TCPV4: 1, UDP: 3, TCPV6: 4, UDP_L4: 5, UDP_TUNNEL_IPV4: 0x20, UDP_TUNNEL_IPV6: 0x40, ECN: 0x80,
} as const;

/** The header without HASH_REPORT / tunnel / IPsec fields: num_buffers is always there with VERSION_1. */
export const NET_HDR_SIZE = 12;
export const NET_HDR = {
  flags: 0, gso_type: 1, hdr_len: 2, gso_size: 4, csum_start: 6, csum_offset: 8, num_buffers: 10,
} as const;

export interface NetHdr {
  flags: number; gso_type: number; hdr_len: number; gso_size: number;
  csum_start: number; csum_offset: number; num_buffers: number;
}

export const EMPTY_NET_HDR: NetHdr = { flags: 0, gso_type: 0, hdr_len: 0, gso_size: 0, csum_start: 0, csum_offset: 0, num_buffers: 0 };

export function encodeNetHdr(h: Partial<NetHdr>): Uint8Array {
  const x = { ...EMPTY_NET_HDR, ...h };
  const b = new Uint8Array(NET_HDR_SIZE);
  const v = new DataView(b.buffer);
  v.setUint8(NET_HDR.flags, x.flags);
  v.setUint8(NET_HDR.gso_type, x.gso_type);
  v.setUint16(NET_HDR.hdr_len, x.hdr_len, true);
  v.setUint16(NET_HDR.gso_size, x.gso_size, true);
  v.setUint16(NET_HDR.csum_start, x.csum_start, true);
  v.setUint16(NET_HDR.csum_offset, x.csum_offset, true);
  v.setUint16(NET_HDR.num_buffers, x.num_buffers, true);
  return b;
}

export function decodeNetHdr(b: Uint8Array): NetHdr {
  if (b.length < NET_HDR_SIZE) throw new Error(`virtio_net_hdr needs ${NET_HDR_SIZE} bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, NET_HDR_SIZE);
  return {
    flags: v.getUint8(NET_HDR.flags), gso_type: v.getUint8(NET_HDR.gso_type), hdr_len: v.getUint16(NET_HDR.hdr_len, true),
    gso_size: v.getUint16(NET_HDR.gso_size, true), csum_start: v.getUint16(NET_HDR.csum_start, true),
    csum_offset: v.getUint16(NET_HDR.csum_offset, true), num_buffers: v.getUint16(NET_HDR.num_buffers, true),
  };
}

// --- control virtqueue (5.1.9.5) ----------------------------------------------------------

export const VIRTIO_NET_OK = 0, VIRTIO_NET_ERR = 1;

export const VIRTIO_NET_CTRL = {
  RX: 0, MAC: 1, VLAN: 2, ANNOUNCE: 3, MQ: 4, GUEST_OFFLOADS: 5, NOTF_COAL: 6, HASH_TUNNEL: 7, STATS: 8,
} as const;
export const VIRTIO_NET_CTRL_RX = { PROMISC: 0, ALLMULTI: 1, ALLUNI: 2, NOMULTI: 3, NOUNI: 4, NOBCAST: 5 } as const;
export const VIRTIO_NET_CTRL_MAC = { TABLE_SET: 0, ADDR_SET: 1 } as const;
export const VIRTIO_NET_CTRL_MQ = { VQ_PAIRS_SET: 0, RSS_CONFIG: 1, HASH_CONFIG: 2 } as const;
export const VIRTIO_NET_CTRL_VLAN = { ADD: 0, DEL: 1 } as const;
export const VIRTIO_NET_CTRL_ANNOUNCE = { ACK: 0 } as const;

/** struct virtio_net_ctrl_mac: le32 entries, then entries × 6-byte addresses. */
export function encodeMacTable(macs: Uint8Array[]): Uint8Array {
  const b = new Uint8Array(4 + 6 * macs.length);
  new DataView(b.buffer).setUint32(0, macs.length, true);
  macs.forEach((m, i) => b.set(m.subarray(0, 6), 4 + 6 * i));
  return b;
}

/** Both tables of MAC_TABLE_SET (unicast, then multicast); undefined when malformed. */
export function decodeMacTables(data: Uint8Array): { unicast: Uint8Array[]; multicast: Uint8Array[] } | undefined {
  const tables: Uint8Array[][] = [];
  let off = 0;
  for (let t = 0; t < 2; t++) {
    if (off + 4 > data.length) return undefined;
    const n = new DataView(data.buffer, data.byteOffset + off, 4).getUint32(0, true);
    off += 4;
    if (off + 6 * n > data.length) return undefined;
    tables.push(Array.from({ length: n }, (_, i) => data.slice(off + 6 * i, off + 6 * i + 6)));
    off += 6 * n;
  }
  return { unicast: tables[0]!, multicast: tables[1]! };
}

// --- queues (5.1.2) ---------------------------------------------------------------------

/** receiveqN is 2(N-1), transmitqN is 2(N-1)+1 (N from 1). */
export const receiveq = (n: number): number => 2 * (n - 1);
export const transmitq = (n: number): number => 2 * (n - 1) + 1;
/** controlq follows the last transmitq: 2 without MQ, 2 × max_virtqueue_pairs with it. */
export const controlq = (mqNegotiated: boolean, maxPairs: number): number => (mqNegotiated ? 2 * maxPairs : 2);

// --- Ethernet addresses -----------------------------------------------------------------

export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const isMulticast = (mac: Uint8Array): boolean => (mac[0]! & 1) === 1;
export const isBroadcast = (mac: Uint8Array): boolean => mac.every((b) => b === 0xff);
export const sameMac = (a: Uint8Array, b: Uint8Array): boolean => a.length >= 6 && b.length >= 6 && a.subarray(0, 6).every((x, i) => x === b[i]);
export const formatMac = (m: Uint8Array): string => [...m.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
export function parseMac(s: string): Uint8Array {
  const parts = s.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`bad MAC address '${s}'`);
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

export const ETHERTYPE_IPV4 = 0x0800, ETHERTYPE_IPV6 = 0x86dd;
export const IPPROTO_TCP = 6, IPPROTO_UDP = 17;

/**
 * A test frame: destination, source, ethertype and a payload. With `l4` an IPv4 (or IPv6)
 * header carrying that protocol number precedes a recognisable pattern, so a device that
 * looks into frames can tell TCP from UDP. The IPv4 header checksum is right unless
 * `badIpChecksum`; the L4 checksum is left 0.
 */
export function makeFrame(o: { dst: Uint8Array; src: Uint8Array; len: number; seed?: number; l4?: 'tcp4' | 'udp4' | 'tcp6' | 'udp6'; badIpChecksum?: boolean }): Uint8Array {
  const f = new Uint8Array(Math.max(o.len, ETH_HLEN));
  f.set(o.dst.subarray(0, 6), 0);
  f.set(o.src.subarray(0, 6), 6);
  const seed = o.seed ?? 0;
  for (let i = ETH_HLEN; i < f.length; i++) f[i] = (i * 7 + seed) & 0xff;
  const v = new DataView(f.buffer);
  if (!o.l4) { v.setUint16(12, 0x88b5, false); return f; } // IEEE local experimental ethertype
  const v6 = o.l4.endsWith('6');
  const proto = o.l4.startsWith('tcp') ? IPPROTO_TCP : IPPROTO_UDP;
  v.setUint16(12, v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4, false);
  if (v6) {
    if (f.length < ETH_HLEN + 40) throw new Error('frame too short for IPv6');
    f[ETH_HLEN] = 0x60; f[ETH_HLEN + 1] = 0; f[ETH_HLEN + 2] = 0; f[ETH_HLEN + 3] = 0;
    v.setUint16(ETH_HLEN + 4, f.length - ETH_HLEN - 40, false);
    f[ETH_HLEN + 6] = proto; f[ETH_HLEN + 7] = 64;
  } else {
    if (f.length < ETH_HLEN + 20) throw new Error('frame too short for IPv4');
    f[ETH_HLEN] = 0x45; f[ETH_HLEN + 1] = 0;
    v.setUint16(ETH_HLEN + 2, f.length - ETH_HLEN, false);
    v.setUint32(ETH_HLEN + 4, 0, false);
    f[ETH_HLEN + 8] = 64; f[ETH_HLEN + 9] = proto;
    v.setUint16(ETH_HLEN + 10, 0, false);
    const c = ipv4HeaderChecksum(f.subarray(ETH_HLEN, ETH_HLEN + 20));
    v.setUint16(ETH_HLEN + 10, o.badIpChecksum ? c ^ 0xffff : c, false);
  }
  return f;
}

/** The L4 protocol of an IPv4/IPv6 frame made by makeFrame (or any plain one), else undefined. */
export function frameL4(f: Uint8Array): { v6: boolean; proto: number } | undefined {
  if (f.length < ETH_HLEN + 20) return undefined;
  const type = (f[12]! << 8) | f[13]!;
  if (type === ETHERTYPE_IPV4 && (f[ETH_HLEN]! >> 4) === 4) return { v6: false, proto: f[ETH_HLEN + 9]! };
  if (type === ETHERTYPE_IPV6 && f.length >= ETH_HLEN + 40 && (f[ETH_HLEN]! >> 4) === 6) return { v6: true, proto: f[ETH_HLEN + 6]! };
  return undefined;
}

/** Ones' complement checksum of an IPv4 header whose checksum field is 0. */
export function ipv4HeaderChecksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < h.length; i += 2) sum += (h[i]! << 8) | h[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** 802.1Q: tag a frame with VLAN `vid` (TPID 0x8100 after the source address). */
export function vlanTag(frame: Uint8Array, vid: number): Uint8Array {
  const out = new Uint8Array(frame.length + 4);
  out.set(frame.subarray(0, 12), 0);
  out.set([0x81, 0x00, (vid >> 8) & 0x0f, vid & 0xff], 12);
  out.set(frame.subarray(12), 16);
  return out;
}

/** The VLAN id of an 802.1Q-tagged frame, else undefined. */
export function vlanOf(frame: Uint8Array): number | undefined {
  if (frame.length < 18 || frame[12] !== 0x81 || frame[13] !== 0x00) return undefined;
  return ((frame[14]! & 0x0f) << 8) | frame[15]!;
}

// --- checksum and segmentation offloads (5.1.6.2, 5.1.6.4) -----------------------------

/**
 * Offload metadata a host backend hands the device with a frame (what a tap's vnet header
 * carries): `csum` — the L4 checksum is partial (its field holds the pseudo-header sum),
 * to be completed from `start` and stored at start + offset; `gso` — a TCP packet larger
 * than the MSS `size`, of gso_type TCPV4 or TCPV6, `ecn` when it has CWR set, `tunnel` when
 * that TCP packet travels inside a UDP tunnel (vxlanEncap: segmenting means the inner one).
 */
export interface WireOffload {
  csum?: { start: number; offset: number };
  gso?: { type: number; size: number; ecn?: boolean; tunnel?: boolean };
}

/** Big-endian 16-bit ones' complement sum of b[start, end) added to `sum`, folded (a trailing odd byte is padded). */
export function onesSum(b: Uint8Array, start = 0, end = b.length, sum = 0): number {
  for (let i = start; i < end; i += 2) sum += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** Where the IP and TCP/UDP headers of a frame are (no IPv4 options beyond IHL, no IPv6 extension headers). */
export interface L4Info {
  v6: boolean; proto: number;
  /** Offsets from the frame start: IP header, transport header, payload. */
  l3: number; l4: number; payload: number;
  /** Transport header plus data, as the IP header says. */
  l4Len: number;
  /** Offset of the transport checksum within the transport header (TCP 16, UDP 6). */
  csumOffset: number;
}

export function l4Of(f: Uint8Array): L4Info | undefined {
  const t = frameL4(f);
  if (!t || (t.proto !== IPPROTO_TCP && t.proto !== IPPROTO_UDP)) return undefined;
  const v = new DataView(f.buffer, f.byteOffset, f.length);
  const l3 = ETH_HLEN;
  const l4 = t.v6 ? l3 + 40 : l3 + (f[l3]! & 0xf) * 4;
  const l4Len = t.v6 ? v.getUint16(l3 + 4, false) : v.getUint16(l3 + 2, false) - (l4 - l3);
  const tcp = t.proto === IPPROTO_TCP;
  if (l4 + (tcp ? 20 : 8) > f.length || l4 + l4Len > f.length) return undefined;
  const payload = l4 + (tcp ? (f[l4 + 12]! >> 4) * 4 : 8);
  return { v6: t.v6, proto: t.proto, l3, l4, payload, l4Len, csumOffset: tcp ? 16 : 6 };
}

/** The TCP/UDP pseudo-header sum (folded, not complemented) for `l4Len` transport bytes. */
export function pseudoHeaderSum(f: Uint8Array, i: L4Info, l4Len = i.l4Len): number {
  const addrs = i.v6 ? onesSum(f, i.l3 + 8, i.l3 + 40) : onesSum(f, i.l3 + 12, i.l3 + 20);
  return onesSum(new Uint8Array([0, 0, (l4Len >>> 24) & 0xff, (l4Len >>> 16) & 0xff, (l4Len >> 8) & 0xff, l4Len & 0xff, 0, i.proto]), 0, 8, addrs);
}

/** Is the TCP/UDP checksum of the frame right (pseudo header included)? */
export function l4ChecksumOk(f: Uint8Array): boolean {
  const i = l4Of(f);
  return i !== undefined && onesSum(f, i.l4, i.l4 + i.l4Len, pseudoHeaderSum(f, i)) === 0xffff;
}

/** Is the IPv4 header checksum right? (IPv6 has none: true.) */
export function ipv4HeaderOk(f: Uint8Array): boolean {
  const i = l4Of(f);
  return i === undefined || i.v6 || onesSum(f, i.l3, i.l4) === 0xffff;
}

/**
 * Complete a partial checksum (5.1.6.2): the ones' complement of the sum from `start` to
 * the end of the frame, the field's own content (the pseudo-header sum) included, stored
 * at start + offset. False when the field lies outside the frame.
 */
export function completeChecksum(f: Uint8Array, start: number, offset: number): boolean {
  const at = start + offset;
  if (start >= f.length || at + 2 > f.length) return false;
  const c = ~onesSum(f, start) & 0xffff;
  f[at] = c >> 8; f[at + 1] = c & 0xff;
  return true;
}

export const TCP_FLAG = { FIN: 0x01, PSH: 0x08, ACK: 0x10, CWR: 0x80 } as const;

/**
 * A TCP or UDP frame over IPv4/IPv6 (makeFrame's headers) with a 20-byte TCP header (seq
 * `seq`, ACK|PSH, CWR on request) or an 8-byte UDP header and `payload` pattern bytes.
 * The transport checksum is complete, or with `partial` the pseudo-header sum a host leaves
 * for checksum offload.
 */
export function makeL4Frame(o: { dst: Uint8Array; src: Uint8Array; l4: 'tcp4' | 'udp4' | 'tcp6' | 'udp6'; payload: number; seed?: number; seq?: number; cwr?: boolean; partial?: boolean; badIpChecksum?: boolean }): Uint8Array {
  const tcp = o.l4.startsWith('tcp');
  const hdrs = ETH_HLEN + (o.l4.endsWith('6') ? 40 : 20) + (tcp ? 20 : 8);
  const f = makeFrame({ dst: o.dst, src: o.src, len: hdrs + o.payload, seed: o.seed, l4: o.l4, badIpChecksum: o.badIpChecksum });
  f.fill(0, hdrs - (tcp ? 20 : 8), hdrs);
  const i = l4Of(f);
  if (!i) throw new Error('makeL4Frame: no transport header');
  const v = new DataView(f.buffer, f.byteOffset, f.length);
  v.setUint16(i.l4, 0xc000 + ((o.seed ?? 0) & 0xff), false);
  v.setUint16(i.l4 + 2, tcp ? 80 : 4789, false);
  if (tcp) {
    v.setUint32(i.l4 + 4, o.seq ?? 1000, false);
    v.setUint32(i.l4 + 8, 1, false);
    f[i.l4 + 12] = 0x50;
    f[i.l4 + 13] = TCP_FLAG.ACK | TCP_FLAG.PSH | (o.cwr ? TCP_FLAG.CWR : 0);
    v.setUint16(i.l4 + 14, 0xffff, false);
  } else {
    v.setUint16(i.l4 + 4, i.l4Len, false);
  }
  const pseudo = pseudoHeaderSum(f, i);
  v.setUint16(i.l4 + i.csumOffset, pseudo, false);
  if (!o.partial) completeChecksum(f, i.l4, i.csumOffset);
  return f;
}

// --- device statistics (5.1.9.5.11) --------------------------------------------------------

export const VIRTIO_NET_CTRL_STATS = { QUERY: 0, GET: 1 } as const;
/** Reply type numbers (virtio_net_stats_reply_hdr.type); the types_bitmap bit is 1 << type. */
export const VIRTIO_NET_STATS_TYPE = {
  RX_BASIC: 0, RX_CSUM: 1, RX_GSO: 2, RX_SPEED: 3, TX_BASIC: 16, TX_CSUM: 17, TX_GSO: 18, TX_SPEED: 19, CVQ: 32,
} as const;
export type StatsTypeName = keyof typeof VIRTIO_NET_STATS_TYPE;
/** Counters (le64) after the reply header, per type, as v1.4 lays them out. */
export const STATS_COUNTERS: Record<StatsTypeName, readonly string[]> = {
  RX_BASIC: ['rx_notifications', 'rx_packets', 'rx_bytes', 'rx_interrupts', 'rx_drops', 'rx_drop_overruns'],
  RX_CSUM: ['rx_csum_valid', 'rx_needs_csum', 'rx_csum_none', 'rx_csum_bad'],
  RX_GSO: ['rx_gso_packets', 'rx_gso_bytes', 'rx_gso_packets_coalesced', 'rx_gso_bytes_coalesced'],
  RX_SPEED: ['rx_packets_allowance_exceeded', 'rx_bytes_allowance_exceeded'],
  TX_BASIC: ['tx_notifications', 'tx_packets', 'tx_bytes', 'tx_interrupts', 'tx_drops', 'tx_drop_malformed'],
  TX_CSUM: ['tx_csum_none', 'tx_needs_csum'],
  TX_GSO: ['tx_gso_packets', 'tx_gso_bytes', 'tx_gso_segments', 'tx_gso_segments_bytes', 'tx_gso_packets_noseg', 'tx_gso_bytes_noseg'],
  TX_SPEED: ['tx_packets_allowance_exceeded', 'tx_bytes_allowance_exceeded'],
  CVQ: ['command_num', 'ok_num'],
};
export const STATS_REPLY_HDR_SIZE = 8;
/** struct virtio_net_ctrl_queue_stats entry: le16 vq_index, le16 reserved[3], le64 types_bitmap. */
export const STATS_REQUEST_ENTRY_SIZE = 16;
export const statsBit = (type: number): bigint => 1n << BigInt(type);
export const statsTypeName = (type: number): string =>
  (Object.entries(VIRTIO_NET_STATS_TYPE).find(([, v]) => v === type)?.[0] ?? `type ${type}`);

export function encodeStatsRequest(entries: Array<{ vq_index: number; types: bigint }>): Uint8Array {
  const b = new Uint8Array(STATS_REQUEST_ENTRY_SIZE * entries.length);
  const v = new DataView(b.buffer);
  entries.forEach((e, i) => {
    v.setUint16(i * STATS_REQUEST_ENTRY_SIZE, e.vq_index, true);
    v.setBigUint64(i * STATS_REQUEST_ENTRY_SIZE + 8, e.types, true);
  });
  return b;
}

export function decodeStatsRequest(b: Uint8Array): Array<{ vq_index: number; types: bigint }> | undefined {
  if (b.length === 0 || b.length % STATS_REQUEST_ENTRY_SIZE !== 0) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return Array.from({ length: b.length / STATS_REQUEST_ENTRY_SIZE }, (_, i) => ({
    vq_index: v.getUint16(i * STATS_REQUEST_ENTRY_SIZE, true), types: v.getBigUint64(i * STATS_REQUEST_ENTRY_SIZE + 8, true),
  }));
}

export interface StatsReply { type: number; vq_index: number; size: number; offset: number; counters: bigint[] }

/**
 * Walk replies by their header's size. Stops (with `rest` > 0) where a header would not fit
 * or its size is below the header or runs past the bytes.
 */
export function decodeStatsReplies(b: Uint8Array): { replies: StatsReply[]; rest: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const replies: StatsReply[] = [];
  let off = 0;
  while (off + STATS_REPLY_HDR_SIZE <= b.length) {
    const size = v.getUint16(off + 6, true);
    if (size < STATS_REPLY_HDR_SIZE || off + size > b.length) break;
    const counters: bigint[] = [];
    for (let p = off + STATS_REPLY_HDR_SIZE; p + 8 <= off + size; p += 8) counters.push(v.getBigUint64(p, true));
    replies.push({ type: v.getUint8(off), vq_index: v.getUint16(off + 2, true), size, offset: off, counters });
    off += size;
  }
  return { replies, rest: b.length - off };
}

// --- notifications coalescing (5.1.9.5.10) -------------------------------------------------

export const VIRTIO_NET_CTRL_NOTF_COAL = { TX_SET: 0, RX_SET: 1, VQ_SET: 2, VQ_GET: 3 } as const;
export interface NetCoal { max_packets: number; max_usecs: number }

/** struct virtio_net_ctrl_coal: le32 max_packets, le32 max_usecs. */
export function encodeCoal(c: NetCoal): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, c.max_packets >>> 0, true);
  v.setUint32(4, c.max_usecs >>> 0, true);
  return b;
}

export function decodeCoal(b: Uint8Array): NetCoal {
  const v = new DataView(b.buffer, b.byteOffset, 8);
  return { max_packets: v.getUint32(0, true), max_usecs: v.getUint32(4, true) };
}

/** struct virtio_net_ctrl_coal_vq: le16 vq_index, le16 reserved, then virtio_net_ctrl_coal (VQ_GET: the first 4 bytes only). */
export function encodeCoalVq(vq_index: number, reserved: number, coal?: NetCoal): Uint8Array {
  const b = new Uint8Array(coal ? 12 : 4);
  const v = new DataView(b.buffer);
  v.setUint16(0, vq_index, true);
  v.setUint16(2, reserved, true);
  if (coal) b.set(encodeCoal(coal), 4);
  return b;
}

export const VXLAN_PORT = 4789;
/** Outer Ethernet + IPv4 + UDP + VXLAN header bytes in front of a vxlanEncap'd frame. */
export const VXLAN_OVERHEAD = ETH_HLEN + 20 + 8 + 8;

/**
 * `inner` (a whole Ethernet frame) inside VXLAN over UDP/IPv4 (destination port 4789,
 * VNI 42): outer IPv4 header checksum right, outer UDP checksum 0 (none, legal over IPv4).
 */
export function vxlanEncap(inner: Uint8Array, o: { dst: Uint8Array; src: Uint8Array }): Uint8Array {
  const f = makeFrame({ dst: o.dst, src: o.src, len: VXLAN_OVERHEAD + inner.length, l4: 'udp4' });
  const v = new DataView(f.buffer, f.byteOffset, f.length);
  const udp = ETH_HLEN + 20;
  v.setUint16(udp, 0xc000, false);
  v.setUint16(udp + 2, VXLAN_PORT, false);
  v.setUint16(udp + 4, f.length - udp, false);
  v.setUint16(udp + 6, 0, false);
  v.setUint32(udp + 8, 0x08000000, false); // VXLAN flags: I (VNI valid)
  v.setUint32(udp + 12, 42 << 8, false);
  f.set(inner, VXLAN_OVERHEAD);
  return f;
}
