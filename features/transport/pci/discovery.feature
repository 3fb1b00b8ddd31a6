@role:device @transport:pci
Feature: PCI device discovery and capabilities (device requirements, 4.1.2.1 and 4.1.4)

  @clause:dev/pci/pci-device-discovery#c6a7eb77
  Scenario: The PCI vendor ID is 0x1AF4
    When the driver reads the PCI configuration header
    Then the PCI vendor ID is 0x1AF4

  @clause:dev/pci/pci-device-discovery#18ada0c9
  Scenario: The PCI device ID is 0x1040 plus the virtio device ID, or the transitional ID
    When the driver reads the PCI configuration header
    Then the PCI device ID matches the virtio device type

  @clause:dev/pci/pci-device-layout/common-configuration-structure-layout#65adf37d
  Scenario: A common configuration capability is present
    When the driver walks the PCI capability list
    Then there is at least one "common" virtio capability

  @clause:dev/pci/pci-device-layout/notification-capability#822daf55
  Scenario: A notification capability is present
    When the driver walks the PCI capability list
    Then there is at least one "notify" virtio capability

  @clause:dev/pci/pci-device-layout/isr-status-capability#555537f9
  Scenario: An ISR status capability is present
    When the driver walks the PCI capability list
    Then there is at least one "isr" virtio capability

  @clause:dev/pci/pci-device-layout/notification-capability#43b982c2
  Scenario: notify_off_multiplier is an even power of 2 or 0
    When the driver walks the PCI capability list
    Then notify_off_multiplier is 0 or an even power of 2
