// NetRss on its own: which RSS_CONFIG / HASH_CONFIG / HASH_TUNNEL_SET it takes, where it
// steers a frame (table entry of hash & mask, unclassified_queue without a hash), reset.
import { describe, expect, it } from 'vitest';
import { Defects } from '../defects.ts';
import {
  DEFAULT_RSS_KEY, VIRTIO_NET_HASH_TUNNEL_TYPE as TT, VIRTIO_NET_HASH_TYPE as T, encapsulate, encodeHashConfig, encodeRssConfig, makeFlowFrame,
  packetHash, parseIp, type Flow, type RssConfig,
} from '../../virtio/net-hash.ts';
import { NetRss, RSS_MAX_KEY_SIZE, RSS_MAX_TABLE_LENGTH } from './rss.ts';

const MAC = new Uint8Array([2, 0, 0x5e, 0, 0, 1]);
const flow = (i: number, proto: 'tcp' | 'udp' = 'tcp'): Flow => ({ proto, src: parseIp(`198.51.100.${i}`), dst: parseIp('192.0.2.1'), sport: 4000 + i, dport: 80 });
const frame = (f: Flow): Uint8Array => makeFlowFrame({ dstMac: MAC, srcMac: MAC, flow: f, len: 100 });
const table = Array.from({ length: 16 }, (_, i) => (i * 5) % 3);
const base: RssConfig = { hash_types: T.TCPv4, indirection_table_mask: 15, unclassified_queue: 2, indirection_table: table, max_tx_vq: 3, hash_key: DEFAULT_RSS_KEY };
const rss = (): NetRss => new NetRss(3, Defects.none());

describe('NetRss', () => {
  it('steers nothing before RSS_CONFIG', () => {
    expect(rss().steer(frame(flow(1)))).toBeUndefined();
  });
  it('steers a hashed frame to table[hash & mask], one without a hash to unclassified_queue', () => {
    const r = rss();
    expect(r.rssConfig(encodeRssConfig(base))).toBe(true);
    for (let i = 1; i <= 20; i++) {
      const f = frame(flow(i));
      expect(r.steer(f)).toBe(table[packetHash(f, T.TCPv4, DEFAULT_RSS_KEY)!.value & 15]);
    }
    expect(r.steer(frame(flow(1, 'udp')))).toBe(2);
  });
  it('refuses configurations it cannot take', () => {
    const bad: Array<Partial<RssConfig>> = [
      { indirection_table_mask: 2, indirection_table: [0, 1, 2] }, // 3 entries: not a power of two
      { indirection_table_mask: 2 * RSS_MAX_TABLE_LENGTH - 1, indirection_table: Array(2 * RSS_MAX_TABLE_LENGTH).fill(0) },
      { indirection_table: table.map(() => 3) }, // beyond the pairs
      { unclassified_queue: 3 },
      { hash_key: new Uint8Array(RSS_MAX_KEY_SIZE + 1) },
      { hash_types: 1 << 9 },
      { max_tx_vq: 0 },
    ];
    for (const b of bad) expect(rss().rssConfig(encodeRssConfig({ ...base, ...b })), JSON.stringify(Object.keys(b))).toBe(false);
    expect(rss().rssConfig(encodeRssConfig(base).subarray(0, 20))).toBe(false);
  });
  it('reset forgets the configuration (automatic steering again, no hash)', () => {
    const r = rss();
    r.rssConfig(encodeRssConfig(base));
    r.reset();
    expect(r.steer(frame(flow(1)))).toBeUndefined();
    expect(r.hash(frame(flow(1)))).toBeUndefined();
  });
  it('HASH_CONFIG sets hash types and key; reserved must be zero', () => {
    const r = rss();
    expect(r.hashConfig(encodeHashConfig(T.TCPv4, DEFAULT_RSS_KEY))).toBe(true);
    expect(r.hash(frame(flow(7)))).toEqual(packetHash(frame(flow(7)), T.TCPv4, DEFAULT_RSS_KEY));
    const b = encodeHashConfig(T.TCPv4, DEFAULT_RSS_KEY);
    b[5] = 1;
    expect(rss().hashConfig(b)).toBe(false);
  });
  it('inner header hash: only supported types, only enabled encapsulations, off again with 0', () => {
    const r = rss();
    r.hashConfig(encodeHashConfig(T.TCPv4 | T.UDPv4, DEFAULT_RSS_KEY));
    const le32 = (n: number) => new Uint8Array([n & 0xff, (n >> 8) & 0xff, 0, 0]);
    expect(r.tunnelSet(le32(TT.IPIP))).toBe(false);
    expect(r.tunnelSet(le32(TT.VXLAN))).toBe(true);
    const inner = frame(flow(9));
    const outer: Flow = { proto: 'udp', src: parseIp('10.0.0.1'), dst: parseIp('10.0.0.2'), sport: 777, dport: 0 };
    const vx = encapsulate({ dstMac: MAC, srcMac: MAC, outer, type: 'vxlan', inner });
    const gn = encapsulate({ dstMac: MAC, srcMac: MAC, outer, type: 'geneve', inner });
    const innerHash = packetHash(inner, T.TCPv4 | T.UDPv4, DEFAULT_RSS_KEY);
    expect(r.hash(vx)).toEqual(innerHash);
    expect(r.hash(gn)).toEqual(packetHash(gn, T.TCPv4 | T.UDPv4, DEFAULT_RSS_KEY));
    expect(r.tunnelSet(le32(0))).toBe(true);
    expect(r.hash(vx)).toEqual(packetHash(vx, T.TCPv4 | T.UDPv4, DEFAULT_RSS_KEY));
  });
});
