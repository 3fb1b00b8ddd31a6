// Typed surface of the native addon (src/addon.c): AF_UNIX sockets with SCM_RIGHTS,
// memfd + shared mmap, eventfd, and fd readiness on Node's event loop — what a
// vhost-user front-end needs and Node 20 cannot do. Linux only.
//
// The .node file is loaded on first use, not at import, so modules that merely
// import this one (adapter registries, the CLI) still work where it is not built.
// Calls never block: "would block" comes back as null (or false), not as a wait.
// Failures throw NativeError, whose `code` is the errno name (EBADF, EPIPE, …).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type SocketType = 'stream' | 'seqpacket';
export type WatchEvent = 'readable' | 'writable';

/** An Error from a failed system call; `code` is the errno name. */
export interface NativeError extends Error {
  code: string;
  /** Negative errno, as in Node's own system errors. */
  errno: number;
  syscall: string;
  path?: string;
}

export interface RecvResult {
  /** Bytes received; empty means the peer closed (EOF). */
  data: Uint8Array;
  /** Received fds (close-on-exec, owned by the caller: close them). */
  fds: number[];
  truncated: {
    /** A datagram/seqpacket message was longer than maxLen (rest discarded). */
    data: boolean;
    /** More fds arrived than maxFds; the extra ones were closed, never leaked. */
    control: boolean;
  };
}

export interface Watch {
  /** Ends the watch; returns false if it had already ended. */
  stop(): boolean;
}

interface Binding {
  connect(path: string, type?: number): number;
  listen(path: string, backlog: number, type?: number): number;
  accept(fd: number): number | null;
  socketpair(type?: number): [number, number];
  close(fd: number): void;
  sendmsg(fd: number, data: ArrayBufferView, fds?: readonly number[]): number | null;
  recvmsg(fd: number, maxLen: number, maxFds: number): RecvResult | null;
  memfdCreate(name: string, size: number): number;
  mmap(fd: number, size: number, offset?: number): ArrayBuffer;
  munmap(buffer: ArrayBuffer): void;
  eventfd(initval: number, flags?: number): number;
  eventfdRead(fd: number): bigint | null;
  eventfdWrite(fd: number, value: bigint | number): boolean;
  watch(fd: number, event: number, cb: (err: NativeError | null) => void): number;
  unwatch(id: number): boolean;
  EFD_SEMAPHORE: number;
  MAX_FDS: number;
}

/** Where `npm install` / `npm ci` (root install script → native/build.mjs) puts the addon. */
export const addonPath = fileURLToPath(new URL('./build/Release/virtio_cts_native.node', import.meta.url));

let binding: Binding | undefined;
let loadError: Error | undefined;

function load(): Binding {
  if (binding) return binding;
  if (!loadError) {
    try {
      binding = createRequire(import.meta.url)(addonPath) as Binding;
      return binding;
    } catch (e) {
      loadError = new Error(
        `virtio-cts native addon not available (${(e as Error).message.split('\n')[0]}); `
        + 'build it with `npm ci` or `node native/build.mjs` (Linux, needs python3, make, gcc)',
        { cause: e },
      );
    }
  }
  throw loadError;
}

/** True if the addon is built and loads (Linux only). */
export function nativeAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/** The reason nativeAvailable() is false, or undefined if it is true. */
export function nativeLoadError(): Error | undefined {
  return nativeAvailable() ? undefined : loadError;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).code === 'string' && typeof (e as NativeError).syscall === 'string';
}

const sockType = (t: SocketType): number => (t === 'seqpacket' ? 1 : 0);

/** Most fds one message can carry (the kernel's SCM_MAX_FD). */
export const MAX_FDS = 253;
/** eventfd flag: each read takes 1 from the counter instead of all of it. */
export const EFD_SEMAPHORE = 1;

// --- AF_UNIX -----------------------------------------------------------------

/** Connects to a listening AF_UNIX socket; returns a non-blocking fd. Throws ENOENT,
 *  ECONNREFUSED, or EAGAIN when the listener's backlog is full (retry later). */
export function connect(path: string, type: SocketType = 'stream'): number {
  return load().connect(path, sockType(type));
}

