// Driver side of the packed virtqueue (spec 2.8) over an async GuestMemory: descriptor
// ring and the two event suppression structures allocated with the spec's alignment,
// buffer IDs, the Driver Ring Wrap Counter, lists written head-last (the head's flags are
// the publication), indirect tables, the available-buffer notification decision from the
// device event suppression structure (with and without VIRTIO_F_EVENT_IDX), driver event
// suppression control, and reading used descriptors — one per buffer, or one per batch
// with VIRTIO_F_IN_ORDER — with the checks a scenario needs to report a misbehaving
// device (unknown or unpublished id, len beyond the buffer, used flags of the wrong lap).
// Same API shape as SplitRingDriver so scenarios can run on either ring.
import type { GuestMemory } from '../adapters/types.ts';
import { TIMEOUT, waitFor } from '../driver/wait.ts';
import {
  EVENT_SUPPRESS_ALIGN, EVENT_SUPPRESS_SIZE, PDESC, PDESC_ALIGN, PDESC_SIZE, RING_EVENT_FLAGS_DESC,
  RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE, PACKED_MAX_SIZE, advance, availFlags, decodeEventSuppress,
  decodePackedDesc, descRingSize, distance, encodeEventSuppress, encodePackedDesc, encodePos, eventTriggered, isUsed,
  type EventSuppress, type PackedDesc, type RingPos,
} from './packed-ring.ts';
import { RingFullError, type DescBuffer } from './split-ring-driver.ts';

export { RingFullError, type DescBuffer };

export interface PackedAddOptions {
  /** One descriptor with VIRTQ_DESC_F_INDIRECT pointing at a table of every buffer ('all' for parity with the split ring). */
  indirect?: boolean | 'all';
  /** Set VIRTQ_DESC_F_WRITE on the descriptor that refers to the table (reserved there: the device must ignore it). */
  indirectWriteFlag?: boolean;
  /**
   * Write the Buffer ID only in the last descriptor of a list (2.8.6 says that is where it
   * is) and 0xffff, never a valid id, in the others: a device reading it elsewhere shows.
   * Default: the id in every descriptor, as Linux does.
   */
  idInLastOnly?: boolean;
}

/** What was posted under one Buffer ID. */
export interface PackedChainInfo {
  id: number;
  /** = id; the name split-ring code uses for what identifies a chain. */
  head: number;
  buffers: DescBuffer[];
  /** Sum of the device-writable buffer lengths: the most a device may report as used len. */
  writableBytes: number;
  /** Ring offsets the list occupies. */
  descIndices: number[];
  /** Descriptors of the ring it occupies. */
  descCount: number;
  /** Where the list starts (offset and the wrap counter it was made available with). */
  position: RingPos;
  /** Indirect table, if any. */
  table?: { addr: number; count: number };
  /** The head's flags were written (the device may see it). */
  published: boolean;
}

export interface PackedUsedElem {
  id: number;
  len: number;
  chain: PackedChainInfo;
  /** VIRTQ_DESC_F_WRITE in the used descriptor (the device says it wrote data). */
  write: boolean;
  /** IN_ORDER: no used descriptor of its own; used as part of a later buffer's batch (len = its writable bytes). */
  skipped: boolean;
  /** Raw flags of the used descriptor (for skipped buffers: those of the batch's descriptor). */
  flags: number;
}

export type PackedUsedErrorKind = 'unknown-id' | 'not-available' | 'len-beyond-writable' | 'used-flags';

/**
 * Clause each kind of garbage shows broken (2.8 device requirements), carried as
 * {clause, expected, observed} like UsedRingError so the runner reports a failed check of
 * it when a scenario does not catch the error itself:
 * - unknown-id / not-available: the device used a buffer the driver never made available
 *   (2.8.15: a descriptor is used only after its AVAIL bit changed);
 * - used-flags: a descriptor at the used position whose AVAIL/USED bits are neither still
 *   available nor used for this lap, i.e. not a device descriptor written at the next ring
 *   position (2.8.12: device descriptors are written into the ring in completion order).
 * len-beyond-writable has no packed counterpart of the split ring's used len clause
 * (2.7.8.2) in 2.8, so it carries none: a scenario that wants it checks its own clause.
 */
