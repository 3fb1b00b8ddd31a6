// Reference entropy device (spec 5.4): one request queue; each request is device-writable
// buffers the device fills with random bytes, returning how many it wrote.
import { randomFillSync } from 'node:crypto';
import { DEVICE_ID } from '../../virtio/ids.ts';
import { RingError } from '../../virtio/split-ring-device.ts';
import type { ChainContext, DeviceModel } from '../device.ts';

/** At most this many bytes per request: the spec lets the device use less than the buffer. */
export const ENTROPY_MAX_BYTES = 1024;
export const ENTROPY_QUEUE_SIZE = 256;

export class EntropyModel implements DeviceModel {
  readonly type = 'entropy' as const;
  readonly deviceId = DEVICE_ID.entropy;
  readonly numQueues = 1;

  queueMaxSize(q: number): number { return q === 0 ? ENTROPY_QUEUE_SIZE : 0; }
  offeredFeatures(): bigint { return 0n; }
  config(): Uint8Array { return new Uint8Array(0); }
  writeConfig(): void {}
  reset(): void {}

  async process(_q: number, { ring, chain, defects }: ChainContext): Promise<number> {
    // The driver must not place device-readable buffers here (5.4.6.1).
    if (chain.readableLen > 0) throw new RingError('entropy request with a device-readable buffer');
    if (defects.on('entropy-no-bytes')) return 0;
    const n = Math.min(chain.writableLen, ENTROPY_MAX_BYTES);
    const bytes = new Uint8Array(n);
    randomFillSync(bytes);
    await ring.writeAt(chain, 0, bytes);
    return n;
  }
}
