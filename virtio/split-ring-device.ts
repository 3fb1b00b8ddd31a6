// Device side of the split virtqueue (spec 2.7): pop avail entries, walk descriptor
// chains with bounds/loop/length checks, push used elements, and decide used-buffer
// notifications and avail-notification suppression. No I/O beyond the async memory
// interface, so the same code serves an in-process emulator and a vhost-user back-end.
import {
  AVAIL, DESC, DESC_SIZE, USED, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY, needEvent,
} from './split-ring.ts';

/** What the ring needs from guest memory (a subset of GuestMemory). */
export interface RingMemory {
  read(addr: number, len: number): Promise<Uint8Array>;
  write(addr: number, data: Uint8Array): Promise<void>;
}

/** A chain the device cannot process (malformed by the driver). The device model turns
 * this into DEVICE_NEEDS_RESET instead of crashing. */
export class RingError extends Error {
  constructor(message: string) { super(message); this.name = 'RingError'; }
}

export interface ChainBuffer { addr: number; len: number }

export interface Chain {
  head: number;
  readable: ChainBuffer[];
  writable: ChainBuffer[];
  readableLen: number;
  writableLen: number;
  /** Descriptor indices of the ring's table visited (not the indirect ones). */
  descIndices: number[];
  /** An indirect table was followed. */
  indirect: boolean;
}

export interface RingLayout { size: number; desc: number; driver: number; device: number }

export interface DeviceRingOptions {
  /** VIRTIO_F_EVENT_IDX negotiated. */
  eventIdx: boolean;
  /** VIRTIO_F_INDIRECT_DESC negotiated. */
  indirect: boolean;
  /** Total chain length limit in bytes (the driver may not exceed 2^32). */
  maxTotalLen?: number;
  /**
   * Defect hooks (emulator/defects.ts): a named deviation is taken only where the
   * rule it breaks is implemented, so each breaks just its own clause.
   */
  defect?: (name: string) => boolean;
}

interface RawDesc { addr: number; len: number; flags: number; next: number }

const TOTAL_LEN_LIMIT = 2 ** 32;
/** How late the used-len-after-idx defect writes len (after used idx and the notification). */
const LATE_LEN_MS = 20;

function parseDesc(b: Uint8Array, off: number): RawDesc {
  const v = new DataView(b.buffer, b.byteOffset + off, DESC_SIZE);
  const addr = v.getBigUint64(DESC.addr, true);
  return {
    addr: addr > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(addr),
    len: v.getUint32(DESC.len, true), flags: v.getUint16(DESC.flags, true), next: v.getUint16(DESC.next, true),
  };
}

const u16 = (b: Uint8Array, off = 0) => b[off] | (b[off + 1] << 8);
const le16 = (n: number) => new Uint8Array([n & 0xff, (n >> 8) & 0xff]);

export class SplitRingDevice {
  /** Next avail ring slot to consume (the device's shadow of avail idx). */
  lastAvailIdx = 0;
  /** The device's used idx (what it last published). */
  usedIdx = 0;
  private readonly defect: (name: string) => boolean;
  /** Device-writable bytes of each chain taken and not yet used, by head (used-len-after-idx). */
  private readonly room = new Map<number, number>();

  constructor(private readonly mem: RingMemory, readonly layout: RingLayout, readonly opts: DeviceRingOptions) {
    if (layout.size <= 0 || layout.size > 32768) throw new RingError(`bad queue size ${layout.size}`);
    this.defect = opts.defect ?? (() => false);
  }

  get size(): number { return this.layout.size; }

  async availIdx(): Promise<number> {
    return u16(await this.mem.read(this.layout.driver + AVAIL.idx, 2));
  }

  async availFlags(): Promise<number> {
    return u16(await this.mem.read(this.layout.driver + AVAIL.flags, 2));
  }

  async usedEvent(): Promise<number> {
    return u16(await this.mem.read(this.layout.driver + AVAIL.usedEvent(this.size), 2));
  }

  /** Number of entries the driver made available that the device has not consumed. */
  async pending(): Promise<number> {
    const n = (await this.availIdx() - this.lastAvailIdx) & 0xffff;
    // The driver can never have more than queue_size buffers outstanding.
    if (n > this.size) throw new RingError(`avail idx moved ${n} entries ahead of a queue of ${this.size}`);
    return n;
  }

  /** Pop the next available chain, or undefined when there is none. */
  async pop(): Promise<Chain | undefined> {
    if (await this.pending() === 0) return undefined;
    const slot = this.lastAvailIdx % this.size;
    const head = u16(await this.mem.read(this.layout.driver + AVAIL.ring + 2 * slot, 2));
    const chain = await this.walk(head);
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    this.room.set(head, chain.writableLen);
    return chain;
  }

