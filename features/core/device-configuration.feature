@role:device @device:blk
Feature: Device configuration space (device requirements, 2.5.2)

  @clause:dev/core/device-configuration-space#dcc61455
  Scenario: Device-specific configuration is readable before FEATURES_OK
    Given the driver has set ACKNOWLEDGE and DRIVER and written its features
    When the driver reads the device-specific configuration
    And the driver completes initialization and reads the device-specific configuration again
    Then both reads of the device-specific configuration agree
