// End to end through the registers: a hand-written driver (mini-driver.ts) initialises
// the reference entropy and blk devices on virtio-pci and virtio-mmio and makes requests.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/errors.ts';
import {
  BLK_REQ_HDR_SIZE, SECTOR_SIZE, VIRTIO_BLK_F, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T,
  encodeDiscardWz, encodeReqHeader,
} from '../../virtio/blk.ts';
import { VIRTIO_F, bit } from '../../virtio/features.ts';
import { DEVICE_ID } from '../../virtio/ids.ts';
import { MSIX_CAP, MSIX_CTRL_ENABLE, VIRTIO_MSI_NO_VECTOR, VIRTIO_PCI_CAP_COMMON_CFG } from '../../virtio/pci.ts';
import { VIRTQ_AVAIL_F_NO_INTERRUPT } from '../../virtio/split-ring.ts';
import { ACKNOWLEDGE, DEVICE_NEEDS_RESET, DRIVER, DRIVER_OK, FEATURES_OK } from '../../virtio/status.ts';
import { MICROVM_IRQ_LINE, MICROVM_MMIO_BASE, Q35_IRQ_LINE, Q35_SLOT } from '../qemu/index.ts';
import { DEFAULT_BLK_SERIAL } from '../../emulator/models/blk.ts';
import { MSIX_BAR, MSIX_PBA_OFFSET } from '../../emulator/pci.ts';
import { MMIO_BASE, MMIO_IRQ_LINE, PCI_IRQ_LINE, PCI_SLOT, createReferenceTarget, type ReferenceTargetOptions } from './index.ts';
import { MiniDriver, type Ring } from './mini-driver.ts';

const V1 = bit(VIRTIO_F.VERSION_1);
const RUNNING = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK;

async function up(o: ReferenceTargetOptions, features = V1, size = 8) {
  const t = await createReferenceTarget(o);
  const d = await MiniDriver.open(t);
  expect(await d.negotiate(features)).toBe(true);
  const q = await d.setupQueue(0, size);
  await d.setStatus(RUNNING);
  return { t, d, q };
}

/** One blk request: header, optional out data, `inLen` writable bytes, status byte. */
async function blk(r: Ring, type: number, sector: bigint, o: { out?: Uint8Array; inLen?: number } = {}) {
  const mem = r.drv.t.mem;
  const hdr = await mem.alloc(BLK_REQ_HDR_SIZE);
  await mem.write(hdr, encodeReqHeader(type, sector));
  const bufs = [{ addr: hdr, len: BLK_REQ_HDR_SIZE, write: false }];
  if (o.out) {
    const a = await mem.alloc(o.out.length);
    await mem.write(a, o.out);
    bufs.push({ addr: a, len: o.out.length, write: false });
  }
  let data = 0;
  if (o.inLen) { data = await mem.alloc(o.inLen); bufs.push({ addr: data, len: o.inLen, write: true }); }
  const st = await mem.alloc(1);
  await mem.write(st, new Uint8Array([0xff]));
  bufs.push({ addr: st, len: 1, write: true });
  const used = await r.request(bufs);
  expect(used).toBeDefined();
  return {
    status: (await mem.read(st, 1))[0], len: used!.len,
    data: o.inLen ? await mem.read(data, o.inLen) : new Uint8Array(0),
  };
}

