@role:device @device:net
Feature: Network device transmit segmentation offload (device requirements, 5.1.9.2.2)

  @clause:dev/net/device-operation/packet-transmission#1a33c732 @requires:VIRTIO_NET_F_HOST_TSO4 @ring:any
  Scenario: A TCP GSO packet with a wrong hdr_len is still segmented right
    Given the net device is initialized for offloads with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4"
    When the driver sends an IPv4 TCP packet of 3000 payload bytes as VIRTIO_NET_HDR_GSO_TCPV4 with gso_size 1000 and hdr_len 34
    Then the wire carries the TCP payload in segments of at most 1000 bytes with right headers and checksums
