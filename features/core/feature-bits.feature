@role:device
Feature: Feature bits (device requirements, 2.2.2 and 6.2)

  @clause:dev/reserved#605018ce
  Scenario: The device offers VIRTIO_F_VERSION_1
    When the driver reads the device feature bits
    Then the device offers "VIRTIO_F_VERSION_1"

  @clause:dev/core/feature-bits#c168304e
  Scenario: Every offered feature comes with the features it requires
    When the driver reads the device feature bits
    Then no offered feature lacks a feature it requires

  @clause:dev/core/feature-bits#6eabe65a
  Scenario: The device offers no reserved or undefined feature bits
    When the driver reads the device feature bits
    Then every offered feature is defined for this device type and transport

  @clause:dev/core/feature-bits#8e5e2226
  Scenario Outline: A valid subset of the offered features is accepted (<subset>)
    When the driver negotiates the features "<subset>"
    Then the device keeps FEATURES_OK set

    Examples:
      | subset                 |
      | VIRTIO_F_VERSION_1     |

  @clause:dev/core/feature-bits#82457834
  Scenario: The same features are accepted again after a reset
    Given the driver has initialized the device
    When the driver resets the device
    And the driver negotiates the same features again
    Then the device keeps FEATURES_OK set
