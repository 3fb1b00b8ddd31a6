// Device side of the packed virtqueue (spec 2.8): take available descriptors in ring
// order (only when their AVAIL/USED bits say "available" for the device's wrap counter),
// walk lists and indirect tables with bounds, write used descriptors (body first, flags
// last), batch completions with VIRTIO_F_IN_ORDER, and decide used-buffer notifications
// from the driver event suppression structure. Same shape as SplitRingDevice (pop /
// readAll / writeAt / push / shouldNotify / suppressNotifications) so an emulator can
// drive either ring; RingError is shared so one catch handles both.
import {
  PDESC, PDESC_SIZE, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_AVAIL,
  VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE, PACKED_MAX_SIZE, advance,
  decodeEventSuppress, distance, encodeEventSuppress, encodePos, decodePos, eventTriggered, isAvail, usedFlags,
  EVENT_SUPPRESS_SIZE, type EventSuppress, type RingPos,
} from './packed-ring.ts';
import { RingError, gatherReadable, scatterWritable, type Chain, type ChainBuffer, type RingLayout, type RingMemory } from './split-ring-device.ts';

export { RingError, type Chain, type ChainBuffer, type RingLayout, type RingMemory };

/** One buffer taken from the ring. Field names follow the split ring's Chain. */
export interface PackedChain {
  /** Buffer ID (from the last descriptor of the list); named `head` too for code shared with the split ring. */
  id: number;
  head: number;
  readable: ChainBuffer[];
  writable: ChainBuffer[];
  readableLen: number;
  writableLen: number;
  /** Ring offsets the list occupies, in order. */
  descIndices: number[];
  /** Descriptors of the ring the buffer occupies (how far used descriptors skip for it). */
  descCount: number;
  /** Where the list starts. */
  position: RingPos;
  /** An indirect table was followed. */
  indirect: boolean;
}

/** Named steps of writing one used descriptor, for PackedDeviceHooks.onUsedWrite. */
export type UsedWriteStep = 'body' | 'flags';

export interface PackedDeviceHooks {
  /**
   * Called after each of the two writes of a used descriptor (id/len = 'body', then
   * 'flags'; reversed under the flags-before-body defect), so a test or monitor can look
   * at what a driver polling at that instant would see.
   */
  onUsedWrite?: (step: UsedWriteStep, pos: RingPos, id: number) => void | Promise<void>;
}

export interface PackedDeviceRingOptions {
  /** VIRTIO_F_EVENT_IDX negotiated (RING_EVENT_FLAGS_DESC is valid). */
  eventIdx: boolean;
  /** VIRTIO_F_INDIRECT_DESC negotiated. */
  indirect: boolean;
  /** VIRTIO_F_IN_ORDER negotiated (pushBatch may write one used descriptor for a batch). */
  inOrder?: boolean;
  /** Total bytes per buffer (the driver may not exceed 2^32). */
  maxTotalLen?: number;
  /** Descriptors per list the device accepts (default: the queue size, 2.8.5). */
  maxChain?: number;
  /**
   * Defect hooks (emulator/defects.ts), taken only where the rule they break is
   * implemented:
   * - packed-uses-desc-avail-unchanged: a descriptor counts as available when AVAIL ≠ USED,
   *   whatever the wrap counter (so a stale or wrongly flagged descriptor is used)
   * - packed-writes-device-readable: writeAt also writes into the first device-readable buffer
   * - packed-flags-before-body: used flags are written before id/len
   * - packed-used-wrap-not-toggled: used flags always carry wrap counter 1
   * - packed-in-order-out-of-order: under IN_ORDER, push() accepts a buffer that is not the
   *   oldest outstanding one (the driver then takes the older ones as used, unfinished)
   * - packed-notifies-despite-disable: used-buffer notification with RING_EVENT_FLAGS_DISABLE
   * - packed-ignores-event-desc: with EVENT_IDX, RING_EVENT_FLAGS_DESC treated as ENABLE
   * - packed-event-desc-late: with EVENT_IDX, the DESC event judged a buffer late
   * - packed-no-notify-when-enabled: no used-buffer notification with RING_EVENT_FLAGS_ENABLE
   * - packed-rejects-full-ring-chain: a list as long as the ring is refused
   * - packed-multi-buffer-first-early: pushMulti marks the request's first buffer used first
   * - packed-starts-out-of-ring-order: of two lists available one after the other, pop()
   *   returns the second first (without IN_ORDER)
   * - packed-list-in-address-order: a NEXT-linked list's buffers are used in address order
   * - indirect-write-flag-rejected: WRITE on a descriptor referring to a table is an error
   * - packed-bad-event-flags: device event suppression flags written as the reserved 0x3
   * - packed-event-desc-without-event-idx: RING_EVENT_FLAGS_DESC written without EVENT_IDX
   */
  defect?: (name: string) => boolean;
  hooks?: PackedDeviceHooks;
}

