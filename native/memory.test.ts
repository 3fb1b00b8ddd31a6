import { spawnSync } from 'node:child_process';
import { fstatSync, ftruncateSync, readFileSync, readlinkSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addonPath, close, eventfd, memfdCreate, mmap, munmap, nativeAvailable, socketpair } from './index.ts';
import { codeOf, leakedFds, openFds, timeoutScale } from './testing.ts';

/** Lines of /proc/self/maps that map memfd `name`. */
const mapsOf = (name: string) => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes(`/memfd:${name} `));

describe.skipIf(!nativeAvailable())('native memfd and mmap', () => {
  let fdsBefore: Map<number, string>;
  beforeEach(() => { fdsBefore = openFds(); });
  afterEach(() => { expect(leakedFds(fdsBefore), 'fds opened by the test and not closed').toEqual([]); });

  it('memfdCreate: a sized anonymous file, close-on-exec', () => {
    const fd = memfdCreate('guest-ram', 3 * 4096);
    expect(fstatSync(fd).size).toBe(3 * 4096);
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe('/memfd:guest-ram (deleted)');
    const flags = parseInt(/flags:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
    expect(flags & 0o2000000).toBe(0o2000000);
    close(fd);
    const empty = memfdCreate('empty', 0);
    expect(fstatSync(empty).size).toBe(0);
    close(empty);
  });

  it('memfd is sealed against shrinking (a mapped page can never vanish), growing still works', () => {
    const fd = memfdCreate('sealed', 8192);
    expect(() => ftruncateSync(fd, 4096)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    ftruncateSync(fd, 16384);
    expect(fstatSync(fd).size).toBe(16384);
    close(fd);
  });

  it('memfdCreate errors: bad name, bad size', () => {
    expect(codeOf(() => memfdCreate('x'.repeat(300), 4096))).toBe('EINVAL');
    expect(() => memfdCreate('x', -1)).toThrow(RangeError);
    expect(() => memfdCreate('x', 1.5)).toThrow(RangeError);
    expect(() => memfdCreate(7 as unknown as string, 1)).toThrow(TypeError);
  });

  it('two mappings of one memfd share memory; an offset mapping sees the same bytes', () => {
    const fd = memfdCreate('shared', 4 * 4096);
    const a = new Uint8Array(mmap(fd, 4 * 4096));
    const b = new Uint8Array(mmap(fd, 4 * 4096, 0));
    const tail = new Uint8Array(mmap(fd, 2 * 4096, 2 * 4096));
    expect(a.byteLength).toBe(4 * 4096);
    expect(tail.byteLength).toBe(2 * 4096);
    expect(a.every((x) => x === 0)).toBe(true); // a new memfd reads as zeros
    a[0] = 0x11;
    a[2 * 4096 + 7] = 0x22;
    expect(b[0]).toBe(0x11);
    expect(tail[7]).toBe(0x22);
    tail[2 * 4096 - 1] = 0x33;
    expect(a[4 * 4096 - 1]).toBe(0x33);
    expect(b[4 * 4096 - 1]).toBe(0x33);
    expect(mapsOf('shared')).toHaveLength(3);
    for (const v of [a, b, tail]) munmap(v.buffer as ArrayBuffer);
    expect(mapsOf('shared')).toHaveLength(0);
    close(fd);
  });

  it('munmap detaches the buffer (views read as empty) and refuses a second unmap or a foreign buffer', () => {
    const fd = memfdCreate('unmap', 4096);
    const ab = mmap(fd, 4096);
    const view = new Uint32Array(ab);
    view[0] = 1;
    munmap(ab);
    expect(ab.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(view[0]).toBeUndefined(); // no access to the unmapped page
    expect(mapsOf('unmap')).toHaveLength(0);
    expect(codeOf(() => munmap(ab))).toBe('EINVAL');
    expect(codeOf(() => munmap(new ArrayBuffer(4096)))).toBe('EINVAL');
    expect(() => munmap(new Uint8Array(8) as unknown as ArrayBuffer)).toThrow(TypeError);
    // the fd outlives its mappings; a new mapping sees what the old one wrote
    const again = new Uint32Array(mmap(fd, 4096));
    expect(again[0]).toBe(1);
    munmap(again.buffer as ArrayBuffer);
    close(fd);
  });

  it('a mapping outlives its fd: closing the memfd right after mmap keeps the memory', () => {
    const fd = memfdCreate('orphan', 4096);
    const a = new Uint8Array(mmap(fd, 4096));
    const b = new Uint8Array(mmap(fd, 4096));
    close(fd);
    a[100] = 42;
    expect(b[100]).toBe(42);
    expect(mapsOf('orphan')).toHaveLength(2);
    munmap(a.buffer as ArrayBuffer);
    munmap(b.buffer as ArrayBuffer);
    expect(mapsOf('orphan')).toHaveLength(0);
  });

  it('mmap errors: EBADF, ENXIO past end of file, EINVAL unaligned offset, ENODEV for a socket, range checks', () => {
    const fd = memfdCreate('errs', 8192);
    expect(codeOf(() => mmap(987654, 4096))).toBe('EBADF');
    expect(codeOf(() => mmap(fd, 8192 + 1))).toBe('ENXIO');
    expect(codeOf(() => mmap(fd, 4096, 8192))).toBe('ENXIO');
    expect(codeOf(() => mmap(fd, 4096, 100))).toBe('EINVAL');
    const [a, b] = socketpair();
    expect(codeOf(() => mmap(a, 4096))).toBe('ENODEV');
    const ev = eventfd();
    expect(codeOf(() => mmap(ev, 8))).toBe('ENODEV');
    expect(() => mmap(fd, 0)).toThrow(RangeError);
    expect(() => mmap(fd, 4096, -4096)).toThrow(RangeError);
    expect(mapsOf('errs')).toHaveLength(0); // no failed attempt left a mapping behind
    for (const x of [fd, a, b, ev]) close(x);
  });

  it('a collected buffer is unmapped by its finalizer; an already-unmapped one never unmaps a newer mapping', () => {
    // Needs --expose-gc, so it runs in a child Node that loads the .node file directly.
    const child = `
      const m = require(${JSON.stringify(addonPath)});
      const fs = require('fs');
      const count = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('/memfd:gc-probe ')).length;
      const fd = m.memfdCreate('gc-probe', 1 << 16);
      let bufs = [];
      for (let i = 0; i < 50; i++) bufs.push(m.mmap(fd, 1 << 16));
      const mapped = count();
      // Unmap one explicitly, then map again: likely the same address. Collecting the
      // detached old buffer must not unmap the new mapping.
      let old = m.mmap(fd, 4096); m.munmap(old);
      const keep = new Uint8Array(m.mmap(fd, 4096));
      keep[0] = 9;
      bufs = null; old = null;
      const deadline = Date.now() + ${Math.round(10_000 * timeoutScale)};
      (function poll() {
        gc();
        if (count() > 1 && Date.now() < deadline) return setTimeout(poll, 5);
        console.log(JSON.stringify({ mapped, after: count(), keep: keep[0] }));
        m.munmap(keep.buffer); m.close(fd);
      })();
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', child], { encoding: 'utf8', timeout: 30_000 * timeoutScale });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ mapped: 50, after: 1, keep: 9 });
  });
});
