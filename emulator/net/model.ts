// Reference network device (spec 5.1) with a wire the suite holds: frames injected on
// the wire go to the driver's receive queues (after the receive filter and the queue
// steering), frames the driver transmits are captured. Queues: receiveqN/transmitqN
// pairs, then controlq (RX mode, MAC table and address, MQ pairs).
// The receive path is device-initiated: buffers posted on a receiveq wait until a frame
// arrives (DeviceModel.isReceiveQueue / receiveReady); frames arriving without buffers
// wait in a bounded backlog per queue.
import { bit, hasBit } from '../../virtio/features.ts';
import { DEVICE_ID } from '../../virtio/ids.ts';
import {
  ETH_HLEN, NET_CONFIG, NET_HDR_SIZE, VIRTIO_NET_CTRL, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MQ,
  VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_STATS, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_S_ANNOUNCE, vlanOf,
  VIRTIO_NET_ERR, VIRTIO_NET_F, VIRTIO_NET_HDR_F, VIRTIO_NET_HDR_GSO, VIRTIO_NET_OK, VIRTIO_NET_S_LINK_UP, controlq, decodeMacTables,
  decodeNetHdr, encodeNetHdr, frameL4, isBroadcast, isMulticast, sameMac, IPPROTO_TCP, IPPROTO_UDP,
} from '../../virtio/net.ts';
import { PackedRingDevice, type DeviceRing } from '../../virtio/packed-ring-device.ts';
import { RingError, SplitRingDevice, type Chain } from '../../virtio/split-ring-device.ts';
import { DEVICE_NEEDS_RESET, DRIVER_OK } from '../../virtio/status.ts';
import type { ChainContext, DeviceModel, VirtioDevice } from '../device.ts';
import type { Defects } from '../defects.ts';
import { DmaError } from '../ram.ts';
import { NetStats } from './stats.ts';
import { NetCoalescing } from './coalescing.ts';
import { completeChecksum, type WireOffload } from '../../virtio/net.ts';
import { receiveOffload, transmitOffload, withOffload, type RxOffloaded } from './offload.ts';
import { encodeHashFields, NET_HDR_HASH_SIZE, VIRTIO_NET_CTRL_HASH_TUNNEL_SET, VIRTIO_NET_HASH_REPORT } from '../../virtio/net-hash.ts';
import { NetRss, RSS_MAX_KEY_SIZE, RSS_MAX_TABLE_LENGTH, RSS_SUPPORTED_HASH_TYPES, SUPPORTED_TUNNEL_TYPES } from './rss.ts';

export const NET_QUEUE_SIZE = 256;
export const DEFAULT_NET_MAC = new Uint8Array([0x52, 0x54, 0x00, 0xc7, 0x5a, 0x01]);
export const DEFAULT_NET_PAIRS = 2;
export const DEFAULT_NET_MTU = 4000;
/** Frames waiting for receive buffers, per queue; older ones are dropped beyond it. */
export const RX_BACKLOG = 256;
export const NET_SPEED_MBPS = 10_000;
/** duplex: 0x00 full per 5.1.4.1 (the layout text says 0x01; both are legal values). */
export const NET_DUPLEX_FULL = 0x00;
/** Up to supported_tunnel_types (RSS, HASH_REPORT, HASH_TUNNEL). */
const NET_CONFIG_SIZE_RSS = 28;
/** What the speed defect presents: beyond 0x7fffffff and not 0xffffffff (unknown). */
const SPEED_OUT_OF_RANGE = 0x80000000;
/** What the small-mtu defect presents (and enforces): legal, but below the recommended 1280. */
const SMALL_MTU = 576;
/** Where the no-MRG_RXBUF split defect cuts a packet into a second buffer. */
const SPLIT_AT = 1024;
/** How much of each merged buffer the partial-fill defect leaves unused. */
const PARTIAL_GAP = 12;
/** Known virtio_net_hdr flag bits (5.1.6); anything else is ignored on transmit. */
const KNOWN_TX_FLAGS = 0x7f;
/** How long the apart defect holds back the rest of a packet's buffers. */
const APART_MS = 30;

export interface NetModelOptions { mac?: Uint8Array; maxPairs?: number; mtu?: number }

/** What the suite sees of the wire (adapters/types.ts NetWire). */
export interface NetWireState {
  sent: Uint8Array[];
  dropped: number;
}

