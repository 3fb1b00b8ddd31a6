import { spawn } from 'node:child_process';
import { existsSync, fstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  accept, close, connect, eventfd, eventfdRead, eventfdWrite, listen, memfdCreate, mmap, munmap,
  nativeAvailable, nativeLoadError, recvmsg, sendmsg, socketpair, MAX_FDS, type NativeError,
} from './index.ts';
import { codeOf, leakedFds, openFds, timeoutScale, until } from './testing.ts';

const bytes = (...b: number[]) => new Uint8Array(b);
const text = (s: string) => new TextEncoder().encode(s);

// The suites below skip without the addon; this keeps a failed build from passing as
// "all skipped" on Linux, where `npm ci` must have built it.
it.skipIf(process.platform !== 'linux' || process.env.VIRTIO_CTS_SKIP_NATIVE === '1')('the addon is built and loads', () => {
  expect(nativeLoadError()).toBeUndefined();
});

describe.skipIf(!nativeAvailable())('native AF_UNIX sockets and SCM_RIGHTS', () => {
  let dir: string;
  let fdsBefore: Map<number, string>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cts-native-'));
    fdsBefore = openFds();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    expect(leakedFds(fdsBefore), 'fds opened by the test and not closed').toEqual([]);
  });

  it('listen + connect + accept: a byte stream both ways; accept is null when nobody waits', () => {
    const path = join(dir, 's.sock');
    const l = listen(path, 4);
    expect(existsSync(path)).toBe(true);
    expect(accept(l)).toBeNull();
    const c = connect(path);
    const s = accept(l);
    expect(s).not.toBeNull();
    expect(sendmsg(c, text('ping'))).toBe(4);
    const r = recvmsg(s!, 64);
    expect(new TextDecoder().decode(r!.data)).toBe('ping');
    expect(r!.fds).toEqual([]);
    expect(r!.truncated).toEqual({ data: false, control: false });
    expect(sendmsg(s!, text('pong!'))).toBe(5);
    expect(new TextDecoder().decode(recvmsg(c, 64)!.data)).toBe('pong!');
    expect(recvmsg(c, 64)).toBeNull(); // nothing waiting: EAGAIN → null, no blocking
    close(c); close(s!); close(l);
  });

  it('every fd is non-blocking and close-on-exec', () => {
    const [a, b] = socketpair();
    for (const fd of [a, b]) {
      // /proc/self/fdinfo flags are octal: O_NONBLOCK 04000, O_CLOEXEC 02000000
      const flags = parseInt(/flags:\s*(\d+)/.exec(readFdinfo(fd))![1]!, 8);
      expect(flags & 0o4000).toBe(0o4000);
      expect(flags & 0o2000000).toBe(0o2000000);
    }
    close(a); close(b);
  });

  it('connect errors: ENOENT for a missing path, ECONNREFUSED for a socket nobody listens on, ENAMETOOLONG', () => {
    const missing = join(dir, 'nobody.sock');
    let err: NativeError | undefined;
    try { connect(missing); } catch (e) { err = e as NativeError; }
    expect(err).toBeInstanceOf(Error);
    expect(err!.code).toBe('ENOENT');
    expect(err!.errno).toBe(-2);
    expect(err!.syscall).toBe('connect');
    expect(err!.path).toBe(missing);
    expect(err!.message).toContain(missing);

    // A socket file whose listener is gone.
    const stale = join(dir, 'stale.sock');
    close(listen(stale, 1));
    expect(existsSync(stale)).toBe(true);
    expect(codeOf(() => connect(stale))).toBe('ECONNREFUSED');
    // A plain file is not a socket.
    writeFileSync(join(dir, 'plain'), 'x');
    expect(codeOf(() => connect(join(dir, 'plain')))).toBe('ECONNREFUSED');

    expect(codeOf(() => connect(`/tmp/${'x'.repeat(120)}`))).toBe('ENAMETOOLONG');
    expect(() => connect(42 as unknown as string)).toThrow(TypeError);
  });

  it('listen errors: EADDRINUSE on an existing path, ENOENT in a missing directory', () => {
    const path = join(dir, 'busy.sock');
    const l = listen(path);
    expect(codeOf(() => listen(path))).toBe('EADDRINUSE');
    expect(codeOf(() => listen(join(dir, 'no', 'such', 'dir.sock')))).toBe('ENOENT');
    close(l);
  });

  it('bad fd → EBADF from every call that takes one; a non-socket fd → ENOTSOCK', () => {
    const bad = 987654;
    expect(codeOf(() => accept(bad))).toBe('EBADF');
    expect(codeOf(() => sendmsg(bad, bytes(1)))).toBe('EBADF');
    expect(codeOf(() => recvmsg(bad, 8))).toBe('EBADF');
    expect(codeOf(() => close(bad))).toBe('EBADF');
    expect(codeOf(() => close(-1))).toBe('EBADF');
    const e = eventfd();
    expect(codeOf(() => accept(e))).toBe('ENOTSOCK');
    expect(codeOf(() => recvmsg(e, 8))).toBe('ENOTSOCK');
    close(e);
    expect(codeOf(() => close(e))).toBe('EBADF'); // already closed
  });

  it('argument checks throw TypeError/RangeError, not a bogus syscall', () => {
    const [a, b] = socketpair();
    expect(() => recvmsg(a, 0)).toThrow(RangeError);
    expect(() => recvmsg(a, 8, MAX_FDS + 1)).toThrow(RangeError);
    expect(() => sendmsg(a, 'str' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => sendmsg(a, bytes(1), [1.5])).toThrow(RangeError);
    // fds with no data byte would be dropped by the kernel without a word
    expect(() => sendmsg(a, new Uint8Array(0), [a])).toThrow(/at least one data byte/);
    close(a); close(b);
  });

  it('closed peer: recvmsg gives EOF (empty data), sendmsg throws EPIPE without SIGPIPE', () => {
    const [a, b] = socketpair();
    sendmsg(a, text('last'));
    close(a);
    expect(new TextDecoder().decode(recvmsg(b, 64)!.data)).toBe('last');
    const eof = recvmsg(b, 64);
    expect(eof).not.toBeNull();
    expect(eof!.data.length).toBe(0);
    expect(codeOf(() => sendmsg(b, text('x')))).toBe('EPIPE');
    close(b);
  });

  it('a full socket buffer makes sendmsg return null instead of blocking', () => {
    const [a, b] = socketpair();
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0, r: number | null;
    while ((r = sendmsg(a, chunk)) !== null) {
      sent += r;
      expect(sent).toBeLessThan(64 * 1024 * 1024); // the kernel must push back long before this
    }
    expect(sent).toBeGreaterThan(0);
    let got = 0, m;
    while ((m = recvmsg(b, 1 << 20)) !== null) got += m.data.length;
    expect(got).toBe(sent);
    close(a); close(b);
  });

  it('passes fds with their message: receiver gets new fds for the same files', () => {
    const [a, b] = socketpair();
    const mem = memfdCreate('pass', 4096);
    const ev = eventfd();
    expect(sendmsg(a, text('HDR'), [mem, ev])).toBe(3);
    const r = recvmsg(b, 64, 8)!;
    expect(new TextDecoder().decode(r.data)).toBe('HDR');
    expect(r.fds).toHaveLength(2);
    expect(r.truncated).toEqual({ data: false, control: false });
    const [mem2, ev2] = r.fds as [number, number];
    expect(mem2).not.toBe(mem);
    // same open file: same inode, and the eventfd counter is shared
    expect(fstatSync(mem2).ino).toBe(fstatSync(mem).ino);
    eventfdWrite(ev2, 7);
    expect(eventfdRead(ev)).toBe(7n);
    for (const fd of [a, b, mem, ev, mem2, ev2]) close(fd);
  });

  it('one message at a time: exact-length reads keep fds with their own message', () => {
    const [a, b] = socketpair();
    const e1 = eventfd(), e2 = eventfd();
    const send3 = () => {
      sendmsg(a, text('AAAA'), [e1]);
      sendmsg(a, text('BBBB'));
      sendmsg(a, text('CCCC'), [e2]);
    };
    // Reading exactly each message's length: each message gets its own fds.
    send3();
    const got = [recvmsg(b, 4, 4)!, recvmsg(b, 4, 4)!, recvmsg(b, 4, 4)!];
    expect(got.map((r) => new TextDecoder().decode(r.data))).toEqual(['AAAA', 'BBBB', 'CCCC']);
    expect(got.map((r) => r.fds.length)).toEqual([1, 0, 1]);
    eventfdWrite(got[2]!.fds[0]!, 2);
    expect(eventfdRead(e2)).toBe(2n);
    expect(eventfdRead(e1)).toBeNull();
    // The hazard this guards against: a greedy read glues BBBB to CCCC and hands
    // CCCC's fd over with BBBB's bytes (the kernel stops only after an fd-carrying chunk).
    send3();
    const greedy = [recvmsg(b, 64, 4)!, recvmsg(b, 64, 4)!];
    expect(greedy.map((r) => new TextDecoder().decode(r.data))).toEqual(['AAAA', 'BBBBCCCC']);
    expect(greedy.map((r) => r.fds.length)).toEqual([1, 1]);
    for (const fd of [a, b, e1, e2, ...got.flatMap((r) => r.fds), ...greedy.flatMap((r) => r.fds)]) close(fd);
  });

  it('more fds than maxFds: control truncated, the extras closed (no leak)', () => {
    const [a, b] = socketpair();
    const sent = [eventfd(), eventfd(), eventfd(), eventfd(), eventfd()];
    const before = openFds().size;
    sendmsg(a, text('x'), sent);
    // maxFds 1: the kernel's CMSG_SPACE rounding would deliver 2 — the addon keeps 1
    const r = recvmsg(b, 8, 1)!;
    expect(r.fds).toHaveLength(1);
    expect(r.truncated.control).toBe(true);
    expect(openFds().size).toBe(before + 1);
    // the fd we kept is the first one sent
    eventfdWrite(r.fds[0]!, 1);
    expect(eventfdRead(sent[0]!)).toBe(1n);
    close(r.fds[0]!);

    sendmsg(a, text('y'), sent);
    const r0 = recvmsg(b, 8, 0)!; // no room at all
    expect(new TextDecoder().decode(r0.data)).toBe('y');
    expect(r0.fds).toEqual([]);
    expect(r0.truncated.control).toBe(true);
    expect(openFds().size).toBe(before);

    sendmsg(a, text('z'), sent);
    const r4 = recvmsg(b, 8, 4)!;
    expect(r4.fds).toHaveLength(4);
    expect(r4.truncated.control).toBe(true);
    r4.fds.forEach(close);
    for (const fd of [a, b, ...sent]) close(fd);
  });

  it('seqpacket: message boundaries kept, an oversized message reports data truncation', () => {
    const path = join(dir, 'sp.sock');
    const l = listen(path, 1, 'seqpacket');
    const c = connect(path, 'seqpacket');
    const s = accept(l)!;
    sendmsg(c, text('0123456789'));
    sendmsg(c, text('ab'));
    const r = recvmsg(s, 4)!;
    expect(new TextDecoder().decode(r.data)).toBe('0123');
    expect(r.truncated.data).toBe(true);
    const r2 = recvmsg(s, 4)!;
    expect(new TextDecoder().decode(r2.data)).toBe('ab');
    expect(r2.truncated.data).toBe(false);
    close(c); close(s); close(l);
  });

  it('a memfd passed over listen+connect: both mappings see the same memory', () => {
    const path = join(dir, 'mem.sock');
    const l = listen(path);
    const c = connect(path);
    const s = accept(l)!;
    const mem = memfdCreate('guest-ram', 1 << 20);
    sendmsg(c, text('SET_MEM_TABLE'), [mem]);
    const r = recvmsg(s, 64, 8)!;
    const theirs = new Uint32Array(mmap(r.fds[0]!, 1 << 20));
    const ours = new Uint32Array(mmap(mem, 1 << 20));
    ours[1000] = 0xdeadbeef;
    expect(theirs[1000]).toBe(0xdeadbeef);
    theirs[0x3ffff] = 0x12345678; // last word of the last page
    expect(ours[0x3ffff]).toBe(0x12345678);
    munmap(theirs.buffer as ArrayBuffer);
    munmap(ours.buffer as ArrayBuffer);
    for (const fd of [c, s, l, mem, r.fds[0]!]) close(fd);
  });

  it('interoperates with another implementation: python3 maps our memfd, sends an eventfd back', async () => {
    const [ours, theirs] = socketpair();
    const mem = memfdCreate('py', 4096);
    const map = new Uint8Array(mmap(mem, 4096));
    map.set(text('hello'), 0);
    const py = [
      'import socket, mmap, os',
      's = socket.socket(fileno=3)',
      'msg, fds, flags, _ = socket.recv_fds(s, 64, 4)',
      'm = mmap.mmap(fds[0], 4096)',
      'assert m[0:5] == b"hello", m[0:5]',
      'm[4096-5:] = b"world"',
      'e = os.eventfd(0)',
      'socket.send_fds(s, [msg.upper()], [e])',
      'os.eventfd_write(e, 42)',
    ].join('\n');
    const child = spawn('python3', ['-c', py], { stdio: ['ignore', 'inherit', 'inherit', theirs] });
    close(theirs); // the child has its own copy now
    expect(sendmsg(ours, text('ping'), [mem])).toBe(4);
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let r: ReturnType<typeof recvmsg> = null;
    await until(() => (r = recvmsg(ours, 64, 4)) !== null, 10_000, 'python3 reply');
    expect(await exited).toBe(0);
    expect(new TextDecoder().decode(r!.data)).toBe('PING');
    expect(r!.fds).toHaveLength(1);
    expect(eventfdRead(r!.fds[0]!)).toBe(42n);
    expect(new TextDecoder().decode(map.subarray(4096 - 5))).toBe('world');
    munmap(map.buffer as ArrayBuffer);
    for (const fd of [ours, mem, r!.fds[0]!]) close(fd);
  }, 20_000 * timeoutScale);
});

function readFdinfo(fd: number): string {
  return readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
}