/**
 * What an emulator needs from a device-side ring, met by SplitRingDevice and
 * PackedRingDevice alike (checked in packed-ring-device.test.ts), so device models and the
 * queue loop can take either. Positions (usedIdx, shouldNotify's argument) are opaque numbers.
 */
export interface DeviceRing {
  readonly layout: RingLayout;
  readonly size: number;
  readonly usedIdx: number;
  pending(): Promise<number>;
  pop(): Promise<Chain | undefined>;
  readAll(chain: Chain, max?: number): Promise<Uint8Array>;
  writeAt(chain: Chain, offset: number, data: Uint8Array): Promise<void>;
  /** `head`: the split ring's head index, the packed ring's Buffer ID (chain.head either way). */
  push(head: number, len: number): Promise<void>;
  shouldNotify(oldUsedIdx: number): Promise<boolean>;
  suppressNotifications(suppress: boolean): Promise<void>;
}

const TOTAL_LEN_LIMIT = 2 ** 32;

interface Desc { addr: number; len: number; id: number; flags: number }

function parseDesc(b: Uint8Array, off: number): Desc {
  const v = new DataView(b.buffer, b.byteOffset + off, PDESC_SIZE);
  const addr = v.getBigUint64(PDESC.addr, true);
  return {
    addr: addr > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(addr),
    len: v.getUint32(PDESC.len, true), id: v.getUint16(PDESC.id, true), flags: v.getUint16(PDESC.flags, true),
  };
}

interface Outstanding { id: number; descCount: number; position: RingPos }

export class PackedRingDevice {
  /** Where the device looks for the next available descriptor (and its wrap counter). */
  nextAvail: RingPos = { off: 0, wrap: 1 };
  /** Where the device writes the next used descriptor (Device Ring Wrap Counter in `wrap`). */
  nextUsed: RingPos = { off: 0, wrap: 1 };
  /** nextUsed at the last shouldNotify() decision. */
  private signalled: RingPos = { off: 0, wrap: 1 };
  /** The descriptors the last shouldNotify() decision covered (packed-event-desc-late). */
  private lastWindow?: { now: RingPos; count: number };
  /** Buffers taken and not yet used, in ring order (IN_ORDER batches complete from the front). */
  private outstanding: Outstanding[] = [];
  /** A list taken but handed out after the one behind it (packed-starts-out-of-ring-order). */
  private heldBack?: PackedChain;
  private readonly defect: (name: string) => boolean;

  constructor(private readonly mem: RingMemory, readonly layout: RingLayout, readonly opts: PackedDeviceRingOptions) {
    if (layout.size <= 0 || layout.size > PACKED_MAX_SIZE) throw new RingError(`bad queue size ${layout.size}`);
    this.defect = opts.defect ?? (() => false);
  }

  get size(): number { return this.layout.size; }
  /** nextUsed in the 16-bit off|wrap<<15 form (what shouldNotify(old) takes), like SplitRingDevice.usedIdx. */
  get usedIdx(): number { return encodePos(this.nextUsed); }
  /** nextAvail in the off|wrap<<15 form. */
  get lastAvailIdx(): number { return encodePos(this.nextAvail); }
  /** Buffer IDs taken and not yet used, in ring order. */
  inFlight(): number[] { return this.outstanding.map((o) => o.id); }

  /** The driver event suppression structure (Driver Area). */
  async driverEvent(): Promise<EventSuppress> {
    return decodeEventSuppress(await this.mem.read(this.layout.driver, EVENT_SUPPRESS_SIZE));
  }

  async readDesc(off: number): Promise<Desc> {
    if (off < 0 || off >= this.size) throw new RingError(`descriptor offset ${off} outside a ring of ${this.size}`);
    return parseDesc(await this.mem.read(this.layout.desc + PDESC_SIZE * off, PDESC_SIZE), 0);
  }

  private available(flags: number, wrap: 0 | 1): boolean {
    if (this.defect('packed-uses-desc-avail-unchanged')) return ((flags & VIRTQ_DESC_F_AVAIL) !== 0) !== ((flags & VIRTQ_DESC_F_USED) !== 0);
    return isAvail(flags, wrap);
  }

