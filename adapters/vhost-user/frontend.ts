// The vhost-user front-end (the suite in the driver role): handshake, features, protocol
// features, memory table, ring setup and teardown, config, status and reset — one
// synchronous step per message. When the back-end offers REPLY_ACK, every message without
// a reply of its own carries NEED_REPLY and its ack is checked, so nothing is in flight
// when a step returns.
import { close, eventfd, eventfdRead } from '../../native/index.ts';
import { VhostUserConnection } from './connection.ts';
import type { SharedGuestMemory } from './memory.ts';
import {
  CONFIG_HDR_SIZE, FLAG, FRONTEND_PROTOCOL_FEATURES, PROTOCOL_F, type ProtocolFeature, REQ,
  VHOST_USER_F_PROTOCOL_FEATURES, configPayload, memTable, readU64, readVringState, requestName, u64,
  vringAddr, vringFd, vringState,
} from './protocol.ts';

/** The back-end answered a step with a non-zero REPLY_ACK (it refused it). */
export class VhostUserRefused extends Error {
  constructor(readonly request: string, readonly code: bigint) {
    super(`vhost-user: back-end refused ${request} (REPLY_ACK 0x${code.toString(16)})`);
    this.name = 'VhostUserRefused';
  }
}

/**
 * What a register-based transport can observe has no vhost-user equivalent here. Named
 * 'NotApplicable' so the runner reports NOT_APPLICABLE with this reason (never a PASS).
 */
export class VhostUserNotApplicable extends Error {
  constructor(readonly reason: string) { super(reason); this.name = 'NotApplicable'; }
}

export interface RingAddrs { size: number; desc: number; avail: number; used: number }

/** VIRTIO_F_RING_PACKED */
const F_RING_PACKED = 1n << 34n;
/**
 * SET_VRING_BASE of a fresh packed ring: last_avail_idx 0 with its wrap counter 1 (bit 15)
 * and last_used_idx 0 with its wrap counter 1 (bit 31), as QEMU encodes it.
 */
const PACKED_FRESH_BASE = 0x80008000;

interface Ring {
  kick: number;
  call: number;
  /** SET_VRING_ERR: the back-end signals a ring error here (QEMU turns it into DEVICE_NEEDS_RESET). */
  err: number;
  /** SET_VRING_KICK sent and not stopped by GET_VRING_BASE since. */
  started: boolean;
  enabled: boolean;
}

export interface HandshakeInfo {
  /** GET_FEATURES as offered, bit 30 included. */
  features: bigint;
  protocolOffered: bigint;
  /** What SET_PROTOCOL_FEATURES set (offered ∩ what this front-end implements). */
  protocolAcked: bigint;
  /** GET_QUEUE_NUM (MQ only). */
  queueNum?: number;
}

const F_PROTOCOL = 1n << VHOST_USER_F_PROTOCOL_FEATURES;

export class VhostUserFrontend {
  private readonly rings = new Map<number, Ring>();
  info: HandshakeInfo = { features: 0n, protocolOffered: 0n, protocolAcked: 0n };
  /** Last SET_FEATURES: the value sent and the back-end's ack (undefined without REPLY_ACK). */
  lastSetFeatures: { value: bigint; ack?: bigint } | undefined;

  constructor(readonly conn: VhostUserConnection, readonly mem: SharedGuestMemory) {}

  has(f: ProtocolFeature): boolean { return ((this.info.protocolAcked >> BigInt(PROTOCOL_F[f])) & 1n) === 1n; }
  get protocolFeaturesOn(): boolean { return (this.info.features & F_PROTOCOL) !== 0n; }

