// Waiting on the device under test: every wait is bounded (the caller passes a timeout
// already multiplied by timeoutScale) and ends in DriverTimeoutError, which carries
// `wedged: true` like adapters/qemu's TargetWedgedError so the runner reports WEDGED.

/** The device did not do what the driver waited for within the timeout. */
export class DriverTimeoutError extends Error {
  readonly wedged = true;
  constructor(readonly what: string, readonly timeoutMs: number) {
    super(`timed out after ${Math.round(timeoutMs)} ms waiting for ${what}`);
    this.name = 'DriverTimeoutError';
  }
}

/** The driver cannot go on (device unusable, misuse of the driver API). */
export class DriverError extends Error {
  constructor(message: string) { super(message); this.name = 'DriverError'; }
}

export interface WaitOptions {
  timeoutMs: number;
  /** What is awaited, for the error message ("used.idx to move on queue 0"). */
  what: string;
  /** Pause between polls once the first few immediate polls found nothing (default 1 ms). */
  intervalMs?: number;
}

/**
 * Poll until `poll` returns something other than undefined. The first polls run back to
 * back (an in-process device answers at once), later ones are spaced by intervalMs so a
 * real target gets CPU time.
 */
export async function waitFor<T>(poll: () => Promise<T | undefined>, o: WaitOptions): Promise<T> {
  const deadline = performance.now() + o.timeoutMs;
  for (let n = 0; ; n++) {
    const v = await poll();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new DriverTimeoutError(o.what, o.timeoutMs);
    if (n >= 3) await new Promise((r) => setTimeout(r, o.intervalMs ?? 1));
    else await new Promise((r) => setImmediate(r));
  }
}

/** Default timeouts (ms) before timeoutScale. */
export const TIMEOUT = {
  /** device_status reads back 0 after a reset write */
  reset: 1000,
  /** a request shows up in the used ring */
  used: 5000,
} as const;
