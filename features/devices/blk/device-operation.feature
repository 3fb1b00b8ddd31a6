@role:device @device:blk
Feature: Block device operation and initialization (device requirements)

  @clause:dev/blk/device-operation#e179b42a
  Scenario: A write to a read-only device fails with VIRTIO_BLK_S_IOERR
    Given a block device that offers VIRTIO_BLK_F_RO
    And the driver has initialized the device
    When the driver writes a sector
    Then the request status is VIRTIO_BLK_S_IOERR

  @clause:dev/blk/device-operation#e179b42a
  Scenario: A write to a read-only device changes no data
    Given a block device that offers VIRTIO_BLK_F_RO
    And the driver has initialized the device
    When the driver reads a sector, writes different data to it and reads it again
    Then the sector still holds its original data

  @clause:dev/blk/device-operation#853b5ae3 @requires:VIRTIO_BLK_F_WRITE_ZEROES
  Scenario: Write zeroes with an unknown flag is unsupported
    Given the driver has initialized the device
    When the driver sends a write zeroes request with flags 0x2
    Then the request status is VIRTIO_BLK_S_UNSUPP

  @clause:dev/blk/device-operation#853b5ae3 @requires:VIRTIO_BLK_F_DISCARD
  Scenario: Discard with the unmap flag is unsupported
    Given the driver has initialized the device
    When the driver sends a discard request with flags 0x1
    Then the request status is VIRTIO_BLK_S_UNSUPP

  @clause:dev/blk/device-operation#6511626b @requires:VIRTIO_BLK_F_WRITE_ZEROES
  Scenario Outline: Sectors read back as zeroes after write zeroes (unmap <unmap>)
    Given the driver has initialized the device
    When the driver writes a pattern to 4 sectors, sends write zeroes over them with unmap <unmap> and reads them back
    Then the sectors read back as zeroes

    Examples:
      | unmap |
      | 0     |
      | 1     |

  @clause:dev/core/feature-bits#6eabe65a @requires:VIRTIO_BLK_F_FLUSH
  Scenario: A flush completes when VIRTIO_BLK_F_FLUSH is offered
    Given the driver has initialized the device
    When the driver writes a sector and sends a flush request
    Then the request status is VIRTIO_BLK_S_OK

  @clause:?blk-should-offer-flush
  Scenario: The device offers VIRTIO_BLK_F_FLUSH
    When the driver reads the device feature bits
    Then the device offers "VIRTIO_BLK_F_FLUSH"

  @clause:?blk-padding-zero
  Scenario: The configuration padding bytes are 0
    When the driver reads the device-specific configuration
    Then the padding bytes unused0 and unused1 read 0