describe('reference target: placement', () => {
  it('sits where the QEMU adapter puts its devices', () => {
    expect([PCI_SLOT, PCI_IRQ_LINE, MMIO_BASE, MMIO_IRQ_LINE]).toEqual([Q35_SLOT, Q35_IRQ_LINE, MICROVM_MMIO_BASE, MICROVM_IRQ_LINE]);
  });

  it('refuses unknown defects, devices and transports with a UsageError', async () => {
    await expect(createReferenceTarget({ device: 'blk', transport: 'pci', defect: 'nope' })).rejects.toThrow(UsageError);
    await expect(createReferenceTarget({ device: 'blk', transport: 'pci', defect: 'nope' })).rejects.toThrow(/used-len-too-long/);
    await expect(createReferenceTarget({ device: 'gpu' as 'blk', transport: 'pci' })).rejects.toThrow(UsageError);
    await expect(createReferenceTarget({ device: 'blk', transport: 'ccw' as 'pci' })).rejects.toThrow(UsageError);
  });

  it('PCI: IDs, revision, class, BARs that size and place, an empty slot reads all ones', async () => {
    const t = await createReferenceTarget({ device: 'blk', transport: 'pci' });
    const a = { bus: 0, device: PCI_SLOT, fn: 0 };
    expect(await t.bus.pciConfigRead(a, 0, 2)).toBe(0x1af4);
    expect(await t.bus.pciConfigRead(a, 2, 2)).toBe(0x1040 + DEVICE_ID.blk);
    expect(await t.bus.pciConfigRead(a, 8, 1)).toBeGreaterThanOrEqual(1);
    expect(await t.bus.pciConfigRead(a, 0x0b, 1)).toBe(0x01);
    expect(await t.bus.pciConfigRead(a, 0x3d, 1)).toBe(1);
    expect(await t.bus.pciConfigRead({ bus: 0, device: 2, fn: 0 }, 0, 4)).toBe(0xffffffff);
    await t.bus.pciConfigWrite(a, 0x20, 4, 0xffffffff);
    expect(await t.bus.pciConfigRead(a, 0x20, 4)).toBe((~(0x4000 - 1) | 0xc) >>> 0);
    const d = await MiniDriver.open(t);
    expect(d.caps.map((c) => c.cfgType).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(d.notifyMult).toBe(4);
    expect(await d.common('num_queues')).toBe(1);
    expect(await d.queueMax(0)).toBe(256);
    expect(await d.queueMax(1)).toBe(0);
  });

  it('PCI: the PCI configuration access capability reaches the BAR; no decoding without the memory bit', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'pci' });
    const d = await MiniDriver.open(t);
    const cfgCap = d.caps.find((c) => c.cfgType === 5)!;
    const common = d.cap(VIRTIO_PCI_CAP_COMMON_CFG);
    // Window: BAR of the common config, offset of num_queues, 2 bytes.
    await d.cfgWrite(cfgCap.at + 4, 1, common.bar);
    await d.cfgWrite(cfgCap.at + 8, 4, common.offset + 0x12);
    await d.cfgWrite(cfgCap.at + 12, 4, 2);
    expect(await d.cfgRead(cfgCap.at + 16, 4)).toBe(1);
    // A write through the window: device_status = ACKNOWLEDGE.
    await d.cfgWrite(cfgCap.at + 8, 4, common.offset + 0x14);
    await d.cfgWrite(cfgCap.at + 12, 4, 1);
    await d.cfgWrite(cfgCap.at + 16, 4, ACKNOWLEDGE);
    expect(await d.status()).toBe(ACKNOWLEDGE);
    const commonAddr = d.bars.get(common.bar)! + common.offset;
    expect(await t.bus.read(commonAddr + 0x12, 2)).toBe(1);
    await d.cfgWrite(4, 2, 0); // memory decoding off
    expect(await t.bus.read(commonAddr + 0x12, 2)).toBe(0xffff);
  });

  it('MMIO: magic, version 2, IDs, no queue 1, no shared memory', async () => {
    const t = await createReferenceTarget({ device: 'entropy', transport: 'mmio' });
    const d = await MiniDriver.open(t);
    expect(await d.mmio('MagicValue')).toBe(0x74726976);
    expect(await d.mmio('Version')).toBe(2);
    expect(await d.mmio('DeviceID')).toBe(DEVICE_ID.entropy);
    expect(await d.queueMax(0)).toBe(256);
    expect(await d.queueMax(1)).toBe(0);
    expect(await d.mmio('SHMLenLow')).toBe(0xffffffff);
  });
});

