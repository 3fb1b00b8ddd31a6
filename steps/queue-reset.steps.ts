// Virtqueue reset (2.6.1, VIRTIO_F_RING_RESET): the driver resets the scenario's queue
// through queue_reset / QueueReset and may set it up again with new rings. A transport
// without a per-queue reset (vhost-user) makes the scenario NOT_APPLICABLE.
import { When } from '@cucumber/cucumber';
import { inconclusive, notApplicable } from './support/assert.ts';
import type { CtsWorld } from './support/world.ts';
import { drv, S, settle, vq } from './common.steps.ts';

When('the driver resets the virtqueue', async function (this: CtsWorld) {
  const t = (await drv(this)).transport;
  if (!t.resetQueue) notApplicable(`the ${t.kind} transport has no per-queue reset`);
  const q = vq(this);
  // A device that polls its queues may use a request made available before the reset
  // without a notification: a use after the reset could not be told from that one.
  if (S(this).posted) {
    await settle(this);
    const early = await q.getUsed({ validate: false }).catch(() => undefined);
    if (early) inconclusive(`the device used the request (buffer ${early.id}) before the queue reset without a notification (it polls its queues)`);
  }
  await t.resetQueue!(q.index);
  await t.takeNotifications(q.index);
  S(this).seen.queueEnabledAfterReset = await t.queueEnabled(q.index);
});

async function setUpAgain(w: CtsWorld, size: number): Promise<void> {
  const s = S(w);
  if (s.seen.queueEnabledAfterReset !== false) inconclusive('the queue still reads enabled after the queue reset, so it cannot be set up again');
  const d = await drv(w);
  const index = vq(w).index;
  s.vq = await d.setupQueue(index, { size });
  s.submitted = [];
  await d.transport.takeNotifications(index);
}

When('the driver sets the virtqueue up again with new rings', async function (this: CtsWorld) {
  await setUpAgain(this, vq(this).size);
});
