@role:device @device:net
Feature: Network device link status (5.1.4, configuration change)

  @clause:dev/pci/pci-device-layout/common-configuration-structure-layout#dcc67076 @transport:pci @requires:VIRTIO_NET_F_STATUS
  Scenario: config_generation changes when the link status changes (PCI)
    Given the net driver has initialized the device with "VIRTIO_NET_F_STATUS"
    When the link goes down
    Then config_generation differs once status shows the link down

  @clause:dev/mmio/mmio-device-register-layout#1bc2dbd7 @transport:mmio @requires:VIRTIO_NET_F_STATUS
  Scenario: ConfigGeneration changes when the link status changes (MMIO)
    Given the net driver has initialized the device with "VIRTIO_NET_F_STATUS"
    When the link goes down
    Then config_generation differs once status shows the link down
