// Guest RAM of the reference target: one ArrayBuffer, bounds-checked. Device DMA goes
// through here; an access outside RAM raises DmaError, which a device turns into
// DEVICE_NEEDS_RESET instead of crashing.
export class DmaError extends RangeError {
  constructor(message: string) { super(message); this.name = 'DmaError'; }
}

/**
 * RAM buffers of closed targets, by size, for the next target to reuse: a fresh 32 MiB
 * buffer per scenario left a reference run spending a quarter of its time in the garbage
 * collector (external memory pressure forces full collections).
 */
const FREE = new Map<number, Uint8Array[]>();
const FREE_MAX = 4;

export class GuestRam {
  private buf: Uint8Array | undefined;
  /** Written range [lo, hi): what release() zeroes before the buffer is reused. */
  private lo = Infinity;
  private hi = 0;

  constructor(readonly size: number) {
    this.buf = FREE.get(size)?.pop() ?? new Uint8Array(size);
  }

  /** The whole RAM. Writers must go through writeSync/zero so a reuse knows what to clear. */
  get bytes(): Uint8Array {
    if (!this.buf) throw new DmaError('guest memory access after the target was closed');
    return this.buf;
  }

  contains(addr: number, len: number): boolean {
    return Number.isSafeInteger(addr) && Number.isSafeInteger(len) && addr >= 0 && len >= 0 && addr + len <= this.size;
  }

  private check(addr: number, len: number): void {
    if (!this.contains(addr, len)) {
      throw new DmaError(`guest memory access out of range: ${len} bytes at 0x${addr.toString(16)} (RAM size 0x${this.size.toString(16)})`);
    }
  }

  readSync(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    return this.bytes.slice(addr, addr + len);
  }

  writeSync(addr: number, data: Uint8Array): void {
    this.check(addr, data.length);
    this.bytes.set(data, addr);
    this.dirty(addr, data.length);
  }

  /** Zero `len` bytes at `addr` (a fresh allocation). */
  zero(addr: number, len: number): void {
    this.check(addr, len);
    this.bytes.fill(0, addr, addr + len);
  }

  async read(addr: number, len: number): Promise<Uint8Array> { return this.readSync(addr, len); }
  async write(addr: number, data: Uint8Array): Promise<void> { this.writeSync(addr, data); }

  /**
   * The target is closed: clear what was written and hand the buffer to the next GuestRam.
   * A device that still touches this RAM afterwards (a timer of a closed scenario) gets a
   * DmaError, never the next scenario's memory.
   */
  release(): void {
    const buf = this.buf;
    if (!buf) return;
    this.buf = undefined;
    if (this.hi > this.lo) buf.fill(0, this.lo, this.hi);
    const free = FREE.get(this.size) ?? [];
    if (free.length < FREE_MAX) FREE.set(this.size, [...free, buf]);
  }

  private dirty(addr: number, len: number): void {
    if (!len) return;
    if (addr < this.lo) this.lo = addr;
    if (addr + len > this.hi) this.hi = addr + len;
  }
}
