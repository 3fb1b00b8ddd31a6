@role:device @ring:any
Feature: Device reset (device requirements, 2.4.1)

  @clause:dev/core/device-reset#3c77b259
  Scenario: Device status reads 0 after a reset
    Given the driver has initialized the device
    When the driver writes 0 to the device status
    Then the device status reads 0 within the reset timeout

  @clause:dev/core/device-reset#45355193
  Scenario: After a reset the device neither uses buffers nor notifies
    Given the driver has initialized the device
    And the driver has made a request available without notifying the device
    When the driver resets the device
    And the driver notifies the device
    Then the device has not used any buffer
    And the device has sent no used buffer notification
