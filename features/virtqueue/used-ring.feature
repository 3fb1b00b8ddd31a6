@role:device @ring:any
Feature: The virtqueue used ring (device requirements, 2.7.8.2; on packed rings too)
  The device writes at least len bytes before it publishes the used element. Each
  request is made twice, its writable buffers pre-filled with two different canary
  patterns, so a byte the device never wrote cannot hide behind a lucky value. The packed
  ring's used descriptors carry the same len, and 2.8 states no separate rule for it, so
  the scenarios run on both layouts and name the split ring's clause.

  @clause:dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4 @device:entropy
  Scenario Outline: Entropy: the device wrote every byte it reports in len (<size> byte buffer)
    Given the driver has initialized the device
    When the driver makes a "read <size> random bytes" request twice with different canary patterns
    Then every byte within the reported len was written by the device

    Examples:
      | size |
      | 4096 |

  @clause:dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4 @device:entropy
  Scenario: Entropy: len counts from the first of several writable descriptors
    Given the driver has initialized the device
    When the driver makes a "read 512 random bytes in 8 descriptors" request twice with different canary patterns
    Then every byte within the reported len was written by the device

  @clause:dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4 @device:blk
  Scenario Outline: Block: the device wrote every byte it reports in len (<request>)
    Given the driver has initialized the device
    When the driver makes a "<request>" request twice with different canary patterns
    Then every byte within the reported len was written by the device

    Examples:
      | request        |
      | read 1 sector  |
      | read 8 sectors |
      | write 1 sector |
      | get id         |

    @requires:VIRTIO_BLK_F_FLUSH
    Examples:
      | request |
      | flush   |
