// The reference network device's hash and RSS state (spec 5.1.9.4.3, 5.1.9.5.6.4,
// 5.1.9.5.7): what VIRTIO_NET_CTRL_MQ_RSS_CONFIG or _HASH_CONFIG set, the hash of a
// received frame (for HASH_REPORT) and the receive queue RSS picks for it.
import {
  decodeHashConfig, decodeRssConfig, encapsulationOf, packetHash, packetHashTunnel, VIRTIO_NET_HASH_TUNNEL_TYPE, VIRTIO_NET_HASH_TYPE_ALL,
} from '../../virtio/net-hash.ts';
import type { Defects } from '../defects.ts';

/** What the device presents in rss_max_key_size / rss_max_indirection_table_length / supported_hash_types. */
export const RSS_MAX_KEY_SIZE = 40;
export const RSS_MAX_TABLE_LENGTH = 128;
export const RSS_SUPPORTED_HASH_TYPES = VIRTIO_NET_HASH_TYPE_ALL;
/** supported_tunnel_types (HASH_TUNNEL): the UDP encapsulations net-hash.ts recognises. */
export const SUPPORTED_TUNNEL_TYPES = VIRTIO_NET_HASH_TUNNEL_TYPE.VXLAN | VIRTIO_NET_HASH_TUNNEL_TYPE.GENEVE;

export class NetRss {
  private hashTypes = 0;
  private key: Uint8Array = new Uint8Array(0);
  /** Set by RSS_CONFIG: the indirection table (queue pair indexes) and unclassified_queue. */
  private table?: number[];
  private unclassified = 0;
  /** enabled_tunnel_types (VIRTIO_NET_CTRL_HASH_TUNNEL_SET): inner header hash for these encapsulations. */
  private tunnels = 0;

  constructor(private readonly maxPairs: number, private readonly defects: Defects) {}

  /** Upon reset: no hash types enabled, no RSS steering (automatic steering again). */
  reset(): void {
    this.hashTypes = 0;
    this.key = new Uint8Array(0);
    this.table = undefined;
    this.unclassified = 0;
    // Inner header hash off for every encapsulation (the kept-after-reset defect forgets to).
    if (!this.defects.on('net-inner-hash-kept-after-reset')) this.tunnels = 0;
  }

  /** VIRTIO_NET_CTRL_MQ_RSS_CONFIG; false (VIRTIO_NET_ERR) for a configuration it cannot take. */
  rssConfig(data: Uint8Array): boolean {
    const c = decodeRssConfig(data);
    if (!c) return false;
    const n = c.indirection_table.length;
    if ((n & (n - 1)) !== 0 || n > RSS_MAX_TABLE_LENGTH) return false;
    if (c.hash_types & ~RSS_SUPPORTED_HASH_TYPES || c.hash_key.length > RSS_MAX_KEY_SIZE) return false;
    if (c.unclassified_queue >= this.maxPairs || c.indirection_table.some((q) => q >= this.maxPairs)) return false;
    if (c.max_tx_vq < 1 || c.max_tx_vq > this.maxPairs) return false;
    this.hashTypes = c.hash_types;
    this.key = c.hash_key;
    this.table = c.indirection_table;
    this.unclassified = c.unclassified_queue;
    return true;
  }

  /** VIRTIO_NET_CTRL_MQ_HASH_CONFIG (HASH_REPORT without RSS): hash types and key only. */
  hashConfig(data: Uint8Array): boolean {
    const c = decodeHashConfig(data);
    if (!c || c.hash_types & ~RSS_SUPPORTED_HASH_TYPES || c.hash_key.length > RSS_MAX_KEY_SIZE) return false;
    if (data.subarray(4, 12).some((b) => b !== 0)) return false; // reserved
    this.hashTypes = c.hash_types;
    this.key = c.hash_key;
    return true;
  }

  /** VIRTIO_NET_CTRL_HASH_TUNNEL_SET (le32 enabled_tunnel_types); false (ERR) for types not supported. */
  tunnelSet(data: Uint8Array): boolean {
    if (data.length < 4) return false;
    const types = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
    if (types & ~SUPPORTED_TUNNEL_TYPES && !this.defects.on('net-hash-tunnel-accepts-unsupported')) return false;
    if (!(types === 0 && this.defects.on('net-inner-hash-zero-ignored'))) this.tunnels = types;
    return true;
  }

  /** The hash of a received frame under the configured types and key, if one is calculated. */
  hash(frame: Uint8Array): { value: number; report: number } | undefined {
    let f = frame;
    // The defect is in RSS's hash (parameters from RSS_CONFIG), not in HASH_CONFIG's.
    if (this.table && this.defects.on('net-rss-hash-ports-swapped')) f = swapPorts(frame);
    // The defect takes the inner header of any encapsulation it knows once one type is enabled.
    if (this.tunnels && this.defects.on('net-inner-hash-any-tunnel')) {
      const e = encapsulationOf(f);
      if (e) return packetHash(e.inner, this.hashTypes, this.key);
    }
    return packetHashTunnel(f, this.hashTypes, this.key, this.tunnels);
  }

  /** The receive queue pair RSS picks, or undefined while RSS_CONFIG has not set up steering. */
  steer(frame: Uint8Array): number | undefined {
    const table = this.table;
    if (!table) return undefined;
    const h = this.hash(frame);
    if (!h) return this.defects.on('net-rss-unclassified-to-receiveq1') ? 0 : this.unclassified;
    const i = h.value & (table.length - 1);
    // The defect spreads by index over the pairs instead of looking the index up in the table.
    if (this.defects.on('net-rss-indirection-ignored')) return i % this.maxPairs;
    return table[i]!;
  }
}

/** The frame with its TCP/UDP source and destination ports exchanged (IPv4/IPv6 without options). */
function swapPorts(frame: Uint8Array): Uint8Array {
  const type = (frame[12]! << 8) | frame[13]!;
  const l4 = type === 0x0800 ? 14 + (frame[14]! & 0xf) * 4 : type === 0x86dd ? 54 : -1;
  if (l4 < 0 || frame.length < l4 + 4) return frame;
  const f = frame.slice();
  f.set(frame.subarray(l4 + 2, l4 + 4), l4);
  f.set(frame.subarray(l4, l4 + 2), l4 + 2);
  return f;
}
