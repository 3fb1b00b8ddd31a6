// Device statistics of the reference net device (VIRTIO_NET_F_DEVICE_STATS, 5.1.9.5.11):
// le64 counters per statistic type and virtqueue (wrapping at 2^64), the capability
// answered to VIRTIO_NET_CTRL_STATS_QUERY and the replies to VIRTIO_NET_CTRL_STATS_GET.
import { hasBit } from '../../virtio/features.ts';
import {
  STATS_COUNTERS, STATS_REPLY_HDR_SIZE, VIRTIO_NET_ERR, VIRTIO_NET_F, VIRTIO_NET_OK, VIRTIO_NET_STATS_TYPE, decodeStatsRequest, statsBit,
  type StatsTypeName,
} from '../../virtio/net.ts';
import type { Defects } from '../defects.ts';

const T = VIRTIO_NET_STATS_TYPE;
const U64 = (1n << 64n) - 1n;
/** Every type v1.4 defines. */
const DEFINED = (Object.values(T) as number[]).reduce((m, t) => m | statsBit(t), 0n);
/** What the reference counts: no segmentation offloads and no speed allowance, so no GSO or SPEED statistics. */
const SUPPORTED: StatsTypeName[] = ['RX_BASIC', 'RX_CSUM', 'TX_BASIC', 'TX_CSUM', 'CVQ'];
/** Features a type needs (any of them), per 5.1.9.5.11. */
const NEEDS: Partial<Record<StatsTypeName, number[]>> = {
  RX_CSUM: [VIRTIO_NET_F.GUEST_CSUM], TX_CSUM: [VIRTIO_NET_F.CSUM],
  RX_GSO: [VIRTIO_NET_F.GUEST_TSO4, VIRTIO_NET_F.GUEST_TSO6], TX_GSO: [VIRTIO_NET_F.HOST_TSO4, VIRTIO_NET_F.HOST_TSO6, VIRTIO_NET_F.HOST_USO],
};

export type QueueKind = 'rx' | 'tx' | 'ctrl';

/** What GET needs to know of the device: the negotiated queue layout and features. */
export interface StatsContext {
  /** Kind of virtqueue `vq` under the negotiated features; undefined beyond the queues. */
  kind(vq: number): QueueKind | undefined;
  features: bigint;
}

const nameOf = (type: number): StatsTypeName => (Object.keys(T) as StatsTypeName[]).find((k) => T[k] === type)!;
const kindOf = (name: StatsTypeName): QueueKind => (name === 'CVQ' ? 'ctrl' : name.startsWith('RX_') ? 'rx' : 'tx');

export class NetStats {
  private counters = new Map<string, bigint[]>();

  constructor(private readonly defects: Defects) {}

  reset(): void { this.counters.clear(); }

  /** Add `n` to one counter of `type` for virtqueue `vq` (wraps to zero past 2^64 - 1). */
  add(type: StatsTypeName, vq: number, counter: string, n: number | bigint = 1): void {
    const names = STATS_COUNTERS[type];
    const i = names.indexOf(counter);
    if (i < 0) throw new Error(`no counter ${counter} in ${type} statistics`);
    const key = `${type}/${vq}`;
    const c = this.counters.get(key) ?? names.map(() => 0n);
    c[i] = (c[i]! + BigInt(n)) & U64;
    this.counters.set(key, c);
  }

  read(type: StatsTypeName, vq: number): bigint[] {
    return this.counters.get(`${type}/${vq}`) ?? STATS_COUNTERS[type].map(() => 0n);
  }

  /** supported_stats_types[0]. */
  supported(): bigint {
    let m = SUPPORTED.reduce((a, n) => a | statsBit(T[n]), 0n);
    if (this.defects.on('net-stats-caps-incomplete')) m &= ~statsBit(T.CVQ);
    return m;
  }

  /** VIRTIO_NET_CTRL_STATS_QUERY: struct virtio_net_stats_capabilities. */
  query(): { ack: number; result: Uint8Array } {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, this.supported(), true);
    return { ack: VIRTIO_NET_OK, result: b };
  }

  /** Why one request entry cannot be answered, or undefined. */
  private invalid(e: { vq_index: number; types: bigint }, ctx: StatsContext): string | undefined {
    const kind = ctx.kind(e.vq_index);
    if (kind === undefined) return `vq_index ${e.vq_index} beyond the queues`;
    if (e.types & ~DEFINED) return 'unknown types';
    for (const name of Object.keys(T) as StatsTypeName[]) {
      if (!(e.types & statsBit(T[name]))) continue;
      if (!SUPPORTED.includes(name)) return `${name} not supported`;
      if (kindOf(name) !== kind) return `${name} on a ${kind} queue`;
      const need = NEEDS[name];
      if (need && !need.some((f) => hasBit(ctx.features, f))) return `${name} without its feature`;
    }
    return undefined;
  }

  /**
   * VIRTIO_NET_CTRL_STATS_GET: one reply per (entry, type), types in ascending order, as
   * many whole replies as fit in `room` bytes. Any incorrect entry fails the command.
   */
  get(data: Uint8Array, ctx: StatsContext, room: number): { ack: number; result: Uint8Array } {
    const fail = { ack: VIRTIO_NET_ERR, result: new Uint8Array(0) };
    let entries = decodeStatsRequest(data);
    if (!entries) return fail;
    if (this.defects.on('net-stats-get-unchecked')) {
      // Answers whatever it can find, checking nothing.
      entries = entries.map((e) => ({ vq_index: e.vq_index, types: e.types & SUPPORTED.reduce((a, n) => a | statsBit(T[n]), 0n) }));
    } else if (this.defects.on('net-stats-partial-get')) {
      // Drops the incorrect entries and answers the rest; fails only when none is left.
      entries = entries.filter((e) => this.invalid(e, ctx) === undefined);
      if (entries.length === 0) return fail;
    } else if (entries.some((e) => this.invalid(e, ctx) !== undefined)) {
      return fail;
    }
    const parts: Uint8Array[] = [];
    let used = 0;
    for (const e of entries) {
      for (const type of (Object.values(T) as number[]).sort((a, b) => a - b)) {
        if (!(e.types & statsBit(type))) continue;
        const r = this.reply(type, e.vq_index);
        if (used + r.length > room) break;
        parts.push(r);
        used += r.length;
      }
    }
    if (this.defects.on('net-stats-fills-result')) used = room;
    const out = new Uint8Array(used);
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return { ack: VIRTIO_NET_OK, result: out };
  }

  private reply(type: number, vq: number): Uint8Array {
    const c = this.read(nameOf(type), vq);
    const size = STATS_REPLY_HDR_SIZE + 8 * c.length;
    const b = new Uint8Array(size);
    const v = new DataView(b.buffer);
    v.setUint8(0, type);
    v.setUint16(2, this.defects.on('net-stats-reply-vq-index-zero') ? 0 : vq, true);
    v.setUint16(6, this.defects.on('net-stats-size-without-hdr') ? size - STATS_REPLY_HDR_SIZE : size, true);
    c.forEach((x, i) => v.setBigUint64(STATS_REPLY_HDR_SIZE + 8 * i, x, true));
    return b;
  }
}
