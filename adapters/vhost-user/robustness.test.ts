// A misbehaving back-end (a fake written here on the native addon's listen/accept — the
// one place a fake is right) must give a clear error, never a hang, crash or fd leak:
// closed socket, silence, wrong request code, wrong size, missing REPLY flag, unexpected
// fds, refusals. Also: only our memfds and eventfds are ever sent, and what has no
// vhost-user equivalent is NOT_APPLICABLE.
import { fstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accept, close, eventfd, eventfdWrite, listen, nativeAvailable, recvmsg, sendmsg, watch, type Watch } from '../../native/index.ts';
import { leakedFds, openFds, timeoutScale } from '../../native/testing.ts';
import { DEVICE_NEEDS_RESET, FEATURES_OK } from '../../virtio/status.ts';
import { FLAG, HEADER_SIZE, PROTOCOL_F, REQ, decodeHeader, encodeMessage, u64 } from './protocol.ts';
import { createVhostUserTarget, VhostUserError, VhostUserRefused, type VhostUserTarget } from './index.ts';

interface Msg { request: number; flags: number; payload: Uint8Array; fds: number[]; fdKinds: string[]; fdSizes: number[] }
type Action =
  | { reply: Uint8Array; fds?: number[] } // raw bytes to send back
  | { close: true }
  | { silent: true }
  | undefined; // default behaviour

const bit = (n: number) => 1n << BigInt(n);

/** A scripted back-end on one listening socket; `script` can override any request. */
class FakeBackend {
  readonly messages: Msg[] = [];
  private lfd: number;
  private cfd = -1;
  private watches: Watch[] = [];
  features = bit(32) | bit(30);
  /** Signal every ring error eventfd received (a back-end reporting a broken ring). */
  signalErr = false;
  protocol = bit(PROTOCOL_F.REPLY_ACK) | bit(PROTOCOL_F.CONFIG);

  constructor(path: string, private readonly script: (m: Msg) => Action = () => undefined) {
    this.lfd = listen(path);
    this.watches.push(watch(this.lfd, 'readable', () => {
      const c = accept(this.lfd);
      if (c === null) return;
      this.cfd = c;
      this.watches.push(watch(c, 'readable', () => this.onReadable()));
    }));
  }

  private onReadable(): void {
    const h = recvmsg(this.cfd, HEADER_SIZE, 8);
    if (!h) return;
    if (h.data.length === 0) { this.stop(); return; }
    const hdr = decodeHeader(h.data);
    let payload: Uint8Array = new Uint8Array();
    if (hdr.size) {
      const p = recvmsg(this.cfd, hdr.size, 0); // one sendmsg per message: the payload is there
      payload = p?.data ?? new Uint8Array();
    }
    const m: Msg = { request: hdr.request, flags: hdr.flags, payload, fds: h.fds, fdKinds: h.fds.map((fd) => readlinkSync(`/proc/self/fd/${fd}`)), fdSizes: h.fds.map((fd) => fstatSync(fd).size) };
    if (hdr.request === REQ.SET_VRING_ERR && this.signalErr) for (const fd of h.fds) eventfdWrite(fd, 1n);
    for (const fd of h.fds) close(fd); // recorded what they were; never keep them
    this.messages.push(m);
    const a = this.script(m);
    if (a && 'close' in a) { this.stop(); return; }
    if (a && 'silent' in a) return;
    if (a && 'reply' in a) { sendmsg(this.cfd, a.reply, a.fds ?? []); return; }
    const r = this.defaultReply(m);
    if (r) sendmsg(this.cfd, r);
  }

  private defaultReply(m: Msg): Uint8Array | undefined {
    const rep = (p: Uint8Array) => encodeMessage(m.request, FLAG.VERSION | FLAG.REPLY, p);
    switch (m.request) {
      case REQ.GET_FEATURES: return rep(u64(this.features));
      case REQ.GET_PROTOCOL_FEATURES: return rep(u64(this.protocol));
      case REQ.GET_QUEUE_NUM: return rep(u64(1n));
      case REQ.GET_CONFIG: return rep(m.payload);
      case REQ.GET_VRING_BASE: return rep(m.payload);
      default: return m.flags & FLAG.NEED_REPLY ? rep(u64(0n)) : undefined;
    }
  }

