@role:device @ring:packed @requires:VIRTIO_F_RING_PACKED
Feature: The packed descriptor ring (device requirements, 2.8.15)
  The driver makes buffers available by flipping AVAIL/USED in a descriptor's flags for
  the current lap; the device writes used descriptors into the same ring.

  Rule: A descriptor is used only once its AVAIL bit has changed for the current lap

    @clause:dev/core/packed-virtqueues/the-virtqueue-descriptor-table#20c57546
    Scenario: A descriptor flagged available for the other lap is not used
      Given the driver has initialized the device
      When the driver writes a descriptor flagged available for the other lap and notifies the device
      Then the device has not used that descriptor
      When the driver then submits a request
      Then each request was used exactly once

    @clause:dev/core/packed-virtqueues/the-virtqueue-descriptor-table#20c57546
    Scenario: Descriptors left from the previous lap are not used again
      # Queue size 4, lists of 3: the second list wraps, and the descriptor after it still
      # holds the first lap's flags (the device wrote a used descriptor only at the head).
      Given the driver has initialized the device with queue size 4
      When the driver submits 2 requests over 3 descriptors one after another
      And the driver notifies the device 3 times without making buffers available
      Then each request was used exactly once

  Rule: The device does not write to device-readable buffers

    @clause:dev/core/packed-virtqueues/the-virtqueue-descriptor-table#8d43643a @device:blk
    Scenario: The device does not write to the device-readable buffers of a write request
      Given the driver has initialized the device
      When the driver submits a write request whose device-readable buffers hold a canary pattern
      Then the device-readable buffers still hold the canary pattern

    @clause:dev/core/packed-virtqueues/the-virtqueue-descriptor-table#8d43643a @device:blk
    Scenario: The device does not write to the header of a read request
      Given the driver has initialized the device
      When the driver reads a sector
      Then the request header still holds what the driver wrote

  Rule: A used descriptor does not change once its USED bit has flipped

    # Observable only where the target reports each write of a used descriptor (the
    # reference emulator); elsewhere the scenario is INCONCLUSIVE.
    @clause:dev/core/packed-virtqueues/the-virtqueue-descriptor-table#0e9524e7
    Scenario: A used descriptor holds its final Buffer ID and len when USED flips
      Given the driver watches every write of a used descriptor
      And the driver has initialized the device
      When the driver makes a request whose used len differs from its first descriptor's length
      Then whenever the descriptor showed USED it held its final Buffer ID and len