export class NetModel implements DeviceModel {
  readonly type = 'net' as const;
  readonly deviceId = DEVICE_ID.net;
  readonly numQueues: number;
  readonly maxPairs: number;
  readonly permanentMac: Uint8Array;
  readonly mtu: number;
  /** Link state: the wire's, survives device resets. */
  linkUp = true;
  readonly wire: NetWireState = { sent: [], dropped: 0 };
  private dev?: VirtioDevice;
  // --- state a reset clears (5.1.9.5) ---
  private mac: Uint8Array;
  private configMac: Uint8Array;
  private promisc = true;
  private allmulti = false;
  /** CTRL_RX_EXTRA modes. */
  private alluni = false;
  private nomulti = false;
  private nouni = false;
  private nobcast = false;
  private unicast: Uint8Array[] = [];
  private multicast: Uint8Array[] = [];
  /** A MAC table received but not in force yet (late-table defect). */
  private stagedTable?: { unicast: Uint8Array[]; multicast: Uint8Array[] };
  private pairs = 1;
  /** VLAN filter table (CTRL_VLAN): ids added with VLAN_ADD. */
  private vlans = new Set<number>();
  /** VIRTIO_NET_S_ANNOUNCE is set (GUEST_ANNOUNCE) until the driver acknowledges it. */
  private announcing = false;
  private mtuShift = 0;
  private speedDrift = 0;
  private flow = 0;
  private backlog: Uint8Array[][];
  /** Merged receive: chains taken from a queue before a frame had enough room. */
  private taken: Chain[][];
  private lock: Promise<unknown> = Promise.resolve();
  /** virtio_net_hdr fields host offloads gave a backlogged packet (offload.ts). */
  private rxOffload = new WeakMap<Uint8Array, RxOffloaded['hdr']>();
  /** Hash types, key and RSS steering (RSS_CONFIG / HASH_CONFIG). */
  private readonly rss: NetRss;
  /** Moves at every reset, so work deferred by a defect does not touch the next queues. */
  private epoch = 0;
  /** DEVICE_STATS counters and replies (stats.ts). */
  readonly stats: NetStats;
  /** NOTF_COAL / VQ_NOTF_COAL parameters (coalescing.ts). */
  readonly coal: NetCoalescing;

  constructor(o: NetModelOptions, private readonly defects: Defects) {
    this.maxPairs = o.maxPairs ?? DEFAULT_NET_PAIRS;
    this.numQueues = 2 * this.maxPairs + 1;
    this.permanentMac = (o.mac ?? DEFAULT_NET_MAC).slice(0, 6);
    this.mtu = defects.on('net-mtu-below-1280') ? SMALL_MTU : (o.mtu ?? DEFAULT_NET_MTU);
    this.mac = this.permanentMac.slice();
    this.configMac = this.permanentMac.slice();
    this.backlog = Array.from({ length: this.maxPairs }, () => []);
    this.taken = Array.from({ length: this.maxPairs }, () => []);
    this.rss = new NetRss(this.maxPairs, defects);
    this.stats = new NetStats(defects);
    this.coal = new NetCoalescing(defects);
    this.reset();
  }

  attach(device: VirtioDevice): void { this.dev = device; }

  queueMaxSize(q: number): number { return q < this.numQueues ? NET_QUEUE_SIZE : 0; }

  offeredFeatures(): bigint {
    const F = VIRTIO_NET_F;
    let f = [F.CSUM, F.GUEST_CSUM, F.MAC, F.STATUS, F.MRG_RXBUF, F.CTRL_VQ, F.CTRL_RX, F.CTRL_VLAN, F.CTRL_RX_EXTRA, F.GUEST_ANNOUNCE,
      F.CTRL_MAC_ADDR, F.MQ, F.MTU, F.SPEED_DUPLEX, F.RSS, F.HASH_REPORT, F.HASH_TUNNEL]
      .reduce((a, n) => a | bit(n), 0n);
    // Checksum and TCP segmentation offloads, both ways (offload.ts).
    f |= [F.GUEST_TSO4, F.GUEST_TSO6, F.GUEST_ECN, F.HOST_TSO4, F.HOST_TSO6, F.HOST_ECN].reduce((a, n) => a | bit(n), 0n);
    // Only the hard requirements broken: CTRL_RX_EXTRA (a SHOULD NOT of its own) goes with CTRL_VQ.
    if (this.defects.on('net-offers-mq-without-ctrl-vq')) f &= ~(bit(F.CTRL_VQ) | bit(F.CTRL_RX_EXTRA) | bit(F.HASH_REPORT) | bit(F.HASH_TUNNEL));
    const withoutCtrlVq = bit(F.CTRL_VQ) | bit(F.CTRL_RX) | bit(F.CTRL_VLAN) | bit(F.GUEST_ANNOUNCE) | bit(F.CTRL_MAC_ADDR) | bit(F.MQ)
      | bit(F.RSS) | bit(F.HASH_REPORT) | bit(F.HASH_TUNNEL);
    if (this.defects.on('net-offers-rx-extra-without-ctrl-vq')) f = (f & ~withoutCtrlVq) | bit(F.CTRL_RX_EXTRA);
    // The other SHOULD NOT of 5.1.4.1.
    if (this.defects.on('net-offers-hash-report-without-ctrl-vq')) f = (f & ~withoutCtrlVq & ~bit(F.CTRL_RX_EXTRA)) | bit(F.HASH_REPORT);
    // Statistics and coalescing are control commands: only with CTRL_VQ.
    if (hasBit(f, F.CTRL_VQ)) f |= bit(F.DEVICE_STATS) | bit(F.NOTF_COAL) | bit(F.VQ_NOTF_COAL);
    return f;
  }

  private negotiated(n: number): boolean { return hasBit(this.dev?.features ?? 0n, n); }

