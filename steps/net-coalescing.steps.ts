// Notification coalescing (5.1.9.5.10): the driver sets parameters with TX_SET/RX_SET
// (VIRTIO_NET_F_NOTF_COAL) or VQ_SET, and reads one virtqueue's back with VQ_GET
// (VIRTIO_NET_F_VQ_NOTF_COAL). Queues are named receiveq1, transmitq1, controlq or
// "beyond" (past every queue), as in the statistics steps.
import { Given, Then, When } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive } from './support/assert.ts';
import { drv, expect, hex, settle } from './common.steps.ts';
import { isPacked } from '../driver/index.ts';
import { VIRTIO_F } from '../virtio/features.ts';
import { VIRTQ_AVAIL_F_NO_INTERRUPT } from '../virtio/split-ring.ts';
import { ctrlCommand, ctrlCommandResult } from '../driver/net.ts';
import { hasBit } from '../virtio/features.ts';
import {
  VIRTIO_NET_CTRL, VIRTIO_NET_CTRL_NOTF_COAL, VIRTIO_NET_ERR, VIRTIO_NET_OK, decodeCoal, encodeCoal, encodeCoalVq, receiveq, type NetCoal,
} from '../virtio/net.ts';
import { NET_WIRE_MS, netCtrl, netQueues, netState, netVqIndex } from './net.steps.ts';

interface CoalState { set?: { vq: number; coal: NetCoal; ack: number } }
const states = new WeakMap<CtsWorld, CoalState>();
const S = (w: CtsWorld): CoalState => { let s = states.get(w); if (!s) { s = {}; states.set(w, s); } return s; };

const COMMAND: Record<string, number> = Object.fromEntries(Object.entries(VIRTIO_NET_CTRL_NOTF_COAL).map(([k, v]) => [`VIRTIO_NET_CTRL_NOTF_COAL_${k}`, v]));
function command(name: string): number {
  const c = COMMAND[name];
  if (c === undefined) throw new Error(`unknown coalescing command ${name}`);
  return c;
}

async function send(w: CtsWorld, cmd: number, data: Uint8Array): Promise<number> {
  const r = await ctrlCommand(netCtrl(w), VIRTIO_NET_CTRL.NOTF_COAL, cmd, data, { timeoutMs: w.ms(NET_WIRE_MS) });
  netState(w).ack = r.ack;
  return r.ack;
}

async function vqGet(w: CtsWorld, vq: number): Promise<{ ack: number; coal: NetCoal }> {
  const r = await ctrlCommandResult(netCtrl(w), VIRTIO_NET_CTRL.NOTF_COAL, VIRTIO_NET_CTRL_NOTF_COAL.VQ_GET, encodeCoalVq(vq, 0), 8, { timeoutMs: w.ms(NET_WIRE_MS) });
  netState(w).ack = r.ack;
  return { ack: r.ack, coal: decodeCoal(r.result) };
}

const show = (c: NetCoal): string => `max_packets ${c.max_packets}, max_usecs ${c.max_usecs}`;

