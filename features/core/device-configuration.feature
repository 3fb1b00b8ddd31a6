@role:device
Feature: Device configuration space (device requirements)

  @clause:dev/core/device-configuration-space#dcc61455 @device:blk
  Scenario: Device-specific configuration is readable before FEATURES_OK
    Given the driver has set ACKNOWLEDGE and DRIVER
    When the driver reads the device-specific configuration
    And the driver completes initialization and reads the configuration again
    Then both reads of the configuration agree