  config(): Uint8Array {
    // Up to supported_tunnel_types (RSS, HASH_REPORT, HASH_TUNNEL).
    const b = new Uint8Array(NET_CONFIG_SIZE_RSS);
    const v = new DataView(b.buffer);
    b.set(this.configMac, NET_CONFIG.mac[0]);
    v.setUint16(NET_CONFIG.status[0], (this.linkUp ? VIRTIO_NET_S_LINK_UP : 0) | (this.announcing ? VIRTIO_NET_S_ANNOUNCE : 0), true);
    v.setUint16(NET_CONFIG.max_virtqueue_pairs[0], this.defects.on('net-max-pairs-zero') ? 0 : this.maxPairs, true);
    let mtu = this.defects.on('net-mtu-out-of-range') ? 60 : this.mtu;
    if (this.defects.on('net-mtu-changes')) mtu += this.mtuShift;
    v.setUint16(NET_CONFIG.mtu[0], mtu, true);
    // 10 Gbit/s, full duplex; the speed defect moves it on every configuration access while the link is up.
    if (this.defects.on('net-speed-changes-link-up') && this.linkUp) this.speedDrift += 1;
    v.setUint32(NET_CONFIG.speed[0], this.defects.on('net-speed-out-of-range') ? SPEED_OUT_OF_RANGE : NET_SPEED_MBPS + this.speedDrift, true);
    v.setUint8(NET_CONFIG.duplex[0], this.defects.on('net-duplex-invalid') ? 2 : NET_DUPLEX_FULL);
    v.setUint8(NET_CONFIG.rss_max_key_size[0], this.defects.on('net-rss-key-size-small') ? 32 : RSS_MAX_KEY_SIZE);
    v.setUint16(NET_CONFIG.rss_max_indirection_table_length[0], this.defects.on('net-rss-table-length-small') ? 64 : RSS_MAX_TABLE_LENGTH, true);
    v.setUint32(NET_CONFIG.supported_hash_types[0], RSS_SUPPORTED_HASH_TYPES, true);
    v.setUint32(NET_CONFIG.supported_tunnel_types[0], SUPPORTED_TUNNEL_TYPES, true);
    return b;
  }

  writeConfig(): void {
    // Every net configuration field is read-only for the driver (5.1.4).
  }

  reset(): void {
    this.mac = this.permanentMac.slice();
    this.configMac = this.permanentMac.slice();
    this.promisc = true;
    this.allmulti = false;
    this.alluni = false; this.nomulti = false; this.nouni = false; this.nobcast = false;
    if (!this.defects.on('net-mac-table-kept-after-reset')) { this.unicast = []; this.multicast = []; }
    this.stagedTable = undefined;
    this.pairs = this.defects.on('net-mq-spreads-at-start') ? this.maxPairs : 1;
    this.vlans = new Set();
    this.announcing = false;
    this.backlog = Array.from({ length: this.maxPairs }, () => []);
    this.taken = Array.from({ length: this.maxPairs }, () => []);
    this.rss.reset();
    this.epoch++;
    this.stats?.reset();
    this.coal?.reset();
  }

  // --- the wire ------------------------------------------------------------------------

  /**
   * A frame arrives from the wire: filter, steer, deliver when buffers allow. `offload`:
   * host checksum/segmentation metadata, which may make it one GSO packet or several.
   */
  async inject(frame: Uint8Array, offload?: WireOffload): Promise<void> {
    if (!this.linkUp || !this.accepts(frame)) { this.wire.dropped++; return; }
    const F = VIRTIO_NET_F;
    const packets = offload
      ? receiveOffload(frame, offload, { guestCsum: this.negotiated(F.GUEST_CSUM), tso4: this.negotiated(F.GUEST_TSO4), tso6: this.negotiated(F.GUEST_TSO6), ecn: this.negotiated(F.GUEST_ECN) }, this.defects)
      : [{ frame, hdr: undefined }];
    for (const p of packets) {
      // A GSO packet stands for segments of gso_size: the mtu limit is theirs.
      const mtuOn = this.negotiated(VIRTIO_NET_F.MTU) && !p.hdr?.gso_type;
      if (mtuOn && p.frame.length > this.mtu + ETH_HLEN && !this.defects.on('net-rx-exceeds-mtu')) { this.wire.dropped++; continue; }
      const pair = this.steer(p.frame);
      const q = this.backlog[pair]!;
      const copy = p.frame.slice();
      if (p.hdr) this.rxOffload.set(copy, p.hdr);
      q.push(copy);
      if (q.length > RX_BACKLOG) { q.shift(); this.wire.dropped++; this.rxCount(pair, 'rx_drops'); this.rxCount(pair, 'rx_drop_overruns'); }
      await this.drain(pair);
    }
  }

  /** Link up/down (STATUS): the status field changes, a configuration change follows. */
  setLink(up: boolean): void {
    if (this.linkUp === up) return;
    this.linkUp = up;
    if (this.defects.on('net-mtu-changes')) this.mtuShift += 1000;
    this.dev?.configChanged();
  }

  /**
   * Ask the driver to announce itself (GUEST_ANNOUNCE negotiated, after DRIVER_OK): status
   * gets VIRTIO_NET_S_ANNOUNCE and a configuration change follows. False when it cannot.
   */
  announce(): boolean {
    if (!this.negotiated(VIRTIO_NET_F.GUEST_ANNOUNCE) || !this.dev || !(this.dev.status & DRIVER_OK)) return false;
    this.announcing = true;
    this.dev.configChanged();
    return true;
  }

