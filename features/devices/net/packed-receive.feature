@role:device @device:net @ring:packed
Feature: Network device receive on the packed ring (device requirement, 2.8.12)

  @clause:dev/core/packed-virtqueues#91b72387 @requires:VIRTIO_NET_F_MRG_RXBUF
  Scenario: A packet over several buffers becomes visible to the driver all at once (packed ring)
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF"
    And the driver has posted 6 receive buffers of 512 bytes
    And the driver watches the order of used descriptor flags
    When the wire brings a frame of 1500 bytes for the device's MAC address
    Then the first buffer of the frame is marked used after the others