export const PACKED_ERROR_CLAUSE: Partial<Record<PackedUsedErrorKind, string>> = {
  'unknown-id': 'dev/core/packed-virtqueues/the-virtqueue-descriptor-table#20c57546',
  'not-available': 'dev/core/packed-virtqueues/the-virtqueue-descriptor-table#20c57546',
  'used-flags': 'dev/core/packed-virtqueues#91b72387',
};

const PACKED_EXPECTED: Record<PackedUsedErrorKind, string> = {
  'unknown-id': 'a used descriptor naming a buffer ID in flight',
  'not-available': 'a used descriptor naming a buffer that was made available',
  'len-beyond-writable': 'used len within the buffer\'s device-writable bytes',
  'used-flags': 'the descriptor still available, or used with the current wrap counter',
};

/** The device wrote something in the ring that a conforming device cannot. */
export class PackedUsedError extends Error {
  clause?: string;
  expected?: string;
  observed?: string;

  constructor(
    readonly kind: PackedUsedErrorKind, readonly id: number, readonly len: number, readonly detail: string,
    readonly elem?: PackedUsedElem,
  ) {
    super(`packed ring: ${detail}`);
    this.name = 'PackedUsedError';
    const clause = PACKED_ERROR_CLAUSE[kind];
    if (clause) { this.clause = clause; this.expected = PACKED_EXPECTED[kind]; this.observed = detail; }
  }
}

export interface PackedRingOptions {
  size: number;
  /** Virtqueue index (for notifications and messages; default 0). */
  index?: number;
  /** VIRTIO_F_EVENT_IDX negotiated: RING_EVENT_FLAGS_DESC is meaningful in both directions. */
  eventIdx?: boolean;
  /** VIRTIO_F_IN_ORDER negotiated: one used descriptor may stand for a batch. */
  inOrder?: boolean;
  /** Sends an available-buffer notification for this queue (transport.notify(index)). */
  notify?: () => Promise<void>;
  /** Multiplies every wait (target.timeoutScale). */
  timeoutScale?: number;
}

/** Guest-physical addresses of the three parts. */
export interface PackedParts { desc: number; driver: number; device: number }

/** A used element as either ring reports it. */
export interface RingUsedElem {
  id: number;
  len: number;
  chain: { buffers: DescBuffer[]; writableBytes: number; descIndices: number[] };
}

/**
 * The driver-side operations SplitRingDriver and PackedRingDriver share (checked in
 * packed-ring-driver.test.ts), for scenarios that hold for both layouts. add() returns
 * the split ring's head index or the packed ring's Buffer ID; used elements carry it as id.
 */
export interface RingDriver {
  readonly size: number;
  readonly index: number;
  readonly timeoutScale: number;
  readonly desc: number;
  eventIdx: boolean;
  notificationsSent: number;
  numFree(): number;
  inFlight(): number[];
  add(bufs: DescBuffer[], o?: { indirect?: 'all'; indirectWriteFlag?: boolean }): Promise<number>;
  publish(): Promise<boolean>;
  notify(): Promise<void>;
  kick(o?: { force?: boolean; never?: boolean }): Promise<boolean>;
  addAndKick(bufs: DescBuffer[], o?: { indirect?: 'all'; indirectWriteFlag?: boolean }): Promise<number>;
  getUsed(o?: { validate?: boolean }): Promise<RingUsedElem | undefined>;
  waitUsed(timeoutMs?: number, o?: { validate?: boolean }): Promise<RingUsedElem>;
  /** The raw descriptor table / ring (e.g. to check the device never wrote a part it must not). */
  readDescTable(): Promise<Uint8Array>;
}

const POISON_ID = 0xffff;