  private accepts(frame: Uint8Array): boolean {
    if (frame.length < ETH_HLEN) return false;
    const dst = frame.subarray(0, 6);
    const promisc = this.promisc && !this.defects.on('net-promisc-ignored');
    // Without CTRL_VLAN every VLAN-tagged frame is accepted (5.1.9.5.3.1).
    const vid = vlanOf(frame);
    if (vid !== undefined && !this.negotiated(VIRTIO_NET_F.CTRL_VLAN) && this.defects.on('net-drops-vlan-tagged')) return false;
    if (promisc) return true;
    // With CTRL_VLAN a tagged frame needs its id in the table (after promiscuous mode, as QEMU).
    if (vid !== undefined && this.negotiated(VIRTIO_NET_F.CTRL_VLAN) && !this.vlans.has(vid) && !this.defects.on('net-vlan-no-filter')) return false;
    const anyAddress = this.defects.on('net-no-rx-filter');
    // The order of QEMU's receive_filter: broadcast, then NOMULTI/ALLMULTI/table; NOUNI/ALLUNI/mac/table.
    if (isBroadcast(dst)) return !(this.nobcast && !this.defects.on('net-nobcast-ignored'));
    if (isMulticast(dst)) {
      if (this.nomulti && !this.defects.on('net-nomulti-ignored')) return false;
      return anyAddress || (this.allmulti && !this.defects.on('net-allmulti-ignored')) || this.multicast.some((m) => sameMac(m, dst));
    }
    if (this.nouni && !this.defects.on('net-nouni-ignored')) return false;
    if (this.alluni && !this.defects.on('net-alluni-ignored')) return true;
    return anyAddress || sameMac(this.mac, dst) || this.unicast.some((m) => sameMac(m, dst));
  }

  /** Receive queue pair index (0-based): by RSS once RSS_CONFIG set it up, else receiveq1 until VQ_PAIRS_SET asks for more. */
  private steer(frame: Uint8Array): number {
    const byRss = this.negotiated(VIRTIO_NET_F.RSS) ? this.rss.steer(frame) : undefined;
    if (byRss !== undefined) return byRss;
    // The suite's frames have no flows to follow: spread round-robin over the active pairs.
    const n = this.negotiated(VIRTIO_NET_F.MQ) ? Math.min(this.pairs, this.maxPairs) : 1;
    return n <= 1 ? 0 : (this.flow++ % n);
  }

  // --- receive -------------------------------------------------------------------------

  isReceiveQueue(q: number): boolean { return q < 2 * this.maxPairs && q % 2 === 0 && !this.isControlQueue(q); }

  private isControlQueue(q: number): boolean {
    // With MQ or RSS there are max_virtqueue_pairs pairs before controlq (5.1.2).
    const pairs = this.negotiated(VIRTIO_NET_F.MQ) || this.negotiated(VIRTIO_NET_F.RSS);
    return this.negotiated(VIRTIO_NET_F.CTRL_VQ) && q === controlq(pairs, this.maxPairs);
  }

  async receiveReady(q?: number): Promise<void> {
    if (q === undefined) { for (let p = 0; p < this.maxPairs; p++) await this.drain(p); return; }
    this.rxCount(q / 2, 'rx_notifications');
    await this.drain(q / 2);
  }

  /** Deliver backlogged frames of pair `pair` while its receiveq has room (one at a time per device). */
  private drain(pair: number): Promise<void> {
    const run = async (): Promise<void> => {
      const dev = this.dev;
      if (!dev) return;
      const qs = dev.queues[2 * pair];
      while (this.backlog[pair]!.length > 0) {
        if (dev.status & DEVICE_NEEDS_RESET || !(dev.status & DRIVER_OK) || !qs?.enabled || !qs.ring) return;
        const ring = qs.ring;
        try {
          const oldUsed = ring.usedIdx;
          const dropped = this.wire.dropped;
          const done = await this.deliver(pair, ring, this.backlog[pair]![0]!);
          if (!done) return;
          const frame = this.backlog[pair]!.shift()!;
          if (this.wire.dropped !== dropped) this.rxCount(pair, 'rx_drops');
          else { this.rxCount(pair, 'rx_packets'); this.rxCount(pair, 'rx_bytes', frame.length); }
          await ring.suppressNotifications(false);
          if (ring.usedIdx !== oldUsed) {
            // Receive notification coalescing (coalescing.ts): held back, or due for what was used since the window opened.
            const co = this.coal.coalesce(2 * pair, oldUsed, (start) => this.coalescedNotify(pair, ring, start));
            if (!co.held && await this.mayNotify(ring, co.start ?? oldUsed, co.start !== undefined)) { dev.irq.queue(2 * pair); this.rxCount(pair, 'rx_interrupts'); }
          }
        } catch (e) {
          if (e instanceof RingError || e instanceof DmaError) { dev.needsReset(e.message); return; }
          throw e;
        }
      }
    };
    const p = this.lock.then(run, run);
    this.lock = p.catch(() => undefined);
    return p;
  }

