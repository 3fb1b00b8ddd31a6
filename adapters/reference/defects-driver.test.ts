// Every defect stays dormant on the suite driver's ordinary path: with the defect
// selected, driver/ (openDriver → ready → one plain request of each kind) still works on
// every device type and transport the defect declares — except where that plain path
// is itself the defect's trigger (listed below, each with what breaks). This is what
// lets unrelated scenarios keep passing under a defect. Run with the split ring and with
// the packed ring: a defect of one layout stays dormant on the other too.
import { describe, expect, it } from 'vitest';
import {
  blkGetId, blkIdString, blkRead, blkWrite, entropyRequest, isPacked, openDriver, ConsoleDriver, consoleFeatures,
} from '../../driver/index.ts';
import { DEFECTS } from '../../emulator/defects.ts';
import { DEFAULT_BLK_SERIAL } from '../../emulator/models/blk.ts';
import { VIRTIO_BLK_S_OK } from '../../virtio/blk.ts';
import { createReferenceTarget } from './index.ts';

/** Defects whose trigger is on the plain path, and the step that must show it. */
const ON_PLAIN_PATH: Record<string, string> = {
  'no-common-cfg': 'init', // the driver cannot find the common configuration
  'no-notify-cap': 'request', // the driver cannot notify
  'entropy-no-bytes': 'entropy', // every entropy request returns 0 bytes
  'console-tx-used-len-total': 'console-tx', // every transmit buffer comes back with its length
  'console-rx-len-overstated': 'console-rx', // every receive buffer comes back with its length
};

/** Where the console's plain path (below) differs: it is the trigger there too, seen earlier. */
const ON_CONSOLE_PLAIN_PATH: Record<string, (ring: 'split' | 'packed') => string> = {
  // The plain split-ring console accepts VIRTIO_F_VERSION_1 alone, the trigger (packed adds RING_PACKED).
  'rejects-valid-feature-subset': (ring) => (ring === 'split' ? 'init' : 'ok'),
  'no-notify-cap': () => 'init', // ConsoleDriver.open notifies while posting its receive buffers
};

/** Console plain path: port 0 without MULTIPORT, one write out and one in. */
async function plainConsole(transport: 'pci' | 'mmio', defect: string | undefined, ring: 'split' | 'packed'): Promise<string> {
  const t = await createReferenceTarget({ device: 'console', transport, defect, timeoutScale: 0.05 });
  let c: ConsoleDriver;
  try { c = await ConsoleDriver.open(await openDriver(t, { ring }), { features: consoleFeatures() }); } catch { return 'init'; }
  try {
    if ((await c.send(0, new Uint8Array([1, 2, 3]))).usedLen !== 0) return 'console-tx';
    if (t.console!.received(0).join() !== '1,2,3') return 'console-tx-data';
    await t.console!.inject(0, new Uint8Array([4, 5]));
    const r = await c.receive(0, 100);
    if (!r || r.usedLen !== 2) return 'console-rx';
    return r.data.join() === '4,5' ? 'ok' : 'console-rx-data';
  } catch {
    return 'request';
  }
}

async function plainRun(device: 'entropy' | 'blk', transport: 'pci' | 'mmio', defect?: string, ring: 'split' | 'packed' = 'split'): Promise<string> {
  const t = await createReferenceTarget({ device, transport, defect, timeoutScale: 0.05 });
  const drv = await openDriver(t, { ring });
  try { await drv.ready(); } catch { return 'init'; }
  const vq = drv.ring(0);
  if (ring === 'packed' && !isPacked(vq)) return 'not packed';
  try {
    if (device === 'entropy') {
      const r = await entropyRequest(vq, { len: 64 });
      if (r.usedLen < 1 || r.usedLen > 64 || r.written < 1) return 'entropy';
      return 'ok';
    }
    const id = await blkGetId(vq);
    if (id.status !== VIRTIO_BLK_S_OK || blkIdString(id.data) !== DEFAULT_BLK_SERIAL) return 'get-id';
    const data = new Uint8Array(1024).map((_, i) => i & 0xff);
    if ((await blkWrite(vq, 3n, data)).status !== VIRTIO_BLK_S_OK) return 'write';
    const r = await blkRead(vq, 3n, 2);
    if (r.status !== VIRTIO_BLK_S_OK || !Buffer.from(r.data).equals(Buffer.from(data))) return 'read';
    return 'ok';
  } catch {
    return 'request';
  }
}

for (const ring of ['split', 'packed'] as const) {
  describe(`defects stay dormant on the plain driver path (${ring} ring)`, () => {
    for (const device of ['entropy', 'blk'] as const) {
      for (const transport of ['pci', 'mmio'] as const) {
        it(`${device}/${transport}: no defect → ok`, async () => {
          expect(await plainRun(device, transport, undefined, ring)).toBe('ok');
        });
      }
    }
    for (const d of DEFECTS) {
      for (const device of d.devices) {
        if (device === 'net') continue; // no net model yet
        for (const transport of d.transports ?? (['pci', 'mmio'] as const)) {
          const expected = (device === 'console' ? ON_CONSOLE_PLAIN_PATH[d.name]?.(ring) : undefined) ?? ON_PLAIN_PATH[d.name] ?? 'ok';
          it(`${d.name} (${device}/${transport}) → ${expected}`, async () => {
            if (device === 'console') { expect(await plainConsole(transport, d.name, ring)).toBe(expected); return; }
            expect(await plainRun(device, transport, d.name, ring)).toBe(expected);
          });
        }
      }
    }
  });
}
