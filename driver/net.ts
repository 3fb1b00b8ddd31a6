// Network device driver helpers (spec 5.1): queue layout (receiveq/transmitq pairs, then
// controlq), receive buffers (one buffer each, canary-filled), transmission of frames with
// a chosen virtio_net_hdr, control commands, and the configuration fields.
import { hasBit } from '../virtio/features.ts';
import { DRIVER_OK } from '../virtio/status.ts';
import {
  NET_CONFIG, NET_HDR_SIZE, VIRTIO_NET_F, controlq, decodeNetHdr, encodeNetHdr, receiveq, transmitq, type NetHdr,
} from '../virtio/net.ts';
import { CANARY_A, fillCanary } from './canary.ts';
import type { Driver, InitOptions, InitResult } from './driver.ts';
import { addBuffers, type AnyUsedElem, type Virtqueue } from './ring.ts';
import { DriverError, TIMEOUT } from './wait.ts';

export interface NetQueues {
  /** receiveq1…receiveqN (index 0 = receiveq1). */
  rx: Virtqueue[];
  tx: Virtqueue[];
  ctrl?: Virtqueue;
  /** max_virtqueue_pairs as read (1 without MQ). */
  maxPairs: number;
}

export interface NetConfig { mac: Uint8Array; status: number; max_virtqueue_pairs: number; mtu: number; speed: number; duplex: number }

/** The configuration fields up to mtu (which are valid depends on the features). */
export async function readNetConfig(drv: Driver): Promise<NetConfig> {
  return drv.readConfigStable(async () => {
    const t = drv.transport;
    const mac = new Uint8Array(6);
    for (let i = 0; i < 6; i++) mac[i] = await t.readConfig(NET_CONFIG.mac[0] + i, 1);
    return {
      mac, status: await t.readConfig(NET_CONFIG.status[0], 2),
      max_virtqueue_pairs: await t.readConfig(NET_CONFIG.max_virtqueue_pairs[0], 2), mtu: await t.readConfig(NET_CONFIG.mtu[0], 2),
      speed: await t.readConfig(NET_CONFIG.speed[0], 4), duplex: await t.readConfig(NET_CONFIG.duplex[0], 1),
    };
  });
}

/**
 * Initialize a net device with `features` (default: the driver's default set) and set up
 * every queue the negotiated features give it: N pairs (N = max_virtqueue_pairs with MQ or
 * RSS, 5.1.2, else 1) and controlq with CTRL_VQ. Throws DriverError when MQ or RSS is
 * negotiated with a max_virtqueue_pairs the queues cannot follow (0, or beyond the device's queues).
 */
export async function netReady(drv: Driver, o: InitOptions = {}): Promise<{ init: InitResult; queues: NetQueues }> {
  const init = await drv.init({ ...o, stopBefore: 'queues' });
  if (!init.featuresOk) throw new DriverError('FEATURES_OK refused');
  const f = init.accepted;
  const mq = hasBit(f, VIRTIO_NET_F.MQ) || hasBit(f, VIRTIO_NET_F.RSS);
  const maxPairs = mq ? await drv.transport.readConfig(NET_CONFIG.max_virtqueue_pairs[0], 2) : 1;
  if (maxPairs < 1) throw new DriverError(`max_virtqueue_pairs ${maxPairs} with VIRTIO_NET_F_MQ or VIRTIO_NET_F_RSS: no queue layout`);
  const queues: NetQueues = { rx: [], tx: [], maxPairs };
  for (let n = 1; n <= maxPairs; n++) {
    queues.rx.push(await drv.setupQueue(receiveq(n), { size: o.queueSize }));
    queues.tx.push(await drv.setupQueue(transmitq(n), { size: o.queueSize }));
  }
  if (hasBit(f, VIRTIO_NET_F.CTRL_VQ)) queues.ctrl = await drv.setupQueue(controlq(mq, maxPairs), { size: o.queueSize });
  // Finish initialization: DRIVER_OK on top of what init() set.
  const status = await drv.transport.getStatus();
  await drv.transport.setStatus(status | DRIVER_OK);
  init.status = await drv.transport.getStatus();
  init.stoppedBefore = undefined;
  return { init, queues };
}

export interface RxBuffer { addr: number; len: number; id: number }

/** Post one device-writable buffer per size (canary-filled) on a receiveq and notify. */
export async function postRxBuffers(vq: Virtqueue, sizes: number[], canary = CANARY_A): Promise<RxBuffer[]> {
  const out: RxBuffer[] = [];
  for (const len of sizes) {
    const addr = await vq.mem.alloc(len, 16);
    await fillCanary(vq.mem, addr, len, canary);
    const id = await addBuffers(vq, [{ addr, len, write: true }]);
    out.push({ addr, len, id });
  }
  await vq.kick();
  return out;
}

export interface RxPacket {
  hdr: NetHdr;
  /** The frame after the header, reassembled over num_buffers buffers (or every buffer used). */
  frame: Uint8Array;
  /** Used elements in the order the device used them. */
  used: Array<{ id: number; len: number; size: number }>;
}

/** Every used element of a receiveq available now (no wait). */
export async function takeUsed(vq: Virtqueue): Promise<AnyUsedElem[]> {
  const out: AnyUsedElem[] = [];
  for (;;) {
    const e = await vq.getUsed({ validate: true });
    if (!e) return out;
    out.push(e);
  }
}

/**
 * Read the packet at the start of `elems` (used elements of `bufs`): its header, then as
 * many buffers as num_buffers says (at least one, at most what was used); one buffer when
 * `mergeable` is false (MRG_RXBUF not negotiated).
 */
