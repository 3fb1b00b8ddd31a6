// Packed ring layout (2.8): byte offsets of struct pvirtq_desc and struct
// pvirtq_event_suppress, flag values, positions with wrap counters, and the DESC event
// decision against a brute-force enumeration of the positions passed.
import { describe, expect, it } from 'vitest';
import {
  EVENT_SUPPRESS, EVENT_SUPPRESS_ALIGN, EVENT_SUPPRESS_SIZE, PACKED_MAX_SIZE, PDESC, PDESC_ALIGN, PDESC_SIZE,
  RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE, advance, availFlags, decodeEventSuppress, decodePackedDesc,
  decodePos, descRingSize, distance, encodeEventSuppress, encodePackedDesc, encodePos, eventTriggered, isAvail, isUsed,
  usedFlags, type RingPos,
} from './packed-ring.ts';

describe('packed ring layout', () => {
  it('flag values: NEXT 1, WRITE 2, INDIRECT 4, AVAIL bit 7, USED bit 15; event flags 0/1/2', () => {
    expect([VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT]).toEqual([1, 2, 4]);
    expect(VIRTQ_DESC_F_AVAIL).toBe(0x80);
    expect(VIRTQ_DESC_F_USED).toBe(0x8000);
    expect([RING_EVENT_FLAGS_ENABLE, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_DESC]).toEqual([0, 1, 2]);
  });

  it('pvirtq_desc is addr le64 @0, len le32 @8, id le16 @12, flags le16 @14 (16 bytes)', () => {
    expect(PDESC_SIZE).toBe(16);
    expect(PDESC).toEqual({ addr: 0, len: 8, id: 12, flags: 14 });
    const b = new Uint8Array(20);
    encodePackedDesc(b, 2, { addr: 0x0102030405060708n, len: 0x090a0b0c, id: 0x0d0e, flags: 0x8082 });
    expect([...b.subarray(2, 18)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0x0c, 0x0b, 0x0a, 0x09, 0x0e, 0x0d, 0x82, 0x80]);
    expect(decodePackedDesc(b, 2)).toEqual({ addr: 0x0102030405060708n, len: 0x090a0b0c, id: 0x0d0e, flags: 0x8082 });
  });

  it('pvirtq_event_suppress: desc = off (15 bits) | wrap << 15, flags = 2-bit field + reserved', () => {
    expect(EVENT_SUPPRESS_SIZE).toBe(4);
    expect(EVENT_SUPPRESS).toEqual({ desc: 0, flags: 2 });
    const b = encodeEventSuppress({ off: 0x1234, wrap: 1, flags: RING_EVENT_FLAGS_DESC });
    expect([...b]).toEqual([0x34, 0x92, 0x02, 0x00]);
    expect(decodeEventSuppress(b)).toEqual({ off: 0x1234, wrap: 1, flags: 2, reserved: 0 });
    expect(decodeEventSuppress(new Uint8Array([0xff, 0x7f, 0x07, 0x00]))).toEqual({ off: 0x7fff, wrap: 0, flags: 3, reserved: 1 });
    expect(encodePos({ off: 5, wrap: 1 })).toBe(0x8005);
    expect(decodePos(0x8005)).toEqual({ off: 5, wrap: 1 });
  });

  it('alignment 16 / 4 / 4, ring 16 × queue size, at most 2^15 entries', () => {
    expect([PDESC_ALIGN, EVENT_SUPPRESS_ALIGN]).toEqual([16, 4]);
    expect(descRingSize(3)).toBe(48);
    expect(PACKED_MAX_SIZE).toBe(1 << 15);
  });

  it('available: AVAIL = wrap, USED = !wrap; used: both = wrap', () => {
    expect(availFlags(1)).toBe(VIRTQ_DESC_F_AVAIL);
    expect(availFlags(0)).toBe(VIRTQ_DESC_F_USED);
    expect(usedFlags(1)).toBe(VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED);
    expect(usedFlags(0)).toBe(0);
    for (const w of [0, 1] as const) {
      expect(isAvail(availFlags(w) | VIRTQ_DESC_F_NEXT, w)).toBe(true);
      expect(isAvail(availFlags(w), (w ^ 1) as 0 | 1)).toBe(false);
      expect(isUsed(usedFlags(w) | VIRTQ_DESC_F_WRITE, w)).toBe(true);
      expect(isUsed(usedFlags(w), (w ^ 1) as 0 | 1)).toBe(false);
      expect(isUsed(availFlags(w), w)).toBe(false);
    }
    // The zero-initialized ring is neither available nor used for the first lap (wrap 1).
    expect(isAvail(0, 1) || isUsed(0, 1)).toBe(false);
  });

  it('advance toggles the wrap counter at the end of a ring of any size; distance inverts it', () => {
    expect(advance({ off: 3, wrap: 1 }, 2, 5)).toEqual({ off: 0, wrap: 0 });
    expect(advance({ off: 4, wrap: 0 }, 5, 5)).toEqual({ off: 4, wrap: 1 });
    expect(advance({ off: 0, wrap: 1 }, 12, 5)).toEqual({ off: 2, wrap: 1 });
    for (const size of [1, 3, 7, 8]) {
      for (let n = 0; n < 2 * size; n++) {
        const from: RingPos = { off: size - 1, wrap: 0 };
        expect(distance(from, advance(from, n, size), size)).toBe(n);
      }
    }
  });

  it('eventTriggered: exactly when the event position is one of the count positions before now', () => {
    for (const size of [1, 5, 8]) {
      // Every start, count ≤ size and event position over two laps.
      for (let start = 0; start < 2 * size; start++) {
        const from = advance({ off: 0, wrap: 1 }, start, size);
        for (let count = 0; count <= size; count++) {
          const now = advance(from, count, size);
          const passed = Array.from({ length: count }, (_, k) => advance(from, k, size));
          for (let e = 0; e < 2 * size; e++) {
            const ev = advance({ off: 0, wrap: 1 }, e, size);
            const want = passed.some((p) => p.off === ev.off && p.wrap === ev.wrap);
            expect(eventTriggered(ev, now, count, size), `size ${size} from ${start} count ${count} event ${e}`).toBe(want);
          }
        }
      }
    }
  });
});
