import { describe, expect, it } from 'vitest';
import { COAL_MAX_USECS, NetCoalescing } from './coalescing.ts';
import { Defects } from '../defects.ts';
import { VIRTIO_NET_CTRL_NOTF_COAL as C, VIRTIO_NET_ERR, VIRTIO_NET_F, VIRTIO_NET_OK, decodeCoal, encodeCoal, encodeCoalVq } from '../../virtio/net.ts';
import { bit } from '../../virtio/features.ts';

const ctx = {
  kind: (vq: number) => (vq === 4 ? 'ctrl' as const : vq < 4 ? (vq % 2 ? 'tx' as const : 'rx' as const) : undefined),
  queues: (k: 'rx' | 'tx') => (k === 'rx' ? [0, 2] : [1, 3]),
  features: bit(VIRTIO_NET_F.NOTF_COAL) | bit(VIRTIO_NET_F.VQ_NOTF_COAL),
};

describe('NetCoalescing', () => {
  it('applies the last parameters set for a queue, whichever command set them', () => {
    const n = new NetCoalescing(Defects.none());
    expect(n.command(C.RX_SET, encodeCoal({ max_packets: 15, max_usecs: 10 }), ctx).ack).toBe(VIRTIO_NET_OK);
    expect(n.command(C.VQ_SET, encodeCoalVq(0, 0, { max_packets: 3, max_usecs: 4 }), ctx).ack).toBe(VIRTIO_NET_OK);
    expect(decodeCoal(n.command(C.VQ_GET, encodeCoalVq(0, 0), ctx).result!)).toEqual({ max_packets: 3, max_usecs: 4 });
    expect(n.of(2)).toEqual({ max_packets: 15, max_usecs: 10 });
    expect(n.of(1)).toEqual({ max_packets: 0, max_usecs: 0 });
  });

  it('refuses what it cannot do, the controlq and queues beyond the layout; a reset zeroes everything', () => {
    const n = new NetCoalescing(Defects.none());
    expect(n.command(C.TX_SET, encodeCoal({ max_packets: 1, max_usecs: COAL_MAX_USECS + 1 }), ctx).ack).toBe(VIRTIO_NET_ERR);
    expect(n.command(C.VQ_GET, encodeCoalVq(4, 0), ctx).ack).toBe(VIRTIO_NET_ERR);
    expect(n.command(C.VQ_SET, encodeCoalVq(7, 0, { max_packets: 1, max_usecs: 1 }), ctx).ack).toBe(VIRTIO_NET_ERR);
    expect(n.command(C.VQ_SET, encodeCoalVq(1, 0xffff, { max_packets: 1, max_usecs: 1 }), ctx).ack).toBe(VIRTIO_NET_OK);
    n.reset();
    expect(n.of(1)).toEqual({ max_packets: 0, max_usecs: 0 });
  });

  it('holds notifications back until max_packets packets, or max_usecs after the first', async () => {
    const n = new NetCoalescing(Defects.none());
    expect(n.coalesce(0, 7, () => {})).toEqual({ held: false });
    n.command(C.VQ_SET, encodeCoalVq(0, 0, { max_packets: 3, max_usecs: 1_000_000 }), ctx);
    expect(n.coalesce(0, 7, () => {})).toEqual({ held: true });
    expect(n.coalesce(0, 8, () => {})).toEqual({ held: true });
    expect(n.coalesce(0, 9, () => {})).toEqual({ held: false, start: 7 });
    n.command(C.VQ_SET, encodeCoalVq(2, 0, { max_packets: 10, max_usecs: 2000 }), ctx);
    const fired = await new Promise<number>((res) => { expect(n.coalesce(2, 40, res).held).toBe(true); });
    expect(fired).toBe(40);
  });
});
