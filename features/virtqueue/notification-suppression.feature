@role:device @ring:split
Feature: Notification suppression (device requirements, 2.7.7.2 and 2.7.10.2)

  Rule: Used buffer notifications without VIRTIO_F_EVENT_IDX

    @clause:dev/core/virtqueues/virtqueue-interrupt-suppression#5dff8fc0
    Scenario: With avail flags 0 the device notifies after using a buffer
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX" negotiated
      When the driver submits a request with avail flags 0
      Then the device has sent a used buffer notification

    @clause:dev/core/virtqueues/virtqueue-interrupt-suppression#50b652be
    Scenario: With VIRTQ_AVAIL_F_NO_INTERRUPT set the device does not notify
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX" negotiated
      When the driver submits a request with avail flags VIRTQ_AVAIL_F_NO_INTERRUPT
      Then the device has sent no used buffer notification

    @clause:dev/core/virtqueues/virtqueue-interrupt-suppression#28bbee95
    Scenario: Without VIRTIO_F_EVENT_IDX the used_event field is ignored
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX" negotiated
      And the device has notified the driver for a first request
      When the driver sets used_event to 100 and submits a request with avail flags 0
      Then the device has sent a used buffer notification

  Rule: Used buffer notifications with VIRTIO_F_EVENT_IDX

    @clause:dev/core/virtqueues/virtqueue-interrupt-suppression#8e9cf0f0 @requires:VIRTIO_F_EVENT_IDX
    Scenario: The device notifies for the buffer placed at the used_event index
      Given the driver has initialized the device with "VIRTIO_F_EVENT_IDX" negotiated
      When the driver sets used_event to 2 and submits 3 requests one at a time
      Then the device has sent a used buffer notification for request 3

    @clause:dev/core/virtqueues/used-buffer-notification-suppression#4060e4ed @requires:VIRTIO_F_EVENT_IDX
    Scenario: The device does not notify for buffers placed before the used_event index
      Given the driver has initialized the device with "VIRTIO_F_EVENT_IDX" negotiated
      When the driver sets used_event to 2 and submits 3 requests one at a time
      Then the device has sent no used buffer notification for requests 1 and 2

    @clause:dev/core/virtqueues/virtqueue-interrupt-suppression#ec18853a @requires:VIRTIO_F_EVENT_IDX
    Scenario: With VIRTIO_F_EVENT_IDX the NO_INTERRUPT flag is ignored
      Given the driver has initialized the device with "VIRTIO_F_EVENT_IDX" negotiated
      And the device has notified the driver for a first request
      When the driver sets used_event to 1 and submits a request with avail flags VIRTQ_AVAIL_F_NO_INTERRUPT
      Then the device has sent a used buffer notification

  Rule: Available buffer notification suppression

    @clause:dev/core/virtqueues/virtqueue-notification-suppression#f9d8255d
    Scenario: Without VIRTIO_F_EVENT_IDX the used ring flags are 0 or 1
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX" negotiated
      When the driver submits 3 requests one after another
      Then the used ring flags were 0 or 1 every time the driver looked

    @clause:dev/core/virtqueues/virtqueue-notification-suppression#29a11fea @requires:VIRTIO_F_EVENT_IDX
    Scenario: With VIRTIO_F_EVENT_IDX the used ring flags are 0
      Given the driver has initialized the device with "VIRTIO_F_EVENT_IDX" negotiated
      When the driver submits 3 requests one after another
      Then the used ring flags were 0 every time the driver looked
