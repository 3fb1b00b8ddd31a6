// Driver side of the split virtqueue (spec 2.7) over an async GuestMemory: descriptor
// table / avail ring / used ring allocation with the spec's alignment, free-descriptor
// management, chains of any layout (direct, indirect table, direct chain + trailing
// indirect descriptor), publishing, the available-buffer notification decision (used.flags
// or avail_event with VIRTIO_F_EVENT_IDX) and reading used elements, with the checks a
// scenario needs to report a misbehaving device (unknown id, len beyond the chain).
// No transport knowledge: the driver passes a notify callback (transport.notify(q)).
import type { GuestMemory } from '../adapters/types.ts';
import { TIMEOUT, waitFor } from '../driver/wait.ts';
import {
  AVAIL, AVAIL_ALIGN, DESC, DESC_ALIGN, DESC_SIZE, USED, USED_ALIGN, VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY, availRingSize, descTableSize,
  needEvent, usedRingSize,
} from './split-ring.ts';

/** One buffer of a chain: `write` = device-writable (VIRTQ_DESC_F_WRITE). */
export interface DescBuffer { addr: number; len: number; write: boolean }

export interface AddOptions {
  /**
   * 'all': a single descriptor with VIRTQ_DESC_F_INDIRECT pointing at a table of every buffer.
   * 'tail': a direct chain of the first buffers, then one trailing INDIRECT descriptor whose
   * table holds the last `tailCount` buffers (2.7.5.3.2: the device must handle this).
   */
  indirect?: 'all' | 'tail';
  /** 'tail' only: how many trailing buffers go into the table (default 1). */
  tailCount?: number;
  /** Set VIRTQ_DESC_F_WRITE on the descriptor that refers to the table (the device must ignore it). */
  indirectWriteFlag?: boolean;
}

/** What was posted at one head. */
export interface ChainInfo {
  head: number;
  buffers: DescBuffer[];
  /** Sum of the device-writable buffer lengths: the most a device may report as used len. */
  writableBytes: number;
  /** Descriptor-table indices the chain occupies (ring descriptors only). */
  descIndices: number[];
  /** Indirect table, if any: its address and number of entries. */
  table?: { addr: number; count: number };
}

export interface UsedElem { id: number; len: number; chain: ChainInfo }

export type UsedRingErrorKind = 'unknown-id' | 'len-beyond-writable' | 'idx-jump';

/**
 * The clause a used-ring error shows broken, with what was expected and observed: the
 * runner reads an error carrying these three strings as a failed check of that clause
 * (steps/support/outcome.ts). Set only where the observation pins one clause.
 */
export interface ClauseBreach { clause: string; expected: string; observed: string }

/** 2.7.8.2: used len counts bytes the device wrote into the device-writable buffers. */
export const USED_LEN_CLAUSE = 'dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4';

/** The device put something in the used ring that a conforming device cannot. */
export class UsedRingError extends Error {
  clause?: string;
  expected?: string;
  observed?: string;

  constructor(
    readonly kind: UsedRingErrorKind, readonly id: number, readonly len: number, readonly detail: string,
    readonly elem?: UsedElem, breach?: ClauseBreach,
  ) {
    super(`used ring: ${detail}`);
    this.name = 'UsedRingError';
    if (breach) Object.assign(this, breach);
  }
}

/** Not enough free descriptors for a chain. */
export class RingFullError extends Error {
  constructor(need: number, free: number) {
    super(`virtqueue: chain needs ${need} descriptors, ${free} free`);
    this.name = 'RingFullError';
  }
}

export interface SplitRingOptions {
  size: number;
  /** Virtqueue index (for notifications and messages; default 0). */
  index?: number;
  /** VIRTIO_F_EVENT_IDX negotiated: use avail_event / used_event instead of the flags. */
  eventIdx?: boolean;
  /** Sends an available-buffer notification for this queue (transport.notify(index)). */
  notify?: () => Promise<void>;
  /** Multiplies every wait (target.timeoutScale). */
  timeoutScale?: number;
}

export interface RawDesc { addr: bigint; len: number; flags: number; next: number }

const u16 = (n: number) => n & 0xffff;

