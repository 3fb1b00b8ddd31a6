@role:device @ring:any
Feature: Device status field (device requirements, 2.1.2)
  The device does no work on the virtqueues, and sends no used buffer notification,
  until the driver has set DRIVER_OK.

  @clause:dev/core/device-status-field#5ab911d4
  Scenario: A buffer made available before DRIVER_OK is not consumed until DRIVER_OK
    Given the driver has initialized the device up to DRIVER_OK
    When the driver makes a request available and notifies the device
    Then the device has not used any buffer
    When the driver sets DRIVER_OK and notifies the device
    Then the device uses the buffer

  @clause:dev/core/device-status-field#5ab911d4
  Scenario: No used buffer notification is sent before DRIVER_OK
    Given the driver has initialized the device up to DRIVER_OK
    When the driver makes a request available and notifies the device
    Then the device has sent no used buffer notification