  /** Walk the chain starting at descriptor `head` of the ring's table. */
  async walk(head: number): Promise<Chain> {
    if (head >= this.size) throw new RingError(`head ${head} outside the descriptor table (size ${this.size})`);
    const table = await this.mem.read(this.layout.desc, this.size * DESC_SIZE);
    const chain: Chain = { head, readable: [], writable: [], readableLen: 0, writableLen: 0, descIndices: [], indirect: false };
    let i = head;
    for (let count = 0; ; count++) {
      // A chain longer than the table can only be a loop.
      if (count >= this.size) throw new RingError(`descriptor chain from head ${head} is longer than the queue (loop?)`);
      const d = parseDesc(table, i * DESC_SIZE);
      chain.descIndices.push(i);
      if (d.flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.opts.indirect) throw new RingError(`descriptor ${i}: INDIRECT without VIRTIO_F_INDIRECT_DESC`);
        if (d.flags & VIRTQ_DESC_F_NEXT) throw new RingError(`descriptor ${i}: INDIRECT and NEXT both set`);
        // The WRITE flag of the descriptor that refers to a table means nothing (2.7.5.3.2).
        if ((d.flags & VIRTQ_DESC_F_WRITE) && this.defect('indirect-write-flag-rejected')) {
          throw new RingError(`descriptor ${i}: WRITE set on an indirect-table descriptor`);
        }
        if (count > 0 && this.defect('indirect-after-direct-unsupported')) {
          throw new RingError(`descriptor ${i}: indirect table after direct descriptors not supported`);
        }
        await this.walkIndirect(d, chain);
        break;
      }
      this.addBuffer(chain, d, `descriptor ${i}`);
      if (!(d.flags & VIRTQ_DESC_F_NEXT)) break;
      if (d.next >= this.size) throw new RingError(`descriptor ${i}: next ${d.next} outside the table`);
      i = d.next;
    }
    return chain;
  }

  private async walkIndirect(ref: RawDesc, chain: Chain): Promise<void> {
    if (ref.len === 0 || ref.len % DESC_SIZE !== 0) throw new RingError(`indirect table length ${ref.len} is not a multiple of ${DESC_SIZE}`);
    const n = ref.len / DESC_SIZE;
    const table = await this.mem.read(ref.addr, ref.len);
    chain.indirect = true;
    let i = 0;
    for (let count = 0; ; count++) {
      if (count >= n) throw new RingError(`indirect chain longer than its table of ${n} (loop?)`);
      const d = parseDesc(table, i * DESC_SIZE);
      if (d.flags & VIRTQ_DESC_F_INDIRECT) throw new RingError(`indirect descriptor ${i}: nested INDIRECT`);
      this.addBuffer(chain, d, `indirect descriptor ${i}`);
      if (!(d.flags & VIRTQ_DESC_F_NEXT)) break;
      if (d.next >= n) throw new RingError(`indirect descriptor ${i}: next ${d.next} outside the table of ${n}`);
      i = d.next;
    }
  }

  private addBuffer(chain: Chain, d: RawDesc, what: string): void {
    const limit = this.opts.maxTotalLen ?? TOTAL_LEN_LIMIT;
    if (chain.readableLen + chain.writableLen + d.len > limit) throw new RingError(`${what}: chain exceeds ${limit} bytes`);
    if (d.flags & VIRTQ_DESC_F_WRITE) {
      chain.writable.push({ addr: d.addr, len: d.len });
      chain.writableLen += d.len;
    } else {
      // Device-readable elements come before device-writable ones (2.7.4).
      if (chain.writable.length > 0) throw new RingError(`${what}: device-readable buffer after a device-writable one`);
      chain.readable.push({ addr: d.addr, len: d.len });
      chain.readableLen += d.len;
    }
  }

  /** Gather up to `max` bytes of the chain's device-readable buffers. */
  async readAll(chain: Chain, max = chain.readableLen): Promise<Uint8Array> {
    return gatherReadable(this.mem, chain, max);
  }

  /** Scatter `data` into the device-writable buffers starting at byte `offset` of them. */
  async writeAt(chain: Chain, offset: number, data: Uint8Array): Promise<void> {
    return scatterWritable(this.mem, chain, offset, data);
  }

  /** Put (head, len) in the used ring and publish the new used idx (len first, 2.7.8). */
  async push(head: number, len: number): Promise<void> {
    const slot = this.usedIdx % this.size;
    const at = this.layout.device + USED.ring + USED.ELEM_SIZE * slot;
    const room = this.room.get(head);
    this.room.delete(head);
    const e = new Uint8Array(USED.ELEM_SIZE);
    const v = new DataView(e.buffer);
    v.setUint32(0, head, true);
    v.setUint32(4, len >>> 0, true);
    // The defect leaves len for later where the slot's old len could not be this buffer's
    // (more than its writable bytes), so a driver reading at once sees the stale value.
    if (room !== undefined && this.defect('used-len-after-idx')) {
      const old = new DataView((await this.mem.read(at + 4, 4)).buffer).getUint32(0, true);
      if (old > room) {
        await this.mem.write(at, e.subarray(0, 4));
        this.usedIdx = (this.usedIdx + 1) & 0xffff;
        await this.mem.write(this.layout.device + USED.idx, le16(this.usedIdx));
        setTimeout(() => { void this.mem.write(at + 4, e.subarray(4)).catch(() => undefined); }, LATE_LEN_MS);
        return;
      }
    }
    await this.mem.write(at, e);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    await this.mem.write(this.layout.device + USED.idx, le16(this.usedIdx));
  }

  /**
   * Put several used elements in the ring, then publish used idx once: a driver sees all
   * of them or none (a packet over several buffers, 5.1.9.4.1).
   */
  async pushMulti(entries: Array<{ id: number; len: number }>): Promise<void> {
    if (entries.length === 0) return;
    let idx = this.usedIdx;
    for (const u of entries) {
      const e = new Uint8Array(USED.ELEM_SIZE);
      const v = new DataView(e.buffer);
      v.setUint32(0, u.id, true);
      v.setUint32(4, u.len >>> 0, true);
      await this.mem.write(this.layout.device + USED.ring + USED.ELEM_SIZE * (idx % this.size), e);
      idx = (idx + 1) & 0xffff;
    }
    this.usedIdx = idx;
    await this.mem.write(this.layout.device + USED.idx, le16(this.usedIdx));
  }

  /**
   * Should the device send a used-buffer notification after moving used idx from
   * `oldUsedIdx` to the current one (2.7.7.2)?
   */
  async shouldNotify(oldUsedIdx: number): Promise<boolean> {
    if (this.opts.eventIdx) {
      // avail.flags means nothing here (2.7.7.2): only used_event counts.
      if (this.defect('honours-no-interrupt-with-event-idx') && (await this.availFlags() & VIRTQ_AVAIL_F_NO_INTERRUPT)) return false;
      if (this.defect('notifies-before-used-event')) return true;
      const ev = await this.usedEvent();
      // Off-by-one variant of vring_need_event: one buffer late.
      if (this.defect('ignores-used-event')) return needEvent((ev + 1) & 0xffff, this.usedIdx, oldUsedIdx);
      return needEvent(ev, this.usedIdx, oldUsedIdx);
    }
    // Without EVENT_IDX used_event means nothing: only avail.flags counts.
    if (this.defect('uses-used-event-without-event-idx') && !needEvent(await this.usedEvent(), this.usedIdx, oldUsedIdx)) return false;
    const flags = await this.availFlags();
    if (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) return this.defect('notifies-despite-no-interrupt');
    return !this.defect('no-notify-when-flags-zero');
  }

  /**
   * Tell the driver whether available-buffer notifications are wanted (2.7.10):
   * used.flags without EVENT_IDX, avail_event (and flags 0) with it.
   */
  async suppressNotifications(suppress: boolean): Promise<void> {
    let flags = suppress && !this.opts.eventIdx ? VIRTQ_USED_F_NO_NOTIFY : 0;
    if (!this.opts.eventIdx && this.defect('bad-used-flags')) flags = 2; // neither 0 nor 1
    if (this.opts.eventIdx && this.defect('used-flags-set-with-event-idx')) flags = VIRTQ_USED_F_NO_NOTIFY;
    await this.mem.write(this.layout.device + USED.flags, le16(flags));
    if (this.opts.eventIdx && !suppress) {
      // Ask to be notified as soon as the driver makes the next buffer available.
      await this.mem.write(this.layout.device + USED.availEvent(this.size), le16(this.lastAvailIdx));
    }
  }
}

