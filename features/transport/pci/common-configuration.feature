@role:device @transport:pci
Feature: PCI common configuration structure (device requirements, 4.1.4.3.1)

  @clause:dev/pci/pci-device-layout/common-configuration-structure-layout#1174c62d
  Scenario: device_feature presents the feature window chosen by device_feature_select
    When the driver reads device_feature for device_feature_select 0 to 3
    Then windows 0 and 1 differ from each other or are both 0, and windows 2 and 3 read 0

  @clause:dev/pci/pci-device-layout/common-configuration-structure-layout#ae302d9e
  Scenario: Writing 0 to device_status resets the device and device_status reads 0
    Given the driver has initialized the device
    When the driver writes 0 to the device status
    Then the device status reads 0 within the reset timeout

  @clause:dev/pci/pci-device-layout/common-configuration-structure-layout#0655533c
  Scenario: queue_enable reads 0 after a reset
    Given the driver has initialized the device
    When the driver resets the device
    Then queue_enable reads 0 for every queue

  @clause:dev/pci/pci-device-layout/common-configuration-structure-layout#882aa4ad
  Scenario: queue_size is 0 or a power of 2 for every queue
    When the driver reads queue_size for every queue
    Then every queue_size is 0 or a power of 2

  @clause:dev/pci/pci-device-layout/common-configuration-structure-layout#dcc67076 @device:blk
  Scenario: config_generation changes after a changed configuration value is read
    Given the driver has initialized the device
    And the driver has read config_generation and the device-specific configuration
    When the device configuration changes
    And the driver reads the device-specific configuration again
    Then config_generation differs from the value read before