Given('the driver has set coalescing of {word} to {int} packets and {int} usecs', async function (this: CtsWorld, q: string, packets: number, usecs: number) {
  const ack = await send(this, VIRTIO_NET_CTRL_NOTF_COAL.VQ_SET, encodeCoalVq(netVqIndex(this, q), 0, { max_packets: packets, max_usecs: usecs }));
  if (ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET of ${q} to ${packets} packets, ${usecs} usecs answered with ack ${hex(ack)}`);
});

When('the driver sets coalescing of {word} to {int} packets and {int} usecs with reserved {word}', async function (this: CtsWorld, q: string, packets: number, usecs: number, reserved: string) {
  const vq = netVqIndex(this, q);
  const coal = { max_packets: packets, max_usecs: usecs };
  S(this).set = { vq, coal, ack: await send(this, VIRTIO_NET_CTRL_NOTF_COAL.VQ_SET, encodeCoalVq(vq, Number(reserved), coal)) };
});

When('the driver sends {word} with {int} packets and {int} usecs', async function (this: CtsWorld, name: string, packets: number, usecs: number) {
  const cmd = command(name);
  if (cmd !== VIRTIO_NET_CTRL_NOTF_COAL.TX_SET && cmd !== VIRTIO_NET_CTRL_NOTF_COAL.RX_SET) throw new Error(`${name} is not TX_SET or RX_SET`);
  const coal = { max_packets: packets, max_usecs: usecs };
  // The queue that reads it back: the first of the kind the command sets.
  const vq = netVqIndex(this, cmd === VIRTIO_NET_CTRL_NOTF_COAL.TX_SET ? 'transmitq1' : 'receiveq1');
  S(this).set = { vq, coal, ack: await send(this, cmd, encodeCoal(coal)) };
});

When('the driver sends {word} for {word}', async function (this: CtsWorld, name: string, q: string) {
  const cmd = command(name);
  const vq = netVqIndex(this, q);
  if (cmd === VIRTIO_NET_CTRL_NOTF_COAL.VQ_GET) await vqGet(this, vq);
  else if (cmd === VIRTIO_NET_CTRL_NOTF_COAL.VQ_SET) await send(this, cmd, encodeCoalVq(vq, 0, { max_packets: 1, max_usecs: 1 }));
  else throw new Error(`${name} names no virtqueue`);
});

Then('coalescing of {word} reads {int} packets and {int} usecs', async function (this: CtsWorld, q: string, packets: number, usecs: number) {
  const r = await vqGet(this, netVqIndex(this, q));
  if (r.ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_NOTF_COAL_VQ_GET of ${q} answered with ack ${hex(r.ack)}`);
  const want = { max_packets: packets, max_usecs: usecs };
  expect(this, r.coal.max_packets === packets && r.coal.max_usecs === usecs, `${q}: ${show(want)}`, `${q}: ${show(r.coal)}`);
});

Then('the device refused them with VIRTIO_NET_ERR or reads them back', async function (this: CtsWorld) {
  const set = S(this).set!;
  if (set.ack === VIRTIO_NET_ERR) { expect(this, true, '', ''); return; }
  const r = await vqGet(this, set.vq);
  if (r.ack !== VIRTIO_NET_OK) inconclusive(`VIRTIO_NET_CTRL_NOTF_COAL_VQ_GET of vq ${set.vq} answered with ack ${hex(r.ack)}`);
  const same = r.coal.max_packets === set.coal.max_packets && r.coal.max_usecs === set.coal.max_usecs;
  expect(this, set.ack === VIRTIO_NET_OK && same, `VIRTIO_NET_ERR, or ${show(set.coal)} in force for vq ${set.vq}`,
    `ack ${hex(set.ack)}, then VQ_GET reads ${show(r.coal)}`);
});

Given('the driver suppresses used buffer notifications of receiveq1', async function (this: CtsWorld) {
  const vq = netQueues(this).rx[0]!;
  if (isPacked(vq)) await vq.disableUsedNotifications();
  else {
    // avail.flags means nothing with EVENT_IDX (2.7.7.2): the scenario negotiates without it.
    if (hasBit(netState(this).accepted ?? 0n, VIRTIO_F.EVENT_IDX)) throw new Error('negotiate without VIRTIO_F_EVENT_IDX to suppress with avail flags');
    await vq.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
  }
  await settle(this);
  await (await drv(this)).transport.takeNotifications(receiveq(1));
});

Then('the device sent no used buffer notification for receiveq1', async function (this: CtsWorld) {
  const per = netState(this).perQueue ?? [];
  const got = per[0] ?? 0;
  if (got < 2) inconclusive(`receiveq1 used ${got} buffers: the coalescing conditions (2 packets) were not met`);
  await settle(this);
  const n = await (await drv(this)).transport.takeNotifications(receiveq(1));
  expect(this, n === 0, 'no used buffer notification for receiveq1 while suppressed, though 2 packets met max_packets', `${n} notification(s)`);
});
