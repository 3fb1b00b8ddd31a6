// The adapter against the real qemu-storage-daemon (package qemu-system-common): the
// handshake, the suite's driver (driver/) over VhostUserTransport — init, GET_ID, write,
// read back — on file and null-co drives, several memory regions, reset, and no fd or
// process left behind. Skipped when the daemon or the native addon is missing.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Driver } from '../../driver/driver.ts';
import { openDriver } from '../../driver/open.ts';
import { blkGetId, blkIdString, blkRead, blkWrite, readBlkConfig } from '../../driver/blk.ts';
import { DriverTimeoutError } from '../../driver/wait.ts';
import { VhostUserError } from './connection.ts';
import { leakedFds, openFds, timeoutScale } from '../../native/testing.ts';
import { nativeAvailable } from '../../native/index.ts';
import { VIRTIO_BLK_S_OK } from '../../virtio/blk.ts';
import { VIRTIO_F, hasBit } from '../../virtio/features.ts';
import { ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK } from '../../virtio/status.ts';
import { PROTOCOL_F } from './protocol.ts';
import { blkStress } from './stress.ts';
import { asTarget, createVhostUserTarget, liveBackendCount, type VhostUserTarget } from './index.ts';

const haveQsd = spawnSync('qemu-storage-daemon', ['--version']).status === 0;
const T = 30_000 * timeoutScale;

