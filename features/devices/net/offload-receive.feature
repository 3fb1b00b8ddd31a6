@role:device @device:net
Feature: Network device receive checksum and segmentation offloads (device requirements, 5.1.9.4.1)

  The wire hands the device a TCP/IPv4 frame with host offload metadata, as a backend with
  a vnet header would: a partial checksum (the TCP checksum field holds the pseudo-header
  sum), or a packet larger than the MSS to segment. A target whose wire cannot carry that
  metadata is INCONCLUSIVE.

  @clause:dev/net/device-operation/processing-of-incoming-packets#af28a6e2 @requires:VIRTIO_NET_F_GUEST_CSUM @ring:any
  Scenario: A packet received with NEEDS_CSUM is fully checksummed once the driver completes it
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_CSUM"
    And 2 receive buffers of 2048 bytes are posted for offloaded packets
    When the wire brings an IPv4 TCP packet of 1000 payload bytes whose checksum the host left partial
    Then completing the checksum at csum_start and csum_offset of a packet with NEEDS_CSUM gives a right TCP checksum

  @clause:dev/net/device-operation/processing-of-incoming-packets#346f9fcb @requires:VIRTIO_NET_F_GUEST_CSUM @ring:any
  Scenario: A packet received with NEEDS_CSUM carries the pseudo-header sum in its checksum field
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_CSUM"
    And 2 receive buffers of 2048 bytes are posted for offloaded packets
    When the wire brings an IPv4 TCP packet of 1000 payload bytes whose checksum the host left partial
    Then the TCP checksum field of a packet with NEEDS_CSUM holds the pseudo-header sum

  @clause:dev/net/device-operation/processing-of-incoming-packets#f6733a23 @requires:VIRTIO_NET_F_GUEST_CSUM @ring:any
  Scenario: A packet with a wrong IPv4 header checksum does not arrive with NEEDS_CSUM
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_CSUM"
    And 2 receive buffers of 2048 bytes are posted for offloaded packets
    When the wire brings an IPv4 TCP packet of 1000 payload bytes whose checksum the host left partial and whose IPv4 header checksum is wrong
    Then no packet arrives claiming VIRTIO_NET_HDR_F_NEEDS_CSUM

  @clause:dev/net/device-operation/processing-of-incoming-packets#c264fa1b @ring:any
  Scenario: Without VIRTIO_NET_F_GUEST_CSUM a packet the host left partially checksummed arrives fully checksummed
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC"
    And 2 receive buffers of 2048 bytes are posted for offloaded packets
    When the wire brings an IPv4 TCP packet of 1000 payload bytes whose checksum the host left partial
    Then the packet arrives with flags 0 and fully checksummed

  @clause:dev/net/device-operation/processing-of-incoming-packets#cfe3334a @requires:VIRTIO_NET_F_GUEST_TSO4 @ring:any
  Scenario: A received GSO packet has NEEDS_CSUM and the MSS in gso_size
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4"
    And 4 receive buffers of 65562 bytes are posted for offloaded packets
    When the wire brings an IPv4 TCP packet of 4000 payload bytes for segmentation with MSS 1400
    Then every packet delivered as GSO has VIRTIO_NET_HDR_F_NEEDS_CSUM and gso_size 1400

  @clause:dev/net/device-operation/processing-of-incoming-packets#0bf50cf6 @requires:VIRTIO_NET_F_GUEST_TSO4 @ring:any
  Scenario: A received GSO packet's hdr_len covers its headers
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4"
    And 4 receive buffers of 65562 bytes are posted for offloaded packets
    When the wire brings an IPv4 TCP packet of 4000 payload bytes for segmentation with MSS 1400
    Then every packet delivered as GSO has hdr_len covering its Ethernet, IP and TCP headers

  @clause:dev/net/device-operation/processing-of-incoming-packets#cd1d69b3 @requires:VIRTIO_NET_F_GUEST_TSO4 @requires:VIRTIO_NET_F_GUEST_ECN @ring:any
  Scenario: With VIRTIO_NET_F_GUEST_ECN a received GSO packet with CWR has VIRTIO_NET_HDR_GSO_ECN
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_ECN"
    And 4 receive buffers of 65562 bytes are posted for offloaded packets
    When the wire brings an IPv4 TCP packet of 4000 payload bytes with CWR set for segmentation with MSS 1400
    Then every packet delivered as GSO has VIRTIO_NET_HDR_GSO_ECN in gso_type

  @clause:dev/net/device-operation/processing-of-incoming-packets#cd1d69b3 @requires:VIRTIO_NET_F_GUEST_TSO4 @ring:any
  Scenario: Without VIRTIO_NET_F_GUEST_ECN a TCP packet with CWR is not delivered for segmentation
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4"
    And 4 receive buffers of 65562 bytes are posted for offloaded packets
    When the wire brings an IPv4 TCP packet of 4000 payload bytes with CWR set for segmentation with MSS 1400
    Then no packet is delivered as a TCP packet requiring segmentation

  @clause:dev/net/device-operation/processing-of-incoming-packets#91d4d8fa @requires:VIRTIO_NET_F_GUEST_TSO4 @ring:any
  Scenario: Without VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO a UDP-tunnelled TCP packet is not delivered for segmentation
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4"
    And 4 receive buffers of 65562 bytes are posted for offloaded packets
    When the wire brings a UDP-tunnelled IPv4 TCP packet of 4000 payload bytes for segmentation with MSS 1400
    Then no packet is delivered as a GSO packet
