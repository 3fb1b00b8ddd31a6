// The addon against a real vhost-user back-end (qemu-storage-daemon, package
// qemu-system-common): guest memory is our memfd, passed on SET_MEM_TABLE; kick and
// call are our eventfds; one virtio-blk read must land in our mapping. A throwaway
// minimal front-end — the real one is adapters/vhost-user. Skipped without the daemon.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { close, connect, eventfd, isNativeError, eventfdRead, eventfdWrite, memfdCreate, mmap, munmap, nativeAvailable, recvmsg, sendmsg, watch } from './index.ts';
import { leakedFds, openFds, timeoutScale, until } from './testing.ts';

const haveQsd = spawnSync('qemu-storage-daemon', ['--version']).status === 0;

// vhost-user request codes and flags (front-end → back-end)
const GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, SET_MEM_TABLE = 5, SET_VRING_NUM = 8, SET_VRING_ADDR = 9;
const SET_VRING_BASE = 10, SET_VRING_KICK = 12, SET_VRING_CALL = 13, GET_PROTOCOL_FEATURES = 15;
const SET_PROTOCOL_FEATURES = 16, SET_VRING_ENABLE = 18;
const VERSION = 0x1, REPLY_MASK = 0x4, NEED_REPLY = 0x8;
const PROTOCOL_F_REPLY_ACK = 3n;

