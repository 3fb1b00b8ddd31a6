// Guest memory shared with a vhost-user back-end: one memfd per region, mapped in the
// suite (native mmap) and handed to the back-end with SET_MEM_TABLE. Guest-physical
// addresses are the suite's allocator addresses; each region's userspace_addr is a
// made-up front-end address (the protocol translates vring addresses through it), kept
// far from the guest-physical one so a back-end that mixes the two up fails visibly.
// Nothing but these memfds is ever shared: the back-end can reach these bytes only.
import { close, memfdCreate, mmap, munmap } from '../../native/index.ts';
import type { GuestMemory } from '../types.ts';
import type { MemRegion } from './protocol.ts';

export interface RegionSpec {
  /** Guest-physical base (page-aligned). */
  gpa: number;
  /** Bytes (a multiple of the page size). */
  size: number;
}

export const PAGE_SIZE = 4096;
export const DEFAULT_REGIONS: readonly RegionSpec[] = [{ gpa: 0, size: 64 << 20 }];
/** First allocation address (as on the other targets, so scenarios see similar addresses). */
export const ALLOC_BASE = 0x100000;
const UVA_BASE = 0x7f0000000000n;
const UVA_STRIDE = 0x1000000000n; // 64 GiB between regions' front-end addresses

interface Region extends RegionSpec {
  fd: number;
  buffer: ArrayBuffer;
  bytes: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  uaddr: bigint;
}

// Aligned 2- and 4-byte accesses go through Atomics on host-endian views: one store or
// load the back-end can never see half of (a byte-wise copy of avail.idx let the back-end
// read a torn index 256 ahead and replay stale ring entries), and ordered after the
// descriptor writes. Host-endian = little-endian, as virtio 1.x rings are.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

export class SharedGuestMemory implements GuestMemory {
  private readonly regions: Region[] = [];
  private next: number;
  private closed = false;

  constructor(specs: readonly RegionSpec[] = DEFAULT_REGIONS, readonly allocBase = ALLOC_BASE) {
    const sorted = [...specs].sort((a, b) => a.gpa - b.gpa);
    sorted.forEach((s, i) => {
      if (!Number.isSafeInteger(s.gpa) || s.gpa < 0 || s.gpa % PAGE_SIZE !== 0) throw new RangeError(`region ${i}: gpa ${s.gpa} is not page-aligned`);
      if (!Number.isSafeInteger(s.size) || s.size <= 0 || s.size % PAGE_SIZE !== 0) throw new RangeError(`region ${i}: size ${s.size} is not a positive multiple of ${PAGE_SIZE}`);
      if (i > 0 && sorted[i - 1].gpa + sorted[i - 1].size > s.gpa) throw new RangeError(`regions overlap at ${hex(s.gpa)}`);
    });
    try {
      sorted.forEach((s, i) => {
        const fd = memfdCreate(`virtio-cts-guest-ram-${i}`, s.size);
        try {
          const buffer = mmap(fd, s.size);
          this.regions.push({
            ...s, fd, buffer, bytes: new Uint8Array(buffer), u16: new Uint16Array(buffer), u32: new Uint32Array(buffer),
            uaddr: UVA_BASE + BigInt(i) * UVA_STRIDE,
          });
        } catch (e) {
          close(fd);
          throw e;
        }
      });
    } catch (e) {
      this.close();
      throw e;
    }
    this.next = Math.max(allocBase, this.regions[0].gpa);
  }

  /** The SET_MEM_TABLE entries and the fd to send with each (in the same order). */
  memTable(): { regions: MemRegion[]; fds: number[] } {
    this.live();
    return {
      regions: this.regions.map((r) => ({ guestPhysAddr: BigInt(r.gpa), size: BigInt(r.size), userspaceAddr: r.uaddr, mmapOffset: 0n })),
      fds: this.regions.map((r) => r.fd),
    };
  }

  /** Front-end address of guest-physical `gpa` (for SET_VRING_ADDR), checking `len` bytes fit in one region. */
  userAddr(gpa: number, len: number): bigint {
    const r = this.regionOf(gpa, Math.max(len, 1));
    return r.uaddr + BigInt(gpa - r.gpa);
  }

  /** Total bytes shared with the back-end. */
  get sharedBytes(): number { return this.regions.reduce((n, r) => n + r.size, 0); }

  regionSpecs(): RegionSpec[] { return this.regions.map((r) => ({ gpa: r.gpa, size: r.size })); }