  /** Put one frame into receive buffers; false when the queue has not enough of them yet. */
  private async deliver(pair: number, ring: DeviceRing, frame: Uint8Array): Promise<boolean> {
    const mrg = this.negotiated(VIRTIO_NET_F.MRG_RXBUF);
    const total = this.hdrSize() + frame.length;
    const hdr = withOffload(this.rxHeader(frame), this.rxOffload.get(frame));
    if (!mrg && !this.defects.on('net-splits-without-mrg-rxbuf')) {
      const chain = await ring.pop();
      if (!chain) return false;
      if (chain.writableLen < total) {
        // Too small for the packet (the driver's fault, 5.1.9.3.1): drop it, give the buffer back empty.
        this.wire.dropped++;
        await ring.push(chain.head, 0);
        return true;
      }
      hdr.num_buffers = this.defects.on('net-num-buffers-zero') ? 0 : 1;
      await ring.writeAt(chain, 0, concat(this.headerBytes(hdr, frame), frame));
      await ring.push(chain.head, total);
      return true;
    }
    // Merged (or, under a defect, split without MRG_RXBUF): as many buffers as it takes.
    const cap = (c: Chain): number => {
      if (!mrg) return Math.min(c.writableLen, SPLIT_AT);
      return this.defects.on('net-mrg-partial-fill') ? Math.max(1, c.writableLen - PARTIAL_GAP) : c.writableLen;
    };
    const chains = this.taken[pair]!;
    let room = chains.reduce((s, c) => s + cap(c), 0);
    while (room < total) {
      const c = await ring.pop();
      if (!c) return false; // keep what was taken until more buffers come
      chains.push(c);
      room += cap(c);
    }
    // The first cap(c) bytes of each buffer, in order, until the packet is placed.
    const bytes = concat(this.headerBytes(hdr, frame), frame);
    const used: Array<{ id: number; len: number }> = [];
    let off = 0;
    for (const c of chains) {
      if (off >= total) break;
      const n = Math.min(cap(c), total - off);
      used.push({ id: c.head, len: n });
      off += n;
    }
    const extra = chains.splice(used.length); // not needed after all: kept for the next frame
    this.taken[pair] = extra;
    const numBuffers = this.defects.on('net-mrg-num-buffers-one') ? 1 : used.length;
    bytes.set(encodeNetHdr({ ...hdr, num_buffers: numBuffers }), 0);
    off = 0;
    for (const [i, u] of used.entries()) {
      await ring.writeAt(chains[i]!, 0, bytes.subarray(off, off + u.len));
      off += u.len;
    }
    // All buffers of one packet become used together (the packed ring writes the first last,
    // the split ring publishes used idx once).
    if (used.length > 1 && this.defects.on('net-mrg-buffers-used-apart')) {
      await ring.push(used[0]!.id, used[0]!.len);
      this.useLater(pair, ring, used.slice(1));
      return true;
    }
    await pushAll(ring, used);
    return true;
  }

  /** The apart defect: the rest of a packet's buffers become used a moment after its first (and its notification). */
  private useLater(pair: number, ring: DeviceRing, rest: Array<{ id: number; len: number }>): void {
    const epoch = this.epoch;
    setTimeout(() => {
      const run = async (): Promise<void> => {
        const dev = this.dev;
        if (!dev || epoch !== this.epoch || dev.queues[2 * pair]?.ring !== ring) return;
        const oldUsed = ring.usedIdx;
        await pushAll(ring, rest);
        if (await ring.shouldNotify(oldUsed)) dev.irq.queue(2 * pair);
      };
      const p = this.lock.then(run, run);
      this.lock = p.catch(() => undefined);
    }, APART_MS);
  }

  /** The header is 12 bytes, 20 with HASH_REPORT (hash_value, hash_report, padding_reserved) — both directions. */
  private hdrSize(): number { return this.negotiated(VIRTIO_NET_F.HASH_REPORT) ? NET_HDR_HASH_SIZE : NET_HDR_SIZE; }

  /** A received frame's header; with HASH_REPORT the hash fields follow (REPORT_NONE when no hash was calculated). */
  private headerBytes(hdr: Parameters<typeof encodeNetHdr>[0], frame: Uint8Array): Uint8Array {
    const base = encodeNetHdr(hdr);
    if (!this.negotiated(VIRTIO_NET_F.HASH_REPORT)) return base;
    const h = this.rss.hash(frame);
    return concat(base, encodeHashFields({ hash_value: h?.value ?? 0, hash_report: h?.report ?? VIRTIO_NET_HASH_REPORT.NONE, padding_reserved: 0 }));
  }

