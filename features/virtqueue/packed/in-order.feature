@role:device @ring:packed @requires:VIRTIO_F_RING_PACKED @requires:VIRTIO_F_IN_ORDER
Feature: VIRTIO_F_IN_ORDER on the packed ring (device requirement, 6.2)
  With IN_ORDER the device uses buffers in the order they were made available: one used
  descriptor may stand for a batch, naming its last buffer.

  @clause:dev/reserved#7da24598
  Scenario: Buffers made available together are used in ring order
    Given the driver has initialized the device with "VIRTIO_F_IN_ORDER" negotiated
    When the driver makes 3 requests available and notifies the device once
    Then the used descriptors name the requests in the order they were made available
