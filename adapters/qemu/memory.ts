// GuestMemory over qtest: bulk reads/writes with b64read/b64write, zero-fill with
// memset, and a bump allocator that starts at 1 MiB (below that, q35 and microvm map
// ROM, VGA and BIOS areas; see targets.md) and ends at the top of RAM.
import type { GuestMemory } from '../types.ts';
import { hex, type QtestClient } from './qtest.ts';

export const ALLOC_BASE = 0x100000;
/** Large transfers are split so that no single qtest line gets huge. */
const CHUNK = 0x10000;

export class QtestMemory implements GuestMemory {
  private next = ALLOC_BASE;

  constructor(private readonly qt: QtestClient, readonly ramSize: number) {}

  async read(addr: number, len: number): Promise<Uint8Array> {
    this.check(addr, len);
    const out = new Uint8Array(len);
    const parts: Promise<void>[] = [];
    for (let off = 0; off < len; off += CHUNK) {
      const n = Math.min(CHUNK, len - off);
      parts.push(this.qt.request(`b64read ${hex(addr + off)} ${hex(n)}`).then((b64) => {
        const bytes = Buffer.from(b64, 'base64');
        if (bytes.length !== n) throw new Error(`qtest b64read returned ${bytes.length} bytes, expected ${n}`);
        out.set(bytes, off);
      }));
    }
    await Promise.all(parts);
    return out;
  }

  async write(addr: number, data: Uint8Array): Promise<void> {
    this.check(addr, data.length);
    const parts: Promise<string>[] = [];
    for (let off = 0; off < data.length; off += CHUNK) {
      const chunk = data.subarray(off, Math.min(data.length, off + CHUNK));
      const b64 = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('base64');
      parts.push(this.qt.request(`b64write ${hex(addr + off)} ${hex(chunk.length)} ${b64}`));
    }
    await Promise.all(parts);
  }

  async alloc(size: number, align = 16): Promise<number> {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`alloc: bad size ${size}`);
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new RangeError(`alloc: alignment must be a power of two, got ${align}`);
    }
    const addr = Math.ceil(this.next / align) * align;
    if (addr + size > this.ramSize) {
      throw new RangeError(`alloc: out of guest memory (${size} bytes at ${hex(addr)}, RAM ends at ${hex(this.ramSize)})`);
    }
    this.next = addr + size;
    // Memory may hold a previous scenario's data: zero it, as the contract promises.
    await this.qt.request(`memset ${hex(addr)} ${hex(size)} 0x0`);
    return addr;
  }

  async resetAllocator(): Promise<void> {
    this.next = ALLOC_BASE;
  }

  private check(addr: number, len: number): void {
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(len) || addr < 0 || len < 0 || addr + len > this.ramSize) {
      throw new RangeError(`guest memory access out of range: ${len} bytes at ${addr} (RAM size ${hex(this.ramSize)})`);
    }
  }
}
