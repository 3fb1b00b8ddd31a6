import { readFileSync, readlinkSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { close, EFD_SEMAPHORE, eventfd, eventfdRead, eventfdWrite, memfdCreate, nativeAvailable, socketpair } from './index.ts';
import { codeOf, leakedFds, openFds } from './testing.ts';

describe.skipIf(!nativeAvailable())('native eventfd', () => {
  let fdsBefore: Map<number, string>;
  beforeEach(() => { fdsBefore = openFds(); });
  afterEach(() => { expect(leakedFds(fdsBefore), 'fds opened by the test and not closed').toEqual([]); });

  it('counts writes; a read takes the whole count; an empty counter reads as null (no blocking)', () => {
    const fd = eventfd();
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe('anon_inode:[eventfd]');
    const flags = parseInt(/flags:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
    expect(flags & 0o4000).toBe(0o4000); // O_NONBLOCK
    expect(eventfdRead(fd)).toBeNull();
    expect(eventfdWrite(fd, 1)).toBe(true);
    expect(eventfdWrite(fd, 2n)).toBe(true);
    expect(eventfdWrite(fd)).toBe(true); // default 1
    expect(eventfdRead(fd)).toBe(4n);
    expect(eventfdRead(fd)).toBeNull();
    close(fd);
  });

  it('initval is the first count; EFD_SEMAPHORE reads one at a time', () => {
    const fd = eventfd(3);
    expect(eventfdRead(fd)).toBe(3n);
    close(fd);
    const sem = eventfd(2, EFD_SEMAPHORE);
    expect(eventfdRead(sem)).toBe(1n);
    expect(eventfdRead(sem)).toBe(1n);
    expect(eventfdRead(sem)).toBeNull();
    close(sem);
  });

  it('64-bit counts: values above 2^53 round-trip as bigint; a write that would overflow returns false', () => {
    const fd = eventfd();
    const big = (1n << 63n) + 5n;
    expect(eventfdWrite(fd, big)).toBe(true);
    // the counter's maximum is 2^64 - 2: adding 2^63 more would overflow
    expect(eventfdWrite(fd, 1n << 63n)).toBe(false);
    expect(eventfdRead(fd)).toBe(big); // the refused write added nothing
    expect(codeOf(() => eventfdWrite(fd, (1n << 64n) - 1n))).toBe('EINVAL'); // the one value the kernel forbids
    expect(() => eventfdWrite(fd, 1n << 64n)).toThrow(RangeError);
    expect(() => eventfdWrite(fd, -1)).toThrow(RangeError);
    expect(() => eventfdWrite(fd, 0.5)).toThrow(RangeError);
    close(fd);
  });

  it('errors: EBADF on a bad fd, EINVAL when the fd is not an eventfd, EINVAL for unknown flags', () => {
    expect(codeOf(() => eventfdRead(987654))).toBe('EBADF');
    expect(codeOf(() => eventfdWrite(987654, 1))).toBe('EBADF');
    const [a, b] = socketpair();
    close(b);
    expect(codeOf(() => eventfdRead(a))).toBe('EINVAL'); // EOF: 0 bytes, not 8
    close(a);
    const mem = memfdCreate('not-an-eventfd', 0);
    expect(codeOf(() => eventfdRead(mem))).toBe('EINVAL');
    close(mem);
    expect(codeOf(() => eventfd(0, 0x7fff0000))).toBe('EINVAL');
    expect(() => eventfd(-1)).toThrow(RangeError);
  });
});