for (const transport of ['pci', 'mmio'] as const) {
  describe(`reference ${transport}`, () => {
    it('entropy: init, one 64-byte request, a used-buffer notification', async () => {
      const { t, d, q } = await up({ device: 'entropy', transport });
      expect(await d.deviceId()).toBe(DEVICE_ID.entropy);
      const buf = await t.mem.alloc(64);
      expect(await d.irq()).toBe(false);
      const used = await q.request([{ addr: buf, len: 64, write: true }]);
      expect(used).toEqual({ id: 0, len: 64 });
      expect((await t.mem.read(buf, 64)).some((b) => b !== 0)).toBe(true);
      expect(await d.irq()).toBe(true);
      expect(await d.takeInterrupt()).toBe(1);
      expect(await d.irq()).toBe(false);
      expect(await d.takeInterrupt()).toBe(0);
    });

    it('entropy: writes at most 1024 bytes of a larger buffer, and says so in len', async () => {
      const { t, q } = await up({ device: 'entropy', transport });
      const buf = await t.mem.alloc(4096);
      expect((await q.request([{ addr: buf, len: 4096, write: true }]))!.len).toBe(1024);
      expect((await t.mem.read(buf + 1024, 3072)).every((b) => b === 0)).toBe(true);
    });

    it('features: offers VERSION_1, INDIRECT_DESC, EVENT_IDX; refuses invalid subsets at FEATURES_OK', async () => {
      const t = await createReferenceTarget({ device: 'blk', transport });
      const d = await MiniDriver.open(t);
      const offered = await d.deviceFeatures();
      for (const b of [VIRTIO_F.VERSION_1, VIRTIO_F.INDIRECT_DESC, VIRTIO_F.EVENT_IDX]) expect(offered & bit(b)).toBe(bit(b));
      for (const b of [VIRTIO_BLK_F.FLUSH, VIRTIO_BLK_F.DISCARD, VIRTIO_BLK_F.WRITE_ZEROES, VIRTIO_BLK_F.SEG_MAX, VIRTIO_BLK_F.BLK_SIZE]) {
        expect(offered & bit(b)).toBe(bit(b));
      }
      expect(offered & bit(VIRTIO_BLK_F.RO)).toBe(0n);
      expect(await d.negotiate(0n)).toBe(false);                                   // no VERSION_1
      expect(await d.negotiate(V1 | bit(VIRTIO_BLK_F.RO))).toBe(false);            // not offered
      expect(await d.negotiate(V1 | bit(VIRTIO_BLK_F.CONFIG_WCE))).toBe(false);    // not offered
      expect(await d.negotiate(V1)).toBe(true);
      expect(await d.negotiate(offered)).toBe(true);
      // Feature bits are frozen once FEATURES_OK is set.
      await d.setDriverFeatures(0n);
      expect(await d.status() & FEATURES_OK).toBe(FEATURES_OK);
    });

    it('blk: configuration (capacity, blk_size, seg_max) readable before FEATURES_OK', async () => {
      const t = await createReferenceTarget({ device: 'blk', transport, blk: { capacitySectors: 4096 } });
      const d = await MiniDriver.open(t);
      await d.setStatus(0); await d.setStatus(ACKNOWLEDGE | DRIVER);
      expect(await d.readConfig(0, 4)).toBe(4096);
      expect(await d.readConfig(4, 4)).toBe(0);
      expect(await d.readConfig(12, 4)).toBe(254);
      expect(await d.readConfig(20, 4)).toBe(512);
      expect(await d.readConfig(33, 1)).toBe(0);
    });

    it('blk: write then read the right sectors, GET_ID, FLUSH, unknown type', async () => {
      const { q } = await up({ device: 'blk', transport });
      const data = new Uint8Array(2 * SECTOR_SIZE).map((_, i) => (i * 7 + 3) & 0xff);
      expect(await blk(q, VIRTIO_BLK_T.OUT, 5n, { out: data })).toMatchObject({ status: VIRTIO_BLK_S_OK, len: 1 });
      const r = await blk(q, VIRTIO_BLK_T.IN, 5n, { inLen: 2 * SECTOR_SIZE });
      expect(r).toMatchObject({ status: VIRTIO_BLK_S_OK, len: 2 * SECTOR_SIZE + 1 });
      expect(r.data).toEqual(data);
      const r6 = await blk(q, VIRTIO_BLK_T.IN, 6n, { inLen: SECTOR_SIZE });
      expect(r6.data).toEqual(data.subarray(SECTOR_SIZE));
      expect((await blk(q, VIRTIO_BLK_T.IN, 4n, { inLen: SECTOR_SIZE })).data.every((b) => b === 0)).toBe(true);
      const id = await blk(q, VIRTIO_BLK_T.GET_ID, 0n, { inLen: 20 });
      expect(id).toMatchObject({ status: VIRTIO_BLK_S_OK, len: 21 });
      expect(Buffer.from(id.data).toString('latin1').replace(/\0+$/, '')).toBe(DEFAULT_BLK_SERIAL);
      expect(await blk(q, VIRTIO_BLK_T.FLUSH, 0n)).toMatchObject({ status: VIRTIO_BLK_S_OK, len: 1 });
      expect(await blk(q, VIRTIO_BLK_T.GET_LIFETIME, 0n, { inLen: 16 })).toMatchObject({ status: VIRTIO_BLK_S_UNSUPP, len: 1 });
      expect(await blk(q, VIRTIO_BLK_T.IN, 2047n, { inLen: 2 * SECTOR_SIZE })).toMatchObject({ status: VIRTIO_BLK_S_IOERR, len: 1 });
    });

    it('blk: discard and write zeroes (negotiated), unknown flags and discard+unmap are UNSUPP', async () => {
      const f = V1 | bit(VIRTIO_BLK_F.DISCARD) | bit(VIRTIO_BLK_F.WRITE_ZEROES);
      const { q } = await up({ device: 'blk', transport }, f);
      const pattern = new Uint8Array(4 * SECTOR_SIZE).fill(0x5a);
      await blk(q, VIRTIO_BLK_T.OUT, 10n, { out: pattern });
      for (const unmap of [0, 1]) {
        await blk(q, VIRTIO_BLK_T.OUT, 10n, { out: pattern });
        expect((await blk(q, VIRTIO_BLK_T.WRITE_ZEROES, 0n, { out: encodeDiscardWz(11n, 2, unmap) })).status).toBe(VIRTIO_BLK_S_OK);
        const back = (await blk(q, VIRTIO_BLK_T.IN, 10n, { inLen: 4 * SECTOR_SIZE })).data;
        expect(back.subarray(0, SECTOR_SIZE).every((b) => b === 0x5a)).toBe(true);
        expect(back.subarray(SECTOR_SIZE, 3 * SECTOR_SIZE).every((b) => b === 0)).toBe(true);
        expect(back.subarray(3 * SECTOR_SIZE).every((b) => b === 0x5a)).toBe(true);
      }
      expect((await blk(q, VIRTIO_BLK_T.DISCARD, 0n, { out: encodeDiscardWz(10n, 1, 0) })).status).toBe(VIRTIO_BLK_S_OK);
      expect((await blk(q, VIRTIO_BLK_T.DISCARD, 0n, { out: encodeDiscardWz(10n, 1, 1) })).status).toBe(VIRTIO_BLK_S_UNSUPP);
      expect((await blk(q, VIRTIO_BLK_T.DISCARD, 0n, { out: encodeDiscardWz(10n, 1, 2) })).status).toBe(VIRTIO_BLK_S_UNSUPP);
      expect((await blk(q, VIRTIO_BLK_T.WRITE_ZEROES, 0n, { out: encodeDiscardWz(10n, 1, 2) })).status).toBe(VIRTIO_BLK_S_UNSUPP);
      expect((await blk(q, VIRTIO_BLK_T.WRITE_ZEROES, 0n, { out: encodeDiscardWz(4096n, 1, 0) })).status).toBe(VIRTIO_BLK_S_IOERR);
    });

    it('blk: discard and write zeroes are UNSUPP when not negotiated', async () => {
      const { q } = await up({ device: 'blk', transport });
      expect((await blk(q, VIRTIO_BLK_T.WRITE_ZEROES, 0n, { out: encodeDiscardWz(10n, 1, 0) })).status).toBe(VIRTIO_BLK_S_UNSUPP);
      expect((await blk(q, VIRTIO_BLK_T.DISCARD, 0n, { out: encodeDiscardWz(10n, 1, 0) })).status).toBe(VIRTIO_BLK_S_UNSUPP);
    });

    it('blk RO: offers VIRTIO_BLK_F_RO; a write fails with IOERR and changes nothing', async () => {
      const { d, q } = await up({ device: 'blk', transport, blk: { readOnly: true } }, V1 | bit(VIRTIO_BLK_F.RO));
      expect(await d.deviceFeatures() & bit(VIRTIO_BLK_F.RO)).toBe(bit(VIRTIO_BLK_F.RO));
      expect((await blk(q, VIRTIO_BLK_T.OUT, 0n, { out: new Uint8Array(SECTOR_SIZE).fill(1) })).status).toBe(VIRTIO_BLK_S_IOERR);
      expect((await blk(q, VIRTIO_BLK_T.IN, 0n, { inLen: SECTOR_SIZE })).data.every((b) => b === 0)).toBe(true);
    });

    it('chains: header split, data split, indirect (WRITE on the table descriptor ignored), direct + trailing indirect', async () => {
      const { t, q } = await up({ device: 'blk', transport }, V1 | bit(VIRTIO_F.INDIRECT_DESC));
      const hdr = await t.mem.alloc(16);
      await t.mem.write(hdr, encodeReqHeader(VIRTIO_BLK_T.GET_ID, 0n));
      const id = await t.mem.alloc(20);
      const st = await t.mem.alloc(1);
      const split = [{ addr: hdr, len: 4, write: false }, { addr: hdr + 4, len: 12, write: false },
        { addr: id, len: 8, write: true }, { addr: id + 8, len: 12, write: true }, { addr: st, len: 1, write: true }];
      expect((await q.request(split))!.len).toBe(21);
      expect((await t.mem.read(st, 1))[0]).toBe(VIRTIO_BLK_S_OK);
      await t.mem.write(st, new Uint8Array([0xff]));
      expect((await q.request(split, { indirect: true, indirectWrite: true }))!.len).toBe(21);
      expect((await t.mem.read(st, 1))[0]).toBe(VIRTIO_BLK_S_OK);
      // Direct header descriptor, then one indirect descriptor holding id + status.
      const table = await t.mem.alloc(32, 16);
      await q.writeDesc(table, 0, id, 20, 2 | 1, 1);
      await q.writeDesc(table, 1, st, 1, 2, 0);
      await q.writeDesc(q.desc, 6, hdr, 16, 1, 7);
      await q.writeDesc(q.desc, 7, table, 32, 4, 0);
      await t.mem.write(st, new Uint8Array([0xff]));
      await t.mem.write(q.avail + 4 + 2 * (q.availIdx % q.size), new Uint8Array([6, 0]));
      q.availIdx++;
      await t.mem.write(q.avail + 2, new Uint8Array([q.availIdx, 0]));
      await q.drv.notify(0);
      expect(await q.takeUsed()).toEqual({ id: 6, len: 21 });
      expect((await t.mem.read(st, 1))[0]).toBe(VIRTIO_BLK_S_OK);
    });

    it('notification suppression: NO_INTERRUPT without EVENT_IDX; used_event with it', async () => {
      const a = await up({ device: 'entropy', transport });
      const buf = await a.t.mem.alloc(16);
      await a.q.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
      await a.q.request([{ addr: buf, len: 16, write: true }]);
      expect(await a.d.takeInterrupt()).toBe(0);
      expect(await a.q.usedFlags()).toBe(0);
      const b = await up({ device: 'entropy', transport }, V1 | bit(VIRTIO_F.EVENT_IDX));
      await b.q.setUsedEvent(1);
      const seen = [];
      for (let i = 0; i < 3; i++) {
        await b.q.request([{ addr: buf, len: 16, write: true }]);
        seen.push(await b.d.takeInterrupt());
      }
      expect(seen).toEqual([0, 1, 0]);
      expect(await b.q.usedFlags()).toBe(0);
      expect(await b.q.u16(b.q.used + 4 + 8 * b.q.size)).toBe(3); // avail_event = next avail idx
    });

    it('nothing is consumed or notified before DRIVER_OK; spurious notifications are harmless', async () => {
      const t = await createReferenceTarget({ device: 'entropy', transport });
      const d = await MiniDriver.open(t);
      await d.negotiate(V1);
      const q = await d.setupQueue(0, 8);
      await d.notify(0);
      const buf = await t.mem.alloc(16);
      expect(await q.request([{ addr: buf, len: 16, write: true }])).toBeUndefined();
      expect(await d.takeInterrupt()).toBe(0);
      await d.setStatus(RUNNING);
      await d.notify(0);
      expect(await q.takeUsed()).toEqual({ id: 0, len: 16 });
      await d.notify(0);
      expect(await q.request([{ addr: buf, len: 16, write: true }])).toEqual({ id: 1, len: 16 });
      expect(await d.status()).toBe(RUNNING);
    });

    it('reset: status 0, queue disabled, interrupt cleared, the old ring left alone', async () => {
      const { t, d, q } = await up({ device: 'entropy', transport });
      const buf = await t.mem.alloc(16);
      await q.request([{ addr: buf, len: 16, write: true }]);
      expect(await d.irq()).toBe(true);
      await q.add([{ addr: buf, len: 16, write: true }]);
      await d.setStatus(0);
      expect(await d.status()).toBe(0);
      expect(await d.irq()).toBe(false);
      if (transport === 'pci') { await d.setCommon('queue_select', 0); expect(await d.common('queue_enable')).toBe(0); }
      else { await d.setMmio('QueueSel', 0); expect(await d.mmio('QueueReady')).toBe(0); expect(await d.mmio('InterruptStatus')).toBe(0); }
      await d.notify(0);
      expect(await q.usedIdx()).toBe(1);
      expect(await d.irq()).toBe(false);
    });

    it('config change: capacity += 8, config_generation changes, config interrupt once running', async () => {
      const { t, d } = await up({ device: 'blk', transport });
      const gen = await d.configGeneration();
      await (t as { changeConfig?: () => Promise<void> }).changeConfig!();
      expect(await d.readConfig(0, 4)).toBe(2048 + 8);
      expect(await d.configGeneration()).not.toBe(gen);
      expect(await d.takeInterrupt()).toBe(2);
    });

    it('a malformed chain or DMA outside RAM sets DEVICE_NEEDS_RESET (and notifies config), never throws', async () => {
      for (const bad of ['loop', 'dma'] as const) {
        const { t, d, q } = await up({ device: 'entropy', transport });
        if (bad === 'loop') {
          await q.writeDesc(q.desc, 0, 0x200000, 16, 1 | 2, 1);
          await q.writeDesc(q.desc, 1, 0x200000, 16, 1 | 2, 0);
          await t.mem.write(q.avail + 2, new Uint8Array([1, 0]));
          await d.notify(0);
        } else {
          await q.request([{ addr: 0x7fff0000, len: 16, write: true }]);
        }
        expect(await d.status()).toBe(RUNNING | DEVICE_NEEDS_RESET);
        expect(await d.takeInterrupt()).toBe(2);
        expect(await q.usedIdx()).toBe(0);
        // A reset recovers the device.
        await d.setStatus(0);
        expect(await d.status()).toBe(0);
      }
    });
  });
}

