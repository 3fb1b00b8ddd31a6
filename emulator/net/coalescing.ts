// Notification coalescing parameters of the reference net device (VIRTIO_NET_F_NOTF_COAL,
// VIRTIO_NET_F_VQ_NOTF_COAL, 5.1.9.5.10): max_packets/max_usecs per transmit and receive
// virtqueue, set for all of one kind (TX_SET, RX_SET) or for one (VQ_SET), read with VQ_GET.
import { hasBit } from '../../virtio/features.ts';
import { VIRTIO_NET_CTRL_NOTF_COAL, VIRTIO_NET_ERR, VIRTIO_NET_F, VIRTIO_NET_OK, decodeCoal, encodeCoal, type NetCoal } from '../../virtio/net.ts';
import type { Defects } from '../defects.ts';

/** What the reference can do: longer delays or bigger batches than these it refuses. */
export const COAL_MAX_USECS = 1_000_000;
export const COAL_MAX_PACKETS = 4096;
const ZERO: NetCoal = { max_packets: 0, max_usecs: 0 };

export interface CoalContext {
  /** Kind of an enabled virtqueue under the negotiated layout (controlq: 'ctrl'); undefined when absent or not enabled. */
  kind(vq: number): 'rx' | 'tx' | 'ctrl' | undefined;
  /** Transmit or receive virtqueue indices of the negotiated layout. */
  queues(kind: 'rx' | 'tx'): number[];
  features: bigint;
}

const within = (c: NetCoal): boolean => c.max_usecs <= COAL_MAX_USECS && c.max_packets <= COAL_MAX_PACKETS;
const clamp = (c: NetCoal): NetCoal => ({ max_packets: Math.min(c.max_packets, COAL_MAX_PACKETS), max_usecs: Math.min(c.max_usecs, COAL_MAX_USECS) });

/** What coalesce() decided for one used packet. */
export interface Coalesced {
  /** The notification waits (more packets or max_usecs to come). */
  held: boolean;
  /** The conditions were met with this packet: notify now for what was used since this used position. */
  start?: number;
}

export class NetCoalescing {
  private params = new Map<number, NetCoal>();
  /** Open counting windows per virtqueue: used position at the first packet, packets so far, the max_usecs timer. */
  private windows = new Map<number, { start: number; count: number; timer?: ReturnType<typeof setTimeout> }>();

  constructor(private readonly defects: Defects) {}

  /** Every parameter back to 0 (5.1.9.5.10.6), unless the kept-after-reset defect. */
  reset(): void {
    if (!this.defects.on('net-coal-kept-after-reset')) this.params.clear();
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
  }

  /**
   * A packet was used on virtqueue `vq`, `start` being the used position before it. With
   * non-zero max_packets and max_usecs the device counts (5.1.9.5.10.3): the conditions are
   * met at max_packets packets (returned as `start`) or when max_usecs elapse after the
   * window's first packet (`onTimer`, later). Otherwise every packet meets them (held false).
   */
  coalesce(vq: number, start: number, onTimer: (start: number) => void): Coalesced {
    const c = this.of(vq);
    if (!c.max_packets || !c.max_usecs) return { held: false };
    let w = this.windows.get(vq);
    if (!w) {
      const win: { start: number; count: number; timer?: ReturnType<typeof setTimeout> } = { start, count: 0 };
      win.timer = setTimeout(() => {
        if (this.windows.get(vq) !== win) return;
        this.windows.delete(vq);
        onTimer(win.start);
      }, c.max_usecs / 1000);
      win.timer.unref?.();
      this.windows.set(vq, win);
      w = win;
    }
    w.count++;
    if (w.count < c.max_packets) return { held: true };
    clearTimeout(w.timer);
    this.windows.delete(vq);
    return { held: false, start: w.start };
  }

  of(vq: number): NetCoal { return this.params.get(vq) ?? ZERO; }

  /** One VIRTIO_NET_CTRL_NOTF_COAL command; VQ_GET answers virtio_net_ctrl_coal in `result`. */
  command(cmd: number, data: Uint8Array, ctx: CoalContext): { ack: number; result?: Uint8Array } {
    const C = VIRTIO_NET_CTRL_NOTF_COAL;
    const err = { ack: VIRTIO_NET_ERR };
    if (cmd === C.TX_SET || cmd === C.RX_SET) {
      if (!hasBit(ctx.features, VIRTIO_NET_F.NOTF_COAL) || data.length < 8) return err;
      let c = decodeCoal(data);
      if (!within(c)) {
        if (!this.defects.on('net-coal-set-clamps')) return err;
        c = clamp(c);
      }
      for (const vq of ctx.queues(cmd === C.TX_SET ? 'tx' : 'rx')) this.params.set(vq, c);
      return { ack: VIRTIO_NET_OK };
    }
    if (cmd !== C.VQ_SET && cmd !== C.VQ_GET) return err;
    if (!hasBit(ctx.features, VIRTIO_NET_F.VQ_NOTF_COAL) || data.length < (cmd === C.VQ_SET ? 12 : 4)) return err;
    const v = new DataView(data.buffer, data.byteOffset, data.length);
    const vq = v.getUint16(0, true);
    if (v.getUint16(2, true) !== 0 && this.defects.on('net-coal-reserved-rejected')) return err;
    const kind = ctx.kind(vq);
    if (kind !== 'rx' && kind !== 'tx' && !this.defects.on('net-coal-vq-any-index')) return err;
    if (cmd === C.VQ_GET) return { ack: VIRTIO_NET_OK, result: encodeCoal(this.of(vq)) };
    let c = decodeCoal(data.subarray(4, 12));
    if (!within(c)) {
      if (!this.defects.on('net-coal-vq-set-clamps')) return err;
      c = clamp(c);
    }
    this.params.set(vq, c);
    return { ack: VIRTIO_NET_OK };
  }
}
