@role:device @device:net
Feature: Network device packet transmission (device requirements, 5.1.9.2.2, 5.1.4.1)

  @clause:dev/net/device-operation/packet-transmission#5797f43d
  Scenario: Unknown header flag bits are ignored on transmit
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    When the driver sends a 300-byte frame with header flags 128
    Then the wire carries the frame unchanged

  @clause:dev/net/device-operation/packet-transmission#72cbe924
  Scenario: Without NEEDS_CSUM csum_start and csum_offset are not used
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    When the driver sends a 300-byte IPv4 UDP frame with flags 0, csum_start 34 and csum_offset 6
    Then the wire carries the frame unchanged

  @clause:dev/net/device-operation/packet-transmission#6cdc4393
  Scenario: Without NEEDS_CSUM a frame with a wrong checksum is still transmitted
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    When the driver sends a 300-byte IPv4 UDP frame with a wrong header checksum and flags 0
    Then the wire carries the frame unchanged

  @clause:dev/net/device-configuration-layout#862cb2b7 @requires:VIRTIO_NET_F_MTU
  Scenario: With VIRTIO_NET_F_MTU a frame of mtu plus 14 bytes is forwarded whole
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_MTU"
    When the driver sends a frame of mtu plus 14 bytes
    Then the wire carries the frame unchanged

  @clause:dev/net/device-operation/packet-transmission#d8adfc4e
  Scenario: A packet with both UDP tunnel bits in gso_type is not accepted
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    When the driver sends a 1400-byte frame with gso_type 97 and header flags 1
    Then the wire does not carry the frame

  @clause:dev/net/device-operation/packet-transmission#76956b70
  Scenario: A UDP tunnel packet without NEEDS_CSUM is not accepted
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    When the driver sends a 1400-byte frame with gso_type 33 and header flags 0
    Then the wire does not carry the frame

  @clause:dev/net/device-operation/packet-transmission#aaac1762
  Scenario: UDP_TUNNEL_CSUM without a UDP tunnel bit in gso_type is not accepted
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    When the driver sends a 1400-byte frame with gso_type 0 and header flags 8
    Then the wire does not carry the frame
