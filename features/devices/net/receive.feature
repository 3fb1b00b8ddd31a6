@role:device @device:net
Feature: Network device receive buffers and incoming packets (device requirements, 5.1.9.3.2, 5.1.9.4.1, 5.1.4.1)

  @clause:dev/net/device-operation/setting-up-receive-buffers#3bdb9208 @ring:any
  Scenario: Without VIRTIO_NET_F_MRG_RXBUF a packet takes a single buffer
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings a frame of 1500 bytes for the device's MAC address
    Then exactly one receive buffer is used for the frame
    And the received frame is the frame from the wire

  @clause:dev/net/device-operation/processing-of-incoming-packets#edb58f9f @ring:any
  Scenario: Without VIRTIO_NET_F_MRG_RXBUF num_buffers is 1
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings a frame of 1500 bytes for the device's MAC address
    Then the received header has num_buffers 1

  @clause:dev/net/device-operation/processing-of-incoming-packets#0583936f @requires:VIRTIO_NET_F_MRG_RXBUF @ring:any
  Scenario: With VIRTIO_NET_F_MRG_RXBUF num_buffers counts the buffers of the packet
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF"
    And the driver has posted 6 receive buffers of 512 bytes
    When the wire brings a frame of 1500 bytes for the device's MAC address
    Then num_buffers counts the buffers the frame was spread over
    And the received frame is the frame from the wire

  @clause:dev/net/device-operation/setting-up-receive-buffers#05650223 @requires:VIRTIO_NET_F_MRG_RXBUF @ring:any
  Scenario: num_buffers is the number of buffers that hold the packet
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF"
    And the driver has posted 6 receive buffers of 512 bytes
    When the wire brings a frame of 1200 bytes for the device's MAC address
    Then num_buffers counts the buffers the frame was spread over

  @clause:dev/net/device-operation/processing-of-incoming-packets#0279b3bd @requires:VIRTIO_NET_F_MRG_RXBUF @ring:any
  Scenario: A packet over several buffers fills all but the last completely
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF"
    And the driver has posted 6 receive buffers of 512 bytes
    When the wire brings a frame of 1500 bytes for the device's MAC address
    Then every buffer of the frame but the last is used to its full length

  @clause:dev/net/device-operation/processing-of-incoming-packets#c264fa1b
  Scenario: Without VIRTIO_NET_F_GUEST_CSUM the received flags are 0
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 UDP frame of 600 bytes for the device's MAC address
    Then the received header has flags 0

  @clause:dev/net/device-operation/processing-of-incoming-packets#6780364d
  Scenario: Without receive segmentation features gso_type is NONE
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 TCP frame of 1400 bytes for the device's MAC address
    Then the received header has gso_type VIRTIO_NET_HDR_GSO_NONE

  @clause:dev/net/device-operation/processing-of-incoming-packets#6ef03533
  Scenario: Without VIRTIO_NET_F_GUEST_TSO4 gso_type is not TCPV4
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 TCP frame of 1400 bytes for the device's MAC address
    Then the received header's gso_type is not VIRTIO_NET_HDR_GSO_TCPV4

  @clause:dev/net/device-operation/processing-of-incoming-packets#3c0f6307
  Scenario: Without VIRTIO_NET_F_GUEST_TSO6 gso_type is not TCPV6
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv6 TCP frame of 1400 bytes for the device's MAC address
    Then the received header's gso_type is not VIRTIO_NET_HDR_GSO_TCPV6

  @clause:dev/net/device-operation/processing-of-incoming-packets#5df54257
  Scenario: Without VIRTIO_NET_F_GUEST_UFO gso_type is not UDP
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 UDP frame of 1400 bytes for the device's MAC address
    Then the received header's gso_type is not VIRTIO_NET_HDR_GSO_UDP

  @clause:dev/net/device-configuration-layout#be2213c8 @requires:VIRTIO_NET_F_MTU
  Scenario: With VIRTIO_NET_F_MTU a received frame longer than mtu plus 14 is not passed
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_MTU"
    And the driver has posted 4 receive buffers big enough for mtu
    When the wire brings a frame of mtu plus 15 bytes and then one of mtu plus 14 bytes
    Then only the frame of mtu plus 14 bytes is received

  @clause:dev/net/device-operation/processing-of-incoming-packets#c21c870d
  Scenario: Without VIRTIO_NET_F_RSC_EXT the received flags do not have RSC_INFO
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 TCP frame of 1400 bytes for the device's MAC address
    Then the received header's flags do not have VIRTIO_NET_HDR_F_RSC_INFO

  @clause:dev/net/device-operation/processing-of-incoming-packets#e42ba18a
  Scenario: Without VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO_CSUM the received flags do not have UDP_TUNNEL_CSUM
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 UDP frame of 600 bytes for the device's MAC address
    Then the received header's flags do not have VIRTIO_NET_HDR_F_UDP_TUNNEL_CSUM

  @clause:dev/net/device-operation/processing-of-incoming-packets#86c2c0ab
  Scenario: A packet without IPsec processing does not have SECURITY in flags
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 UDP frame of 600 bytes for the device's MAC address
    Then the received header's flags do not have VIRTIO_NET_HDR_F_SECURITY

  @clause:dev/net/device-operation/processing-of-incoming-packets#86c2c0ab~2
  Scenario: A packet without IPsec processing does not have SECURITY_ERR in flags
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 UDP frame of 600 bytes for the device's MAC address
    Then the received header's flags do not have VIRTIO_NET_HDR_F_SECURITY_ERR

  @clause:dev/net/device-operation/processing-of-incoming-packets#e0bdb340
  Scenario: Without VIRTIO_NET_F_GUEST_USO4 and USO6 gso_type is not UDP_L4
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 UDP frame of 1400 bytes for the device's MAC address
    Then the received header's gso_type is not VIRTIO_NET_HDR_GSO_UDP_L4

  @clause:dev/net/device-operation/processing-of-incoming-packets#68e0373d
  Scenario: Without VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO gso_type has no UDP tunnel bit
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 UDP frame of 1400 bytes for the device's MAC address
    Then the received header's gso_type has no UDP tunnel bit

  @clause:dev/net/device-operation/control-virtqueue/vlan-filtering#a0e2b8d5
  Scenario: Without VIRTIO_NET_F_CTRL_VLAN a VLAN-tagged frame is received
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings a VLAN-tagged frame of 600 bytes for the device's MAC address
    Then the frame is received

  @clause:dev/net/device-operation/processing-of-incoming-packets#7621be5f @requires:VIRTIO_NET_F_GUEST_CSUM
  Scenario: With VIRTIO_NET_F_GUEST_CSUM a frame with a wrong checksum is not marked DATA_VALID
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_CSUM"
    And the driver has posted 2 receive buffers of 2048 bytes
    When the wire brings an IPv4 UDP frame of 600 bytes with a wrong IPv4 header checksum for the device's MAC address
    Then the received header's flags do not have VIRTIO_NET_HDR_F_DATA_VALID