  /**
   * GET_FEATURES, protocol features (when bit 30 is offered), GET_QUEUE_NUM (MQ),
   * SET_OWNER and SET_MEM_TABLE: the back-end is then ready for features and rings.
   */
  async handshake(): Promise<HandshakeInfo> {
    const features = await this.getFeatures();
    let protocolOffered = 0n, protocolAcked = 0n, queueNum: number | undefined;
    if (features & F_PROTOCOL) {
      protocolOffered = readU64((await this.conn.request(REQ.GET_PROTOCOL_FEATURES, new Uint8Array(), { replySize: 8 }))!);
      protocolAcked = protocolOffered & FRONTEND_PROTOCOL_FEATURES;
      // Not acked even with REPLY_ACK offered: it only takes effect with this very message.
      await this.conn.request(REQ.SET_PROTOCOL_FEATURES, u64(protocolAcked));
    }
    this.info = { features, protocolOffered, protocolAcked };
    if (this.has('MQ')) {
      queueNum = Number(readU64((await this.conn.request(REQ.GET_QUEUE_NUM, new Uint8Array(), { replySize: 8 }))!));
      this.info.queueNum = queueNum;
    }
    await this.step(REQ.SET_OWNER, new Uint8Array());
    const t = this.mem.memTable();
    await this.step(REQ.SET_MEM_TABLE, memTable(t.regions), t.fds);
    return this.info;
  }

  async getFeatures(): Promise<bigint> {
    return readU64((await this.conn.request(REQ.GET_FEATURES, new Uint8Array(), { replySize: 8 }))!);
  }

  /**
   * SET_FEATURES with bit 30 added when protocol features are in use. A refusal is a
   * result (kept in lastSetFeatures and returned), not an error: it is the back-end's
   * answer to the driver's feature choice.
   */
  async setFeatures(driverFeatures: bigint): Promise<bigint | undefined> {
    const value = driverFeatures | (this.protocolFeaturesOn ? F_PROTOCOL : 0n);
    const ack = await this.step(REQ.SET_FEATURES, u64(value), [], { refusalIsResult: true });
    this.lastSetFeatures = { value, ack };
    return ack;
  }

  /** NUM, BASE 0, ADDR, CALL, KICK, then ENABLE 1 when protocol features are on. */
  async setupRing(q: number, a: RingAddrs): Promise<void> {
    let ring = this.rings.get(q);
    if (!ring) {
      const fds: number[] = [];
      try { for (let i = 0; i < 3; i++) fds.push(eventfd()); } catch (e) { for (const fd of fds) close(fd); throw e; }
      const [kick, call, err] = fds;
      ring = { kick, call, err, started: false, enabled: false };
      this.rings.set(q, ring);
    }
    if (ring.started) await this.stopRing(q);
    const packed = ((this.lastSetFeatures?.value ?? 0n) & F_RING_PACKED) !== 0n;
    await this.step(REQ.SET_VRING_NUM, vringState(q, a.size));
    await this.step(REQ.SET_VRING_BASE, vringState(q, packed ? PACKED_FRESH_BASE : 0));
    // packed: desc = descriptor ring, avail/used = driver/device event suppression (4 bytes each)
    await this.step(REQ.SET_VRING_ADDR, vringAddr(q, {
      desc: this.mem.userAddr(a.desc, 16 * a.size),
      avail: this.mem.userAddr(a.avail, packed ? 4 : 6 + 2 * a.size),
      used: this.mem.userAddr(a.used, packed ? 4 : 6 + 8 * a.size),
    }));
    await this.step(REQ.SET_VRING_CALL, vringFd(q), [ring.call]);
    // libvhost-user signals a new call fd once at once ("in case of I/O hang after
    // reconnecting"); with a synchronous ack that signal is already there: drop it so
    // notification counts reflect used buffers only.
    if (this.has('REPLY_ACK')) eventfdRead(ring.call);
    await this.step(REQ.SET_VRING_ERR, vringFd(q), [ring.err]);
    await this.step(REQ.SET_VRING_KICK, vringFd(q), [ring.kick]);
    ring.started = true;
    if (this.protocolFeaturesOn) await this.step(REQ.SET_VRING_ENABLE, vringState(q, 1));
    ring.enabled = true;
  }

  /** SET_VRING_ENABLE (only meaningful with protocol features: rings start enabled otherwise). */
  async enableRing(q: number, on: boolean): Promise<void> {
    const ring = this.ring(q);
    if (this.protocolFeaturesOn) await this.step(REQ.SET_VRING_ENABLE, vringState(q, on ? 1 : 0));
    ring.enabled = on;
  }

