// The reference net device through the suite's driver: receive (single and merged
// buffers), transmit, control commands, MQ steering, link status.
import { describe, expect, it } from 'vitest';
import { createReferenceTarget } from '../../adapters/reference/index.ts';
import { openDriver } from '../../driver/open.ts';
import { ctrlCommand, netReady, postRxBuffers, readNetConfig, readRxPacket, sendFrame, takeUsed } from '../../driver/net.ts';
import { bit } from '../../virtio/features.ts';
import { VIRTIO_F } from '../../virtio/features.ts';
import {
  VIRTIO_NET_CTRL, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_RX, VIRTIO_NET_F, VIRTIO_NET_OK, VIRTIO_NET_S_LINK_UP, makeFrame, parseMac,
} from '../../virtio/net.ts';

const OTHER = parseMac('02:00:00:00:00:99');
const feats = (...n: number[]) => n.reduce((f, x) => f | bit(x), bit(VIRTIO_F.VERSION_1));

async function open(features: bigint, transport: 'pci' | 'mmio' = 'pci', defect?: string) {
  const t = await createReferenceTarget({ device: 'net', transport, defect });
  const drv = await openDriver(t, {});
  const r = await netReady(drv, { features });
  return { t, drv, ...r };
}

describe('reference net device', () => {
  for (const transport of ['pci', 'mmio'] as const) {
    it(`receives a frame into one buffer with num_buffers 1 (${transport})`, async () => {
      const { t, drv, queues } = await open(feats(VIRTIO_NET_F.MAC), transport);
      const cfg = await readNetConfig(drv);
      const bufs = await postRxBuffers(queues.rx[0]!, [2048, 2048]);
      const f = makeFrame({ dst: cfg.mac, src: OTHER, len: 1000 });
      await t.wire!.inject(f);
      const used = await takeUsed(queues.rx[0]!);
      expect(used.length).toBe(1);
      const p = await readRxPacket(queues.rx[0]!, bufs, used);
      expect(p.hdr.num_buffers).toBe(1);
      expect(p.hdr.flags).toBe(0);
      expect(Buffer.from(p.frame).equals(Buffer.from(f))).toBe(true);
    });
  }

  it('merges receive buffers with MRG_RXBUF', async () => {
    const { t, drv, queues } = await open(feats(VIRTIO_NET_F.MAC, VIRTIO_NET_F.MRG_RXBUF));
    const cfg = await readNetConfig(drv);
    const bufs = await postRxBuffers(queues.rx[0]!, [512, 512, 512, 512]);
    const f = makeFrame({ dst: cfg.mac, src: OTHER, len: 1200 });
    await t.wire!.inject(f);
    const used = await takeUsed(queues.rx[0]!);
    const p = await readRxPacket(queues.rx[0]!, bufs, used);
    expect(p.hdr.num_buffers).toBe(3);
    expect(used.map((u) => u.len)).toEqual([512, 512, 188]);
    expect(Buffer.from(p.frame).equals(Buffer.from(f))).toBe(true);
  });

  it('transmits frames unchanged onto the wire', async () => {
    const { t, queues } = await open(feats(VIRTIO_NET_F.MAC));
    const f = makeFrame({ dst: OTHER, src: parseMac('02:00:00:00:00:01'), len: 300, l4: 'udp4' });
    await sendFrame(queues.tx[0]!, f);
    const sent = t.wire!.sent();
    expect(sent.length).toBe(1);
    expect(Buffer.from(sent[0]!).equals(Buffer.from(f))).toBe(true);
  });

  it('filters by MAC with promiscuous mode off, steers only to receiveq1 before VQ_PAIRS_SET', async () => {
    const { t, drv, queues } = await open(feats(VIRTIO_NET_F.MAC, VIRTIO_NET_F.CTRL_VQ, VIRTIO_NET_F.CTRL_RX, VIRTIO_NET_F.MQ));
    expect(queues.rx.length).toBe(2);
    const cfg = await readNetConfig(drv);
    const r = await ctrlCommand(queues.ctrl!, VIRTIO_NET_CTRL.RX, VIRTIO_NET_CTRL_RX.PROMISC, new Uint8Array([0]));
    expect(r.ack).toBe(VIRTIO_NET_OK);
    await postRxBuffers(queues.rx[0]!, [2048, 2048, 2048, 2048]);
    await postRxBuffers(queues.rx[1]!, [2048, 2048, 2048, 2048]);
    await t.wire!.inject(makeFrame({ dst: OTHER, src: OTHER, len: 100 }));
    expect((await takeUsed(queues.rx[0]!)).length).toBe(0);
    for (let i = 0; i < 3; i++) await t.wire!.inject(makeFrame({ dst: cfg.mac, src: OTHER, len: 100, seed: i }));
    expect((await takeUsed(queues.rx[0]!)).length).toBe(3);
    expect((await takeUsed(queues.rx[1]!)).length).toBe(0);
    const m = await ctrlCommand(queues.ctrl!, VIRTIO_NET_CTRL.MQ, VIRTIO_NET_CTRL_MQ.VQ_PAIRS_SET, new Uint8Array([2, 0]));
    expect(m.ack).toBe(VIRTIO_NET_OK);
    for (let i = 0; i < 2; i++) await t.wire!.inject(makeFrame({ dst: cfg.mac, src: OTHER, len: 100, seed: i }));
    expect((await takeUsed(queues.rx[1]!)).length).toBe(1);
  });

  it('link down clears LINK_UP and changes config_generation', async () => {
    const { t, drv } = await open(feats(VIRTIO_NET_F.STATUS));
    const g0 = await drv.transport.configGeneration();
    expect((await readNetConfig(drv)).status & VIRTIO_NET_S_LINK_UP).toBe(1);
    await t.wire!.setLink!(false);
    expect((await readNetConfig(drv)).status & VIRTIO_NET_S_LINK_UP).toBe(0);
    expect(await drv.transport.configGeneration()).not.toBe(g0);
    expect(await drv.transport.takeConfigNotifications()).toBeGreaterThan(0);
  });
});
