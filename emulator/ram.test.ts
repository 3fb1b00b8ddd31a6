import { describe, expect, it } from 'vitest';
import { DmaError, GuestRam } from './ram.ts';

describe('GuestRam reuse', () => {
  // A size no other test uses, so the free list is this test's own.
  const SIZE = 64 * 1024 + 4096;

  it('a released buffer comes back zeroed where the last owner wrote', () => {
    const a = new GuestRam(SIZE);
    a.writeSync(0x100, new Uint8Array([1, 2, 3]));
    a.writeSync(SIZE - 2, new Uint8Array([9, 9]));
    const seen = a.bytes;
    a.release();
    const b = new GuestRam(SIZE);
    expect(b.bytes).toBe(seen); // the same buffer, reused
    expect(b.bytes.every((x) => x === 0)).toBe(true);
  });

  it('the old owner cannot reach the next owner\'s memory', () => {
    const a = new GuestRam(SIZE);
    a.release();
    const b = new GuestRam(SIZE);
    b.writeSync(0x200, new Uint8Array([7]));
    expect(() => a.writeSync(0x200, new Uint8Array([1]))).toThrow(DmaError);
    expect(() => a.readSync(0x200, 1)).toThrow(DmaError);
    expect(b.readSync(0x200, 1)[0]).toBe(7);
    a.release(); // twice is harmless
  });

  it('bounds are checked as before', () => {
    const r = new GuestRam(SIZE);
    expect(() => r.readSync(SIZE - 1, 2)).toThrow(/out of range/);
    expect(() => r.zero(-1, 1)).toThrow(DmaError);
    r.release();
  });
});
