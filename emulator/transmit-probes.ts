// Probes of the device-independent defects (ring layer, device core, PCI and MMIO
// transports) on the devices whose request is transmitted data: net (transmitq1) and
// console (port 0's transmitq). Same shape as the probes of emulator/defects.test.ts
// (register-level MiniDriver, no scenario code), with the device's request queue and a
// device-readable request (driver/requests.ts); emulator/net/defects.test.ts and
// emulator/console/defects.test.ts take them for the defects they do not probe themselves.
import { createReferenceTarget, type ReferenceTarget } from '../adapters/reference/index.ts';
import { MiniDriver, type Ring } from '../adapters/reference/mini-driver.ts';
import { REQUEST_QUEUE, transmitBytes, transmitRequest } from '../driver/requests.ts';
import { addBuffers, openDriver, PackedUsedError, RING_EVENT_FLAGS_DESC, splitBuffer, type Driver, type PackedRingDriver } from '../driver/index.ts';
import { VIRTQ_DESC_F_USED, isUsed, type RingPos } from '../virtio/packed-ring.ts';
import { VIRTIO_F, bit, undefinedBits } from '../virtio/features.ts';
import { DEVICE_ID } from '../virtio/ids.ts';
import { MSIX_CAP, MSIX_CTRL_ENABLE } from '../virtio/pci.ts';
import { USED, VIRTQ_AVAIL_F_NO_INTERRUPT } from '../virtio/split-ring.ts';
import { ACKNOWLEDGE, DEVICE_NEEDS_RESET, DRIVER, DRIVER_OK, FEATURES_OK } from '../virtio/status.ts';
import { DEFECTS } from './defects.ts';

export type TransmitDevice = 'net' | 'console';
export interface TransmitCtx { transport: 'pci' | 'mmio'; defect?: string }
export interface TransmitProbe {
  probe: (c: TransmitCtx) => Promise<unknown>;
  /** The trigger's control: equal with and without the defect. */
  control?: (c: TransmitCtx) => Promise<unknown>;
  good: unknown;
  bad: unknown;
}

const V1 = bit(VIRTIO_F.VERSION_1);
const EVIDX = V1 | bit(VIRTIO_F.EVENT_IDX);
const INDIRECT = V1 | bit(VIRTIO_F.INDIRECT_DESC);
const RUNNING = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK;
/** Write 1 to queue_reset / QueueReset of queue `q` (the queue-reset-* probes). */
async function resetQueue(d: MiniDriver, q: number): Promise<void> {
  if (d.isPci) { await d.setCommon('queue_select', q); await d.setCommon('queue_reset', 1); }
  else { await d.setMmio('QueueSel', q); await d.setMmio('QueueReset', 1); }
}

const RESET = V1 | bit(VIRTIO_F.RING_RESET);
const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** The probes of the defects emulator/defects.ts lists for `device`, keyed by defect name. */
export function transmitProbes(device: TransmitDevice): Record<string, TransmitProbe> {
  const all = allProbes(device);
  return Object.fromEntries(Object.entries(all).filter(([n]) => DEFECTS.find((d) => d.name === n)?.devices.includes(device)));
}