  stop(): void {
    for (const w of this.watches) w.stop();
    this.watches = [];
    if (this.cfd >= 0) { close(this.cfd); this.cfd = -1; }
    if (this.lfd >= 0) { close(this.lfd); this.lfd = -1; }
  }
}

const reply = (req: number, payload: Uint8Array, flags = FLAG.VERSION | FLAG.REPLY) => ({ reply: encodeMessage(req, flags, payload) });

describe.skipIf(!nativeAvailable())('vhost-user adapter against a misbehaving back-end', () => {
  let dir: string;
  let sock: string;
  let fake: FakeBackend | undefined;
  let t: VhostUserTarget | undefined;
  let before: Map<number, string>;
  // short reply timeouts: a silent back-end costs 200 ms, not 5 s
  const scale = 0.04 * timeoutScale;

  beforeEach(() => {
    before = openFds();
    dir = mkdtempSync(join(tmpdir(), 'cts-vu-fake-'));
    sock = join(dir, 'be.sock');
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake?.stop();
    fake = undefined;
    rmSync(dir, { recursive: true, force: true });
    expect(leakedFds(before)).toEqual([]);
  });

  const start = (script?: (m: Msg) => Action) => { fake = new FakeBackend(sock, script); };
  const target = async () => (t = await createVhostUserTarget({ socket: sock, device: 'blk', timeoutScale: scale }));
  const failure = async (p: Promise<unknown>): Promise<VhostUserError> => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(VhostUserError);
    expect((e as VhostUserError).wedged).toBe(true);
    return e as VhostUserError;
  };

  it('a well-behaved fake: only our memfds on SET_MEM_TABLE, only eventfds on KICK/CALL, every step acked', async () => {
    start();
    const tg = await target();
    await tg.transport.writeDriverFeatures(bit(32));
    await tg.transport.setupQueue(0, { size: 8, desc: 0x100000, driver: 0x101000, device: 0x102000 });
    const m = fake!.messages;
    expect(m.map((x) => x.request)).toEqual([
      REQ.GET_FEATURES, REQ.GET_PROTOCOL_FEATURES, REQ.SET_PROTOCOL_FEATURES, REQ.SET_OWNER, REQ.SET_MEM_TABLE,
      REQ.SET_FEATURES, REQ.SET_VRING_NUM, REQ.SET_VRING_BASE, REQ.SET_VRING_ADDR, REQ.SET_VRING_CALL, REQ.SET_VRING_ERR, REQ.SET_VRING_KICK, REQ.SET_VRING_ENABLE,
    ]);
    // every message after SET_PROTOCOL_FEATURES without a reply of its own asks for an ack
    for (const x of m.slice(3)) expect(x.flags & FLAG.NEED_REPLY, `request ${x.request}`).toBe(FLAG.NEED_REPLY);
    const table = m.find((x) => x.request === REQ.SET_MEM_TABLE)!;
    expect(table.fdKinds).toHaveLength(1);
    expect(table.fdKinds[0]).toMatch(/^\/memfd:virtio-cts-guest-ram-0/);
    // the memfd is exactly the region: nothing beyond guest memory is reachable through it
    expect(table.fdSizes).toEqual([64 << 20]);
    expect(new DataView(table.payload.buffer, table.payload.byteOffset).getBigUint64(8 + 8, true)).toBe(BigInt(64 << 20));
    const all = m.flatMap((x) => x.fdKinds);
    expect(all.filter((k) => !k.startsWith('/memfd:virtio-cts-guest-ram') && k !== 'anon_inode:[eventfd]')).toEqual([]);
    // SET_FEATURES carries bit 30 (protocol features in use) on top of what the driver wrote
    const sf = m.find((x) => x.request === REQ.SET_FEATURES)!;
    expect(new DataView(sf.payload.buffer, sf.payload.byteOffset).getBigUint64(0, true)).toBe(bit(32) | bit(30));
    // SET_VRING_ADDR holds front-end addresses, not the guest-physical ones
    const addr = m.find((x) => x.request === REQ.SET_VRING_ADDR)!;
    const desc = new DataView(addr.payload.buffer, addr.payload.byteOffset).getBigUint64(8, true);
    expect(desc).not.toBe(0x100000n);
    expect(desc & 0xfffffn).toBe(0n);
  });

  it('a signal on a ring error eventfd reads as DEVICE_NEEDS_RESET until the next reset', async () => {
    start();
    fake!.signalErr = true;
    const tg = await target();
    await tg.transport.writeDriverFeatures(bit(32));
    await tg.transport.setStatus(1 | 2 | FEATURES_OK);
    expect(await tg.transport.getStatus()).toBe(1 | 2 | FEATURES_OK);
    await tg.transport.setupQueue(0, { size: 8, desc: 0x100000, driver: 0x101000, device: 0x102000 });
    expect(await tg.transport.getStatus()).toBe(1 | 2 | FEATURES_OK | DEVICE_NEEDS_RESET);
    expect(tg.transport.ringErrors).toEqual([0]);
    await tg.transport.reset();
    expect(await tg.transport.getStatus()).toBe(0);
    // the reset stopped the ring with GET_VRING_BASE (no RESET_DEVICE offered)
    expect(fake!.messages.at(-1)!.request).toBe(REQ.GET_VRING_BASE);
  });

  it('socket closed instead of a reply → closed error naming the request; later calls fail at once', async () => {
    start((m) => (m.request === REQ.GET_CONFIG ? { close: true } : undefined));
    const tg = await target();
    const e = await failure(tg.transport.readConfig(0, 4));
    expect(e.kind).toBe('closed');
    expect(e.message).toMatch(/GET_CONFIG/);
    const again = await failure(tg.transport.readDeviceFeatures());
    expect(again.message).toMatch(/unusable after an earlier error/);
  });

  it('a silent back-end → timeout error (scaled), not a hang', async () => {
    start((m) => (m.request === REQ.SET_OWNER ? { silent: true } : undefined));
    const t0 = performance.now();
    const e = await failure(target());
    expect(e.kind).toBe('timeout');
    expect(e.message).toMatch(/SET_OWNER/);
    expect(performance.now() - t0).toBeLessThan(3000 * timeoutScale);
  });

  it('wrong request code, wrong size, missing REPLY flag, wrong version → protocol errors', async () => {
    const cases: Array<[(m: Msg) => Action, RegExp]> = [
      [(m) => (m.request === REQ.GET_FEATURES ? reply(REQ.GET_PROTOCOL_FEATURES, u64(0n)) : undefined), /carries request code 15/],
      [(m) => (m.request === REQ.GET_FEATURES ? reply(REQ.GET_FEATURES, new Uint8Array(4)) : undefined), /size 4, expected 8/],
      [(m) => (m.request === REQ.GET_FEATURES ? reply(REQ.GET_FEATURES, u64(0n), FLAG.VERSION) : undefined), /lacks the REPLY flag/],
      [(m) => (m.request === REQ.GET_FEATURES ? reply(REQ.GET_FEATURES, u64(0n), 0x2 | FLAG.REPLY) : undefined), /version 2/],
      [(m) => (m.request === REQ.SET_MEM_TABLE ? reply(REQ.SET_MEM_TABLE, new Uint8Array(0xffff)) : undefined), /size 65535, expected 8/],
    ];
    for (const [script, msg] of cases) {
      start(script);
      const e = await failure(target());
      expect(e.kind).toBe('protocol');
      expect(e.message).toMatch(msg);
      expect(e.message).toMatch(/last messages:/);
      fake!.stop();
      rmSync(sock, { force: true });
    }
  });

  it('a reply cut short by a close, and a back-end that answers twice → closed / protocol errors', async () => {
    start((m) => (m.request === REQ.GET_PROTOCOL_FEATURES ? { reply: encodeMessage(REQ.GET_PROTOCOL_FEATURES, FLAG.VERSION | FLAG.REPLY, u64(0n)).subarray(0, 16) } : undefined));
    const cut = fake!;
    const p = target();
    // the 4 payload bytes sent, then the socket closes
    setTimeout(() => cut.stop(), 50);
    const e1 = await failure(p);
    expect(e1.kind).toBe('closed');
    expect(e1.message).toMatch(/8-byte reply payload of GET_PROTOCOL_FEATURES/);
    rmSync(sock, { force: true });
    start((m) => {
      if (m.request !== REQ.SET_OWNER) return undefined;
      const ack = encodeMessage(REQ.SET_OWNER, FLAG.VERSION | FLAG.REPLY, u64(0n));
      const both = new Uint8Array(ack.length * 2);
      both.set(ack); both.set(ack, ack.length);
      return { reply: both };
    });
    const e2 = await failure(target());
    expect(e2.kind).toBe('protocol');
    expect(e2.message).toMatch(/reply to SET_MEM_TABLE carries request code 3 \(SET_OWNER\)/);
  });

  it('fds on a reply → protocol error, and the fds are closed (no leak)', async () => {
    const efd = eventfd();
    start((m) => (m.request === REQ.GET_PROTOCOL_FEATURES ? { ...reply(REQ.GET_PROTOCOL_FEATURES, u64(0n)), fds: [efd, efd] } : undefined));
    const e = await failure(target());
    close(efd);
    expect(e.kind).toBe('protocol');
    expect(e.message).toMatch(/unexpected fd/);
  });

  it('a non-zero REPLY_ACK is a refusal (not wedged); on SET_FEATURES it is the answer to FEATURES_OK', async () => {
    start((m) => (m.request === REQ.SET_FEATURES ? reply(REQ.SET_FEATURES, u64(1n)) : m.request === REQ.SET_VRING_NUM ? reply(REQ.SET_VRING_NUM, u64(22n)) : undefined));
    const tg = await target();
    await tg.transport.setStatus(1 | 2);
    await tg.transport.writeDriverFeatures(bit(32));
    await tg.transport.setStatus(1 | 2 | FEATURES_OK);
    expect((await tg.transport.getStatus()) & FEATURES_OK).toBe(0);
    const e = await tg.transport.setupQueue(0, { size: 8, desc: 0x100000, driver: 0x101000, device: 0x102000 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VhostUserRefused);
    expect((e as Error).message).toMatch(/SET_VRING_NUM.*0x16/);
    expect((e as { wedged?: boolean }).wedged).toBeUndefined();
  });

  it('without STATUS, REPLY_ACK and CONFIG: FEATURES_OK read-back, config, generation and queue count are NOT_APPLICABLE', async () => {
    start();
    fake!.protocol = 0n;
    fake!.features |= bit(26); // VHOST_F_LOG_ALL: vhost's own bit, like 30
    const tg = await target();
    expect(await tg.transport.readDeviceFeatures()).toBe(bit(32));
    expect(fake!.messages.every((x) => !(x.flags & FLAG.NEED_REPLY))).toBe(true);
    await tg.transport.writeDriverFeatures(bit(32));
    await tg.transport.setStatus(1 | 2 | FEATURES_OK);
    await tg.transport.setupQueue(0, { size: 8, desc: 0x100000, driver: 0x101000, device: 0x102000 });
    // the back-end never hears of DRIVER_OK: a kick before it tests the protocol, not the device
    for (const p of [tg.transport.notify(0), tg.transport.getStatus(), tg.transport.readConfig(0, 4), tg.transport.configGeneration(), tg.transport.numQueues(), tg.transport.takeConfigNotifications(), tg.bus.read(0, 4)]) {
      const e = await p.then(() => undefined, (x: Error) => x);
      expect(e?.name).toBe('NotApplicable');
    }
  });

  it('blk options with --socket (a running back-end) are NOT_APPLICABLE, before any connection', async () => {
    start();
    const e = await createVhostUserTarget({ socket: sock, device: 'blk', blk: { readOnly: true } }).then(() => undefined, (x: Error) => x);
    expect(e?.name).toBe('NotApplicable');
    expect(fake!.messages).toEqual([]);
  });

  it('no back-end at the socket path → timeout error after the scaled connect wait', async () => {
    const e = await failure(createVhostUserTarget({ socket: join(dir, 'nobody.sock'), device: 'blk', timeoutScale: 0.01 * timeoutScale }));
    expect(e.message).toMatch(/no back-end listening/);
  });
});
