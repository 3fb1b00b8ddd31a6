import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addonPath, close, eventfd, eventfdRead, eventfdWrite, nativeAvailable, recvmsg, sendmsg, socketpair, watch,
  type NativeError,
} from './index.ts';
import { codeOf, leakedFds, openFds, timeoutScale, until } from './testing.ts';

/** Lets the event loop turn a few times (enough for a ready fd's poll callback). */
const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms * timeoutScale));

describe.skipIf(!nativeAvailable())('native watch (uv_poll on the Node event loop)', () => {
  let fdsBefore: Map<number, string>;
  beforeEach(() => { fdsBefore = openFds(); });
  afterEach(() => { expect(leakedFds(fdsBefore), 'fds opened by the test and not closed').toEqual([]); });

  it('readable fires on the event loop when an eventfd is signalled, not before; stop() stops it', async () => {
    const fd = eventfd();
    const seen: bigint[] = [];
    const errors: unknown[] = [];
    const w = watch(fd, 'readable', (err) => {
      if (err) errors.push(err);
      const v = eventfdRead(fd); // drain: the watch is level-triggered
      if (v !== null) seen.push(v);
    });
    await settle();
    expect(seen).toEqual([]); // nothing written yet: no spurious call
    eventfdWrite(fd, 3);
    expect(seen).toEqual([]); // never called synchronously
    await until(() => seen.length === 1, 5000, 'first readable callback');
    expect(seen).toEqual([3n]);
    eventfdWrite(fd, 4);
    await until(() => seen.length === 2, 5000, 'second readable callback');
    expect(seen).toEqual([3n, 4n]);
    expect(w.stop()).toBe(true);
    expect(w.stop()).toBe(false);
    eventfdWrite(fd, 5);
    await settle();
    expect(seen).toEqual([3n, 4n]); // stopped: no more calls
    expect(eventfdRead(fd)).toBe(5n);
    expect(errors).toEqual([]);
    close(fd);
  });

  it('does not block the loop: timers run while a watch waits on a silent fd', async () => {
    const fd = eventfd();
    let called = false;
    const w = watch(fd, 'readable', () => { called = true; });
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 20));
    expect(performance.now() - t0).toBeLessThan(5000 * timeoutScale);
    expect(called).toBe(false);
    w.stop();
    close(fd);
  });

  it('writable fires for a socket with buffer space; readable and writable watches coexist on one fd', async () => {
    const [a, b] = socketpair();
    let writable = 0, readable = 0;
    const ww = watch(a, 'writable', () => { writable++; });
    await until(() => writable > 0, 5000, 'writable callback');
    const rw = watch(a, 'readable', () => {
      readable++;
      recvmsg(a, 64);
    });
    expect(ww.stop()).toBe(true); // ends only the writable side
    const r0 = readable;
    sendmsg(b, new Uint8Array([1]));
    await until(() => readable > r0, 5000, 'readable callback after the writable watch stopped');
    const w0 = writable;
    await settle();
    expect(writable).toBe(w0);
    expect(rw.stop()).toBe(true);
    close(a); close(b);
  });

  it('a second watch for the same event on one fd is refused (EEXIST)', () => {
    const fd = eventfd();
    const w = watch(fd, 'readable', () => {});
    expect(codeOf(() => watch(fd, 'readable', () => {}))).toBe('EEXIST');
    w.stop();
    const again = watch(fd, 'readable', () => {}); // allowed again after stop
    again.stop();
    close(fd);
  });

  it('bad fds: EBADF for a closed or negative fd, EPERM for a regular file (not pollable)', () => {
    expect(codeOf(() => watch(987654, 'readable', () => {}))).toBe('EBADF');
    expect(codeOf(() => watch(-1, 'readable', () => {}))).toBe('EBADF');
    const file = openSync('/proc/self/status', 'r');
    expect(codeOf(() => watch(file, 'readable', () => {}))).toBe('EPERM');
    closeSync(file);
    expect(() => watch(0, 'readable', 'nope' as unknown as () => void)).toThrow(TypeError);
  });

  it('peer closing a socket fires readable; recvmsg then reads EOF', async () => {
    const [a, b] = socketpair();
    let eof = false;
    const w = watch(a, 'readable', () => {
      const r = recvmsg(a, 64);
      if (r && r.data.length === 0) {
        eof = true;
        w.stop();
      }
    });
    close(b);
    await until(() => eof, 5000, 'EOF through the readable callback');
    expect(w.stop()).toBe(false); // already stopped inside the callback
    close(a);
  });

  it('close(fd) ends its watches, so the reused fd number is not polled for the old callback', async () => {
    const fd = eventfd();
    let oldCalls = 0;
    const w = watch(fd, 'readable', () => { oldCalls++; });
    close(fd);
    expect(w.stop()).toBe(false);
    const reused = eventfd(1); // readable at once, very likely the same number
    await settle();
    expect(oldCalls).toBe(0);
    let newCalls = 0;
    const w2 = watch(reused, 'readable', () => { newCalls++; eventfdRead(reused); });
    await until(() => newCalls > 0, 5000, 'callback on the reused fd');
    expect(oldCalls).toBe(0);
    w2.stop();
    close(reused);
  });

  it('an error thrown by a callback surfaces as uncaughtException; stop() lets the process exit', () => {
    const child = `
      const m = require(${JSON.stringify(addonPath)});
      const fd = m.eventfd(1);
      process.on('uncaughtException', (e) => {
        console.log('uncaught:' + e.message);
        m.unwatch(id); m.close(fd);
      });
      const id = m.watch(fd, 0, () => { throw new Error('boom'); });
    `;
    const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 20_000 * timeoutScale });
    expect(r.stdout.trim()).toBe('uncaught:boom');
    expect(r.status).toBe(0); // exited by itself: the stopped watch no longer holds the loop
  });

  it('an active watch keeps the process alive, like an open socket', () => {
    const child = `
      const m = require(${JSON.stringify(addonPath)});
      const fd = m.eventfd(0);
      m.watch(fd, 0, () => {});
      console.log('watching');
    `;
    const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 1000 * timeoutScale, killSignal: 'SIGKILL' });
    expect(r.stdout.trim()).toBe('watching');
    expect(r.signal).toBe('SIGKILL'); // still running when the timeout hit
  });

  it('a poll error is reported once to the callback with a code, and the watch ends', async () => {
    // Closing b with our data unread in it leaves ECONNRESET pending on a: epoll says
    // EPOLLERR and libuv fails the poll.
    const [a, b] = socketpair();
    sendmsg(a, new Uint8Array([1, 2, 3]));
    close(b);
    const errs: NativeError[] = [];
    let calls = 0;
    const w = watch(a, 'readable', (err) => {
      calls++;
      if (err) errs.push(err);
    });
    await until(() => calls > 0, 5000, 'callback for the failed poll');
    await settle();
    expect(calls).toBe(1); // once, then the watch is over
    expect(errs).toHaveLength(1);
    expect(errs[0]).toBeInstanceOf(Error);
    expect(errs[0]!.code).toMatch(/^E[A-Z]+$/);
    expect(w.stop()).toBe(false);
    expect(codeOf(() => recvmsg(a, 8))).toBe('ECONNRESET');
    close(a);
  });

  it('close(fd) inside its own callback is safe and ends the watch', async () => {
    const fd = eventfd(1);
    let calls = 0;
    const w = watch(fd, 'readable', () => {
      calls++;
      close(fd);
    });
    await until(() => calls > 0, 5000, 'readable callback');
    await settle();
    expect(calls).toBe(1);
    expect(w.stop()).toBe(false);
  });

  it('works in a worker thread, and a worker ended with an active watch cleans up', async () => {
    const { Worker } = await import('node:worker_threads');
    const code = `
      const { parentPort } = require('node:worker_threads');
      const m = require(${JSON.stringify(addonPath)});
      const fd = m.eventfd(0);
      const mem = m.memfdCreate('worker', 4096);
      const view = new Uint8Array(m.mmap(mem, 4096));
      m.watch(fd, 0, () => {
        view[0] = Number(m.eventfdRead(fd));
        parentPort.postMessage({ got: view[0], fds: [fd, mem] }); // then stays watching
      });
      m.eventfdWrite(fd, 7);
    `;
    const worker = new Worker(code, { eval: true });
    const msg = await Promise.race([
      new Promise<{ got: number; fds: number[] }>((res, rej) => { worker.once('message', res); worker.once('error', rej); }),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('worker timed out')), 10_000 * timeoutScale)),
    ]);
    expect(msg.got).toBe(7);
    await worker.terminate(); // with its watch still active: the cleanup hook must stop it
    msg.fds.forEach(close); // fds belong to the process, not the worker
  });
});