export async function readRxPacket(vq: Virtqueue, bufs: RxBuffer[], elems: AnyUsedElem[], o: { mergeable?: boolean } = {}): Promise<RxPacket> {
  if (elems.length === 0) throw new DriverError('no used receive buffer');
  const find = (id: number): RxBuffer => {
    const b = bufs.find((x) => x.id === id);
    if (!b) throw new DriverError(`used id ${id} is not one of the posted receive buffers`);
    return b;
  };
  const first = find(elems[0]!.id);
  const head = await vq.mem.read(first.addr, Math.max(NET_HDR_SIZE, Math.min(first.len, elems[0]!.len)));
  const hdr = decodeNetHdr(head.subarray(0, NET_HDR_SIZE));
  // Without MRG_RXBUF a packet is one buffer, whatever num_buffers says.
  const count = o.mergeable === false ? 1 : Math.min(Math.max(hdr.num_buffers, 1), elems.length);
  const parts: Uint8Array[] = [];
  const used: RxPacket['used'] = [];
  for (let i = 0; i < count; i++) {
    const b = find(elems[i]!.id);
    const len = Math.min(elems[i]!.len, b.len);
    parts.push(await vq.mem.read(b.addr, len));
    used.push({ id: b.id, len: elems[i]!.len, size: b.len });
  }
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) { all.set(p, off); off += p.length; }
  return { hdr, frame: all.slice(NET_HDR_SIZE), used };
}

/** Transmit one frame with header fields `hdr` (default all 0); waits until the device used it. */
export async function sendFrame(vq: Virtqueue, frame: Uint8Array, hdr: Partial<NetHdr> = {}, o: { split?: boolean; timeoutMs?: number } = {}): Promise<AnyUsedElem> {
  const h = encodeNetHdr(hdr);
  const mem = vq.mem;
  const bytes = new Uint8Array(h.length + frame.length);
  bytes.set(h, 0);
  bytes.set(frame, h.length);
  const addr = await mem.alloc(bytes.length, 16);
  await mem.write(addr, bytes);
  // Header and frame in one descriptor, or (split) the header in its own.
  const bufs = o.split ? [{ addr, len: h.length, write: false }, { addr: addr + h.length, len: frame.length, write: false }] : [{ addr, len: bytes.length, write: false }];
  await addBuffers(vq, bufs);
  await vq.kick();
  return vq.waitUsed(o.timeoutMs ?? TIMEOUT.used, { validate: true });
}

export interface CtrlResult { ack: number; ackWritten: boolean; usedLen: number }

/**
 * One control command: class and command (readable), command-specific data (readable,
 * one descriptor per part), ack (writable, canary 0xa5 so an unwritten ack shows).
 */
export async function ctrlCommand(vq: Virtqueue, cls: number, cmd: number, data: Uint8Array | Uint8Array[] = [], o: { timeoutMs?: number } = {}): Promise<CtrlResult> {
  const mem = vq.mem;
  const parts = Array.isArray(data) ? data : [data];
  const head = await mem.alloc(2);
  await mem.write(head, new Uint8Array([cls, cmd]));
  const bufs = [{ addr: head, len: 2, write: false }];
  for (const p of parts.filter((x) => x.length > 0)) {
    const a = await mem.alloc(p.length);
    await mem.write(a, p);
    bufs.push({ addr: a, len: p.length, write: false });
  }
  const ackAddr = await mem.alloc(1);
  const CANARY = 0xa5;
  await mem.write(ackAddr, new Uint8Array([CANARY]));
  bufs.push({ addr: ackAddr, len: 1, write: true });
  await addBuffers(vq, bufs);
  await vq.kick();
  const e = await vq.waitUsed(o.timeoutMs ?? TIMEOUT.used, { validate: true });
  const ack = (await mem.read(ackAddr, 1))[0]!;
  return { ack, ackWritten: ack !== CANARY, usedLen: e.len };
}

export interface CtrlResultWithData extends CtrlResult {
  /** The command-specific-result buffer as it reads after the command (canary 0xa5 where unwritten). */
  result: Uint8Array;
}

/**
 * A control command whose answer has a command-specific-result (STATS, NOTF_COAL VQ_GET):
 * ack and a `resultLen`-byte result buffer, both device-writable, the result canary-filled.
 */
export async function ctrlCommandResult(vq: Virtqueue, cls: number, cmd: number, data: Uint8Array | Uint8Array[], resultLen: number, o: { timeoutMs?: number } = {}): Promise<CtrlResultWithData> {
  const mem = vq.mem;
  const CANARY = 0xa5;
  const parts = (Array.isArray(data) ? data : [data]).filter((x) => x.length > 0);
  const head = await mem.alloc(2);
  await mem.write(head, new Uint8Array([cls, cmd]));
  const bufs = [{ addr: head, len: 2, write: false }];
  for (const p of parts) {
    const a = await mem.alloc(p.length);
    await mem.write(a, p);
    bufs.push({ addr: a, len: p.length, write: false });
  }
  const ackAddr = await mem.alloc(1);
  await mem.write(ackAddr, new Uint8Array([CANARY]));
  bufs.push({ addr: ackAddr, len: 1, write: true });
  const resAddr = resultLen > 0 ? await mem.alloc(resultLen, 8) : 0;
  if (resultLen > 0) {
    await mem.write(resAddr, new Uint8Array(resultLen).fill(CANARY));
    bufs.push({ addr: resAddr, len: resultLen, write: true });
  }
  await addBuffers(vq, bufs);
  await vq.kick();
  const e = await vq.waitUsed(o.timeoutMs ?? TIMEOUT.used, { validate: true });
  const ack = (await mem.read(ackAddr, 1))[0]!;
  const result = resultLen > 0 ? await mem.read(resAddr, resultLen) : new Uint8Array(0);
  return { ack, ackWritten: ack !== CANARY, usedLen: e.len, result };
}