  private rxHeader(frame: Uint8Array): { flags: number; gso_type: number; num_buffers: number } {
    let flags = 0;
    let gso: number = VIRTIO_NET_HDR_GSO.NONE;
    if (!this.negotiated(VIRTIO_NET_F.GUEST_CSUM) && this.defects.on('net-rx-data-valid-without-guest-csum')) flags |= VIRTIO_NET_HDR_F.DATA_VALID;
    // The reference never validates checksums, so it never claims DATA_VALID; the defect claims it unchecked.
    if (this.negotiated(VIRTIO_NET_F.GUEST_CSUM) && this.defects.on('net-rx-data-valid-unvalidated')) flags |= VIRTIO_NET_HDR_F.DATA_VALID;
    if (this.defects.on('net-rx-stray-flag-bits')) {
      flags |= VIRTIO_NET_HDR_F.RSC_INFO | VIRTIO_NET_HDR_F.UDP_TUNNEL_CSUM | VIRTIO_NET_HDR_F.SECURITY | VIRTIO_NET_HDR_F.SECURITY_ERR;
    }
    if (this.defects.on('net-rx-gso-udp-l4-tunnel') && frameL4(frame)?.proto === IPPROTO_UDP) {
      gso = VIRTIO_NET_HDR_GSO.UDP_L4 | VIRTIO_NET_HDR_GSO.UDP_TUNNEL_IPV4;
    }
    // Its clause is gso_type NONE without receive GSO features: with GUEST_TSO4/TSO6 negotiated it stays dormant.
    const guestGso = this.negotiated(VIRTIO_NET_F.GUEST_TSO4) || this.negotiated(VIRTIO_NET_F.GUEST_TSO6);
    if (this.defects.on('net-rx-gso-from-frame') && !guestGso) {
      const l4 = frameL4(frame);
      if (l4?.proto === IPPROTO_TCP) gso = l4.v6 ? VIRTIO_NET_HDR_GSO.TCPV6 : VIRTIO_NET_HDR_GSO.TCPV4;
      else if (l4?.proto === IPPROTO_UDP) gso = VIRTIO_NET_HDR_GSO.UDP;
    }
    return { flags, gso_type: gso, num_buffers: 1 };
  }

  // --- transmit and control ------------------------------------------------------------

  async process(q: number, ctx: ChainContext): Promise<number> {
    if (this.isControlQueue(q)) return this.control(ctx);
    if (q < 2 * this.maxPairs && q % 2 === 1) {
      const sent = this.wire.sent.length, dropped = this.wire.dropped;
      const len = await this.transmit(ctx);
      for (const f of this.wire.sent.slice(sent)) { this.stats.add('TX_BASIC', q, 'tx_packets'); this.stats.add('TX_BASIC', q, 'tx_bytes', f.length); }
      if (this.wire.dropped > dropped) this.stats.add('TX_BASIC', q, 'tx_drops', this.wire.dropped - dropped);
      return len;
    }
    throw new RingError(`net: buffers on queue ${q}, which is neither a transmitq nor the controlq`);
  }

  private async transmit({ ring, chain }: ChainContext): Promise<number> {
    const all = await ring.readAll(chain);
    if (all.length < this.hdrSize()) { this.wire.dropped++; return 0; }
    const hdr = decodeNetHdr(all);
    let frame = all.slice(this.hdrSize());
    if (hdr.flags & ~KNOWN_TX_FLAGS && this.defects.on('net-tx-drops-unknown-flags')) { this.wire.dropped++; return 0; }
    if (malformedTunnel(hdr.flags, hdr.gso_type) && !this.defects.on('net-tx-accepts-malformed-tunnel')) { this.wire.dropped++; return 0; }
    if (this.defects.on('net-tx-drops-bad-checksum') && !(hdr.flags & VIRTIO_NET_HDR_F.NEEDS_CSUM) && !ipv4HeaderChecksumOk(frame)) {
      this.wire.dropped++;
      return 0;
    }
    const needsCsum = (hdr.flags & VIRTIO_NET_HDR_F.NEEDS_CSUM) !== 0 && this.negotiated(VIRTIO_NET_F.CSUM);
    const csumAnyway = this.defects.on('net-tx-csum-without-needs-csum') && (hdr.csum_start !== 0 || hdr.csum_offset !== 0);
    if (needsCsum || csumAnyway) completeChecksum(frame, hdr.csum_start, hdr.csum_offset);
    // HOST_TSO4/TSO6: a TCP GSO packet goes out as segments (offload.ts).
    const frames = transmitOffload(frame, hdr, { tso4: this.negotiated(VIRTIO_NET_F.HOST_TSO4), tso6: this.negotiated(VIRTIO_NET_F.HOST_TSO6) }, this.defects);
    for (let f of frames) {
      if (this.defects.on('net-tx-truncates-at-1514') && f.length > 1514) f = f.slice(0, 1514);
      if (this.linkUp) this.wire.sent.push(f);
      else this.wire.dropped++;
    }
    return 0;
  }

  private async control({ ring, chain }: ChainContext): Promise<number> {
    if (chain.writableLen < 1) throw new RingError('net control command without room for the ack byte');
    const cmd = await ring.readAll(chain);
    const cvq = controlq(this.negotiated(VIRTIO_NET_F.MQ) || this.negotiated(VIRTIO_NET_F.RSS), this.maxPairs);
    // command_num and ok_num include the command being answered (a STATS_GET of CVQ sees itself).
    this.stats.add('CVQ', cvq, 'command_num');
    this.stats.add('CVQ', cvq, 'ok_num');
    let r: { ack: number; result?: Uint8Array } = { ack: VIRTIO_NET_ERR };
    if (cmd.length >= 2) r = this.commandWithResult(cmd[0]!, cmd[1]!, cmd.subarray(2), chain.writableLen - 1);
    if (r.ack !== VIRTIO_NET_OK) this.stats.add('CVQ', cvq, 'ok_num', (1n << 64n) - 1n); // that is, minus one
    await ring.writeAt(chain, 0, new Uint8Array([r.ack]));
    // command-specific-result follows ack (5.1.9.5): no more than the driver gave room for.
    const result = (r.result ?? new Uint8Array(0)).subarray(0, chain.writableLen - 1);
    if (result.length) await ring.writeAt(chain, 1, result);
    return 1 + result.length;
  }

