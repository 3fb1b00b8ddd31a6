// Split virtqueue memory layout (spec 2.7). Shared by the driver side
// (virtio/split-ring-driver.ts) and the device side (virtio/split-ring-device.ts).
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** avail.flags: driver asks for no used-buffer notifications (2.7.7). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** used.flags: device asks for no available-buffer notifications (2.7.10). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** struct virtq_desc: addr le64, len le32, flags le16, next le16. */
export const DESC_SIZE = 16;
export const DESC = { addr: 0, len: 8, flags: 12, next: 14 } as const;

// Alignment requirements (2.7 table): desc 16, avail 2, used 4.
export const DESC_ALIGN = 16, AVAIL_ALIGN = 2, USED_ALIGN = 4;

export const descTableSize = (qsz: number) => DESC_SIZE * qsz;
/** flags, idx, ring[qsz], used_event */
export const availRingSize = (qsz: number) => 4 + 2 * qsz + 2;
/** flags, idx, ring[qsz] of {id le32, len le32}, avail_event */
export const usedRingSize = (qsz: number) => 4 + 8 * qsz + 2;
export const AVAIL = { flags: 0, idx: 2, ring: 4, usedEvent: (qsz: number) => 4 + 2 * qsz } as const;
export const USED = { flags: 0, idx: 2, ring: 4, ELEM_SIZE: 8, availEvent: (qsz: number) => 4 + 8 * qsz } as const;

/** vring_need_event (2.7.7.2/2.7.10): notify iff new_idx passed event_idx since old_idx. */
export function needEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}
