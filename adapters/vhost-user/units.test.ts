// Codec and shared guest memory, without a back-end.
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../native/index.ts';
import { leakedFds, openFds } from '../../native/testing.ts';
import { SharedGuestMemory } from './memory.ts';
import {
  FLAG, FRONTEND_PROTOCOL_FEATURES, PROTOCOL_F, REQ, configPayload, decodeHeader, encodeMessage, memTable, readVringState, vringAddr, vringFd, vringState,
} from './protocol.ts';

describe('vhost-user codec', () => {
  it('header: request, flags, size little-endian, then the payload', () => {
    const m = encodeMessage(REQ.SET_VRING_NUM, FLAG.VERSION | FLAG.NEED_REPLY, vringState(1, 256));
    expect([...m.subarray(0, 12)]).toEqual([8, 0, 0, 0, 9, 0, 0, 0, 8, 0, 0, 0]);
    expect(decodeHeader(m.subarray(0, 12))).toEqual({ request: 8, flags: 9, size: 8 });
    expect(readVringState(m.subarray(12))).toEqual({ index: 1, num: 256 });
    expect(() => decodeHeader(m.subarray(0, 11))).toThrow(RangeError);
  });

  it('payload layouts: vring addr (40 bytes), kick/call fd word with the no-fd bit, memory table, config', () => {
    const a = vringAddr(2, { desc: 0x1000n, used: 0x3000n, avail: 0x2000n });
    const v = new DataView(a.buffer);
    expect(a.length).toBe(40);
    expect([v.getUint32(0, true), v.getBigUint64(8, true), v.getBigUint64(16, true), v.getBigUint64(24, true)]).toEqual([2, 0x1000n, 0x3000n, 0x2000n]);
    expect(new DataView(vringFd(3, true).buffer).getBigUint64(0, true)).toBe(0x103n);
    const t = memTable([{ guestPhysAddr: 0n, size: 0x1000n, userspaceAddr: 0x7f00n, mmapOffset: 0n }, { guestPhysAddr: 0x10000n, size: 0x2000n, userspaceAddr: 0x8f00n, mmapOffset: 0n }]);
    expect(t.length).toBe(8 + 64);
    expect(new DataView(t.buffer).getUint32(0, true)).toBe(2);
    expect(new DataView(t.buffer).getBigUint64(8 + 32 + 16, true)).toBe(0x8f00n);
    expect(() => memTable([])).toThrow(RangeError);
    const c = configPayload(0, 8);
    expect(c.length).toBe(20);
    expect(new DataView(c.buffer).getUint32(4, true)).toBe(8);
  });

  it('the front-end only ever asks for protocol features it implements', () => {
    for (const f of ['BACKEND_REQ', 'LOG_SHMFD', 'INFLIGHT_SHMFD', 'PAGEFAULT', 'HOST_NOTIFIER', 'CONFIGURE_MEM_SLOTS'] as const) {
      expect(FRONTEND_PROTOCOL_FEATURES & (1n << BigInt(PROTOCOL_F[f])), f).toBe(0n);
    }
    expect(FRONTEND_PROTOCOL_FEATURES & (1n << 3n)).toBe(1n << 3n); // REPLY_ACK
  });
});

describe.skipIf(!nativeAvailable())('SharedGuestMemory', () => {
  it('bounds-checked allocator over several regions; no allocation straddles a hole; zero-filled', async () => {
    const before = openFds();
    const m = new SharedGuestMemory([{ gpa: 0x200000, size: 0x2000 }, { gpa: 0x100000, size: 0x1000 }], 0x100000);
    expect(m.regionSpecs()).toEqual([{ gpa: 0x100000, size: 0x1000 }, { gpa: 0x200000, size: 0x2000 }]);
    const a = await m.alloc(0x800);
    expect(a).toBe(0x100000);
    await m.write(a, new Uint8Array(0x800).fill(7));
    const b = await m.alloc(0x1000, 0x1000); // does not fit after a: next region
    expect(b).toBe(0x200000);
    await expect(m.alloc(0x2000)).rejects.toThrow(/out of guest memory/);
    await m.resetAllocator();
    const again = await m.alloc(0x10);
    expect(again).toBe(0x100000);
    expect([...await m.read(again, 0x10)]).toEqual(new Array(0x10).fill(0));
    await expect(m.alloc(0, 16)).rejects.toThrow(RangeError);
    await expect(m.alloc(16, 3)).rejects.toThrow(RangeError);
    m.close();
    expect(leakedFds(before)).toEqual([]);
  });

  it('accesses outside the shared regions throw, and never half-write', async () => {
    const m = new SharedGuestMemory([{ gpa: 0, size: 0x1000 }, { gpa: 0x2000, size: 0x1000 }]);
    await m.write(0xffe, new Uint8Array([1, 2]));
    expect(() => m.writeSync(0xfff, new Uint8Array([9, 9]))).toThrow(/no shared region/);
    expect([...m.readSync(0xffe, 2)]).toEqual([1, 2]); // untouched
    expect(() => m.readSync(0x1800, 4)).toThrow(RangeError);
    expect(() => m.readSync(-1, 1)).toThrow(RangeError);
    expect(() => m.userAddr(0xf00, 0x200)).toThrow(/not inside one shared region/);
    expect(m.userAddr(0x2010, 16) - m.userAddr(0x10, 16)).not.toBe(0x2000n); // front-end addresses are our own bookkeeping
    // aligned 2/4-byte accesses (ring indices) keep little-endian byte order
    m.writeSync(0x2004, new Uint8Array([0x34, 0x12]));
    m.writeSync(0x2008, new Uint8Array([1, 2, 3, 4]));
    expect([...m.readSync(0x2004, 8)]).toEqual([0x34, 0x12, 0, 0, 1, 2, 3, 4]);
    expect([...m.readSync(0x2008, 4)]).toEqual([1, 2, 3, 4]);
    expect([...m.readSync(0x2004, 2)]).toEqual([0x34, 0x12]);
    m.close();
    expect(() => m.readSync(0, 1)).toThrow(/after close/);
  });
});
