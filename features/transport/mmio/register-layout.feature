@role:device @transport:mmio
Feature: MMIO device register layout (device requirements, 4.2.2.1)

  @clause:dev/mmio/mmio-device-register-layout#e2184120
  Scenario: MagicValue reads 0x74726976
    When the driver reads the MMIO register "MagicValue"
    Then the register reads 0x74726976

  @clause:dev/mmio/mmio-device-register-layout#d4432878
  Scenario: Version reads 2
    When the driver reads the MMIO register "Version"
    Then the register reads 0x2

  @clause:dev/mmio/mmio-device-register-layout#c11f2e6a @ring:any
  Scenario: A reset clears InterruptStatus and QueueReady
    Given the driver has initialized the device
    And the driver has submitted a request without acknowledging the interrupt
    When the driver resets the device
    Then InterruptStatus reads 0
    And QueueReady reads 0 for every queue

  @clause:dev/mmio/mmio-device-register-layout#2c403867 @ring:split
  Scenario: The device does not access a virtqueue whose QueueReady is 0
    Given the driver has initialized the device but left the request queue not ready
    When the driver makes a request available and notifies the device
    Then the device has not used any buffer

  @clause:dev/mmio/mmio-device-register-layout#1bc2dbd7 @device:blk
  Scenario: ConfigGeneration changes when the configuration changes
    Given the driver has initialized the device
    And the driver has read config_generation and the device-specific configuration
    When the device configuration changes
    And the driver reads the device-specific configuration again
    Then config_generation differs from the value read before
