@role:device @transport:pci
Feature: PCI interrupts: ISR status and MSI-X (device requirements)

  @clause:dev/pci/pci-device-layout/isr-status-capability#3a7442c5
  Scenario: Reading the ISR status clears it
    Given the driver has initialized the device with MSI-X disabled
    When the driver submits a request and the device uses it
    Then the first read of ISR status has the queue bit set
    And a second read of ISR status reads 0

  @clause:?pci-isr-queue-bit-before-notification
  Scenario: The queue interrupt bit is set when the INTx interrupt is raised
    Given the driver has initialized the device with MSI-X disabled
    When the driver submits a request and the device uses it
    Then the INTx line is asserted and ISR status has the queue bit set

  @clause:?pci-isr-config-bit-before-notification @device:blk
  Scenario: The configuration interrupt bit is set for a configuration change
    Given the driver has initialized the device with MSI-X disabled
    When the device configuration changes
    Then ISR status has the configuration bit set

  @clause:dev/pci/pci-specific-initialization-and-device-operation/device-initialization/msi-x-vector-configuration#fbe4a5bc
  Scenario: Mapping a queue to a vector beyond the MSI-X table reads back NO_VECTOR
    Given the driver has enabled MSI-X
    When the driver maps the request queue to vector "table size"
    Then queue_msix_vector reads 0xffff

  @clause:?pci-msix-readback
  Scenario: A mapped vector reads back, an unmapped one reads NO_VECTOR
    Given the driver has enabled MSI-X
    When the driver maps the request queue to vector 1 and the configuration to no vector
    Then queue_msix_vector reads 1 and config_msix_vector reads 0xffff

  @clause:dev/pci/pci-specific-initialization-and-device-operation/device-initialization/msi-x-vector-configuration#c24f43cb
  Scenario: MSI-X vectors are unmapped by a reset
    Given the driver has initialized the device with MSI-X vectors mapped
    When the driver resets the device
    Then queue_msix_vector and config_msix_vector read 0xffff

  @clause:?pci-msix-used-buffer-notification
  Scenario: The queue's MSI-X vector receives the used buffer notification
    Given the driver has initialized the device with MSI-X vectors mapped
    When the driver submits a request and the device uses it
    Then the MSI-X message of the queue's vector was written

  @clause:?pci-no-vector-no-interrupt
  Scenario: No interrupt is delivered for a queue mapped to NO_VECTOR
    Given the driver has initialized the device with MSI-X enabled and the request queue unmapped
    When the driver submits a request and the device uses it
    Then no MSI-X message was written and the INTx line is not asserted
