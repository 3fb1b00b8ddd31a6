// Merged receive buffers (5.1.9.4.1): the driver looks at the receiveq as soon as anything
// is used and counts what it sees against the packet's num_buffers.
import { Then } from '@cucumber/cucumber';
import type { CtsWorld } from './support/world.ts';
import { inconclusive } from './support/assert.ts';
import { expect } from './common.steps.ts';
import { readRxPacket, takeUsed } from '../driver/net.ts';
import type { AnyUsedElem } from '../driver/index.ts';
import { NET_WIRE_MS, netQueues, netState } from './net.steps.ts';

/** How often the driver looks at the receiveq while it waits for the frame. */
const POLL_MS = 1;

Then('as soon as a buffer of the frame is used, at least num_buffers buffers are used', async function (this: CtsWorld) {
  const vq = netQueues(this).rx[0]!;
  const deadline = performance.now() + this.ms(NET_WIRE_MS);
  let seen: AnyUsedElem[] = [];
  // The first look that finds anything used is the moment that counts.
  for (;;) {
    seen = await takeUsed(vq);
    if (seen.length > 0) break;
    if (performance.now() > deadline) inconclusive('no receive buffer was used for the frame');
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const p = await readRxPacket(vq, netState(this).rx[0]!, seen, { mergeable: true });
  const n = p.hdr.num_buffers;
  if (n < 2) inconclusive(`num_buffers ${n}: the frame did not take several buffers, nothing to see apart`);
  expect(this, seen.length >= n, `at least ${n} used buffers (num_buffers) once the packet's first is used`,
    `${seen.length} used (lens ${seen.map((u) => u.len).join(', ')}) when the first became visible, num_buffers ${n}`);
});