function allProbes(device: TransmitDevice): Record<string, TransmitProbe> {
  const RQ = REQUEST_QUEUE[device];

  async function open(c: TransmitCtx): Promise<{ t: ReferenceTarget; d: MiniDriver }> {
    const t = await createReferenceTarget({ device, transport: c.transport, defect: c.defect });
    return { t, d: await MiniDriver.open(t) };
  }
  async function up(c: TransmitCtx, features = V1): Promise<{ t: ReferenceTarget; d: MiniDriver; q: Ring }> {
    const { t, d } = await open(c);
    if (!await d.negotiate(features)) throw new Error('FEATURES_OK refused');
    const q = await d.setupQueue(RQ, 8);
    await d.setStatus(RUNNING);
    return { t, d, q };
  }
  /** The request's bytes in guest memory, in `pieces` device-readable buffers. */
  async function bufs(q: Ring, pieces = 1): Promise<{ addr: number; len: number; write: boolean }[]> {
    const { bytes } = transmitBytes(device);
    const a = await q.drv.t.mem.alloc(bytes.length, 16);
    await q.drv.t.mem.write(a, bytes);
    const half = pieces === 2 ? Math.floor(bytes.length / 2) : bytes.length;
    return pieces === 2
      ? [{ addr: a, len: half, write: false }, { addr: a + half, len: bytes.length - half, write: false }]
      : [{ addr: a, len: bytes.length, write: false }];
  }
  async function request(q: Ring, o: { indirect?: boolean; indirectWrite?: boolean; pieces?: number } = {}) {
    return q.request(await bufs(q, o.pieces), o);
  }
  async function interruptsFor(c: TransmitCtx, features: bigint, setup: (q: Ring) => Promise<void>, n: number): Promise<number[]> {
    const { d, q } = await up(c, features);
    await setup(q);
    const seen: number[] = [];
    for (let i = 0; i < n; i++) { await request(q); seen.push((await d.takeInterrupt()) & 1); }
    return seen;
  }
  const used = async (c: TransmitCtx): Promise<boolean> => (await request((await up(c)).q)) !== undefined;

  // --- packed ring: the suite's driver with ring 'packed' (as emulator/defects.test.ts) ---
  interface PackedUp { t: ReferenceTarget; drv: Driver; vq: PackedRingDriver }
  async function upPacked(c: TransmitCtx, features = V1, o: { queueSize?: number } = {}): Promise<PackedUp> {
    const t = await createReferenceTarget({ device, transport: c.transport, defect: c.defect, timeoutScale: 0.05 });
    const drv = await openDriver(t, { ring: 'packed' });
    await drv.ready({ features, queueSize: o.queueSize, queues: RQ + 1 });
    return { t, drv, vq: drv.packedQueue(RQ) };
  }
  /** One request on the packed transmit queue: 'ok' or what went wrong. */
  async function packedRequest(u: PackedUp, o: { segments?: number } = {}): Promise<string> {
    try {
      await transmitRequest(u.vq, device, { segments: o.segments ?? 1, timeoutMs: 200 });
      return 'ok';
    } catch (e) {
      if (e instanceof PackedUsedError) return e.kind;
      return (await u.drv.transport.getStatus()) & DEVICE_NEEDS_RESET ? 'needs-reset' : (e as Error).name;
    }
  }
  /** Used-buffer notifications seen for one request (0 or 1). */
  async function packedNotifications(u: PackedUp): Promise<number> {
    await u.t.bus.settle();
    await u.drv.transport.takeNotifications(RQ);
    if (await packedRequest(u) !== 'ok') throw new Error('the request was not used');
    await u.t.bus.settle();
    return Math.min(1, await u.drv.transport.takeNotifications(RQ));
  }
  return {
    'queue-reset-ignored': {
      // Control: without VIRTIO_F_RING_RESET negotiated the write is ignored either way.
      probe: async (c) => {
        const { d, q } = await up(c, RESET);
        await q.add(await bufs(q));
        await resetQueue(d, RQ);
        await d.notify(RQ);
        return [await q.usedIdx(), await d.irq()];
      },
      control: async (c) => {
        const { d, q } = await up(c);
        await q.add(await bufs(q));
        await resetQueue(d, RQ);
        await d.notify(RQ);
        return [await q.usedIdx(), await d.irq()];
      },
      good: [0, false], bad: [1, true],
    },
    'queue-reset-keeps-ring-state': {
      probe: async (c) => {
        const { d, q } = await up(c, RESET);
        await request(q);
        await resetQueue(d, RQ);
        const q2 = await d.setupQueue(RQ, 8);
        const e = await request(q2);
        return [e !== undefined, await q2.usedIdx()];
      },
      good: [true, 1], bad: [false, 0],
    },
    'used-len-after-idx': {
      // Every used element's len set to 0xffffffff, then one request: still that once it shows used?
      probe: async (c) => {
        const { t, q } = await up(c);
        for (let i = 0; i < q.size; i++) await t.mem.write(q.used + USED.ring + USED.ELEM_SIZE * i + 4, new Uint8Array(4).fill(0xff));
        return (await request(q))!.len === 0xffffffff;
      },
      control: async (c) => (await request((await up(c)).q))!.len,
      good: false, bad: true,
    },
    'offers-undefined-feature': {
      probe: async (c) => { const { d } = await open(c); return undefinedBits(device, c.transport, await d.deviceFeatures()); },
      good: [], bad: [50],
    },
    'rejects-valid-feature-subset': {
      probe: async (c) => (await open(c)).d.negotiate(V1),
      control: async (c) => (await open(c)).d.negotiate(EVIDX),
      good: true, bad: false,
    },
    'renegotiation-fails': {
      probe: async (c) => { const { d } = await open(c); await d.negotiate(V1); return d.negotiate(V1); },
      control: async (c) => (await open(c)).d.negotiate(V1),
      good: true, bad: false,
    },
    'no-version-1': {
      probe: async (c) => ((await (await open(c)).d.deviceFeatures()) & V1) !== 0n,
      control: async (c) => (await open(c)).d.negotiate(V1),
      good: true, bad: false,
    },
    'consumes-before-driver-ok': {
      probe: async (c) => {
        const { d } = await open(c);
        await d.negotiate(V1);
        return (await request(await d.setupQueue(RQ, 8))) !== undefined;
      },
      control: used,
      good: false, bad: true,
    },
    'notifies-before-driver-ok': {
      probe: async (c) => {
        const { d } = await open(c);
        await d.negotiate(V1);
        const q = await d.setupQueue(RQ, 8);
        return [(await request(q)) !== undefined, await d.takeInterrupt()];
      },
      good: [false, 0], bad: [false, 1],
    },
    'status-nonzero-after-reset': {
      probe: async (c) => { const { d } = await up(c); await d.setStatus(0); return d.status(); },
      control: async (c) => { const { d } = await open(c); await d.setStatus(0); return d.status(); },
      good: 0, bad: RUNNING,
    },
    'works-after-reset': {
      probe: async (c) => {
        const { d, q } = await up(c);
        await q.add(await bufs(q));
        await d.setStatus(0);
        await d.notify(RQ);
        return [await q.usedIdx(), await d.irq()];
      },
      good: [0, false], bad: [1, true],
    },
    'writes-descriptor-table': {
      // A two-descriptor chain: the head carries NEXT.
      probe: async (c) => { const { q } = await up(c); await request(q, { pieces: 2 }); return q.u16(q.desc + 12); },
      good: 1, bad: 0,
    },
    'indirect-write-flag-rejected': {
      probe: async (c) => { const { d, q } = await up(c, INDIRECT); await request(q, { indirect: true, indirectWrite: true }); return (await d.status()) & DEVICE_NEEDS_RESET; },
      control: async (c) => { const { d, q } = await up(c, INDIRECT); await request(q, { indirect: true }); return (await d.status()) & DEVICE_NEEDS_RESET; },
      good: 0, bad: DEVICE_NEEDS_RESET,
    },
    'indirect-after-direct-unsupported': {
      probe: async (c) => {
        const { t, d, q } = await up(c, INDIRECT);
        // Direct descriptor 0 (the first half), then descriptor 1 pointing at a one-entry table (the rest).
        const [a, b] = await bufs(q, 2);
        const table = await t.mem.alloc(16, 16);
        await q.writeDesc(table, 0, b!.addr, b!.len, 0, 0);
        await q.writeDesc(q.desc, 0, a!.addr, a!.len, 1, 1);
        await q.writeDesc(q.desc, 1, table, 16, 4, 0);
        await t.mem.write(q.avail + 2, new Uint8Array([1, 0]));
        await d.notify(RQ);
        return (await d.status()) & DEVICE_NEEDS_RESET;
      },
      control: async (c) => { const { d, q } = await up(c, INDIRECT); await request(q, { indirect: true }); return (await d.status()) & DEVICE_NEEDS_RESET; },
      good: 0, bad: DEVICE_NEEDS_RESET,
    },
    'notifies-despite-no-interrupt': {
      probe: (c) => interruptsFor(c, V1, (q) => q.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT), 1),
      control: (c) => interruptsFor(c, V1, async () => {}, 1),
      good: [0], bad: [1],
    },
    'no-notify-when-flags-zero': {
      probe: (c) => interruptsFor(c, V1, async () => {}, 2),
      control: (c) => interruptsFor(c, V1, (q) => q.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT), 1),
      good: [1, 1], bad: [0, 0],
    },
    'uses-used-event-without-event-idx': {
      probe: (c) => interruptsFor(c, V1, (q) => q.setUsedEvent(100), 1),
      control: (c) => interruptsFor(c, EVIDX, (q) => q.setUsedEvent(0), 1),
      good: [1], bad: [0],
    },
    'ignores-used-event': {
      probe: (c) => interruptsFor(c, EVIDX, (q) => q.setUsedEvent(2), 3),
      control: (c) => interruptsFor(c, V1, async () => {}, 1),
      good: [0, 0, 1], bad: [0, 0, 0],
    },
    'notifies-before-used-event': {
      probe: (c) => interruptsFor(c, EVIDX, (q) => q.setUsedEvent(2), 3),
      control: (c) => interruptsFor(c, V1, (q) => q.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT), 1),
      good: [0, 0, 1], bad: [1, 1, 1],
    },
    'honours-no-interrupt-with-event-idx': {
      probe: (c) => interruptsFor(c, EVIDX, (q) => q.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT), 1),
      control: (c) => interruptsFor(c, EVIDX, async () => {}, 1),
      good: [1], bad: [0],
    },
    'bad-used-flags': {
      probe: async (c) => { const { q } = await up(c); await request(q); return q.usedFlags(); },
      control: async (c) => { const { q } = await up(c, EVIDX); await request(q); return q.usedFlags(); },
      good: 0, bad: 2,
    },
    'used-flags-set-with-event-idx': {
      probe: async (c) => { const { q } = await up(c, EVIDX); await request(q); return q.usedFlags(); },
      control: async (c) => { const { q } = await up(c); await request(q); return q.usedFlags(); },
      good: 0, bad: 1,
    },
    'spurious-notification-breaks': {
      probe: async (c) => { const { d, q } = await up(c); await d.notify(RQ); return [(await request(q)) !== undefined, await d.status()]; },
      control: used,
      good: [true, RUNNING], bad: [false, RUNNING | DEVICE_NEEDS_RESET],
    },
    // --- packed ring ---
    'packed-uses-desc-avail-unchanged': {
      // Descriptor 0 flagged AVAIL=0 USED=1 (available only in a lap with wrap counter 0) in the first lap: touched?
      probe: async (c) => {
        const u = await upPacked(c);
        const { bytes } = transmitBytes(device);
        const buf = await u.t.mem.alloc(bytes.length);
        await u.t.mem.write(buf, bytes);
        await u.vq.writeDescRaw(0, { addr: BigInt(buf), len: bytes.length, id: 0, flags: VIRTQ_DESC_F_USED });
        await u.vq.notify();
        await u.t.bus.settle();
        const d = await u.vq.readDesc(0);
        return d.flags !== VIRTQ_DESC_F_USED || ((await u.drv.transport.getStatus()) & DEVICE_NEEDS_RESET) !== 0;
      },
      control: async (c) => packedRequest(await upPacked(c)),
      good: false, bad: true,
    },
    'packed-flags-before-body': {
      // Each write of the used descriptor watched: USED (for the lap) with a len that is not yet
      // the final one? (A transmit buffer is used with len 0, its descriptor says more.)
      probe: async (c) => {
        const u = await upPacked(c);
        const seen: Array<{ used: boolean; len: number }> = [];
        u.t.observeUsedWrites(async (_step, pos: RingPos) => {
          const d = await u.vq.readDesc(pos.off);
          seen.push({ used: isUsed(d.flags, pos.wrap), len: d.len });
        });
        if (await packedRequest(u) !== 'ok' || seen.length !== 2) throw new Error(`used-descriptor writes: ${JSON.stringify(seen)}`);
        return seen.some((x) => x.used && x.len !== seen[seen.length - 1]!.len);
      },
      good: false, bad: true,
    },
    'packed-used-wrap-not-toggled': {
      // Queue size 3, one-descriptor requests: the fourth is used in the second lap (wrap counter 0).
      probe: async (c) => {
        const u = await upPacked(c, V1, { queueSize: 3 });
        let last = '';
        for (let i = 0; i < 4; i++) last = await packedRequest(u);
        return last;
      },
      control: async (c) => packedRequest(await upPacked(c, V1, { queueSize: 3 })),
      good: 'ok', bad: 'used-flags',
    },
    'packed-in-order-out-of-order': {
      // IN_ORDER, three two-descriptor requests before one notification: used descriptor ids by submission order.
      probe: async (c) => {
        const u = await upPacked(c, V1 | bit(VIRTIO_F.IN_ORDER));
        const ids: number[] = [];
        for (let i = 0; i < 3; i++) {
          const { bytes } = transmitBytes(device, i);
          const a = await u.t.mem.alloc(bytes.length);
          await u.t.mem.write(a, bytes);
          ids.push(await u.vq.add(splitBuffer(a, bytes.length, 2, false)));
        }
        await u.vq.kick({ force: true });
        await u.t.bus.settle();
        const out: number[] = [];
        for (let off = 0; off < u.vq.size; off++) {
          const d = await u.vq.readDesc(off);
          if (isUsed(d.flags, 1)) out.push(ids.indexOf(d.id));
        }
        return out;
      },
      control: async (c) => packedRequest(await upPacked(c, V1 | bit(VIRTIO_F.IN_ORDER))),
      good: [2], bad: [2, 1, 0],
    },
    'packed-notifies-despite-disable': {
      probe: async (c) => { const u = await upPacked(c); await u.vq.disableUsedNotifications(); return packedNotifications(u); },
      control: async (c) => packedNotifications(await upPacked(c)),
      good: 0, bad: 1,
    },
    'packed-ignores-event-desc': {
      // EVENT_IDX: the first request notified; then the event 5 descriptors ahead, so the second is not.
      probe: async (c) => {
        const u = await upPacked(c, EVIDX);
        const first = await packedNotifications(u);
        await u.vq.setDriverEvent({ flags: RING_EVENT_FLAGS_DESC, off: u.vq.usedPosition().off + 5 });
        return [first, await packedNotifications(u)];
      },
      good: [1, 0], bad: [1, 1],
    },
    'packed-no-notify-when-enabled': {
      probe: async (c) => packedNotifications(await upPacked(c)),
      good: 1, bad: 0,
    },
    'packed-event-desc-late': {
      // EVENT_IDX, the event fixed at the first request's used descriptor: notifications for two requests.
      probe: async (c) => {
        const u = await upPacked(c, EVIDX);
        const ev = u.vq.usedPosition();
        const out: number[] = [];
        for (let i = 0; i < 2; i++) {
          await u.vq.setDriverEvent({ flags: RING_EVENT_FLAGS_DESC, off: ev.off, wrap: ev.wrap });
          out.push(await packedNotifications(u));
        }
        return out;
      },
      good: [1, 0], bad: [0, 1],
    },
    'packed-rejects-full-ring-chain': {
      // Queue size 3 and a three-descriptor list.
      probe: async (c) => packedRequest(await upPacked(c, V1, { queueSize: 3 }), { segments: 3 }),
      control: async (c) => packedRequest(await upPacked(c, V1, { queueSize: 4 }), { segments: 3 }),
      good: 'ok', bad: 'needs-reset',
    },
    // Net only (console probes it on its own port): frames of 60, 70 and 80 bytes made
    // available before one notification; the lengths on the wire, in wire order.
    ...(device === 'net' ? { 'packed-starts-out-of-ring-order': {
      probe: async (c: TransmitCtx) => {
        const u = await upPacked(c);
        for (const len of [60, 70, 80]) {
          const { bytes } = transmitBytes('net', len, len + 12);
          const a = await u.t.mem.alloc(bytes.length, 16);
          await u.t.mem.write(a, bytes);
          await addBuffers(u.vq, [{ addr: a, len: bytes.length, write: false }]);
        }
        await u.vq.kick({ force: true });
        await u.t.bus.settle();
        return (u.t as { wire?: { sent(): Uint8Array[] } }).wire!.sent().map((f) => f.length);
      },
      good: [60, 70, 80], bad: [70, 60, 80],
    } } : {}),
    'packed-bad-event-flags': {
      probe: async (c) => { const u = await upPacked(c); await packedRequest(u); return (await u.vq.deviceEvent()).flags; },
      good: 0, bad: 3,
    },
    'packed-event-desc-without-event-idx': {
      probe: async (c) => { const u = await upPacked(c); await packedRequest(u); return (await u.vq.deviceEvent()).flags; },
      control: async (c) => { const u = await upPacked(c, EVIDX); await packedRequest(u); return (await u.vq.deviceEvent()).flags; },
      good: 0, bad: 2,
    },
    // --- PCI ---
    'wrong-vendor-id': { probe: async (c) => (await open(c)).d.cfgRead(0, 2), good: 0x1af4, bad: 0x1af5 },
    'wrong-device-id': { probe: async (c) => (await open(c)).d.deviceId(), good: DEVICE_ID[device], bad: DEVICE_ID[device] + 1 },
    'no-common-cfg': { probe: async (c) => (await open(c)).d.caps.some((x) => x.cfgType === 1), good: true, bad: false },
    'no-notify-cap': { probe: async (c) => (await open(c)).d.caps.some((x) => x.cfgType === 2), good: true, bad: false },
    'no-isr-cap': { probe: async (c) => (await open(c)).d.caps.some((x) => x.cfgType === 3), good: true, bad: false },
    'odd-notify-multiplier': { probe: async (c) => (await open(c)).d.notifyMult, control: used, good: 4, bad: 6 },
    'feature-window-ignored': {
      // Window 2 reads as window 0 (the select wraps) instead of 0.
      probe: async (c) => {
        const { d } = await open(c);
        await d.setCommon('device_feature_select', 0);
        const w0 = await d.common('device_feature');
        await d.setCommon('device_feature_select', 2);
        return (await d.common('device_feature')) === w0;
      },
      control: async (c) => { const { d } = await open(c); return d.deviceFeatures(); },
      good: false, bad: true,
    },
    'queue-enable-kept-after-reset': {
      probe: async (c) => { const { d } = await up(c); await d.setStatus(0); await d.setCommon('queue_select', RQ); return d.common('queue_enable'); },
      control: async (c) => { const { d } = await up(c); await d.setStatus(0); return d.status(); },
      good: 0, bad: 1,
    },
    'non-pow2-queue-size': { probe: async (c) => isPow2(await (await open(c)).d.queueMax(RQ)), control: used, good: true, bad: false },
    'isr-not-cleared-on-read': {
      probe: async (c) => { const { d, q } = await up(c); await request(q); return [await d.takeInterrupt(), await d.takeInterrupt()]; },
      good: [1, 0], bad: [1, 1],
    },
    'msix-mapping-failure-hidden': {
      probe: async (c) => {
        const { d } = await up(c);
        const ctrl = await d.cfgRead(d.msixCapAt! + MSIX_CAP.msg_ctrl, 2);
        await d.cfgWrite(d.msixCapAt! + MSIX_CAP.msg_ctrl, 2, ctrl | MSIX_CTRL_ENABLE);
        await d.setCommon('queue_select', RQ);
        await d.setCommon('queue_msix_vector', (ctrl & 0x7ff) + 1);
        return (await d.common('queue_msix_vector')) === 0xffff;
      },
      control: async (c) => { const { d } = await up(c); await d.setCommon('queue_select', RQ); await d.setCommon('queue_msix_vector', 1); return d.common('queue_msix_vector'); },
      good: true, bad: false,
    },
    // --- MMIO ---
    'bad-magic': { probe: async (c) => (await open(c)).d.mmio('MagicValue'), good: 0x74726976, bad: 0x76697274 },
    'mmio-version-1': { probe: async (c) => (await open(c)).d.mmio('Version'), control: used, good: 2, bad: 1 },
    'mmio-reset-keeps-interrupt': {
      probe: async (c) => { const { d, q } = await up(c); await request(q); await d.setStatus(0); return [await d.mmio('InterruptStatus'), await d.mmio('QueueReady')]; },
      good: [0, 0], bad: [1, 0],
    },
    'mmio-uses-queue-not-ready': {
      probe: async (c) => {
        const { d } = await open(c);
        await d.negotiate(V1);
        const q = await d.setupQueue(RQ, 8, { ready: false });
        await d.setStatus(RUNNING);
        return (await request(q)) !== undefined;
      },
      control: used,
      good: false, bad: true,
    },
  };
}

