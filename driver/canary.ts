// Canary fill of device-writable buffers: the driver fills them with a known byte before
// posting, so afterwards it can see which bytes the device wrote. One canary cannot tell
// "unwritten" from "written with the canary value": scenarios checking used len run twice
// with two different canaries.
import type { GuestMemory } from '../adapters/types.ts';

export const CANARY_A = 0xa5;
export const CANARY_B = 0x5a;

export async function fillCanary(mem: GuestMemory, addr: number, len: number, byte: number): Promise<void> {
  if (len > 0) await mem.write(addr, new Uint8Array(len).fill(byte));
}

/** Index of the last byte that differs from the canary, + 1 (0: nothing visibly written). */
export function writtenExtent(bytes: Uint8Array, canary: number): number {
  for (let i = bytes.length - 1; i >= 0; i--) if (bytes[i] !== canary) return i + 1;
  return 0;
}

/** Number of bytes that differ from the canary. */
export function countChanged(bytes: Uint8Array, canary: number): number {
  let n = 0;
  for (const b of bytes) if (b !== canary) n++;
  return n;
}
