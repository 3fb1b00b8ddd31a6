@role:device @transport:mmio
Feature: MMIO device register layout (device requirements)

  @clause:dev/mmio/mmio-device-register-layout#e2184120
  Scenario: MagicValue reads 0x74726976
    When the driver reads the MMIO register "MagicValue"
    Then the register reads 0x74726976

  @clause:dev/mmio/mmio-device-register-layout#d4432878
  Scenario: Version reads 2
    When the driver reads the MMIO register "Version"
    Then the register reads 0x2

  @clause:?mmio-interrupt-status-until-ack
  Scenario: InterruptStatus shows the used buffer event until it is acknowledged
    Given the driver has initialized the device
    When the driver submits a request and the device uses it
    Then InterruptStatus reads 0x1
    And after the driver writes 0x1 to InterruptACK, InterruptStatus reads 0

  @clause:dev/mmio/mmio-device-register-layout#c11f2e6a
  Scenario: A reset clears QueueReady
    Given the driver has initialized the device
    When the driver resets the device
    Then QueueReady reads 0 for every queue

  @clause:dev/mmio/mmio-device-register-layout#c11f2e6a
  Scenario: A reset clears InterruptStatus
    Given the driver has initialized the device
    And the driver has submitted a request and the device has used it without the driver acknowledging the interrupt
    When the driver resets the device
    Then InterruptStatus reads 0

  @clause:?mmio-config-generation @device:blk
  Scenario: ConfigGeneration changes when the configuration changes
    Given the driver has initialized the device
    And the driver has read config_generation and the configuration
    When the device configuration changes
    And the driver reads the configuration again
    Then config_generation differs from the value read before

  @clause:dev/mmio/mmio-device-register-layout#5eb8a3aa
  Scenario: The device does not access a virtqueue whose QueueReady is 0
    Given the driver has initialized the device but left the request queue not ready
    When the driver makes a request available and notifies the device
    Then the device has not used any buffer
