@role:device @ring:packed @requires:VIRTIO_F_RING_PACKED @device:blk
Feature: Packed ring scatter-gather (device requirement, 2.8.18)
  The device uses the descriptors of a list linked by VIRTQ_DESC_F_NEXT in the order the
  driver made them available. A block request's data over several descriptors shows it:
  the pieces lie in memory last-first, so a device that goes by anything but list order
  puts the sector's bytes in the wrong pieces. The other request of each pair uses one data
  descriptor.

  @clause:dev/core/packed-virtqueues/scatter-gather-support#70522821
  Scenario: Data read over several descriptors lands in list order
    Given the driver has initialized the device
    When the driver writes a sector in one descriptor and reads it back over 4 data descriptors
    Then the sector data is in list order

  @clause:dev/core/packed-virtqueues/scatter-gather-support#70522821
  Scenario: Data written over several descriptors is taken in list order
    Given the driver has initialized the device
    When the driver writes a sector over 4 data descriptors and reads it back in one descriptor
    Then the sector data is in list order