describe('reference pci: MSI-X', () => {
  async function msix() {
    const { t, d, q } = await up({ device: 'entropy', transport: 'pci' });
    const table = d.bars.get(MSIX_BAR)!;
    const word = await t.mem.alloc(4);
    await t.bus.write(table + 16, 4, word);   // entry 1: address
    await t.bus.write(table + 20, 4, 0);
    await t.bus.write(table + 24, 4, 0xabcd); // data
    const ctrl = await d.cfgRead(d.msixCapAt! + MSIX_CAP.msg_ctrl, 2);
    expect(ctrl & 0x7ff).toBe(1); // 2 vectors
    await d.cfgWrite(d.msixCapAt! + MSIX_CAP.msg_ctrl, 2, ctrl | MSIX_CTRL_ENABLE);
    await d.setCommon('queue_select', 0);
    await d.setCommon('queue_msix_vector', 1);
    expect(await d.common('queue_msix_vector')).toBe(1);
    return { t, d, q, table, word };
  }
  const read32 = async (t: { mem: { read(a: number, l: number): Promise<Uint8Array> } }, a: number) => new DataView((await t.mem.read(a, 4)).buffer).getUint32(0, true);

  it('a masked entry sets its PBA bit; unmasking delivers the message into guest RAM', async () => {
    const { t, d, q, table, word } = await msix();
    const buf = await t.mem.alloc(16);
    await q.request([{ addr: buf, len: 16, write: true }]);
    expect(await read32(t, word)).toBe(0);
    expect(await t.bus.read(table + MSIX_PBA_OFFSET, 4)).toBe(0b10);
    expect(await d.irq()).toBe(false); // no INTx while MSI-X is on
    await t.bus.write(table + 28, 4, 0);  // unmask entry 1
    expect(await read32(t, word)).toBe(0xabcd);
    expect(await t.bus.read(table + MSIX_PBA_OFFSET, 4)).toBe(0);
    await t.mem.write(word, new Uint8Array(4));
    await q.request([{ addr: buf, len: 16, write: true }]);
    expect(await read32(t, word)).toBe(0xabcd);
  });

  it('a vector beyond the table reads back NO_VECTOR; reset unmaps vectors', async () => {
    const { d } = await msix();
    await d.setCommon('queue_msix_vector', 2);
    expect(await d.common('queue_msix_vector')).toBe(VIRTIO_MSI_NO_VECTOR);
    await d.setCommon('config_msix_vector', 7);
    expect(await d.common('config_msix_vector')).toBe(VIRTIO_MSI_NO_VECTOR);
    await d.setCommon('queue_msix_vector', 1);
    await d.setStatus(0);
    expect(await d.common('queue_msix_vector')).toBe(VIRTIO_MSI_NO_VECTOR);
    expect(d.cap(VIRTIO_PCI_CAP_COMMON_CFG).length).toBeGreaterThanOrEqual(0x38);
  });
});
