// Guest RAM of the reference target: one ArrayBuffer, bounds-checked. Device DMA goes
// through here; an access outside RAM raises DmaError, which a device turns into
// DEVICE_NEEDS_RESET instead of crashing.
export class DmaError extends RangeError {
  constructor(message: string) { super(message); this.name = 'DmaError'; }
}

export class GuestRam {
  readonly bytes: Uint8Array;

  constructor(readonly size: number) {
    this.bytes = new Uint8Array(size);
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
  }

  async read(addr: number, len: number): Promise<Uint8Array> { return this.readSync(addr, len); }
  async write(addr: number, data: Uint8Array): Promise<void> { this.writeSync(addr, data); }
}