  /** Disable (with protocol features) and stop a ring; returns GET_VRING_BASE's last avail index. */
  async stopRing(q: number): Promise<number> {
    const ring = this.ring(q);
    if (ring.enabled && this.protocolFeaturesOn) await this.step(REQ.SET_VRING_ENABLE, vringState(q, 0));
    ring.enabled = false;
    const r = readVringState((await this.conn.request(REQ.GET_VRING_BASE, vringState(q, 0), { replySize: 8 }))!);
    ring.started = false;
    if (r.index !== q) throw new VhostUserRefused(`GET_VRING_BASE (reply names queue ${r.index}, asked for ${q})`, 0n);
    return r.num;
  }

  ringStarted(q: number): boolean { return this.rings.get(q)?.started ?? false; }
  ringEnabled(q: number): boolean { const r = this.rings.get(q); return !!r && r.started && r.enabled; }
  kickFd(q: number): number { return this.ring(q).kick; }
  /** Queues whose error eventfd the back-end signalled since the last call (clears them). */
  takeRingErrors(): number[] {
    const out: number[] = [];
    for (const [q, r] of this.rings) if (eventfdRead(r.err)) out.push(q);
    return out;
  }
  callFd(q: number): number { return this.ring(q).call; }

  /** GET_CONFIG of `size` bytes from `offset`; undefined if the back-end refused (size-0 reply). */
  async getConfig(offset: number, size: number): Promise<Uint8Array | undefined> {
    const r = (await this.conn.request(REQ.GET_CONFIG, configPayload(offset, size), { replySize: [CONFIG_HDR_SIZE + size, 0] }))!;
    if (r.length === 0) return undefined;
    const v = new DataView(r.buffer, r.byteOffset, r.length);
    if (v.getUint32(0, true) !== offset || v.getUint32(4, true) !== size) {
      throw new VhostUserRefused(`GET_CONFIG (reply for offset ${v.getUint32(0, true)} size ${v.getUint32(4, true)}, asked ${offset}/${size})`, 0n);
    }
    return r.slice(CONFIG_HDR_SIZE);
  }

  async setConfig(offset: number, data: Uint8Array): Promise<void> {
    await this.step(REQ.SET_CONFIG, configPayload(offset, data.length, data));
  }

  async setStatus(status: number): Promise<void> { await this.step(REQ.SET_STATUS, u64(status)); }

  async getStatus(): Promise<number> {
    return Number(readU64((await this.conn.request(REQ.GET_STATUS, new Uint8Array(), { replySize: 8 }))!) & 0xffn);
  }

  /**
   * Device reset: RESET_DEVICE when negotiated; otherwise stop every started ring
   * (disable + GET_VRING_BASE), as QEMU does when its guest resets the device. With
   * STATUS, SET_STATUS 0 follows. Rings must be set up again afterwards.
   */
  async reset(): Promise<void> {
    if (this.has('RESET_DEVICE')) {
      await this.step(REQ.RESET_DEVICE, new Uint8Array());
      for (const r of this.rings.values()) { r.started = false; r.enabled = false; }
    } else {
      for (const [q, r] of this.rings) if (r.started) await this.stopRing(q);
    }
    if (this.has('STATUS')) await this.setStatus(0);
    // Signals of the previous life of the rings do not count for the next one.
    for (const r of this.rings.values()) eventfdRead(r.call);
  }

  /** Close the socket and the eventfds (the memory is the caller's). Idempotent. */
  close(): void {
    this.conn.close();
    for (const r of this.rings.values()) {
      for (const fd of [r.kick, r.call, r.err]) { try { close(fd); } catch { /* closed */ } }
    }
    this.rings.clear();
  }

  private ring(q: number): Ring {
    const r = this.rings.get(q);
    if (!r) throw new Error(`vhost-user: queue ${q} has not been set up`);
    return r;
  }

  /**
   * A message without a reply of its own: with REPLY_ACK it asks for an ack and checks
   * it (non-zero → VhostUserRefused, or returned with refusalIsResult).
   */
  private async step(req: number, payload: Uint8Array, fds: readonly number[] = [], o: { refusalIsResult?: boolean } = {}): Promise<bigint | undefined> {
    if (!this.has('REPLY_ACK')) {
      await this.conn.request(req, payload, { fds });
      return undefined;
    }
    const ack = readU64((await this.conn.request(req, payload, { fds, flags: FLAG.NEED_REPLY, replySize: 8 }))!);
    if (ack !== 0n && !o.refusalIsResult) throw new VhostUserRefused(requestName(req), ack);
    return ack;
  }
}
