@role:device @ring:any @device:blk
Feature: Message framing (device requirements, 2.7.4.1)
  The device makes no assumption about how a request is split into descriptors: the
  same write and read-back succeed whatever the layout.

  @clause:dev/core/message-framing#e0f78532
  Scenario Outline: A block request is accepted in any descriptor layout (<layout>)
    Given the driver has initialized the device
    When the driver writes a sector and reads it back using the "<layout>" layout
    Then both requests succeed and the data read back is the data written

    Examples:
      | layout                |
      | header split in two   |
      | header in single bytes |
