// Packed virtqueue memory layout (spec 2.8). Shared by the driver side
// (virtio/packed-ring-driver.ts) and the device side (virtio/packed-ring-device.ts).
// The three parts: the descriptor ring (Descriptor Area), the driver event suppression
// structure (Driver Area, written by the driver) and the device event suppression
// structure (Device Area, written by the device).

// Descriptor flags (2.8.3 – 2.8.7). NEXT/WRITE/INDIRECT have the split ring's values.
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_DESC_F_AVAIL = 1 << 7;
export const VIRTQ_DESC_F_USED = 1 << 15;

/** struct pvirtq_desc: addr le64, len le32, id le16, flags le16. */
export const PDESC_SIZE = 16;
export const PDESC = { addr: 0, len: 8, id: 12, flags: 14 } as const;

/** Descriptor Ring Change Event Flags (desc_event_flags, 2 bits of pvirtq_event_suppress.flags). */
export const RING_EVENT_FLAGS_ENABLE = 0x0;
export const RING_EVENT_FLAGS_DISABLE = 0x1;
/** Only valid with VIRTIO_F_EVENT_IDX; 0x3 is reserved. */
export const RING_EVENT_FLAGS_DESC = 0x2;
export const RING_EVENT_FLAGS_MASK = 0x3;

/** struct pvirtq_event_suppress: desc le16 (desc_event_off:15, desc_event_wrap:1), flags le16. */
export const EVENT_SUPPRESS_SIZE = 4;
export const EVENT_SUPPRESS = { desc: 0, flags: 2 } as const;
/** Bit of the desc field that carries the wrap counter. */
export const EVENT_WRAP_SHIFT = 15;

// Alignment and size (2.8.10.1): ring 16 × queue size aligned 16, each event structure 4 aligned 4.
export const PDESC_ALIGN = 16, EVENT_SUPPRESS_ALIGN = 4;
/** Up to 2^15 entries (2.8); the queue size need not be a power of 2. */
export const PACKED_MAX_SIZE = 32768;

export const descRingSize = (qsz: number) => PDESC_SIZE * qsz;

export interface PackedDesc { addr: bigint; len: number; id: number; flags: number }

export function encodePackedDesc(b: Uint8Array, off: number, d: PackedDesc): void {
  const v = new DataView(b.buffer, b.byteOffset + off, PDESC_SIZE);
  v.setBigUint64(PDESC.addr, d.addr, true);
  v.setUint32(PDESC.len, d.len >>> 0, true);
  v.setUint16(PDESC.id, d.id & 0xffff, true);
  v.setUint16(PDESC.flags, d.flags & 0xffff, true);
}

export function decodePackedDesc(b: Uint8Array, off: number): PackedDesc {
  const v = new DataView(b.buffer, b.byteOffset + off, PDESC_SIZE);
  return { addr: v.getBigUint64(PDESC.addr, true), len: v.getUint32(PDESC.len, true), id: v.getUint16(PDESC.id, true), flags: v.getUint16(PDESC.flags, true) };
}

/** A ring position: offset into the descriptor ring plus the wrap counter of that lap. */
export interface RingPos { off: number; wrap: 0 | 1 }

/** Decoded struct pvirtq_event_suppress. `flags` is the 2-bit field, `reserved` the other 14 bits. */
export interface EventSuppress { off: number; wrap: 0 | 1; flags: number; reserved: number }

export function encodeEventSuppress(e: { off: number; wrap: 0 | 1; flags: number; reserved?: number }): Uint8Array {
  const b = new Uint8Array(EVENT_SUPPRESS_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(EVENT_SUPPRESS.desc, (e.off & 0x7fff) | (e.wrap << EVENT_WRAP_SHIFT), true);
  v.setUint16(EVENT_SUPPRESS.flags, (e.flags & RING_EVENT_FLAGS_MASK) | ((e.reserved ?? 0) << 2), true);
  return b;
}

export function decodeEventSuppress(b: Uint8Array, off = 0): EventSuppress {
  const v = new DataView(b.buffer, b.byteOffset + off, EVENT_SUPPRESS_SIZE);
  const desc = v.getUint16(EVENT_SUPPRESS.desc, true), flags = v.getUint16(EVENT_SUPPRESS.flags, true);
  return { off: desc & 0x7fff, wrap: (desc >> EVENT_WRAP_SHIFT) as 0 | 1, flags: flags & RING_EVENT_FLAGS_MASK, reserved: flags >> 2 };
}

/** Flags that mark a descriptor available in a lap with wrap counter `wrap` (AVAIL = wrap, USED = !wrap). */
export const availFlags = (wrap: 0 | 1) => (wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED);
/** Flags that mark a descriptor used in a lap with wrap counter `wrap` (AVAIL = USED = wrap). */
export const usedFlags = (wrap: 0 | 1) => (wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0);

export const isAvail = (flags: number, wrap: 0 | 1) =>
  ((flags & VIRTQ_DESC_F_AVAIL) !== 0) === (wrap === 1) && ((flags & VIRTQ_DESC_F_USED) !== 0) !== (wrap === 1);
export const isUsed = (flags: number, wrap: 0 | 1) =>
  ((flags & VIRTQ_DESC_F_AVAIL) !== 0) === (wrap === 1) && ((flags & VIRTQ_DESC_F_USED) !== 0) === (wrap === 1);

/** Move a position forward by n descriptors, toggling the wrap counter each time the ring end is passed. */
export function advance(p: RingPos, n: number, size: number): RingPos {
  let off = p.off + n;
  let wrap = p.wrap;
  while (off >= size) { off -= size; wrap = (wrap ^ 1) as 0 | 1; }
  return { off, wrap };
}

/** Descriptors from `from` forward to `to` (0 ≤ result < 2 × size). */
export function distance(from: RingPos, to: RingPos, size: number): number {
  return to.off - from.off + (to.wrap !== from.wrap ? size : to.off < from.off ? 2 * size : 0);
}

/** The 16-bit encoding of a position used by pvirtq_event_suppress.desc (offset | wrap << 15). */
export const encodePos = (p: RingPos) => (p.off & 0x7fff) | (p.wrap << EVENT_WRAP_SHIFT);
export const decodePos = (n: number): RingPos => ({ off: n & 0x7fff, wrap: ((n >> EVENT_WRAP_SHIFT) & 1) as 0 | 1 });

/**
 * With RING_EVENT_FLAGS_DESC: does the event position fall among the `count` descriptors
 * that end just before `now` (made available / used since the last decision)? The event's
 * wrap counter says whether it lies in the current lap or the previous one — the packed
 * form of vring_need_event (2.8.10 event offset + wrap counter).
 */
export function eventTriggered(event: RingPos, now: RingPos, count: number, size: number): boolean {
  if (count <= 0) return false;
  const ev = event.wrap === now.wrap ? event.off : event.off - size;
  // Distance back from `now` to the event; anything "ahead" of now is negative → no event.
  const back = now.off - ev - 1;
  return back >= 0 && back < count;
}