export class SplitRingDriver {
  readonly size: number;
  readonly index: number;
  readonly timeoutScale: number;
  eventIdx: boolean;
  /** Notifications sent (kicks that notified, plus forced and spurious ones). */
  notificationsSent = 0;
  private readonly notifyFn: (() => Promise<void>) | undefined;
  /**
   * With EVENT_IDX: after each consumed element write used_event = next used index, so
   * the device notifies for the next buffer too (what a real driver does). Turned off by
   * setUsedEvent(), which puts the scenario in control.
   */
  autoUsedEvent = true;
  private free: number[];
  private inflight = new Map<number, ChainInfo>();
  private shadowAvail = 0;
  private published = 0;
  private lastUsed = 0;

  constructor(
    readonly mem: GuestMemory, o: SplitRingOptions,
    /** Guest-physical addresses of the descriptor table, driver area (avail), device area (used). */
    readonly desc: number, readonly avail: number, readonly used: number,
  ) {
    this.size = o.size;
    this.index = o.index ?? 0;
    this.timeoutScale = o.timeoutScale ?? 1;
    this.notifyFn = o.notify;
    this.eventIdx = o.eventIdx ?? false;
    this.free = Array.from({ length: o.size }, (_, i) => i);
  }

  /** Allocate the three parts (2.7: desc 16-aligned, avail 2, used 4), zero-filled. */
  static async allocate(mem: GuestMemory, o: SplitRingOptions): Promise<SplitRingDriver> {
    const a = await allocateParts(mem, o.size);
    return new SplitRingDriver(mem, o, a.desc, a.avail, a.used);
  }

  numFree(): number { return this.free.length; }
  /** Heads posted and not yet returned in the used ring. */
  inFlight(): number[] { return [...this.inflight.keys()]; }
  chain(head: number): ChainInfo | undefined { return this.inflight.get(head); }
  /** The avail idx the next publish() writes. */
  availIdx(): number { return this.shadowAvail; }
  /** Index of the next used element the driver will read. */
  lastUsedIdx(): number { return this.lastUsed; }

  /**
   * Write a chain into the descriptor table and its head into the next avail ring slot
   * (avail.idx is not written: publish() makes it visible). Returns the head index.
   */
  async add(bufs: DescBuffer[], o: AddOptions = {}): Promise<number> {
    if (bufs.length === 0) throw new Error('virtqueue: empty chain');
    const tailCount = o.indirect === 'all' ? bufs.length : o.indirect === 'tail' ? (o.tailCount ?? 1) : 0;
    if (tailCount > bufs.length) throw new Error(`virtqueue: tailCount ${tailCount} > ${bufs.length} buffers`);
    const direct = bufs.slice(0, bufs.length - tailCount);
    const inTable = bufs.slice(bufs.length - tailCount);
    const need = direct.length + (tailCount > 0 ? 1 : 0);
    if (need > this.free.length) throw new RingFullError(need, this.free.length);

    const idx = this.free.splice(0, need);
    const ring: Array<{ i: number; d: RawDesc }> = direct.map((b, k) => ({
      i: idx[k],
      d: {
        addr: BigInt(b.addr), len: b.len,
        flags: (b.write ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < need ? VIRTQ_DESC_F_NEXT : 0),
        next: k + 1 < need ? idx[k + 1] : 0,
      },
    }));
    let table: ChainInfo['table'];
    if (tailCount > 0) {
      const addr = await this.mem.alloc(DESC_SIZE * tailCount, DESC_ALIGN);
      const t = new Uint8Array(DESC_SIZE * tailCount);
      inTable.forEach((b, k) => encodeDesc(t, k * DESC_SIZE, {
        addr: BigInt(b.addr), len: b.len,
        flags: (b.write ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < tailCount ? VIRTQ_DESC_F_NEXT : 0),
        next: k + 1 < tailCount ? k + 1 : 0,
      }));
      await this.mem.write(addr, t);
      table = { addr, count: tailCount };
      ring.push({
        i: idx[need - 1],
        d: { addr: BigInt(addr), len: DESC_SIZE * tailCount, flags: VIRTQ_DESC_F_INDIRECT | (o.indirectWriteFlag ? VIRTQ_DESC_F_WRITE : 0), next: 0 },
      });
    }
    await this.writeDescs(ring);

    const head = idx[0];
    const slot = new Uint8Array(2);
    new DataView(slot.buffer).setUint16(0, head, true);
    await this.mem.write(this.avail + AVAIL.ring + 2 * (this.shadowAvail % this.size), slot);
    this.shadowAvail = u16(this.shadowAvail + 1);
    const writableBytes = bufs.reduce((s, b) => s + (b.write ? b.len : 0), 0);
    this.inflight.set(head, { head, buffers: bufs.slice(), writableBytes, descIndices: idx, table });
    return head;
  }

