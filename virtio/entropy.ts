// Entropy device wire format (spec 5.4): one virtqueue (requestq, index 0), no feature
// bits, no device configuration; a request is a single device-writable buffer that the
// device fills with random bytes and returns with the number of bytes written as used len.
export const ENTROPY_REQUESTQ = 0;
export const ENTROPY_NUM_QUEUES = 1;
