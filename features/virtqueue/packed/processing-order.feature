@role:device @ring:packed @requires:VIRTIO_F_RING_PACKED
Feature: Packed ring processing order (device requirement, 2.8.12)
  The device starts processing the driver's descriptors in ring order, though it may
  complete them in another. Completion order does not show where processing started, so
  the scenario watches a stream the device emits as it processes: the bytes of console
  transmit buffers reach the host port in the order the device takes the buffers.

  @clause:dev/core/packed-virtqueues#312238fc @device:console
  Scenario: Console transmit buffers made available together reach the host in ring order
    Given the driver has initialized the console with port 0 only
    When the driver makes 4 transmit buffers available on port 0 and notifies the device once
    Then the host receives the bytes of the buffers in the order they were made available
