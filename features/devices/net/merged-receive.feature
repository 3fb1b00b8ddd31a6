@role:device @device:net
Feature: Network device merged receive buffers (device requirement, 5.1.9.4.1)

  @clause:dev/net/device-operation/processing-of-incoming-packets#50ccf054 @requires:VIRTIO_NET_F_MRG_RXBUF @ring:any
  Scenario: The buffers of a packet become used together
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF"
    And the driver has posted 8 receive buffers of 256 bytes
    When the wire brings a frame of 1500 bytes for the device's MAC address
    Then as soon as a buffer of the frame is used, at least num_buffers buffers are used
