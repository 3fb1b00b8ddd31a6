@role:device @ring:any @requires:VIRTIO_F_RING_RESET
Feature: Virtqueue reset (device requirements, 2.6.1.1.1)
  The driver resets the request queue through queue_reset (PCI) or QueueReset (MMIO)
  and may set it up again with new rings.

  @clause:dev/core/virtqueues/virtqueue-reset/virtqueue-reset#f5a07871
  Scenario: After a queue reset the device neither uses the queue's buffers nor notifies for it
    Given the driver has initialized the device with "VIRTIO_F_RING_RESET" negotiated
    And the driver has made a request available without notifying the device
    When the driver resets the virtqueue
    And the driver notifies the device
    Then the device has not used any buffer
    And the device has sent no used buffer notification

  @clause:dev/core/virtqueues/virtqueue-reset/virtqueue-reset#6cca79f8
  Scenario: A reset queue starts from the default avail and used state on new rings
    Given the driver has initialized the device with "VIRTIO_F_RING_RESET" negotiated
    And the driver submits 3 requests one after another
    When the driver resets the virtqueue
    And the driver sets the virtqueue up again with new rings
    And the driver submits 2 requests one after another
    Then each request was used exactly once

