@role:device @ring:split
Feature: Message framing (device requirements)
  The device makes no assumption about how a request is split into descriptors.

  @clause:dev/core/message-framing#e0f78532 @device:blk
  Scenario Outline: A block request is accepted in any descriptor layout (<layout>)
    Given the driver has initialized the device
    When the driver writes a sector and reads it back using the "<layout>" layout
    Then the request succeeds and the data read back is the data written

    Examples:
      | layout                        |
      | header split in two           |
      | data in eight segments        |
      | status merged with data       |
      | header merged with data       |

  @clause:dev/core/message-framing#e0f78532 @device:entropy
  Scenario Outline: An entropy request is accepted in any descriptor layout (<layout>)
    Given the driver has initialized the device
    When the driver requests 64 random bytes using the "<layout>" layout
    Then the device returns between 1 and 64 bytes

    Examples:
      | layout               |
      | eight segments       |
      | one-byte segments    |
