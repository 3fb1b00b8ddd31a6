@role:device @transport:pci
Feature: PCI interrupts: ISR status and MSI-X (device requirements, 4.1.4.5.1 and 4.1.5.1.2.1)

  @clause:dev/pci/pci-device-layout/isr-status-capability#3a7442c5 @ring:any
  Scenario: Reading the ISR status clears it
    Given the driver has initialized the device with MSI-X disabled
    When the driver submits a request without reading the ISR status
    Then the first read of ISR status has the queue bit set
    And a second read of ISR status reads 0

  @clause:dev/pci/pci-device-layout/isr-status-capability#3a7442c5 @device:blk
  Scenario: Reading the ISR status after a configuration change clears it
    Given the driver has initialized the device with MSI-X disabled
    When the device configuration changes
    Then the first read of ISR status has the configuration bit set
    And a second read of ISR status reads 0

  @clause:dev/pci/pci-specific-initialization-and-device-operation/device-initialization/msi-x-vector-configuration#fbe4a5bc
  Scenario: Mapping configuration changes to a vector beyond the MSI-X table reads back NO_VECTOR
    Given the driver has enabled MSI-X
    When the driver maps configuration changes to the first vector beyond the MSI-X table
    Then config_msix_vector reads 0xffff

  @clause:dev/pci/pci-specific-initialization-and-device-operation/device-initialization/msi-x-vector-configuration#fbe4a5bc
  Scenario: Mapping a queue to a vector beyond the MSI-X table reads back NO_VECTOR
    Given the driver has enabled MSI-X
    When the driver maps the request queue to the first vector beyond the MSI-X table
    Then queue_msix_vector reads 0xffff