// Gather and scatter over a chain's buffers, the same for split and packed rings.

/** The first `max` bytes of the device-readable buffers, concatenated. */
export async function gatherReadable(mem: RingMemory, chain: Pick<Chain, 'readable' | 'readableLen'>, max = chain.readableLen): Promise<Uint8Array> {
  const out = new Uint8Array(Math.min(max, chain.readableLen));
  let off = 0;
  for (const b of chain.readable) {
    if (off >= out.length) break;
    const n = Math.min(b.len, out.length - off);
    out.set(await mem.read(b.addr, n), off);
    off += n;
  }
  return out;
}

/** Scatter `data` into the device-writable buffers starting at byte `offset` of them. */
export async function scatterWritable(mem: RingMemory, chain: Pick<Chain, 'writable' | 'writableLen'>, offset: number, data: Uint8Array): Promise<void> {
  if (offset + data.length > chain.writableLen) throw new RingError(`write of ${data.length} bytes at ${offset} exceeds the writable ${chain.writableLen}`);
  let pos = 0; // start of the current buffer within the writable space
  let src = 0;
  for (const b of chain.writable) {
    const end = pos + b.len;
    if (end > offset + src && src < data.length) {
      const inBuf = offset + src - pos;
      const n = Math.min(b.len - inBuf, data.length - src);
      await mem.write(b.addr + inBuf, data.subarray(src, src + n));
      src += n;
    }
    pos = end;
    if (src >= data.length) break;
  }
}
