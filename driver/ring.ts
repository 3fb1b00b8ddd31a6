// The driver's virtqueue, split (2.7) or packed (2.8): one type for request helpers and
// scenarios that hold for both layouts, and the few operations whose options differ.
import { PackedRingDriver, type PackedUsedElem } from '../virtio/packed-ring-driver.ts';
import { SplitRingDriver, type AddOptions, type DescBuffer, type UsedElem } from '../virtio/split-ring-driver.ts';
import { DriverError } from './wait.ts';

export type RingLayout = 'split' | 'packed';

/** A virtqueue of this driver, either layout (narrow with isPacked / instanceof). */
export type Virtqueue = SplitRingDriver | PackedRingDriver;

/** A used element from either layout. */
export type AnyUsedElem = UsedElem | PackedUsedElem;

export const isPacked = (vq: Virtqueue): vq is PackedRingDriver => vq instanceof PackedRingDriver;

export function ringLayout(vq: Virtqueue): RingLayout { return isPacked(vq) ? 'packed' : 'split'; }

/**
 * Add a buffer in the layout's own way. An indirect table after direct descriptors
 * ('tail') exists only in the split ring: a packed ring's indirect descriptor is alone in
 * its list (2.8.7), so asking for it there is a usage error, not a device failure.
 */
export async function addBuffers(vq: Virtqueue, bufs: DescBuffer[], o: AddOptions = {}): Promise<number> {
  if (vq instanceof SplitRingDriver) return vq.add(bufs, o);
  if (o.indirect === 'tail') throw new DriverError('packed ring: an indirect descriptor cannot follow direct ones (2.8.7); use indirect \'all\'');
  return vq.add(bufs, { indirect: o.indirect, indirectWriteFlag: o.indirectWriteFlag });
}
