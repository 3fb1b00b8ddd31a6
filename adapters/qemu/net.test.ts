// QEMU's virtio-net with the suite as the wire (-netdev socket,udp=…): frames both ways,
// the link through QMP set_link, a reset for reuse that brings the link back up. Skipped
// without QEMU.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openDriver } from '../../driver/open.ts';
import { netReady, postRxBuffers, readNetConfig, readRxPacket, sendFrame, takeUsed } from '../../driver/net.ts';
import { VIRTIO_F, bit } from '../../virtio/features.ts';
import { VIRTIO_NET_F, VIRTIO_NET_S_LINK_UP, formatMac, makeFrame, parseMac } from '../../virtio/net.ts';
import { NET_MAC, NET_MTU, createQemuTarget } from './index.ts';

const HAVE_QEMU = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).status === 0;
const F = VIRTIO_NET_F;
const feats = (...n: number[]): bigint => n.reduce((f, x) => f | bit(x), bit(VIRTIO_F.VERSION_1));
const PEER = parseMac('02:00:5e:00:00:01');
const settle = () => new Promise((r) => setTimeout(r, 200));

describe.skipIf(!HAVE_QEMU)('QEMU virtio-net with the suite as the wire', () => {
  for (const transport of ['pci', 'mmio'] as const) {
    it(`frames both ways, link state, reset (${transport})`, async () => {
      const t = await createQemuTarget({ device: 'net', transport });
      try {
        expect(t.commandLine.join(' ')).toMatch(/-netdev socket,id=n0,udp=127\.0\.0\.1:\d+,localaddr=127\.0\.0\.1:\d+/);
        const d = await openDriver(t, {});
        const { queues } = await netReady(d, { features: feats(F.MAC, F.STATUS, F.MTU, F.MRG_RXBUF) });
        const cfg = await readNetConfig(d);
        expect(formatMac(cfg.mac)).toBe(NET_MAC);
        expect(cfg.mtu).toBe(NET_MTU);
        expect(cfg.status & VIRTIO_NET_S_LINK_UP).toBe(1);
        // wire → driver
        const bufs = await postRxBuffers(queues.rx[0]!, [2048, 2048]);
        const f = makeFrame({ dst: cfg.mac, src: PEER, len: 1000 });
        await t.wire!.inject(f);
        await settle();
        const used = await takeUsed(queues.rx[0]!);
        const p = await readRxPacket(queues.rx[0]!, bufs, used, { mergeable: true });
        expect(p.hdr.num_buffers).toBe(1);
        expect(Buffer.from(p.frame).equals(Buffer.from(f))).toBe(true);
        // driver → wire
        const out = makeFrame({ dst: PEER, src: cfg.mac, len: 300, l4: 'udp4' });
        await sendFrame(queues.tx[0]!, out);
        await settle();
        const sent = t.wire!.sent();
        expect(sent.map((s) => Buffer.from(s).equals(Buffer.from(out)))).toEqual([true]);
        // link down: status and config_generation change
        const g0 = await d.transport.configGeneration();
        await t.wire!.setLink!(false);
        expect((await readNetConfig(d)).status & VIRTIO_NET_S_LINK_UP).toBe(0);
        expect(await d.transport.configGeneration()).not.toBe(g0);
        // a reset for reuse brings the link back up
        await t.reset();
        const d2 = await openDriver(t, {});
        await netReady(d2, { features: feats(F.STATUS) });
        expect((await readNetConfig(d2)).status & VIRTIO_NET_S_LINK_UP).toBe(1);
      } finally {
        await t.close();
      }
    }, 60_000);
  }
});
