@role:device @device:net
Feature: Network device receive-side scaling and inner header hash (device requirements, 5.1.9.5.7.3, 5.1.9.4.4.4)

  @clause:dev/net/device-operation/control-virtqueue/receive-side-scaling-rss/rss-processing#5a10db43 @requires:VIRTIO_NET_F_RSS @ring:any
  Scenario: RSS puts each hashed flow on the receiveq its indirection table entry names
    Given the net driver has initialized the device for RSS with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_RSS"
    And the driver has posted 24 receive buffers of 2048 bytes
    When the driver configures RSS with TCPv4 and UDPv4 hashing and a table spreading over every receive queue
    And the wire brings 16 IPv4 TCP-and-UDP frames of different flows for the device's MAC address
    Then each frame arrives on the receiveq RSS selects for it

  @clause:dev/net/device-operation/control-virtqueue/receive-side-scaling-rss/rss-processing#5a10db43 @requires:VIRTIO_NET_F_RSS @ring:any
  Scenario: RSS puts a frame it calculates no hash for on unclassified_queue
    Given the net driver has initialized the device for RSS with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_RSS"
    And the driver has posted 24 receive buffers of 2048 bytes
    When the driver configures RSS with TCPv4 hashing, every table entry receiveq1 and unclassified_queue the last receiveq
    And the wire brings 4 IPv4 TCP frames of different flows for the device's MAC address
    And the wire brings 4 IPv4 UDP frames of different flows for the device's MAC address
    And the wire brings 4 frames that are not IP for the device's MAC address
    Then each frame arrives on the receiveq RSS selects for it

  @clause:dev/net/device-operation/control-virtqueue/receive-side-scaling-rss/rss-processing#5a10db43 @requires:VIRTIO_NET_F_RSS @requires:VIRTIO_NET_F_HASH_REPORT @ring:any
  Scenario: With VIRTIO_NET_F_HASH_REPORT each frame reports the hash RSS steered it by
    Given the net driver has initialized the device for RSS with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_RSS, VIRTIO_NET_F_HASH_REPORT"
    And the driver has posted 24 receive buffers of 2048 bytes
    When the driver configures RSS with TCPv4 and UDPv4 hashing and a table spreading over every receive queue
    And the wire brings 12 IPv4 TCP-and-UDP frames of different flows for the device's MAC address
    And the wire brings 2 frames that are not IP for the device's MAC address
    Then each frame reports the hash that selected its receiveq

  @clause:dev/net/device-operation/control-virtqueue/inner-header-hash#152d03db @requires:VIRTIO_NET_F_HASH_TUNNEL @requires:VIRTIO_NET_F_HASH_REPORT @ring:any
  Scenario: With inner header hash enabled for VXLAN only, a GENEVE packet is hashed on its outer header
    Given the net driver has initialized the device for RSS with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_HASH_REPORT, VIRTIO_NET_F_HASH_TUNNEL"
    And the driver has posted 8 receive buffers of 2048 bytes
    And the driver has enabled TCPv4 and UDPv4 hashing with the default key
    And the driver has enabled inner header hash for VXLAN
    When the wire brings a GENEVE packet for the device's MAC address
    Then its hash_value is the hash of its outer header

  @clause:dev/net/device-operation/control-virtqueue/inner-header-hash#56ee875a @requires:VIRTIO_NET_F_HASH_TUNNEL @requires:VIRTIO_NET_F_HASH_REPORT
  Scenario: VIRTIO_NET_CTRL_HASH_TUNNEL_SET with an encapsulation type not supported is answered with VIRTIO_NET_ERR
    Given the net driver has initialized the device for RSS with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_HASH_REPORT, VIRTIO_NET_F_HASH_TUNNEL"
    When the driver asks for inner header hash of an encapsulation type not in supported_tunnel_types
    Then the command is answered with VIRTIO_NET_ERR

  @clause:dev/net/device-operation/control-virtqueue/inner-header-hash#0dd54532 @requires:VIRTIO_NET_F_HASH_TUNNEL @requires:VIRTIO_NET_F_HASH_REPORT @ring:any
  Scenario: After VIRTIO_NET_CTRL_HASH_TUNNEL_SET with 0 a VXLAN packet is hashed on its outer header
    Given the net driver has initialized the device for RSS with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_HASH_REPORT, VIRTIO_NET_F_HASH_TUNNEL"
    And the driver has posted 8 receive buffers of 2048 bytes
    And the driver has enabled TCPv4 and UDPv4 hashing with the default key
    And the driver has enabled inner header hash for VXLAN
    And a VXLAN packet is hashed on its inner header
    When the driver sets enabled_tunnel_types to 0
    And the wire brings a VXLAN packet for the device's MAC address
    Then its hash_value is the hash of its outer header

  @clause:dev/net/device-operation/control-virtqueue/inner-header-hash#0dd54532 @requires:VIRTIO_NET_F_HASH_TUNNEL @requires:VIRTIO_NET_F_HASH_REPORT @ring:any
  Scenario: After a reset a VXLAN packet is hashed on its outer header
    Given the net driver has initialized the device for RSS with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_HASH_REPORT, VIRTIO_NET_F_HASH_TUNNEL"
    And the driver has posted 8 receive buffers of 2048 bytes
    And the driver has enabled TCPv4 and UDPv4 hashing with the default key
    And the driver has enabled inner header hash for VXLAN
    And a VXLAN packet is hashed on its inner header
    When the driver resets and initializes the device again with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_HASH_REPORT, VIRTIO_NET_F_HASH_TUNNEL"
    And the driver has posted 8 receive buffers of 2048 bytes
    And the driver has enabled TCPv4 and UDPv4 hashing with the default key
    And the wire brings a VXLAN packet for the device's MAC address
    Then its hash_value is the hash of its outer header
