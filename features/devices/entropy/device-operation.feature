@role:device @device:entropy @ring:any
Feature: Entropy device operation (device requirements, 5.4.6.2)

  @clause:dev/entropy/device-operation#d8fd1519
  Scenario Outline: The device returns at least one random byte and no more than the buffer (<size> bytes)
    Given the driver has initialized the device
    When the driver requests <size> random bytes
    Then the device returns between 1 and <size> bytes

    Examples:
      | size |
      | 1    |
      | 16   |
      | 4096 |

  @clause:dev/entropy/device-operation#d8fd1519
  Scenario: The device returns at least one random byte into a buffer split over 8 descriptors
    Given the driver has initialized the device
    When the driver requests 64 random bytes split over 8 descriptors
    Then the device returns between 1 and 64 bytes