  /** Commands that answer with a command-specific-result (STATS, NOTF_COAL), then the rest. */
  private commandWithResult(cls: number, cmd: number, data: Uint8Array, room: number): { ack: number; result?: Uint8Array } {
    const features = this.dev?.features ?? 0n;
    if (cls === VIRTIO_NET_CTRL.STATS) {
      if (!this.negotiated(VIRTIO_NET_F.DEVICE_STATS)) return { ack: VIRTIO_NET_ERR };
      if (cmd === VIRTIO_NET_CTRL_STATS.QUERY) return this.stats.query();
      if (cmd === VIRTIO_NET_CTRL_STATS.GET) return this.stats.get(data, { kind: (vq) => this.queueKind(vq), features }, room);
      return { ack: VIRTIO_NET_ERR };
    }
    if (cls === VIRTIO_NET_CTRL.NOTF_COAL) {
      const enabled = (vq: number) => (this.dev?.queues[vq]?.enabled ? this.queueKind(vq) : undefined);
      const all = (k: 'rx' | 'tx') => Array.from({ length: 2 * this.maxPairs + 1 }, (_, i) => i).filter((i) => this.queueKind(i) === k);
      return this.coal.command(cmd, data, { kind: enabled, queues: all, features });
    }
    return { ack: this.command(cls, cmd, data) };
  }

  /** A virtqueue's kind under the negotiated layout (5.1.2); undefined beyond it. */
  private queueKind(vq: number): 'rx' | 'tx' | 'ctrl' | undefined {
    const multi = this.negotiated(VIRTIO_NET_F.MQ) || this.negotiated(VIRTIO_NET_F.RSS);
    const pairs = multi ? this.maxPairs : 1;
    if (vq < 2 * pairs) return vq % 2 === 0 ? 'rx' : 'tx';
    if (this.negotiated(VIRTIO_NET_F.CTRL_VQ) && vq === controlq(multi, this.maxPairs)) return 'ctrl';
    return undefined;
  }

  /** Coalescing conditions never override suppression (5.1.9.5.10.6), unless the defect. */
  private async mayNotify(ring: DeviceRing, start: number, coalesced: boolean): Promise<boolean> {
    if (coalesced && this.defects.on('net-coal-notifies-suppressed')) return true;
    return ring.shouldNotify(start);
  }

  /** max_usecs elapsed on a receive window: notify (unless suppressed) for what was used since `start`. */
  private coalescedNotify(pair: number, ring: DeviceRing, start: number): void {
    const epoch = this.epoch;
    const run = async (): Promise<void> => {
      const dev = this.dev;
      if (!dev || epoch !== this.epoch || dev.queues[2 * pair]?.ring !== ring) return;
      if (await this.mayNotify(ring, start, true)) { dev.irq.queue(2 * pair); this.rxCount(pair, 'rx_interrupts'); }
    };
    const p = this.lock.then(run, run);
    this.lock = p.catch(() => undefined);
  }

  private rxCount(pair: number, counter: string, n = 1): void { this.stats.add('RX_BASIC', 2 * pair, counter, n); }

