import { describe, expect, it } from 'vitest';
import { NetStats } from './stats.ts';
import { Defects } from '../defects.ts';
import { VIRTIO_NET_ERR, VIRTIO_NET_F, VIRTIO_NET_OK, VIRTIO_NET_STATS_TYPE as T, decodeStatsReplies, encodeStatsRequest, statsBit } from '../../virtio/net.ts';
import { bit } from '../../virtio/features.ts';

const ctx = { kind: (vq: number) => (vq === 2 ? 'ctrl' as const : vq < 2 ? (vq % 2 ? 'tx' as const : 'rx' as const) : undefined), features: bit(VIRTIO_NET_F.CTRL_VQ) };
const req = (...e: Array<[number, number[]]>) => encodeStatsRequest(e.map(([vq, ts]) => ({ vq_index: vq, types: ts.reduce((m, t) => m | statsBit(t), 0n) })));

describe('NetStats', () => {
  it('counters wrap around to zero past 2^64 - 1', () => {
    const s = new NetStats(Defects.none());
    s.add('RX_BASIC', 0, 'rx_packets', (1n << 64n) - 1n);
    s.add('RX_BASIC', 0, 'rx_packets', 2);
    expect(s.read('RX_BASIC', 0)[1]).toBe(1n);
  });

  it('answers GET with one reply per queue and type, headers filled, sizes covering the counters', () => {
    const s = new NetStats(Defects.none());
    s.add('TX_BASIC', 1, 'tx_bytes', 300);
    const r = s.get(req([0, [T.RX_BASIC]], [1, [T.TX_BASIC]], [2, [T.CVQ]]), ctx, 512);
    expect(r.ack).toBe(VIRTIO_NET_OK);
    const { replies, rest } = decodeStatsReplies(r.result);
    expect(rest).toBe(0);
    expect(replies.map((x) => [x.type, x.vq_index, x.size])).toEqual([[T.RX_BASIC, 0, 56], [T.TX_BASIC, 1, 56], [T.CVQ, 2, 24]]);
    expect(replies[1]!.counters[2]).toBe(300n);
  });

  it('fails the whole command for any incorrect entry, and writes only whole replies that fit', () => {
    const s = new NetStats(Defects.none());
    expect(s.get(req([9, [T.RX_BASIC]]), ctx, 512).ack).toBe(VIRTIO_NET_ERR);
    expect(s.get(req([0, [T.RX_BASIC, 8]]), ctx, 512).ack).toBe(VIRTIO_NET_ERR);
    expect(s.get(req([0, [T.RX_BASIC]], [0, [T.TX_BASIC]]), ctx, 512).ack).toBe(VIRTIO_NET_ERR);
    expect(s.get(req([1, [T.TX_CSUM]]), ctx, 512).ack).toBe(VIRTIO_NET_ERR);
    expect(s.get(req([0, [T.RX_BASIC]], [1, [T.TX_BASIC]]), ctx, 100).result.length).toBe(56);
  });
});