export class PackedRingDriver {
  readonly size: number;
  readonly index: number;
  readonly timeoutScale: number;
  eventIdx: boolean;
  inOrder: boolean;
  notificationsSent = 0;
  /**
   * With EVENT_IDX: keep the driver event suppression at RING_EVENT_FLAGS_DESC on the next
   * used position, so the device notifies for the next buffer (what Linux does). Turned
   * off by setDriverEvent(), which puts the scenario in control.
   */
  autoUsedEvent = true;
  /** Next descriptor to write, with the Driver Ring Wrap Counter. */
  private nextAvail: RingPos = { off: 0, wrap: 1 };
  /** Where the device's next used descriptor will appear. */
  private nextUsed: RingPos = { off: 0, wrap: 1 };
  /** nextAvail as of the last publish(). */
  private published: RingPos = { off: 0, wrap: 1 };
  private freeIds: number[];
  private inflight = new Map<number, PackedChainInfo>();
  /** In-flight IDs in ring order. */
  private order: number[] = [];
  /** Heads written but not yet flagged available. */
  private unpublished: Array<{ id: number; off: number; flags: number }> = [];
  /** IN_ORDER: buffers of a batch already consumed from the ring, handed out one per getUsed(). */
  private ready: PackedUsedElem[] = [];
  private readonly notifyFn: (() => Promise<void>) | undefined;

  constructor(readonly mem: GuestMemory, o: PackedRingOptions, readonly desc: number, readonly driver: number, readonly device: number) {
    if (o.size <= 0 || o.size > PACKED_MAX_SIZE) throw new Error(`packed ring: bad queue size ${o.size}`);
    this.size = o.size;
    this.index = o.index ?? 0;
    this.timeoutScale = o.timeoutScale ?? 1;
    this.notifyFn = o.notify;
    this.eventIdx = o.eventIdx ?? false;
    this.inOrder = o.inOrder ?? false;
    this.freeIds = Array.from({ length: o.size }, (_, i) => i);
  }

  /** Allocate the three parts (ring 16-aligned, event structures 4-aligned), zero-filled, and set the driver event. */
  static async allocate(mem: GuestMemory, o: PackedRingOptions): Promise<PackedRingDriver> {
    const p = await allocatePackedParts(mem, o.size);
    const vq = new PackedRingDriver(mem, o, p.desc, p.driver, p.device);
    await vq.init();
    return vq;
  }

  /** Write the initial driver event suppression (DESC at offset 0 with EVENT_IDX; zero = ENABLE otherwise). */
  async init(): Promise<void> {
    if (this.eventIdx && this.autoUsedEvent) await this.writeDriverEvent(RING_EVENT_FLAGS_DESC, this.nextUsed);
  }

  /** Free descriptors in the ring. */
  numFree(): number { return this.size - distance(this.nextUsed, this.nextAvail, this.size); }
  /** Buffer IDs posted and not yet returned, in ring order. */
  inFlight(): number[] { return [...this.order]; }
  chain(id: number): PackedChainInfo | undefined { return this.inflight.get(id); }
  /** Next descriptor the driver writes (offset, Driver Ring Wrap Counter). */
  availPosition(): RingPos { return { ...this.nextAvail }; }
  /** Where the next used descriptor is expected. */
  usedPosition(): RingPos { return { ...this.nextUsed }; }

  /**
   * The VIRTIO_F_NOTIFICATION_DATA value for this ring: vq index (or the device's
   * notification config data) in bits 0–15, next_off/next_wrap of the next descriptor to be
   * made available in bits 16–30/31 (what publish() has exposed so far).
   */
  notificationData(vq: number = this.index): number {
    return ((vq & 0xffff) | (encodePos(this.published) << 16)) >>> 0;
  }