  /** Descriptors made available from nextAvail on (ring order, stops at the first that is not). */
  async pending(): Promise<number> {
    let p = this.nextAvail;
    let n = 0;
    while (n < this.size && this.available((await this.readDesc(p.off)).flags, p.wrap)) { n++; p = advance(p, 1, this.size); }
    return n + (this.heldBack?.descCount ?? 0);
  }

  /**
   * Take the next available buffer in ring order, or undefined when the driver has not
   * made one available. Under packed-starts-out-of-ring-order (not with IN_ORDER, whose
   * completion follows the order taken), when a second list is available right after the
   * first, the second is taken first and the first is returned by the next pop().
   */
  async pop(): Promise<PackedChain | undefined> {
    const held = this.heldBack;
    if (held) { this.heldBack = undefined; return held; }
    const first = await this.readList(this.nextAvail);
    if (!first) return undefined;
    this.take(first);
    if (this.defect('packed-starts-out-of-ring-order') && !this.opts.inOrder) {
      const second = await this.readList(this.nextAvail);
      if (second) {
        this.take(second);
        this.heldBack = first;
        return second;
      }
    }
    return first;
  }

  /** Record a list read at nextAvail as taken (in flight) and move past it. */
  private take(chain: PackedChain): void {
    if (this.outstanding.some((o) => o.id === chain.id)) throw new RingError(`buffer id ${chain.id} made available again before it was used`);
    this.outstanding.push({ id: chain.id, descCount: chain.descCount, position: chain.position });
    this.nextAvail = advance(chain.position, chain.descCount, this.size);
  }

