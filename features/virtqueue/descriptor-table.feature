@role:device @ring:split
Feature: The virtqueue descriptor table (device requirements, 2.7.5.1)

  @clause:dev/core/virtqueues/the-virtqueue-descriptor-table#303b1ca3 @device:blk
  Scenario: The device does not write to device-readable buffers
    Given the driver has initialized the device
    When the driver submits a write request whose device-readable buffers hold a canary pattern
    Then the device-readable buffers still hold the canary pattern

  @clause:dev/core/virtqueues/the-virtqueue-descriptor-table#303b1ca3 @device:blk
  Scenario: The device does not write to the header of a read request
    Given the driver has initialized the device
    When the driver reads a sector
    Then the request header still holds what the driver wrote

  @clause:dev/core/virtqueues/the-virtqueue-descriptor-table#8a81b0c7
  Scenario: The device does not write to the descriptor table
    Given the driver has initialized the device
    When the driver submits 4 requests one after another
    Then the descriptor table is byte for byte what the driver wrote

  @clause:dev/core/virtqueues/the-virtqueue-descriptor-table#8a81b0c7 @requires:VIRTIO_F_INDIRECT_DESC
  Scenario: The device does not write to the descriptor table or the indirect tables
    Given the driver has initialized the device with "VIRTIO_F_INDIRECT_DESC" negotiated
    When the driver submits 4 requests in indirect tables one after another
    Then the descriptor table is byte for byte what the driver wrote