  /**
   * Write a buffer into the ring: every descriptor but the head's flags (publish() writes
   * those, which makes the whole list visible at once). Returns the Buffer ID.
   */
  async add(bufs: DescBuffer[], o: PackedAddOptions = {}): Promise<number> {
    if (bufs.length === 0) throw new Error('packed ring: empty buffer');
    const indirect = o.indirect === true || o.indirect === 'all';
    const need = indirect ? 1 : bufs.length;
    if (need > this.numFree()) throw new RingFullError(need, this.numFree());
    if (this.freeIds.length === 0) throw new RingFullError(1, 0);
    const id = this.freeIds.shift()!;

    let descs: PackedDesc[];
    let table: PackedChainInfo['table'];
    if (indirect) {
      // Table entries: only WRITE is valid, Buffer ID reserved (2.8.7).
      const addr = await this.mem.alloc(PDESC_SIZE * bufs.length, PDESC_ALIGN);
      const t = new Uint8Array(PDESC_SIZE * bufs.length);
      bufs.forEach((b, k) => encodePackedDesc(t, k * PDESC_SIZE, { addr: BigInt(b.addr), len: b.len, id: 0, flags: b.write ? VIRTQ_DESC_F_WRITE : 0 }));
      await this.mem.write(addr, t);
      table = { addr, count: bufs.length };
      descs = [{ addr: BigInt(addr), len: t.length, id, flags: VIRTQ_DESC_F_INDIRECT | (o.indirectWriteFlag ? VIRTQ_DESC_F_WRITE : 0) }];
    } else {
      descs = bufs.map((b, k) => ({
        addr: BigInt(b.addr), len: b.len,
        id: o.idInLastOnly && k + 1 < bufs.length ? POISON_ID : id,
        flags: (b.write ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < bufs.length ? VIRTQ_DESC_F_NEXT : 0),
      }));
    }
    const start = this.nextAvail;
    const positions: RingPos[] = descs.map((_, k) => advance(start, k, this.size));
    descs.forEach((d, k) => { d.flags |= availFlags(positions[k].wrap); });

    // The rest of the list first, with its flags; the head's body without its flags.
    await this.writeRuns(positions.slice(1).map((p, k) => ({ off: p.off, d: descs[k + 1] })));
    const head = new Uint8Array(PDESC_SIZE);
    encodePackedDesc(head, 0, descs[0]);
    await this.mem.write(this.desc + PDESC_SIZE * start.off, head.subarray(0, PDESC.flags));
    this.unpublished.push({ id, off: start.off, flags: descs[0].flags });

    this.nextAvail = advance(start, need, this.size);
    const info: PackedChainInfo = {
      id, head: id, buffers: bufs.slice(), writableBytes: bufs.reduce((s, b) => s + (b.write ? b.len : 0), 0),
      descIndices: positions.map((p) => p.off), descCount: need, position: start, table, published: false,
    };
    this.inflight.set(id, info);
    this.order.push(id);
    return id;
  }

  /**
   * Write the deferred head flags (making every added buffer available, in ring order) and
   * return whether the driver must now send an available-buffer notification.
   */
  async publish(): Promise<boolean> {
    for (const h of this.unpublished) {
      await this.mem.write(this.desc + PDESC_SIZE * h.off + PDESC.flags, new Uint8Array([h.flags & 0xff, h.flags >> 8]));
      const c = this.inflight.get(h.id);
      if (c) c.published = true;
    }
    this.unpublished = [];
    const count = distance(this.published, this.nextAvail, this.size);
    this.published = this.nextAvail;
    return this.needsNotification(count);
  }

  /**
   * Available-buffer notification decision after `count` descriptors were made available
   * ending at the current position: the device event suppression structure says DISABLE
   * → no; DESC with EVENT_IDX → only if its offset/wrap is among those descriptors; ENABLE
   * (or a value not valid here) → yes.
   */
  async needsNotification(count: number): Promise<boolean> {
    if (count === 0) return false;
    const e = await this.deviceEvent();
    if (e.flags === RING_EVENT_FLAGS_DISABLE) return false;
    if (e.flags === RING_EVENT_FLAGS_DESC && this.eventIdx) return eventTriggered(e, this.published, count, this.size);
    return true;
  }

