// Test helpers for code that holds raw fds (this addon, the vhost-user adapter):
// fd-leak checks through /proc/self/fd and bounded waits.
import { readdirSync, readlinkSync } from 'node:fs';
import { isNativeError } from './index.ts';

/** The process's open fds with what they point at (e.g. "socket:[123]", "anon_inode:[eventfd]"). */
export function openFds(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      out.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the fd readdir itself used, gone by now
    }
  }
  return out;
}

/** Fds open now that were not open in `before`, described for an assertion message. */
export function leakedFds(before: Map<number, string>): string[] {
  return [...openFds()].filter(([fd, what]) => before.get(fd) !== what).map(([fd, what]) => `${fd} -> ${what}`);
}

/** Every wait in a test is multiplied by this (VIRTIO_CTS_TIMEOUT_SCALE, default 1). */
export const timeoutScale = Number(process.env.VIRTIO_CTS_TIMEOUT_SCALE ?? '1') || 1;

/** Resolves when `check` returns true (polled on the event loop), rejects after ms × timeoutScale. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms * timeoutScale;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms * timeoutScale} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The errno name a native call throws ('EBADF', …), or what it did instead. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isNativeError(e) ? e.code : `not a NativeError: ${String(e)}`;
  }
  return 'no error';
}
