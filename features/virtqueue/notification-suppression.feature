@role:device @ring:split
Feature: Notification suppression (device requirements)

  Rule: Used buffer notifications without VIRTIO_F_EVENT_IDX

    @clause:dev/core/virtqueues/used-buffer-notification-suppression#253cf9ee
    Scenario: With avail flags 0 the device notifies after using a buffer
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX"
      When the driver submits a request with avail flags 0
      Then the device sends a used buffer notification

    @clause:dev/core/virtqueues/used-buffer-notification-suppression#1e4eb6c7
    Scenario: With VIRTQ_AVAIL_F_NO_INTERRUPT set the device does not notify
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX"
      When the driver submits a request with avail flags VIRTQ_AVAIL_F_NO_INTERRUPT
      Then the device sends no used buffer notification

    @clause:?used-notif-ignore-used-event
    Scenario: Without VIRTIO_F_EVENT_IDX the used_event field is ignored
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX"
      When the driver sets used_event to 100 and submits a request with avail flags 0
      Then the device sends a used buffer notification

  Rule: Used buffer notifications with VIRTIO_F_EVENT_IDX

    @clause:dev/core/virtqueues/used-buffer-notification-suppression#bf14a864 @requires:VIRTIO_F_EVENT_IDX
    Scenario: The device notifies when the used idx reaches used_event
      Given the driver has initialized the device with features "VIRTIO_F_EVENT_IDX"
      When the driver sets used_event to 2 and submits 3 requests one at a time
      Then the device sent a used buffer notification only for request 3

    @clause:?used-notif-event-idx-should-not @requires:VIRTIO_F_EVENT_IDX
    Scenario: The device does not notify before the used idx reaches used_event
      Given the driver has initialized the device with features "VIRTIO_F_EVENT_IDX"
      When the driver sets used_event to 5 and submits 2 requests one at a time
      Then the device sent no used buffer notification for any of them

    @clause:?used-notif-event-idx-ignore-flags @requires:VIRTIO_F_EVENT_IDX
    Scenario: With VIRTIO_F_EVENT_IDX the NO_INTERRUPT flag is ignored
      Given the driver has initialized the device with features "VIRTIO_F_EVENT_IDX"
      When the driver sets used_event to 0 and submits a request with avail flags VIRTQ_AVAIL_F_NO_INTERRUPT
      Then the device sends a used buffer notification

  Rule: Available buffer notification suppression

    @clause:dev/core/virtqueues/available-buffer-notification-suppression#f9d8255d
    Scenario: Without VIRTIO_F_EVENT_IDX the used ring flags are 0 or 1
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX"
      When the driver submits 3 requests one after another
      Then the used ring flags were 0 or 1 every time the driver looked

    @clause:dev/core/virtqueues/available-buffer-notification-suppression#29a11fea @requires:VIRTIO_F_EVENT_IDX
    Scenario: With VIRTIO_F_EVENT_IDX the used ring flags are 0
      Given the driver has initialized the device with features "VIRTIO_F_EVENT_IDX"
      When the driver submits 3 requests one after another
      Then the used ring flags were 0 every time the driver looked

    @clause:dev/core/virtqueues/available-buffer-notification-suppression#43f0058c
    Scenario: Spurious notifications are handled
      Given the driver has initialized the device
      When the driver notifies the device 5 times without making buffers available
      And the driver submits 2 requests one after another
      Then each request was used exactly once
      And the device status does not have DEVICE_NEEDS_RESET set