  /**
   * The next used buffer, or undefined when the device has not used the descriptor at the
   * used position yet. Frees the Buffer ID. Throws PackedUsedError for what a conforming
   * device cannot produce (the ring position is consumed first, as with the split ring).
   */
  async getUsed(o: { validate?: boolean } = {}): Promise<PackedUsedElem | undefined> {
    const queued = this.ready.shift();
    if (queued) return this.finish(queued, o);
    const p = this.nextUsed;
    const d = decodePackedDesc(await this.mem.read(this.desc + PDESC_SIZE * p.off, PDESC_SIZE), 0);
    const outstanding = distance(p, this.published, this.size) > 0;
    if (!isUsed(d.flags, p.wrap)) {
      // A published descriptor shows either the driver's flags or used flags of its lap.
      const a = (d.flags & VIRTQ_DESC_F_AVAIL) ? 1 : 0, u = (d.flags & VIRTQ_DESC_F_USED) ? 1 : 0;
      if (outstanding && !(a === p.wrap && u !== p.wrap)) {
        throw new PackedUsedError('used-flags', d.id, d.len, `descriptor ${p.off} has AVAIL=${a} USED=${u}: neither still available nor used for wrap counter ${p.wrap}`);
      }
      return undefined;
    }
    const write = (d.flags & VIRTQ_DESC_F_WRITE) !== 0;
    const chain = this.inflight.get(d.id);
    if (!chain || !chain.published) {
      // Step over the descriptor so the next call looks further on.
      this.nextUsed = advance(p, 1, this.size);
      if (chain) throw new PackedUsedError('not-available', d.id, d.len, `used descriptor at ${p.off} names buffer ${d.id}, which was written but never made available`);
      throw new PackedUsedError('unknown-id', d.id, d.len, `used descriptor at ${p.off} names buffer ${d.id}, not in flight (in flight: ${this.order.join(', ') || 'none'})`);
    }
    let batch = [chain];
    if (this.inOrder) {
      // One used descriptor for every buffer up to this one in ring order (2.8.8).
      const k = this.order.indexOf(d.id);
      batch = this.order.slice(0, k + 1).map((id) => this.inflight.get(id)!);
    }
    this.nextUsed = advance(p, batch.reduce((s, c) => s + c.descCount, 0), this.size);
    const elems = batch.map((c, i): PackedUsedElem => (i + 1 < batch.length
      ? { id: c.id, len: c.writableBytes, chain: c, write, skipped: true, flags: d.flags }
      : { id: d.id, len: d.len, chain: c, write, skipped: false, flags: d.flags }));
    for (const c of batch) this.release(c.id);
    if (this.eventIdx && this.autoUsedEvent) await this.writeDriverEvent(RING_EVENT_FLAGS_DESC, this.nextUsed);
    this.ready.push(...elems.slice(1));
    return this.finish(elems[0], o);
  }

  private finish(elem: PackedUsedElem, o: { validate?: boolean }): PackedUsedElem {
    // len is checked whether or not WRITE is set: drivers (Linux) use it either way.
    if (o.validate !== false && elem.len > elem.chain.writableBytes) {
      throw new PackedUsedError('len-beyond-writable', elem.id, elem.len, `used len ${elem.len} for buffer ${elem.id} exceeds its ${elem.chain.writableBytes} device-writable bytes${elem.write ? '' : ' (WRITE not set in the used descriptor)'}`, elem);
    }
    return elem;
  }

  private release(id: number): void {
    this.inflight.delete(id);
    this.order.splice(this.order.indexOf(id), 1);
    this.freeIds.push(id);
  }

  /** Send an available-buffer notification now, whatever the suppression state says. */
  async notify(): Promise<void> {
    if (!this.notifyFn) throw new Error(`virtqueue ${this.index}: no notify callback`);
    this.notificationsSent++;
    await this.notifyFn();
  }

  /** publish(), then notify if the decision says so, or always with `force`, or never with `never`. */
  async kick(o: { force?: boolean; never?: boolean } = {}): Promise<boolean> {
    const needed = await this.publish();
    if (o.never || (!needed && !o.force)) return false;
    await this.notify();
    return true;
  }

  async addAndKick(bufs: DescBuffer[], o?: PackedAddOptions): Promise<number> {
    const id = await this.add(bufs, o);
    await this.kick();
    return id;
  }

