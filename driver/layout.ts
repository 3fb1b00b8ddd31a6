// Splitting one guest buffer into several descriptors: the "arbitrary descriptor layout"
// a device must accept (2.7.4 message framing).
import type { DescBuffer } from '../virtio/split-ring-driver.ts';

/** Split [addr, addr+len) into `n` descriptors (sizes as even as possible; never more pieces than bytes). */
export function splitBuffer(addr: number, len: number, n: number, write: boolean): DescBuffer[] {
  const pieces = Math.max(1, Math.min(n, len || 1));
  const out: DescBuffer[] = [];
  let off = 0;
  for (let i = 0; i < pieces; i++) {
    const l = Math.floor(len / pieces) + (i < len % pieces ? 1 : 0);
    out.push({ addr: addr + off, len: l, write });
    off += l;
  }
  return out;
}

/** Split [addr, …) by explicit piece sizes. */
export function splitBySizes(addr: number, sizes: number[], write: boolean): DescBuffer[] {
  let off = 0;
  return sizes.map((l) => { const b = { addr: addr + off, len: l, write }; off += l; return b; });
}
