@role:device @device:blk @ring:any
Feature: Block device initialization and operation (device requirements, 5.2.5 and 5.2.6.2)

  @clause:dev/blk/device-operation#e179b42a
  Scenario: A write to a read-only device fails with VIRTIO_BLK_S_IOERR
    Given a read-only block device
    And the driver has initialized the device
    When the driver reads a sector, writes different data to it and reads it again
    Then the write request status is VIRTIO_BLK_S_IOERR

  @clause:dev/blk/device-operation#e179b42a
  Scenario: A write to a read-only device changes no data
    Given a read-only block device
    And the driver has initialized the device
    When the driver reads a sector, writes different data to it and reads it again
    Then the sector still holds its original data

  @clause:dev/blk/device-operation#f5fd7678 @requires:VIRTIO_BLK_F_WRITE_ZEROES
  Scenario: Write zeroes with an unknown flag is unsupported
    Given the driver has initialized the device
    When the driver sends a write zeroes request with flags 2
    Then the request status is VIRTIO_BLK_S_UNSUPP

  @clause:dev/blk/device-operation#f5fd7678 @requires:VIRTIO_BLK_F_DISCARD
  Scenario: Discard with an unknown flag is unsupported
    Given the driver has initialized the device
    When the driver sends a discard request with flags 2
    Then the request status is VIRTIO_BLK_S_UNSUPP

  @clause:dev/blk/device-operation#15b3fd2f @requires:VIRTIO_BLK_F_DISCARD
  Scenario: Discard with the unmap flag is unsupported
    Given the driver has initialized the device
    When the driver sends a discard request with flags 1
    Then the request status is VIRTIO_BLK_S_UNSUPP

  @clause:dev/blk/device-operation#6511626b @requires:VIRTIO_BLK_F_WRITE_ZEROES
  Scenario Outline: Sectors read back as zeroes after write zeroes (unmap <unmap>)
    Given the driver has initialized the device
    When the driver writes a pattern to 4 sectors, sends write zeroes over them with unmap <unmap> and reads them back
    Then the sectors read back as zeroes

    Examples:
      | unmap |
      | 1     |

  @clause:dev/blk/device-initialization#6a887818
  Scenario: The device offers VIRTIO_BLK_F_FLUSH
    When the driver reads the device feature bits
    Then the device offers "VIRTIO_BLK_F_FLUSH"

  @clause:dev/blk/device-initialization#e9a84363
  Scenario: The configuration padding bytes are 0
    When the driver reads the device-specific configuration
    Then the padding bytes unused0 and unused1 read 0