  /** The list starting at `start` if the driver made it available (nothing is taken). */
  private async readList(start: RingPos): Promise<PackedChain | undefined> {
    const first = await this.readDesc(start.off);
    if (!this.available(first.flags, start.wrap)) return undefined;
    const limit = Math.min(this.opts.maxChain ?? this.size, this.size);
    const chain: PackedChain = {
      id: 0, head: 0, readable: [], writable: [], readableLen: 0, writableLen: 0, descIndices: [], descCount: 0,
      position: start, indirect: false,
    };
    let p = start;
    let d = first;
    for (;;) {
      if (chain.descCount >= limit) throw new RingError(`descriptor list at offset ${start.off} is longer than ${limit} descriptors`);
      if (chain.descCount > 0) {
        d = await this.readDesc(p.off);
        // Every descriptor of a list carries the flags of its own lap (2.8.6).
        if (!this.available(d.flags, p.wrap)) throw new RingError(`descriptor ${p.off} (wrap ${p.wrap}) in the list from offset ${start.off} is not available`);
      }
      chain.descIndices.push(p.off);
      chain.descCount++;
      if (d.flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.opts.indirect) throw new RingError(`descriptor ${p.off}: INDIRECT without VIRTIO_F_INDIRECT_DESC`);
        if ((d.flags & VIRTQ_DESC_F_NEXT) || chain.descCount > 1) throw new RingError(`descriptor ${p.off}: INDIRECT in a list linked by NEXT`);
        // WRITE on the descriptor that refers to a table means nothing (2.8.7, as 2.7.5.3.2).
        if ((d.flags & VIRTQ_DESC_F_WRITE) && this.defect('indirect-write-flag-rejected')) {
          throw new RingError(`descriptor ${p.off}: WRITE set on an indirect-table descriptor`);
        }
        await this.walkIndirect(d, chain);
        break;
      }
      this.addBuffer(chain, d, `descriptor ${p.off}`);
      if (!(d.flags & VIRTQ_DESC_F_NEXT)) break;
      p = advance(p, 1, this.size);
    }
    if (chain.descCount === this.size && this.size > 1 && this.defect('packed-rejects-full-ring-chain')) {
      throw new RingError(`descriptor list of ${chain.descCount} descriptors not supported`);
    }
    // A NEXT-linked list is used in list order (2.8.18); the defect uses its buffers of each
    // direction in ascending address order instead.
    if (!chain.indirect && this.defect('packed-list-in-address-order')) {
      chain.readable.sort((a, b) => a.addr - b.addr);
      chain.writable.sort((a, b) => a.addr - b.addr);
    }
    // The Buffer ID is in the last descriptor of the list (2.8.6).
    chain.id = d.id;
    chain.head = chain.id;
    return chain;
  }

  private async walkIndirect(ref: Desc, chain: PackedChain): Promise<void> {
    if (ref.len === 0 || ref.len % PDESC_SIZE !== 0) throw new RingError(`indirect table length ${ref.len} is not a multiple of ${PDESC_SIZE}`);
    const n = ref.len / PDESC_SIZE;
    const table = await this.mem.read(ref.addr, ref.len);
    chain.indirect = true;
    // Table entries follow one another; only WRITE means something in them (2.8.7).
    for (let i = 0; i < n; i++) {
      const d = parseDesc(table, i * PDESC_SIZE);
      this.addBuffer(chain, { ...d, flags: d.flags & VIRTQ_DESC_F_WRITE }, `indirect descriptor ${i}`);
    }
  }

  private addBuffer(chain: PackedChain, d: Desc, what: string): void {
    const limit = this.opts.maxTotalLen ?? TOTAL_LEN_LIMIT;
    if (chain.readableLen + chain.writableLen + d.len > limit) throw new RingError(`${what}: buffer exceeds ${limit} bytes`);
    if (d.flags & VIRTQ_DESC_F_WRITE) {
      chain.writable.push({ addr: d.addr, len: d.len });
      chain.writableLen += d.len;
    } else {
      // Device-readable elements come before device-writable ones (2.8 buffer definition).
      if (chain.writable.length > 0) throw new RingError(`${what}: device-readable element after a device-writable one`);
      chain.readable.push({ addr: d.addr, len: d.len });
      chain.readableLen += d.len;
    }
  }

  /** Gather up to `max` bytes of the buffer's device-readable elements. */
  async readAll(chain: Pick<PackedChain, 'readable' | 'readableLen'>, max = chain.readableLen): Promise<Uint8Array> {
    return gatherReadable(this.mem, chain, max);
  }

  /** Scatter `data` into the device-writable elements starting at byte `offset` of them. */
  async writeAt(chain: Pick<PackedChain, 'readable' | 'writable' | 'writableLen'>, offset: number, data: Uint8Array): Promise<void> {
    if (offset + data.length > chain.writableLen) throw new RingError(`write of ${data.length} bytes at ${offset} exceeds the writable ${chain.writableLen}`);
    if (this.defect('packed-writes-device-readable') && chain.readable.length > 0 && data.length > 0) {
      const r = chain.readable[0];
      await this.mem.write(r.addr, data.subarray(0, Math.min(r.len, data.length)));
    }
    return scatterWritable(this.mem, chain, offset, data);
  }

  /**
   * Mark buffer `id` used with `len` bytes written: one used descriptor at nextUsed, which
   * then skips the descriptors the buffer occupied (2.8.6). An id the device never took
   * (an injected defect) skips one descriptor. With IN_ORDER only the oldest outstanding
   * buffer may be completed.
   */
  async push(id: number, len: number): Promise<void> {
    const k = this.outstanding.findIndex((o) => o.id === id);
    // IN_ORDER promises ring order; a device model that completes otherwise is a bug (or the defect).
    if (this.opts.inOrder && k > 0 && !this.defect('packed-in-order-out-of-order')) {
      throw new Error(`IN_ORDER: buffer ${id} completed before buffer ${this.outstanding[0].id}`);
    }
    const n = k >= 0 ? this.outstanding[k].descCount : 1;
    if (k >= 0) this.outstanding.splice(k, 1);
    await this.writeUsed(this.nextUsed, id, len);
    this.nextUsed = advance(this.nextUsed, n, this.size);
  }

  /**
   * VIRTIO_F_IN_ORDER: complete the oldest entries.length buffers (in ring order) with a
   * single used descriptor carrying the last one's id and len, then skip the whole batch
   * (2.8.8). Entries must name the oldest outstanding buffers, in order.
   */
  async pushBatch(entries: Array<{ id: number; len: number }>): Promise<void> {
    if (!this.opts.inOrder) throw new Error('pushBatch needs VIRTIO_F_IN_ORDER');
    if (entries.length === 0) return;
    entries.forEach((e, i) => {
      if (this.outstanding[i]?.id !== e.id) {
        throw new Error(`pushBatch: entry ${i} is buffer ${e.id}, ring order has ${this.outstanding[i]?.id ?? 'nothing'}`);
      }
    });
    const batch = this.outstanding.splice(0, entries.length);
    const last = entries[entries.length - 1];
    await this.writeUsed(this.nextUsed, last.id, last.len);
    this.nextUsed = advance(this.nextUsed, batch.reduce((s, o) => s + o.descCount, 0), this.size);
  }

  /**
   * Multi-buffer request (2.8.9, e.g. a net packet over several receive buffers): one used
   * descriptor per entry at consecutive used positions, the first entry's written last so
   * the driver never sees part of the request. Entries are buffers taken and not yet used.
   */
  async pushMulti(entries: Array<{ id: number; len: number }>): Promise<void> {
    if (entries.length === 0) return;
    const placed: Array<{ pos: RingPos; id: number; len: number }> = [];
    let pos = this.nextUsed;
    for (const e of entries) {
      const k = this.outstanding.findIndex((o) => o.id === e.id);
      if (k < 0) throw new Error(`pushMulti: buffer ${e.id} is not outstanding`);
      if (this.opts.inOrder && k !== 0 && !this.defect('packed-in-order-out-of-order')) {
        throw new Error(`IN_ORDER: buffer ${e.id} completed before buffer ${this.outstanding[0].id}`);
      }
      const [o] = this.outstanding.splice(k, 1);
      placed.push({ pos, id: e.id, len: e.len });
      pos = advance(pos, o.descCount, this.size);
    }
    const order = this.defect('packed-multi-buffer-first-early') ? placed : [...placed.slice(1), placed[0]];
    for (const u of order) await this.writeUsed(u.pos, u.id, u.len);
    this.nextUsed = pos;
  }

  /** id/len, then the flags that make the descriptor used (a driver polling flags must see a complete body). */
  private async writeUsed(pos: RingPos, id: number, len: number): Promise<void> {
    const at = this.layout.desc + PDESC_SIZE * pos.off;
    const body = new Uint8Array(6);
    const v = new DataView(body.buffer);
    v.setUint32(0, len >>> 0, true);
    v.setUint16(4, id & 0xffff, true);
    const wrap = this.defect('packed-used-wrap-not-toggled') ? 1 : pos.wrap;
    // WRITE in a used descriptor says the device wrote into the buffer (2.8.4).
    const flags = usedFlags(wrap) | (len > 0 ? VIRTQ_DESC_F_WRITE : 0);
    const f = new Uint8Array([flags & 0xff, flags >> 8]);
    const hook = this.opts.hooks?.onUsedWrite;
    const steps: Array<[UsedWriteStep, () => Promise<void>]> = [
      ['body', () => this.mem.write(at + PDESC.len, body)],
      ['flags', () => this.mem.write(at + PDESC.flags, f)],
    ];
    if (this.defect('packed-flags-before-body')) steps.reverse();
    for (const [step, write] of steps) {
      await write();
      if (hook) await hook(step, pos, id);
    }
  }

  /**
   * Should the device send a used-buffer notification for the descriptors used since
   * `oldUsedIdx` (off|wrap<<15; default: the position at the previous decision)? Reads the
   * driver event suppression structure: DISABLE → no, ENABLE → yes, DESC (with EVENT_IDX)
   * → only if the event position was among the descriptors just used.
   */
  async shouldNotify(oldUsedIdx?: number): Promise<boolean> {
    const now = this.nextUsed;
    const old = oldUsedIdx === undefined ? this.signalled : decodePos(oldUsedIdx);
    this.signalled = now;
    const count = distance(old, now, this.size);
    if (count === 0) return false;
    const e = await this.driverEvent();
    const previous = this.lastWindow;
    this.lastWindow = { now, count };
    if (e.flags === RING_EVENT_FLAGS_DISABLE) return this.defect('packed-notifies-despite-disable');
    if (e.flags === RING_EVENT_FLAGS_DESC && this.opts.eventIdx) {
      if (this.defect('packed-ignores-event-desc')) return true;
      // Judges the event against the descriptors used by the decision before: a buffer late.
      if (this.defect('packed-event-desc-late')) return previous !== undefined && eventTriggered(e, previous.now, previous.count, this.size);
      return eventTriggered(e, now, count, this.size);
    }
    if (e.flags === RING_EVENT_FLAGS_ENABLE) return !this.defect('packed-no-notify-when-enabled');
    // DESC without EVENT_IDX and the reserved 0x3 are not valid suppression requests, so the
    // device errs on the side of notifying.
    return true;
  }

  /**
   * Tell the driver whether available-buffer notifications are wanted (device event
   * suppression, Device Area): DISABLE, or with EVENT_IDX a DESC event at the next
   * descriptor the device will look at, else ENABLE.
   */
  async suppressNotifications(suppress: boolean): Promise<void> {
    let flags = suppress ? RING_EVENT_FLAGS_DISABLE : this.opts.eventIdx ? RING_EVENT_FLAGS_DESC : RING_EVENT_FLAGS_ENABLE;
    if (!suppress && this.defect('packed-bad-event-flags')) flags = 0x3;
    if (!suppress && !this.opts.eventIdx && this.defect('packed-event-desc-without-event-idx')) flags = RING_EVENT_FLAGS_DESC;
    await this.mem.write(this.layout.device, encodeEventSuppress({ ...this.nextAvail, flags }));
  }
}
