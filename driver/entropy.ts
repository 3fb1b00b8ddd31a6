// Entropy requests (spec 5.4.6): one device-writable buffer (optionally split over several
// descriptors or put in an indirect table), canary-filled so the bytes the device wrote
// can be told apart from the rest.
import type { AddOptions } from '../virtio/split-ring-driver.ts';
import { CANARY_A, fillCanary, writtenExtent } from './canary.ts';
import { splitBuffer } from './layout.ts';
import { addBuffers, type AnyUsedElem, type Virtqueue } from './ring.ts';
import { TIMEOUT } from './wait.ts';

export interface EntropyRequestOptions {
  /** Buffer length in bytes (default 64). */
  len?: number;
  /** Split the buffer over N descriptors (default 1). */
  segments?: number;
  /** 'tail' is split-only (a DriverError on a packed ring). */
  indirect?: AddOptions['indirect'];
  tailCount?: number;
  indirectWriteFlag?: boolean;
  /** Fill byte of the buffer before posting (default CANARY_A). */
  canary?: number;
  /** Check used len against the buffer size (default true; false to observe it raw). */
  validate?: boolean;
  /** Do not notify (the request is made available only). */
  noKick?: boolean;
  timeoutMs?: number;
}

export interface EntropyResult {
  usedLen: number;
  /** The whole buffer after the device used it. */
  data: Uint8Array;
  /** Index of the last byte that differs from the canary, + 1. */
  written: number;
  addr: number;
  elem: AnyUsedElem;
}

export async function entropyRequest(vq: Virtqueue, o: EntropyRequestOptions = {}): Promise<EntropyResult> {
  const len = o.len ?? 64;
  const canary = o.canary ?? CANARY_A;
  const addr = await vq.mem.alloc(Math.max(len, 1));
  await fillCanary(vq.mem, addr, len, canary);
  await addBuffers(vq, splitBuffer(addr, len, o.segments ?? 1, true), { indirect: o.indirect, tailCount: o.tailCount, indirectWriteFlag: o.indirectWriteFlag });
  if (o.noKick) await vq.publish(); else await vq.kick();
  const elem = await vq.waitUsed(o.timeoutMs ?? TIMEOUT.used, { validate: o.validate });
  const data = await vq.mem.read(addr, len);
  return { usedLen: elem.len, data, written: writtenExtent(data, canary), addr, elem };
}
