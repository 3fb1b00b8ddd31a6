// "A request" of each device type, as the device-independent scenarios make it: the queue
// it goes to (the device's request queue) and its smallest form. entropy: requestq (0),
// 16 random bytes; blk: requestq (0), a read of sector 0; net: transmitq1 (1), one
// minimal frame (header and frame in two descriptors); console: port 0's transmitq (1),
// 4 bytes in two descriptors. The net and console ones
// are device-readable only, so what the device does with them shows on the host side
// (the wire, the port) rather than in the buffers.
import type { GuestMemory } from '../adapters/types.ts';
import { encodeReqHeader, VIRTIO_BLK_T } from '../virtio/blk.ts';
import { transmitq as consoleTransmitq } from '../virtio/console.ts';
import { encodeNetHdr, makeFrame, transmitq as netTransmitq } from '../virtio/net.ts';
import type { AddOptions, DescBuffer } from '../virtio/split-ring-driver.ts';
import { splitBuffer } from './layout.ts';
import { addBuffers, type AnyUsedElem, type Virtqueue } from './ring.ts';
import { TIMEOUT } from './wait.ts';

export type RequestDevice = 'entropy' | 'blk' | 'net' | 'console';

/** The queue a device type's generic requests go to. */
export const REQUEST_QUEUE: Readonly<Record<RequestDevice, number>> = {
  entropy: 0, blk: 0, net: netTransmitq(1), console: consoleTransmitq(0),
};

/** Whether the device type's request is transmitted data (device-readable only). */
export const isTransmitDevice = (d: RequestDevice): d is 'net' | 'console' => d === 'net' || d === 'console';

/**
 * What net and console requests carry: a zeroed virtio_net_hdr (VERSION_1 layout) and a
 * 60-byte frame of the IEEE local experimental ethertype; console: 4 bytes. `minLen`
 * makes them at least that long (a longer frame; console text repeated), for requests
 * spread over many descriptors. `frame` is what the host side should see.
 */
export function transmitBytes(device: 'net' | 'console', seed = 0, minLen = 0): { bytes: Uint8Array; frame: Uint8Array } {
  if (device === 'console') {
    const unit = `ct${String.fromCharCode(0x41 + (seed % 26))}\n`;
    const b = new TextEncoder().encode(unit.repeat(Math.max(1, Math.ceil(minLen / unit.length))));
    return { bytes: b, frame: b };
  }
  const frame = makeFrame({ dst: Uint8Array.of(0x02, 0x43, 0x54, 0x53, 0, 1), src: Uint8Array.of(0x02, 0x43, 0x54, 0x53, 0, 2), len: Math.max(60, minLen - 12), seed });
  const hdr = encodeNetHdr({});
  const bytes = new Uint8Array(hdr.length + frame.length);
  bytes.set(hdr);
  bytes.set(frame, hdr.length);
  return { bytes, frame };
}

/** The buffers of the device type's smallest request (written to guest memory, not made available). */
export async function smallestRequest(mem: GuestMemory, device: RequestDevice): Promise<DescBuffer[]> {
  if (device === 'entropy') return [{ addr: await mem.alloc(16), len: 16, write: true }];
  if (device === 'blk') {
    const hdr = await mem.alloc(16, 16);
    await mem.write(hdr, encodeReqHeader(VIRTIO_BLK_T.IN, 0n));
    return [
      { addr: hdr, len: 16, write: false },
      { addr: await mem.alloc(512, 16), len: 512, write: true },
      { addr: await mem.alloc(1), len: 1, write: true },
    ];
  }
  // Two descriptors (net: the header, then the frame; console: two halves), so the head
  // descriptor carries NEXT: a device that rewrites descriptor flags changes the table.
  const { bytes } = transmitBytes(device);
  const addr = await mem.alloc(bytes.length, 16);
  await mem.write(addr, bytes);
  const first = device === 'net' ? bytes.length - 60 : bytes.length / 2;
  return [{ addr, len: first, write: false }, { addr: addr + first, len: bytes.length - first, write: false }];
}

export interface TransmitResult { elem: AnyUsedElem; frame: Uint8Array }

/**
 * A net or console request over `segments` device-readable descriptors (with the split
 * ring's indirect options), notified and waited until used; `frame` is what the host
 * side should receive.
 */
export async function transmitRequest(vq: Virtqueue, device: 'net' | 'console', o: { segments?: number; add?: AddOptions; seed?: number; timeoutMs?: number } = {}): Promise<TransmitResult> {
  const { bytes, frame } = transmitBytes(device, o.seed);
  const addr = await vq.mem.alloc(bytes.length, 16);
  await vq.mem.write(addr, bytes);
  await addBuffers(vq, splitBuffer(addr, bytes.length, o.segments ?? 1, false), o.add);
  await vq.kick();
  const elem = await vq.waitUsed(o.timeoutMs ?? TIMEOUT.used, { validate: false });
  return { elem, frame };
}
