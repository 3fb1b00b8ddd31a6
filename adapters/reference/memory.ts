// GuestMemory of the reference target: the emulator's RAM (an ArrayBuffer) with a bump
// allocator from 1 MiB, as on q35/microvm, so driver code sees the same addresses.
import type { GuestMemory } from '../types.ts';
import type { GuestRam } from '../../emulator/ram.ts';

export const ALLOC_BASE = 0x100000;

export class ReferenceMemory implements GuestMemory {
  private next = ALLOC_BASE;

  constructor(private readonly ram: GuestRam) {}

  async read(addr: number, len: number): Promise<Uint8Array> {
    this.check(addr, len);
    return this.ram.readSync(addr, len);
  }

  async write(addr: number, data: Uint8Array): Promise<void> {
    this.check(addr, data.length);
    this.ram.writeSync(addr, data);
  }

  async alloc(size: number, align = 16): Promise<number> {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`alloc: bad size ${size}`);
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new RangeError(`alloc: alignment must be a power of two, got ${align}`);
    }
    const addr = Math.ceil(this.next / align) * align;
    if (addr + size > this.ram.size) {
      throw new RangeError(`alloc: out of guest memory (${size} bytes at 0x${addr.toString(16)}, RAM ends at 0x${this.ram.size.toString(16)})`);
    }
    this.next = addr + size;
    this.ram.zero(addr, size);
    return addr;
  }

  async resetAllocator(): Promise<void> {
    this.next = ALLOC_BASE;
  }

  private check(addr: number, len: number): void {
    if (!this.ram.contains(addr, len)) {
      throw new RangeError(`guest memory access out of range: ${len} bytes at ${addr} (RAM size 0x${this.ram.size.toString(16)})`);
    }
  }
}