  /** Poll until the next used buffer shows up; DriverTimeoutError after timeoutMs × timeoutScale. */
  async waitUsed(timeoutMs: number = TIMEOUT.used, o?: { validate?: boolean }): Promise<PackedUsedElem> {
    return waitFor(() => this.getUsed(o), {
      timeoutMs: timeoutMs * this.timeoutScale,
      what: `a used descriptor on queue ${this.index} (at offset ${this.nextUsed.off}, wrap ${this.nextUsed.wrap})`,
    });
  }

  /** Device event suppression structure (Device Area, written by the device). */
  async deviceEvent(): Promise<EventSuppress> {
    return decodeEventSuppress(await this.mem.read(this.device, EVENT_SUPPRESS_SIZE));
  }

  /** Driver event suppression structure (Driver Area, ours). */
  async driverEvent(): Promise<EventSuppress> {
    return decodeEventSuppress(await this.mem.read(this.driver, EVENT_SUPPRESS_SIZE));
  }

  /**
   * Write the driver event suppression structure as given (flags ENABLE / DISABLE / DESC,
   * or any raw value; off/wrap default to the next used position). Stops the automatic
   * update, putting the scenario in control.
   */
  async setDriverEvent(e: { flags: number; off?: number; wrap?: 0 | 1; reserved?: number }): Promise<void> {
    this.autoUsedEvent = false;
    await this.mem.write(this.driver, encodeEventSuppress({ off: e.off ?? this.nextUsed.off, wrap: e.wrap ?? this.nextUsed.wrap, flags: e.flags, reserved: e.reserved }));
  }

  async disableUsedNotifications(): Promise<void> { await this.setDriverEvent({ flags: RING_EVENT_FLAGS_DISABLE }); }

  /** Back to the default: DESC on the next used position (auto-updated) with EVENT_IDX, else ENABLE. */
  async enableUsedNotifications(): Promise<void> {
    this.autoUsedEvent = true;
    await this.writeDriverEvent(this.eventIdx ? RING_EVENT_FLAGS_DESC : RING_EVENT_FLAGS_ENABLE, this.nextUsed);
  }

  async readDesc(off: number): Promise<PackedDesc> {
    return decodePackedDesc(await this.mem.read(this.desc + PDESC_SIZE * off, PDESC_SIZE), 0);
  }

  /** The raw descriptor ring. */
  async readDescTable(): Promise<Uint8Array> { return this.mem.read(this.desc, descRingSize(this.size)); }

  /** Write one descriptor as given, bypassing the bookkeeping (to put garbage in the ring on purpose). */
  async writeDescRaw(off: number, d: PackedDesc): Promise<void> {
    const b = new Uint8Array(PDESC_SIZE);
    encodePackedDesc(b, 0, d);
    await this.mem.write(this.desc + PDESC_SIZE * off, b);
  }

  private async writeDriverEvent(flags: number, p: RingPos): Promise<void> {
    await this.mem.write(this.driver, encodeEventSuppress({ ...p, flags }));
  }

  private async writeRuns(ds: Array<{ off: number; d: PackedDesc }>): Promise<void> {
    // Coalesce consecutive offsets into one write (one qtest round trip each).
    let k = 0;
    while (k < ds.length) {
      let end = k + 1;
      while (end < ds.length && ds[end].off === ds[end - 1].off + 1) end++;
      const b = new Uint8Array(PDESC_SIZE * (end - k));
      for (let j = k; j < end; j++) encodePackedDesc(b, (j - k) * PDESC_SIZE, ds[j].d);
      await this.mem.write(this.desc + PDESC_SIZE * ds[k].off, b);
      k = end;
    }
  }
}

/** Allocate the descriptor ring and both event suppression structures with the spec's alignments. */
export async function allocatePackedParts(mem: GuestMemory, size: number): Promise<PackedParts> {
  const desc = await mem.alloc(descRingSize(size), PDESC_ALIGN);
  const driver = await mem.alloc(EVENT_SUPPRESS_SIZE, EVENT_SUPPRESS_ALIGN);
  const device = await mem.alloc(EVENT_SUPPRESS_SIZE, EVENT_SUPPRESS_ALIGN);
  return { desc, driver, device };
}
