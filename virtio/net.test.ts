// Network wire formats: header round trip, MAC tables, queue numbering, test frames.
import { describe, expect, it } from 'vitest';
import {
  BROADCAST_MAC, NET_HDR_SIZE, controlq, decodeMacTables, decodeNetHdr, encodeMacTable, encodeNetHdr, formatMac, frameL4, ipv4HeaderChecksum,
  isBroadcast, isMulticast, makeFrame, parseMac, receiveq, transmitq, vlanOf, vlanTag, IPPROTO_TCP, IPPROTO_UDP,
} from './net.ts';

describe('virtio_net_hdr', () => {
  it('encodes little-endian fields at their offsets and decodes them back', () => {
    const h = { flags: 1, gso_type: 0x81, hdr_len: 0x1234, gso_size: 0x5678, csum_start: 34, csum_offset: 6, num_buffers: 3 };
    const b = encodeNetHdr(h);
    expect(b.length).toBe(NET_HDR_SIZE);
    expect([...b]).toEqual([1, 0x81, 0x34, 0x12, 0x78, 0x56, 34, 0, 6, 0, 3, 0]);
    expect(decodeNetHdr(b)).toEqual(h);
    expect(() => decodeNetHdr(new Uint8Array(10))).toThrow(/12 bytes/);
  });
});

describe('MAC tables and addresses', () => {
  it('round-trips the two MAC_TABLE_SET tables and refuses short data', () => {
    const a = parseMac('02:00:00:00:00:01'), m = parseMac('01:00:5e:00:00:fb');
    const data = new Uint8Array([...encodeMacTable([a]), ...encodeMacTable([m, m])]);
    const t = decodeMacTables(data)!;
    expect(t.unicast.map(formatMac)).toEqual(['02:00:00:00:00:01']);
    expect(t.multicast.map(formatMac)).toEqual(['01:00:5e:00:00:fb', '01:00:5e:00:00:fb']);
    expect(decodeMacTables(data.subarray(0, data.length - 1))).toBeUndefined();
    expect(decodeMacTables(encodeMacTable([a]))).toBeUndefined(); // the multicast table is missing
  });
  it('classifies addresses', () => {
    expect(isBroadcast(BROADCAST_MAC)).toBe(true);
    expect(isMulticast(parseMac('01:00:5e:00:00:01'))).toBe(true);
    expect(isMulticast(parseMac('02:00:5e:00:00:01'))).toBe(false);
    expect(() => parseMac('02:00')).toThrow();
  });
});

describe('queues', () => {
  it('numbers receiveqN/transmitqN pairs, then controlq', () => {
    expect([receiveq(1), transmitq(1), receiveq(2), transmitq(2)]).toEqual([0, 1, 2, 3]);
    expect(controlq(false, 4)).toBe(2);
    expect(controlq(true, 4)).toBe(8);
  });
});

describe('test frames', () => {
  it('IPv4 frames carry the protocol and a right header checksum unless asked otherwise', () => {
    const src = parseMac('02:00:00:00:00:01'), dst = parseMac('02:00:00:00:00:02');
    const f = makeFrame({ dst, src, len: 100, l4: 'udp4' });
    expect(f.length).toBe(100);
    expect(frameL4(f)).toEqual({ v6: false, proto: IPPROTO_UDP });
    expect(ipv4HeaderChecksum(f.subarray(14, 34))).toBe(0); // a right checksum sums to 0xffff
    const bad = makeFrame({ dst, src, len: 100, l4: 'udp4', badIpChecksum: true });
    expect(ipv4HeaderChecksum(bad.subarray(14, 34))).not.toBe(0);
    expect(frameL4(makeFrame({ dst, src, len: 100, l4: 'tcp6' }))).toEqual({ v6: true, proto: IPPROTO_TCP });
    expect(frameL4(makeFrame({ dst, src, len: 100 }))).toBeUndefined();
  });
  it('tags and reads 802.1Q VLAN ids', () => {
    const f = makeFrame({ dst: BROADCAST_MAC, src: BROADCAST_MAC, len: 60 });
    const t = vlanTag(f, 42);
    expect(t.length).toBe(64);
    expect(vlanOf(t)).toBe(42);
    expect(vlanOf(f)).toBeUndefined();
  });
});