describe.skipIf(!nativeAvailable() || !haveQsd)('vhost-user adapter against qemu-storage-daemon', () => {
  let t: VhostUserTarget | undefined;
  let before: Map<number, string>;
  const open = async (o: Partial<Parameters<typeof createVhostUserTarget>[0]> = {}) => {
    before = openFds();
    t = await createVhostUserTarget({ spawn: 'qemu-storage-daemon', device: 'blk', timeoutScale, ...o });
    return t;
  };
  afterEach(async () => {
    await t?.close();
    t = undefined;
    expect(liveBackendCount()).toBe(0);
    // the child's stderr pipe closes a moment after its exit
    for (let i = 0; i < 100 && leakedFds(before).length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(leakedFds(before)).toEqual([]);
  });

  it('handshake: protocol features negotiated (REPLY_ACK, CONFIG, MQ), one queue, capacity via GET_CONFIG', async () => {
    const tg = await open({ blk: { capacitySectors: 4096 } });
    const h = tg.handshake;
    expect(hasBit(h.features, 30)).toBe(true);
    expect(hasBit(h.features, VIRTIO_F.VERSION_1)).toBe(true);
    for (const f of ['REPLY_ACK', 'CONFIG', 'MQ'] as const) expect(tg.frontend.has(f), f).toBe(true);
    // what we never set even when offered
    expect(h.protocolAcked & (1n << BigInt(PROTOCOL_F.BACKEND_REQ))).toBe(0n);
    expect(h.queueNum).toBe(1);
    expect(await tg.transport.numQueues()).toBe(1);
    expect(await tg.transport.queueMaxSize(1)).toBe(0);
    expect(await tg.transport.readConfig(0, 4)).toBe(4096); // capacity (low half)
    expect(await tg.transport.readConfig(4, 4)).toBe(0);
    expect(await tg.transport.deviceId()).toBe(2);
    expect(hasBit(await tg.transport.readDeviceFeatures(), 30)).toBe(false); // bit 30 is vhost-user's, not the driver's
  }, T);

  it('the suite driver over vhost-user: init, GET_ID, write then read back, notifications counted (file drive)', async () => {
    const tg = await open();
    const drv = await openDriver(asTarget(tg)); // the runner's path: target.transport for a vhost-user location
    expect(drv.transport).toBe(tg.transport);
    const r = await drv.ready();
    expect(r.featuresOk).toBe(true);
    expect(r.status).toBe(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    expect(await drv.deviceType()).toBe('blk');
    expect(await tg.transport.queueEnabled(0)).toBe(true);
    const vq = r.queues[0];
    expect(await tg.transport.takeNotifications(0)).toBe(0); // the call fd's setup signal was dropped

    const id = await blkGetId(vq);
    expect(id.status).toBe(VIRTIO_BLK_S_OK);
    expect(blkIdString(id.data).length).toBeGreaterThan(0);
    expect(await tg.transport.takeNotifications(0)).toBeGreaterThan(0);

    const data = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7 + 3) & 0xff);
    expect((await blkWrite(vq, 2n, data, { dataSegments: 3 })).status).toBe(VIRTIO_BLK_S_OK);
    const back = await blkRead(vq, 2n, 2, { indirect: 'all', dataSegments: 2 });
    expect(back.status).toBe(VIRTIO_BLK_S_OK);
    expect(back.data).toEqual(data);
    expect(back.usedLen).toBe(1025);
    const zero = await blkRead(vq, 0n, 1);
    expect(zero.data.every((b) => b === 0)).toBe(true);
    // no config_generation on vhost-user: one GET_CONFIG per field, no generation loop
    const cfg = await readBlkConfig(drv);
    expect(cfg.capacity).toBe(2048n);
    expect(cfg.blk_size).toBe(512);
    expect((await tg.transport.configGeneration().catch((e: Error) => e) as Error).name).toBe('NotApplicable');
  }, T);

  it('num-queues=2: GET_QUEUE_NUM says 2 and requests complete on both queues', async () => {
    const tg = await open({ blk: { numQueues: 2 } });
    expect(await tg.transport.numQueues()).toBe(2);
    expect(await tg.transport.queueMaxSize(2)).toBe(0);
    const drv = new Driver(asTarget(tg), tg.transport);
    const r = await drv.ready({ queues: 2 });
    const data = new Uint8Array(512).fill(0x3c);
    expect((await blkWrite(r.queues[1], 7n, data)).status).toBe(VIRTIO_BLK_S_OK);
    expect((await blkRead(r.queues[0], 7n, 1)).data).toEqual(data);
  }, T);

  it('null-co drive reads zeros; reset (GET_VRING_BASE) and a second init work; GET_VRING_BASE reports the avail index', async () => {
    const tg = await open({ blk: { drive: 'null', capacitySectors: 8192 } });
    const drv = new Driver(asTarget(tg), tg.transport);
    let vq = (await drv.ready()).queues[0];
    for (let i = 0; i < 3; i++) {
      const rd = await blkRead(vq, BigInt(i * 100), 1);
      expect(rd.status).toBe(VIRTIO_BLK_S_OK);
      expect(rd.data.every((b) => b === 0)).toBe(true);
    }
    expect(await tg.frontend.stopRing(0)).toBe(3);
    expect(await tg.transport.queueEnabled(0)).toBe(false);
    await drv.reset();
    expect(await tg.transport.getStatus()).toBe(0);
    vq = (await drv.ready()).queues[0];
    expect((await blkRead(vq, 5n, 1)).status).toBe(VIRTIO_BLK_S_OK);
    expect(await tg.transport.readConfig(0, 4)).toBe(8192);
  }, T);

  it('several memory regions: rings in a region ending at 1 MiB + 8 KiB, larger buffers in a region above 4 GiB', async () => {
    const tg = await open({ memory: [{ gpa: 0, size: 0x102000 }, { gpa: 0x1_0000_0000, size: 8 << 20 }] });
    expect(tg.mem.regionSpecs()).toHaveLength(2);
    const drv = new Driver(asTarget(tg), tg.transport);
    const vq = (await drv.ready({ queueSize: 64 })).queues[0];
    expect(vq.used).toBeLessThan(0x102000);
    const data = new Uint8Array(512 * 16).fill(0x5a);
    const w = await blkWrite(vq, 10n, data);
    expect(w.addrs.out!).toBeGreaterThanOrEqual(0x1_0000_0000);
    expect(w.status).toBe(VIRTIO_BLK_S_OK);
    const r = await blkRead(vq, 10n, 16);
    expect(r.data).toEqual(data);
  }, T);

  it('seeded stress with random descriptor layouts: every status OK, reads match the model, same seed → same layouts', async () => {
    const tg = await open({ blk: { capacitySectors: 32 * 64 } });
    const drv = new Driver(asTarget(tg), tg.transport);
    const vq = (await drv.ready({ queueSize: 256 })).queues[0];
    const model = new Map<number, number>();
    const wait = () => tg.transport.waitNotification(0, 2).then(() => undefined);
    const a = await blkStress(drv, vq, { seed: 7, requests: 1500, model, waitCompletion: wait });
    const b = await blkStress(drv, vq, { seed: 7, requests: 1500, model, waitCompletion: wait });
    const c = await blkStress(drv, vq, { seed: 8, requests: 1500, model, waitCompletion: wait });
    expect(b.layoutDigest).toBe(a.layoutDigest);
    expect(b.counts).toEqual(a.counts);
    expect(c.layoutDigest).not.toBe(a.layoutDigest);
    for (const k of ['in', 'out', 'getId', 'flush', 'indirect', 'splitHeader', 'statusInData'] as const) expect(a.counts[k], k).toBeGreaterThan(0);
    expect(model.size).toBeGreaterThan(100);
  }, T);

  it('a back-end that panics (libvhost-user on a trailing indirect descriptor) → the request is not used, stderr is kept, the next message fails cleanly', async () => {
    const tg = await open();
    const drv = new Driver(asTarget(tg), tg.transport);
    const vq = (await drv.ready()).queues[0];
    const e = await blkRead(vq, 0n, 1, { indirect: 'tail', tailCount: 1, timeoutMs: 500 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DriverTimeoutError);
    for (let i = 0; i < 100 && !tg.diagnostics().includes('vu_panic'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(tg.diagnostics()).toMatch(/vu_panic: Incorrect order for descriptors/);
    const next = await tg.frontend.stopRing(0).catch((x: unknown) => x);
    expect(next).toBeInstanceOf(VhostUserError);
    expect((next as VhostUserError).kind).toBe('closed');
  }, T);
});