  /**
   * Write avail.idx (making every added chain available) and return whether the spec
   * says the driver must now send an available-buffer notification (2.7.10).
   */
  async publish(): Promise<boolean> {
    const old = this.published;
    await this.writeU16(this.avail + AVAIL.idx, this.shadowAvail);
    this.published = this.shadowAvail;
    return this.needsNotification(old, this.published);
  }

  /**
   * Available-buffer notification decision for avail idx moving old → new: with
   * EVENT_IDX, vring_need_event(avail_event, new, old); without, unless used.flags has
   * VIRTQ_USED_F_NO_NOTIFY.
   */
  async needsNotification(oldIdx: number, newIdx: number): Promise<boolean> {
    if (oldIdx === newIdx) return false;
    if (this.eventIdx) return needEvent(await this.availEvent(), newIdx, oldIdx);
    return (await this.usedFlags() & VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  /**
   * The next used element, or undefined when used.idx has not moved. Frees the chain.
   * Throws UsedRingError for what a conforming device cannot produce: an id that is not a
   * head in flight, used.idx running ahead by more than queue_size, or (validate, the
   * default) a len larger than the chain's device-writable bytes.
   */
  async getUsed(o: { validate?: boolean } = {}): Promise<UsedElem | undefined> {
    const idx = await this.usedIdx();
    if (idx === this.lastUsed) return undefined;
    const ahead = u16(idx - this.lastUsed);
    if (ahead > this.size) {
      throw new UsedRingError('idx-jump', -1, -1, `used.idx ${idx} is ${ahead} entries ahead of ${this.lastUsed}, queue_size is ${this.size}`);
    }
    const e = await this.mem.read(this.used + USED.ring + USED.ELEM_SIZE * (this.lastUsed % this.size), USED.ELEM_SIZE);
    const v = new DataView(e.buffer, e.byteOffset, e.byteLength);
    const id = v.getUint32(0, true), len = v.getUint32(4, true);
    this.lastUsed = u16(this.lastUsed + 1);
    const chain = this.inflight.get(id);
    if (!chain) {
      throw new UsedRingError('unknown-id', id, len, `used element id ${id} is not the head of a chain in flight (in flight: ${this.inFlight().join(', ') || 'none'})`);
    }
    this.inflight.delete(id);
    this.free.push(...chain.descIndices);
    if (this.eventIdx && this.autoUsedEvent) await this.writeU16(this.avail + AVAIL.usedEvent(this.size), this.lastUsed);
    const elem = { id, len, chain };
    if (o.validate !== false && len > chain.writableBytes) {
      throw new UsedRingError('len-beyond-writable', id, len, `used len ${len} for head ${id} exceeds the chain's ${chain.writableBytes} device-writable bytes`, elem, {
        clause: USED_LEN_CLAUSE, expected: `used len ≤ ${chain.writableBytes} (the chain's device-writable bytes)`, observed: `used len ${len} for head ${id}`,
      });
    }
    return elem;
  }

  /** Send an available-buffer notification now, whatever the suppression state says. */
  async notify(): Promise<void> {
    if (!this.notifyFn) throw new Error(`virtqueue ${this.index}: no notify callback`);
    this.notificationsSent++;
    await this.notifyFn();
  }

  /**
   * publish(), then notify if the spec's decision says so, or always with `force`, or
   * never with `never`. Returns whether a notification was sent.
   */
  async kick(o: { force?: boolean; never?: boolean } = {}): Promise<boolean> {
    const needed = await this.publish();
    if (o.never || (!needed && !o.force)) return false;
    await this.notify();
    return true;
  }

  async addAndKick(bufs: DescBuffer[], o?: AddOptions): Promise<number> {
    const head = await this.add(bufs, o);
    await this.kick();
    return head;
  }

  /** Poll until the next used element shows up; DriverTimeoutError after timeoutMs × timeoutScale. */
  async waitUsed(timeoutMs: number = TIMEOUT.used, o?: { validate?: boolean }): Promise<UsedElem> {
    return waitFor(() => this.getUsed(o), {
      timeoutMs: timeoutMs * this.timeoutScale,
      what: `a used element on queue ${this.index} (used.idx to pass ${this.lastUsed})`,
    });
  }

  async usedIdx(): Promise<number> { return this.readU16(this.used + USED.idx); }
  async usedFlags(): Promise<number> { return this.readU16(this.used + USED.flags); }
  async availEvent(): Promise<number> { return this.readU16(this.used + USED.availEvent(this.size)); }
  async readAvailFlags(): Promise<number> { return this.readU16(this.avail + AVAIL.flags); }

  /** avail.flags, e.g. VIRTQ_AVAIL_F_NO_INTERRUPT. */
  async setAvailFlags(flags: number): Promise<void> { await this.writeU16(this.avail + AVAIL.flags, flags); }

  /** used_event (meaningful with EVENT_IDX); stops the automatic update after each used element. */
  async setUsedEvent(n: number): Promise<void> {
    this.autoUsedEvent = false;
    await this.writeU16(this.avail + AVAIL.usedEvent(this.size), u16(n));
  }

  /** Write avail.idx directly, bypassing the shadow (to publish garbage on purpose). */
  async writeAvailIdxRaw(n: number): Promise<void> { await this.writeU16(this.avail + AVAIL.idx, u16(n)); }

  async readDesc(i: number): Promise<RawDesc> {
    return decodeDesc(await this.mem.read(this.desc + DESC_SIZE * i, DESC_SIZE), 0);
  }

  /** The raw descriptor table (e.g. to check the device never wrote it). */
  async readDescTable(): Promise<Uint8Array> { return this.mem.read(this.desc, descTableSize(this.size)); }

  private async writeDescs(ds: Array<{ i: number; d: RawDesc }>): Promise<void> {
    // Coalesce runs of consecutive indices into one write (one qtest round trip each).
    let k = 0;
    while (k < ds.length) {
      let end = k + 1;
      while (end < ds.length && ds[end].i === ds[end - 1].i + 1) end++;
      const b = new Uint8Array(DESC_SIZE * (end - k));
      for (let j = k; j < end; j++) encodeDesc(b, (j - k) * DESC_SIZE, ds[j].d);
      await this.mem.write(this.desc + DESC_SIZE * ds[k].i, b);
      k = end;
    }
  }

  private async readU16(addr: number): Promise<number> {
    const b = await this.mem.read(addr, 2);
    return b[0] | (b[1] << 8);
  }

  private async writeU16(addr: number, v: number): Promise<void> {
    await this.mem.write(addr, new Uint8Array([v & 0xff, (v >> 8) & 0xff]));
  }
}

/** Allocate desc / avail / used for `size` entries with the spec's alignments. */
export async function allocateParts(mem: GuestMemory, size: number): Promise<{ desc: number; avail: number; used: number }> {
  const desc = await mem.alloc(descTableSize(size), DESC_ALIGN);
  const avail = await mem.alloc(availRingSize(size), AVAIL_ALIGN);
  const used = await mem.alloc(usedRingSize(size), USED_ALIGN);
  return { desc, avail, used };
}

export function encodeDesc(b: Uint8Array, off: number, d: RawDesc): void {
  const v = new DataView(b.buffer, b.byteOffset + off, DESC_SIZE);
  v.setBigUint64(DESC.addr, d.addr, true);
  v.setUint32(DESC.len, d.len, true);
  v.setUint16(DESC.flags, d.flags, true);
  v.setUint16(DESC.next, d.next, true);
}

export function decodeDesc(b: Uint8Array, off: number): RawDesc {
  const v = new DataView(b.buffer, b.byteOffset + off, DESC_SIZE);
  return { addr: v.getBigUint64(DESC.addr, true), len: v.getUint32(DESC.len, true), flags: v.getUint16(DESC.flags, true), next: v.getUint16(DESC.next, true) };
}
