// Device types: entropy (5.4.6.2) and blk (5.2.5, 5.2.6.2). Requests go through the
// driver's request helpers; the blk checks read the sectors back.
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive, notApplicable } from './support/assert.ts';
import { S, USED_MS, drv, expect, hex, vq } from './common.steps.ts';
import { blkDiscard, blkRead, blkWrite, blkWriteZeroes, entropyRequest, type BlkResult } from '../driver/index.ts';
import { SECTOR_SIZE, VIRTIO_BLK_F, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP } from '../virtio/blk.ts';
import { hasBit } from '../virtio/features.ts';

const STATUS_NAME: Record<number, string> = { [VIRTIO_BLK_S_OK]: 'VIRTIO_BLK_S_OK', [VIRTIO_BLK_S_IOERR]: 'VIRTIO_BLK_S_IOERR', [VIRTIO_BLK_S_UNSUPP]: 'VIRTIO_BLK_S_UNSUPP' };
const statusName = (s: number): string => STATUS_NAME[s] ?? `status ${hex(s)}`;
const STATUS_BY_NAME: Record<string, number> = { VIRTIO_BLK_S_OK, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_UNSUPP };

function fill(len: number, byte: number): Uint8Array { return new Uint8Array(len).fill(byte); }

// ---- entropy ---------------------------------------------------------------------------

When('the driver requests {int} random bytes', async function (this: CtsWorld, n: number) {
  const r = await entropyRequest(vq(this), { len: n, validate: false, timeoutMs: USED_MS });
  S(this).seen.entropy = { usedLen: r.usedLen, written: r.written };
});

When('the driver requests {int} random bytes split over {int} descriptors', async function (this: CtsWorld, n: number, segments: number) {
  const r = await entropyRequest(vq(this), { len: n, segments, validate: false, timeoutMs: USED_MS });
  S(this).seen.entropy = { usedLen: r.usedLen, written: r.written };
});

Then('the device returns between 1 and {int} bytes', function (this: CtsWorld, n: number) {
  const { usedLen } = S(this).seen.entropy as { usedLen: number };
  expect(this, usedLen >= 1 && usedLen <= n, `used len between 1 and ${n}`, `used len ${usedLen}`);
});

// ---- blk: read-only ---------------------------------------------------------------------

Given('a read-only block device', async function (this: CtsWorld) {
  // Ask the adapter for read-only backing before the target starts; the device then
  // has to offer VIRTIO_BLK_F_RO for the scenario to apply.
  await this.target({ blk: { readOnly: true } });
  const offered = await (await drv(this)).transport.readDeviceFeatures();
  if (!hasBit(offered, VIRTIO_BLK_F.RO)) notApplicable('the device does not offer VIRTIO_BLK_F_RO');
});

When('the driver reads a sector, writes different data to it and reads it again', async function (this: CtsWorld) {
  const q = vq(this);
  const before = await blkRead(q, 4n, 1, { timeoutMs: USED_MS });
  if (before.status !== VIRTIO_BLK_S_OK) inconclusive(`the first read failed (${statusName(before.status)})`);
  const other = before.data.map((b) => b ^ 0xff);
  const w = await blkWrite(q, 4n, other, { timeoutMs: USED_MS });
  const after = await blkRead(q, 4n, 1, { timeoutMs: USED_MS });
  S(this).seen.ro = { before: before.data, write: w, after };
});

Then('the write request status is VIRTIO_BLK_S_IOERR', function (this: CtsWorld) {
  const { write } = S(this).seen.ro as { write: BlkResult };
  expect(this, write.status === VIRTIO_BLK_S_IOERR, 'write status VIRTIO_BLK_S_IOERR', statusName(write.status));
});

Then('the sector still holds its original data', function (this: CtsWorld) {
  const { before, after } = S(this).seen.ro as { before: Uint8Array; after: BlkResult };
  if (after.status !== VIRTIO_BLK_S_OK) inconclusive(`the read after the write failed (${statusName(after.status)})`);
  const same = before.every((b, i) => b === after.data[i]);
  expect(this, same, 'the sector unchanged by the refused write', 'the sector holds the written data');
});

// ---- blk: discard / write zeroes ---------------------------------------------------------

When('the driver sends a write zeroes request with flags {int}', async function (this: CtsWorld, flags: number) {
  S(this).seen.result = await blkWriteZeroes(vq(this), [{ sector: 16n, numSectors: 1, flags }], { timeoutMs: USED_MS });
});

When('the driver sends a discard request with flags {int}', async function (this: CtsWorld, flags: number) {
  S(this).seen.result = await blkDiscard(vq(this), [{ sector: 16n, numSectors: 1, flags }], { timeoutMs: USED_MS });
});

Then('the request status is {word}', function (this: CtsWorld, name: string) {
  const want = STATUS_BY_NAME[name];
  if (want === undefined) throw new Error(`unknown status ${name}`);
  const r = S(this).seen.result as BlkResult;
  expect(this, r.status === want, name, statusName(r.status));
});

When('the driver writes a pattern to 4 sectors, sends write zeroes over them with unmap {int} and reads them back', async function (this: CtsWorld, unmap: number) {
  const q = vq(this);
  const w = await blkWrite(q, 32n, fill(4 * SECTOR_SIZE, 0x6b), { timeoutMs: USED_MS });
  if (w.status !== VIRTIO_BLK_S_OK) inconclusive(`writing the pattern failed (${statusName(w.status)})`);
  const z = await blkWriteZeroes(q, [{ sector: 32n, numSectors: 4, flags: unmap ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0 }], { timeoutMs: USED_MS });
  if (z.status !== VIRTIO_BLK_S_OK) inconclusive(`write zeroes was not completed (${statusName(z.status)})`);
  S(this).seen.zeroed = await blkRead(q, 32n, 4, { timeoutMs: USED_MS });
});

Then('the sectors read back as zeroes', function (this: CtsWorld) {
  const r = S(this).seen.zeroed as BlkResult;
  if (r.status !== VIRTIO_BLK_S_OK) inconclusive(`the read-back failed (${statusName(r.status)})`);
  const nz = r.data.findIndex((b) => b !== 0);
  expect(this, nz < 0, '4 sectors of zeroes', `byte ${nz} of ${r.data.length} reads ${hex(r.data[nz] ?? 0)}`);
});

export { drv };