  private command(cls: number, cmd: number, data: Uint8Array): number {
    // A table staged by the late-table defect takes effect only with the next command.
    const staged = this.stagedTable;
    if (staged) { this.unicast = staged.unicast; this.multicast = staged.multicast; this.stagedTable = undefined; }
    const F = VIRTIO_NET_F;
    switch (cls) {
      case VIRTIO_NET_CTRL.RX: {
        if (!this.negotiated(F.CTRL_RX) || data.length < 1 || data[0]! > 1) return VIRTIO_NET_ERR;
        const on = data[0] === 1;
        const basic = cmd === VIRTIO_NET_CTRL_RX.PROMISC || cmd === VIRTIO_NET_CTRL_RX.ALLMULTI;
        if (basic && this.defects.on('net-ctrl-rx-unsupported')) return VIRTIO_NET_ERR;
        if (cmd === VIRTIO_NET_CTRL_RX.PROMISC) { this.promisc = on; return VIRTIO_NET_OK; }
        if (cmd === VIRTIO_NET_CTRL_RX.ALLMULTI) { this.allmulti = on; return VIRTIO_NET_OK; }
        // ALLUNI, NOMULTI, NOUNI, NOBCAST need CTRL_RX_EXTRA.
        if (!this.negotiated(F.CTRL_RX_EXTRA) || this.defects.on('net-ctrl-rx-extra-unsupported')) return VIRTIO_NET_ERR;
        if (cmd === VIRTIO_NET_CTRL_RX.ALLUNI) { this.alluni = on; return VIRTIO_NET_OK; }
        if (cmd === VIRTIO_NET_CTRL_RX.NOMULTI) { this.nomulti = on; return VIRTIO_NET_OK; }
        if (cmd === VIRTIO_NET_CTRL_RX.NOUNI) { this.nouni = on; return VIRTIO_NET_OK; }
        if (cmd === VIRTIO_NET_CTRL_RX.NOBCAST) { this.nobcast = on; return VIRTIO_NET_OK; }
        return VIRTIO_NET_ERR;
      }
      case VIRTIO_NET_CTRL.MAC: {
        if (cmd === VIRTIO_NET_CTRL_MAC.TABLE_SET && this.negotiated(F.CTRL_RX)) {
          const t = decodeMacTables(data);
          if (!t) return VIRTIO_NET_ERR;
          if (this.defects.on('net-mac-table-late')) this.stagedTable = t;
          else { this.unicast = t.unicast; this.multicast = t.multicast; }
          return VIRTIO_NET_OK;
        }
        if (cmd === VIRTIO_NET_CTRL_MAC.ADDR_SET && this.negotiated(F.CTRL_MAC_ADDR)) {
          if (data.length !== 6) return VIRTIO_NET_ERR;
          this.mac = data.slice(0, 6);
          if (this.negotiated(F.MAC) && !this.defects.on('net-mac-addr-config-stale')) this.configMac = this.mac.slice();
          return VIRTIO_NET_OK;
        }
        return VIRTIO_NET_ERR;
      }
      case VIRTIO_NET_CTRL.VLAN: {
        if (!this.negotiated(F.CTRL_VLAN) || data.length < 2) return VIRTIO_NET_ERR;
        const vid = data[0]! | (data[1]! << 8);
        if (vid > 4095) return VIRTIO_NET_ERR;
        if (cmd === VIRTIO_NET_CTRL_VLAN.ADD) { if (!this.defects.on('net-vlan-add-ignored')) this.vlans.add(vid); return VIRTIO_NET_OK; }
        if (cmd === VIRTIO_NET_CTRL_VLAN.DEL) { this.vlans.delete(vid); return VIRTIO_NET_OK; }
        return VIRTIO_NET_ERR;
      }
      case VIRTIO_NET_CTRL.HASH_TUNNEL: {
        if (cmd !== VIRTIO_NET_CTRL_HASH_TUNNEL_SET || !this.negotiated(F.HASH_TUNNEL)) return VIRTIO_NET_ERR;
        return this.rss.tunnelSet(data) ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
      }
      case VIRTIO_NET_CTRL.ANNOUNCE: {
        if (cmd !== VIRTIO_NET_CTRL_ANNOUNCE.ACK || !this.negotiated(F.GUEST_ANNOUNCE)) return VIRTIO_NET_ERR;
        // Cleared before the command buffer is used (5.1.9.5.4.2), unless the defect keeps it.
        if (!this.defects.on('net-announce-not-cleared')) this.announcing = false;
        return VIRTIO_NET_OK;
      }
      case VIRTIO_NET_CTRL.MQ: {
        // RSS_CONFIG with RSS; HASH_CONFIG with HASH_REPORT when RSS is not there to carry the hash parameters.
        if (cmd === VIRTIO_NET_CTRL_MQ.RSS_CONFIG) return this.negotiated(F.RSS) && this.rss.rssConfig(data) ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
        if (cmd === VIRTIO_NET_CTRL_MQ.HASH_CONFIG) {
          return this.negotiated(F.HASH_REPORT) && !this.negotiated(F.RSS) && this.rss.hashConfig(data) ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
        }
        if (cmd !== VIRTIO_NET_CTRL_MQ.VQ_PAIRS_SET || !this.negotiated(F.MQ) || data.length < 2) return VIRTIO_NET_ERR;
        const n = data[0]! | (data[1]! << 8);
        if (n < 1 || n > this.maxPairs) return VIRTIO_NET_ERR;
        if (!(this.defects.on('net-mq-shrink-ignored') && n < this.pairs)) this.pairs = n;
        return VIRTIO_NET_OK;
      }
      default:
        return VIRTIO_NET_ERR;
    }
  }
}

/** Used elements of one packet, published together on either ring layout. */
async function pushAll(ring: DeviceRing, used: Array<{ id: number; len: number }>): Promise<void> {
  if (ring instanceof PackedRingDevice || ring instanceof SplitRingDevice) await ring.pushMulti(used);
  else for (const u of used) await ring.push(u.id, u.len);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Is this an IPv4 frame whose header checksum is right? Non-IPv4 frames count as right. */
function ipv4HeaderChecksumOk(frame: Uint8Array): boolean {
  const l4 = frameL4(frame);
  if (!l4 || l4.v6) return true;
  const ihl = (frame[ETH_HLEN]! & 0xf) * 4;
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += (frame[ETH_HLEN + i]! << 8) | frame[ETH_HLEN + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

const TUNNEL_BITS = VIRTIO_NET_HDR_GSO.UDP_TUNNEL_IPV4 | VIRTIO_NET_HDR_GSO.UDP_TUNNEL_IPV6;

/** Tunnel header combinations a device must not accept (5.1.9.2.2). */
function malformedTunnel(flags: number, gso: number): boolean {
  const t = gso & TUNNEL_BITS;
  if (t === TUNNEL_BITS) return true;
  if (t && (!(flags & VIRTIO_NET_HDR_F.NEEDS_CSUM) || (flags & VIRTIO_NET_HDR_F.DATA_VALID) || (gso & ~TUNNEL_BITS) === VIRTIO_NET_HDR_GSO.NONE)) return true;
  return (flags & VIRTIO_NET_HDR_F.UDP_TUNNEL_CSUM) !== 0 && t === 0;
}