describe.skipIf(!nativeAvailable() || !haveQsd)('native addon against qemu-storage-daemon', () => {
  let qsd: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(() => {
    qsd?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a virtio-blk read through our memfd, kick and call eventfds', async () => {
    const fdsBefore = openFds();
    dir = mkdtempSync(join(tmpdir(), 'cts-native-qsd-'));
    const sock = join(dir, 'vub.sock');
    qsd = spawn('qemu-storage-daemon', [
      '--blockdev', 'driver=null-co,node-name=null0,size=67108864,read-zeroes=on',
      '--export', `type=vhost-user-blk,id=e0,node-name=null0,addr.type=unix,addr.path=${sock},writable=on`,
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    // The socket file appears at bind(), a moment before listen(): retry ECONNREFUSED.
    let fd = -1;
    await until(() => {
      if (!existsSync(sock)) return false;
      try { fd = connect(sock); return true; } catch (e) { if (isNativeError(e) && e.code === 'ECONNREFUSED') return false; throw e; }
    }, 10_000, 'qemu-storage-daemon listening');
    const mem = memfdCreate('guest-ram', 16 << 20);

    // Exactly `len` bytes (a stream may deliver them in pieces), waiting on the loop.
    const recvExact = async (len: number): Promise<DataView> => {
      const out = new Uint8Array(len);
      let have = 0;
      const deadline = performance.now() + 5000 * timeoutScale;
      while (have < len) {
        const r = recvmsg(fd, len - have);
        if (r) {
          expect(r.data.length, 'back-end closed the socket').toBeGreaterThan(0);
          out.set(r.data, have);
          have += r.data.length;
          continue;
        }
        expect(performance.now()).toBeLessThan(deadline);
        await new Promise<void>((res) => {
          const t = setTimeout(() => { w.stop(); res(); }, 100);
          const w = watch(fd, 'readable', () => { clearTimeout(t); w.stop(); res(); });
        });
      }
      return new DataView(out.buffer);
    };
    const request = async (req: number, payload: Uint8Array, fds: number[] = [], flags = VERSION): Promise<bigint | undefined> => {
      const m = new Uint8Array(12 + payload.length);
      const h = new DataView(m.buffer);
      h.setUint32(0, req, true);
      h.setUint32(4, flags, true);
      h.setUint32(8, payload.length, true);
      m.set(payload, 12);
      expect(sendmsg(fd, m, fds)).toBe(m.length);
      if (req !== GET_FEATURES && req !== GET_PROTOCOL_FEATURES && !(flags & NEED_REPLY)) return undefined;
      const hdr = await recvExact(12);
      expect(hdr.getUint32(0, true)).toBe(req);
      expect(hdr.getUint32(4, true) & REPLY_MASK).toBe(REPLY_MASK);
      expect(hdr.getUint32(8, true)).toBe(8);
      return (await recvExact(8)).getBigUint64(0, true);
    };
    const u64 = (x: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, x, true); return b; };

    const features = await request(GET_FEATURES, new Uint8Array());
    expect(features! & (1n << 30n)).toBe(1n << 30n); // VHOST_USER_F_PROTOCOL_FEATURES
    const protocol = await request(GET_PROTOCOL_FEATURES, new Uint8Array());
    expect(protocol! & (1n << PROTOCOL_F_REPLY_ACK)).not.toBe(0n);
    await request(SET_PROTOCOL_FEATURES, u64(1n << PROTOCOL_F_REPLY_ACK));
    expect(await request(SET_OWNER, new Uint8Array(), [], VERSION | NEED_REPLY)).toBe(0n);
    // one region: guest-physical 0, 16 MiB, a made-up front-end address, offset 0
    const table = new DataView(new ArrayBuffer(8 + 32));
    table.setUint32(0, 1, true);
    table.setBigUint64(8, 0n, true);
    table.setBigUint64(16, BigInt(16 << 20), true);
    table.setBigUint64(24, 0x7f0000000000n, true);
    table.setBigUint64(32, 0n, true);
    expect(await request(SET_MEM_TABLE, new Uint8Array(table.buffer), [mem], VERSION | NEED_REPLY)).toBe(0n);
    const ack = (req: number, payload: Uint8Array, fds: number[] = []) => request(req, payload, fds, VERSION | NEED_REPLY);
    const u32s = (...x: number[]) => new Uint8Array(new Uint32Array(x).buffer);
    expect(await ack(SET_FEATURES, u64((1n << 32n) | (1n << 30n)))).toBe(0n); // VERSION_1, PROTOCOL_FEATURES

    // Split ring of 8 at guest-physical 0x0 (desc), 0x1000 (avail), 0x2000 (used).
    const ram = mmap(mem, 16 << 20);
    const dv = new DataView(ram);
    const bytes = new Uint8Array(ram);
    const desc = (i: number, addr: number, len: number, flags: number, next: number) => {
      dv.setBigUint64(i * 16, BigInt(addr), true);
      dv.setUint32(i * 16 + 8, len, true);
      dv.setUint16(i * 16 + 12, flags, true);
      dv.setUint16(i * 16 + 14, next, true);
    };
    const NEXT = 1, WRITE = 2, UVA = 0x7f0000000000n;
    expect(await ack(SET_VRING_NUM, u32s(0, 8))).toBe(0n);
    expect(await ack(SET_VRING_BASE, u32s(0, 0))).toBe(0n);
    const addr = new DataView(new ArrayBuffer(40));
    addr.setBigUint64(8, UVA + 0x0n, true); // desc (front-end virtual addresses)
    addr.setBigUint64(16, UVA + 0x2000n, true); // used
    addr.setBigUint64(24, UVA + 0x1000n, true); // avail
    expect(await ack(SET_VRING_ADDR, new Uint8Array(addr.buffer))).toBe(0n);
    const kick = eventfd(), call = eventfd();
    expect(await ack(SET_VRING_CALL, u64(0n), [call])).toBe(0n);
    expect(await ack(SET_VRING_KICK, u64(0n), [kick])).toBe(0n);
    expect(await ack(SET_VRING_ENABLE, u32s(0, 1))).toBe(0n);

    // VIRTIO_BLK_T_IN of sector 0 (null-co reads zeros) into a buffer we fill with 0xaa.
    dv.setUint32(0x3000, 0, true);
    dv.setBigUint64(0x3008, 0n, true);
    bytes.fill(0xaa, 0x4000, 0x4200);
    bytes[0x5000] = 0xff;
    desc(0, 0x3000, 16, NEXT, 1);
    desc(1, 0x4000, 512, NEXT | WRITE, 2);
    desc(2, 0x5000, 1, WRITE, 0);
    dv.setUint16(0x1004, 0, true); // avail.ring[0] = head 0
    dv.setUint16(0x1002, 1, true); // avail.idx = 1
    expect(eventfdWrite(kick, 1)).toBe(true);
    // Wait on the call eventfd (re-checking used.idx: libvhost-user signals once on SET_VRING_CALL).
    let calls = 0n;
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => { w.stop(); rej(new Error('no completion within timeout')); }, 5000 * timeoutScale);
      const w = watch(call, 'readable', (err) => {
        calls += eventfdRead(call) ?? 0n;
        if (err || dv.getUint16(0x2002, true) === 1) { clearTimeout(t); w.stop(); err ? rej(err) : res(); }
      });
    });
    expect(calls).toBeGreaterThan(0n);
    expect(dv.getUint32(0x2004, true)).toBe(0); // used.ring[0].id = head 0
    expect(dv.getUint32(0x2008, true)).toBe(513); // 512 data + 1 status byte written
    expect(bytes[0x5000]).toBe(0); // VIRTIO_BLK_S_OK
    expect(bytes.subarray(0x4000, 0x4200).every((b) => b === 0)).toBe(true);
    munmap(ram);
    close(kick);
    close(call);

    close(fd);
    close(mem);
    expect(leakedFds(fdsBefore)).toEqual([]);
  }, 30_000 * timeoutScale);
});
