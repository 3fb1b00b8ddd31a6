@role:device @ring:packed @requires:VIRTIO_F_RING_PACKED
Feature: Packed ring processing order (device requirement, 2.8.12)
  Where processing begins is not visible in the used descriptors (a device may legally
  complete buffers out of order), so these scenarios watch what a device emits while it
  processes, in that order: console transmit bytes on the host port, net frames on the
  wire. Several buffers are made available before a single notification.

  @clause:dev/core/packed-virtqueues#312238fc @device:console
  Scenario: Console transmit buffers made available together reach the host in ring order
    Given the driver has initialized the console with port 0 only
    When the driver makes 4 transmit buffers available on port 0 and notifies the device once
    Then the host receives the bytes of the buffers in the order they were made available


  @clause:dev/core/packed-virtqueues#312238fc @device:net
  Scenario: Frames made available together go out on the wire in ring order
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC"
    When the driver makes 4 frames available on transmitq1 and notifies the device once
    Then the wire carries the frames in the order they were made available
