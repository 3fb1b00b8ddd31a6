// The suite's own driver (driver/open.ts) against real QEMU devices: the same driver code
// that runs on the reference target must initialise QEMU's virtio-rng and virtio-blk
// over both transports and complete one request each. The ring is written here with
// the spec's layout constants so that this test depends only on the Transport contract.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../driver/transport.ts';
import { BLK_REQ_HDR_SIZE, VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_S_OK, VIRTIO_BLK_T, encodeReqHeader } from '../../virtio/blk.ts';
import { VIRTIO_F, bit } from '../../virtio/features.ts';
import { DEVICE_ID } from '../../virtio/ids.ts';
import {
  AVAIL, AVAIL_ALIGN, DESC, DESC_ALIGN, USED, USED_ALIGN, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
  availRingSize, descTableSize, usedRingSize,
} from '../../virtio/split-ring.ts';
import { ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK } from '../../virtio/status.ts';
import type { Target } from '../types.ts';
import { DEFAULT_BLK_SERIAL, createQemuTarget, probeQemu } from './index.ts';

const probe = await probeQemu();
const openPath = join(import.meta.dirname, '../../driver/open.ts');
const haveDriver = existsSync(openPath);
const reason = !probe.available ? probe.reason : !haveDriver ? 'driver/open.ts does not exist yet' : `QEMU ${probe.version}`;

const started: Target[] = [];
afterEach(async () => { for (const t of started.splice(0)) await t.close(); });

interface Buf { addr: number; len: number; write: boolean }

/** Negotiate VERSION_1 only, set up queue 0 of `size` entries, DRIVER_OK. */
async function init(t: Target, tr: Transport, expectedId: number): Promise<{ desc: number; avail: number; used: number; size: number }> {
  await tr.reset();
  expect(await tr.getStatus()).toBe(0);
  expect(await tr.deviceId()).toBe(expectedId);
  await tr.setStatus(ACKNOWLEDGE);
  await tr.setStatus(ACKNOWLEDGE | DRIVER);
  const offered = await tr.readDeviceFeatures();
  expect(offered & bit(VIRTIO_F.VERSION_1)).toBe(bit(VIRTIO_F.VERSION_1));
  await tr.writeDriverFeatures(bit(VIRTIO_F.VERSION_1));
  await tr.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
  expect(await tr.getStatus() & FEATURES_OK).toBe(FEATURES_OK);
  const max = await tr.queueMaxSize(0);
  expect(max).toBeGreaterThan(0);
  const size = Math.min(max, 8);
  const desc = await t.mem.alloc(descTableSize(size), DESC_ALIGN);
  const avail = await t.mem.alloc(availRingSize(size), AVAIL_ALIGN);
  const used = await t.mem.alloc(usedRingSize(size), USED_ALIGN);
  await tr.setupQueue(0, { size, desc, driver: avail, device: used });
  expect(await tr.queueEnabled(0)).toBe(true);
  await tr.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
  expect(await tr.getStatus()).toBe(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
  return { desc, avail, used, size };
}

/** Post one chain as avail entry 0, notify, and poll used.idx (with a timeout). */
async function request(t: Target, tr: Transport, q: { desc: number; avail: number; used: number }, bufs: Buf[]): Promise<number> {
  for (let i = 0; i < bufs.length; i++) {
    const d = new DataView(new ArrayBuffer(16));
    d.setBigUint64(DESC.addr, BigInt(bufs[i].addr), true);
    d.setUint32(DESC.len, bufs[i].len, true);
    d.setUint16(DESC.flags, (i + 1 < bufs.length ? VIRTQ_DESC_F_NEXT : 0) | (bufs[i].write ? VIRTQ_DESC_F_WRITE : 0), true);
    d.setUint16(DESC.next, i + 1 < bufs.length ? i + 1 : 0, true);
    await t.mem.write(q.desc + 16 * i, new Uint8Array(d.buffer));
  }
  await t.mem.write(q.avail + AVAIL.ring, new Uint8Array([0, 0]));
  await t.mem.write(q.avail + AVAIL.idx, new Uint8Array([1, 0]));
  await tr.notify(0);
  const deadline = performance.now() + 5000 * t.timeoutScale;
  for (;;) {
    const u = new DataView((await t.mem.read(q.used, USED.ring + USED.ELEM_SIZE)).buffer);
    if (u.getUint16(USED.idx, true) === 1) {
      expect(u.getUint32(USED.ring, true)).toBe(0); // id = head of our chain
      return u.getUint32(USED.ring + 4, true);       // len written by the device
    }
    if (performance.now() > deadline) throw new Error('device did not use the buffer within 5 s');
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe.skipIf(!probe.available || !haveDriver)(`driver on real QEMU (${reason})`, () => {
  for (const transport of ['pci', 'mmio'] as const) {
    it(`${transport}: entropy init and one 64-byte request`, async () => {
      const { openDriver } = await import(openPath);
      const t = await createQemuTarget({ device: 'entropy', transport });
      started.push(t);
      const { transport: tr } = await openDriver(t) as { transport: Transport };
      const q = await init(t, tr, DEVICE_ID.entropy);
      const buf = await t.mem.alloc(64);
      expect(await request(t, tr, q, [{ addr: buf, len: 64, write: true }])).toBe(64);
      const bytes = await t.mem.read(buf, 64);
      expect(bytes.some((b) => b !== 0)).toBe(true); // 64 zero bytes from a RNG: 2^-512
      await t.bus.settle();
      expect(await tr.takeNotifications(0)).toBeGreaterThanOrEqual(1);
    });

    it(`${transport}: blk init and GET_ID returns the serial`, async () => {
      const { openDriver } = await import(openPath);
      const t = await createQemuTarget({ device: 'blk', transport });
      started.push(t);
      const { transport: tr } = await openDriver(t) as { transport: Transport };
      const q = await init(t, tr, DEVICE_ID.blk);
      const hdr = await t.mem.alloc(BLK_REQ_HDR_SIZE);
      const id = await t.mem.alloc(VIRTIO_BLK_ID_BYTES);
      const status = await t.mem.alloc(1);
      await t.mem.write(status, new Uint8Array([0xff]));
      await t.mem.write(hdr, encodeReqHeader(VIRTIO_BLK_T.GET_ID, 0n));
      await request(t, tr, q, [
        { addr: hdr, len: BLK_REQ_HDR_SIZE, write: false },
        { addr: id, len: VIRTIO_BLK_ID_BYTES, write: true },
        { addr: status, len: 1, write: true },
      ]);
      expect((await t.mem.read(status, 1))[0]).toBe(VIRTIO_BLK_S_OK);
      const got = Buffer.from(await t.mem.read(id, VIRTIO_BLK_ID_BYTES)).toString('latin1').replace(/\0+$/, '');
      expect(got).toBe(DEFAULT_BLK_SERIAL);
      // capacity (config offset 0) is the default 2048 sectors.
      expect(await tr.readConfig(0, 4)).toBe(2048);
    });
  }
});
