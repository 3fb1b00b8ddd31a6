@role:device @ring:any
Feature: Spurious notifications (device requirement, 2.7.10.2; the rule holds for either ring layout)
  An available buffer notification with no new buffer leaves the device working.

  @clause:dev/core/virtqueues/virtqueue-notification-suppression#43f0058c
  Scenario: Spurious notifications are handled
    Given the driver has initialized the device
    When the driver notifies the device 5 times without making buffers available
    And the driver submits 2 requests one after another
    Then each request was used exactly once
    And the device status does not have DEVICE_NEEDS_RESET set

  @clause:dev/core/virtqueues/virtqueue-notification-suppression#43f0058c
  Scenario: Spurious notifications after the device has used every buffer are handled
    Given the driver has initialized the device
    When the driver submits 2 requests one after another
    And the driver notifies the device 5 times without making buffers available
    And the driver submits 2 requests one after another
    Then each request was used exactly once
    And the device status does not have DEVICE_NEEDS_RESET set