/** Binds and listens on `path` (which must not exist: EADDRINUSE); non-blocking fd. */
export function listen(path: string, backlog = 16, type: SocketType = 'stream'): number {
  return load().listen(path, backlog, sockType(type));
}

/** Accepts one pending connection (non-blocking fd), or null if none is pending. */
export function accept(fd: number): number | null {
  return load().accept(fd);
}

/** A connected pair of non-blocking AF_UNIX sockets. */
export function socketpair(type: SocketType = 'stream'): [number, number] {
  return load().socketpair(sockType(type));
}

/** Closes any fd (stopping watches on it first, so a reused fd number is never polled). */
export function close(fd: number): void {
  load().close(fd);
}

/**
 * Sends `data` with `fds` attached (SCM_RIGHTS) and returns the bytes sent, which on
 * a stream socket may be fewer than data.length (the fds travel with the first byte).
 * null if the socket buffer is full. A closed peer throws EPIPE (no SIGPIPE). fds need
 * at least one data byte.
 */
export function sendmsg(fd: number, data: Uint8Array, fds: readonly number[] = []): number | null {
  return load().sendmsg(fd, data, fds);
}

/**
 * Receives up to maxLen bytes and up to maxFds fds (close-on-exec); null if nothing is
 * waiting. Empty data means EOF. On a stream socket fds arrive with the read that holds
 * the first byte sent with them, and a read may join earlier fd-less bytes to them: read
 * exactly one message at a time (header, then its payload) so fds stay with their message.
 */
export function recvmsg(fd: number, maxLen: number, maxFds = 0): RecvResult | null {
  return load().recvmsg(fd, maxLen, maxFds);
}

// --- shared memory ---------------------------------------------------------------

/** An anonymous memory file of `size` bytes (close-on-exec, sealed against shrinking
 *  so a mapping can never lose its pages under the suite). */
export function memfdCreate(name: string, size: number): number {
  return load().memfdCreate(name, size);
}

/**
 * Maps `size` bytes of `fd` at `offset` (page-aligned) shared and read/write, as an
 * ArrayBuffer over the mapping itself. Unmapped by munmap() or when the buffer is
 * garbage-collected. Refuses (ENXIO) to map past the end of a file.
 */
export function mmap(fd: number, size: number, offset = 0): ArrayBuffer {
  return load().mmap(fd, size, offset);
}

/** Unmaps a buffer from mmap() now; the buffer is detached (byteLength 0) first, so no
 *  view can reach the unmapped pages. EINVAL for other or already-unmapped buffers. */
export function munmap(buffer: ArrayBuffer): void {
  load().munmap(buffer);
}

// --- eventfd -----------------------------------------------------------------------

/** A non-blocking, close-on-exec eventfd. flags: 0 or EFD_SEMAPHORE. */
export function eventfd(initval = 0, flags = 0): number {
  return load().eventfd(initval, flags);
}

/** Reads (and resets, or decrements with EFD_SEMAPHORE) the counter; null if it is 0. */
export function eventfdRead(fd: number): bigint | null {
  return load().eventfdRead(fd);
}

/** Adds `value` to the counter; false if that would overflow it (nothing written). */
export function eventfdWrite(fd: number, value: bigint | number = 1n): boolean {
  return load().eventfdWrite(fd, value);
}

// --- readiness -----------------------------------------------------------------------

/**
 * Calls `cb(null)` on Node's event loop while `fd` is readable (or writable) — level
 * triggered, so drain it or stop. One readable and one writable watch per fd (EEXIST
 * otherwise). If the poll fails `cb(err)` is called once and the watch ends; libuv calls
 * every EPOLLERR "EBADF", so read or write the fd to learn the real error (ECONNRESET,
 * …). A peer's close is no error: it makes the fd readable (EOF). An active watch
 * keeps the process alive, like a socket. Only for fds of this module: an fd Node
 * itself polls (a net.Socket's) must not be watched.
 */
export function watch(fd: number, event: WatchEvent, cb: (err: NativeError | null) => void): Watch {
  const b = load();
  const id = b.watch(fd, event === 'writable' ? 1 : 0, cb);
  return { stop: () => b.unwatch(id) };
}