  async read(addr: number, len: number): Promise<Uint8Array> { return this.readSync(addr, len); }
  async write(addr: number, data: Uint8Array): Promise<void> { this.writeSync(addr, data); }

  /** A copy of `len` bytes at `addr`. */
  readSync(addr: number, len: number): Uint8Array {
    const r = this.atomicRegion(addr, len);
    if (r) {
      const off = addr - r.gpa;
      const v = len === 2 ? Atomics.load(r.u16, off >> 1) : Atomics.load(r.u32, off >> 2);
      const out = new Uint8Array(len);
      for (let i = 0; i < len; i++) out[i] = (v >>> (8 * i)) & 0xff;
      return out;
    }
    const out = new Uint8Array(len);
    this.pieces(addr, len, (r, off, n, at) => out.set(r.bytes.subarray(off, off + n), at));
    return out;
  }

  writeSync(addr: number, data: Uint8Array): void {
    const r = this.atomicRegion(addr, data.length);
    if (r) {
      const off = addr - r.gpa;
      if (data.length === 2) Atomics.store(r.u16, off >> 1, data[0] | (data[1] << 8));
      else Atomics.store(r.u32, off >> 2, (data[0] | (data[1] << 8) | (data[2] << 16) | (data[3] << 24)) >>> 0);
      return;
    }
    this.pieces(addr, data.length, () => undefined); // check every byte first: no partial write
    this.pieces(addr, data.length, (r, off, n, at) => r.bytes.set(data.subarray(at, at + n), off));
  }

  async alloc(size: number, align = 16): Promise<number> {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`alloc: bad size ${size}`);
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new RangeError(`alloc: alignment must be a power of two, got ${align}`);
    }
    this.live();
    // Bump within a region; an allocation never straddles a hole between regions.
    for (const r of this.regions) {
      const end = r.gpa + r.size;
      if (this.next >= end) continue;
      const addr = Math.ceil(Math.max(this.next, r.gpa) / align) * align;
      if (addr + size <= end) {
        this.next = addr + size;
        r.bytes.fill(0, addr - r.gpa, addr - r.gpa + size);
        return addr;
      }
    }
    const last = this.regions[this.regions.length - 1];
    throw new RangeError(`alloc: out of guest memory (${size} bytes aligned ${align}; next free ${hex(this.next)}, memory ends at ${hex(last.gpa + last.size)})`);
  }

  async resetAllocator(): Promise<void> { this.next = Math.max(this.allocBase, this.regions[0]?.gpa ?? 0); }

  /** Unmap and close every region (idempotent). Views taken earlier become empty. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.regions) {
      try { munmap(r.buffer); } catch { /* already unmapped */ }
      try { close(r.fd); } catch { /* already closed */ }
    }
  }

  /** The region for an aligned 2- or 4-byte access that can be one atomic load/store. */
  private atomicRegion(addr: number, len: number): Region | undefined {
    if ((len !== 2 && len !== 4) || addr % len !== 0 || !LITTLE_ENDIAN || this.closed) return undefined;
    return this.regions.find((x) => addr >= x.gpa && addr + len <= x.gpa + x.size);
  }

  private live(): void { if (this.closed) throw new Error('guest memory: used after close'); }

  private regionOf(gpa: number, len: number): Region {
    this.live();
    const r = this.regions.find((x) => gpa >= x.gpa && gpa + len <= x.gpa + x.size);
    if (!r) throw new RangeError(`guest memory: ${len} bytes at ${hex(gpa)} are not inside one shared region`);
    return r;
  }

  /** Split [addr, addr+len) over contiguous regions; a byte outside every region is an error. */
  private pieces(addr: number, len: number, f: (r: Region, off: number, n: number, at: number) => void): void {
    this.live();
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(len) || addr < 0 || len < 0) {
      throw new RangeError(`guest memory access out of range: ${len} bytes at ${addr}`);
    }
    let at = 0;
    while (at < len) {
      const a = addr + at;
      const r = this.regions.find((x) => a >= x.gpa && a < x.gpa + x.size);
      if (!r) throw new RangeError(`guest memory access out of range: ${len} bytes at ${hex(addr)} (${hex(a)} is in no shared region)`);
      const n = Math.min(len - at, r.gpa + r.size - a);
      f(r, a - r.gpa, n, at);
      at += n;
    }
    if (len === 0 && !this.regions.some((x) => addr >= x.gpa && addr <= x.gpa + x.size)) {
      throw new RangeError(`guest memory access out of range: 0 bytes at ${hex(addr)}`);
    }
  }
}
