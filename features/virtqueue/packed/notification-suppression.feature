@role:device @ring:packed @requires:VIRTIO_F_RING_PACKED
Feature: Packed ring event suppression (device requirements; 2.8.10 states none, so the split ring's 2.7.7.2 and 2.7.10.2 clauses name the same rules)

  Rule: Used buffer notifications

    @clause:dev/core/virtqueues/virtqueue-interrupt-suppression#5dff8fc0
    Scenario: With driver event flags RING_EVENT_FLAGS_ENABLE the device notifies after using a buffer
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX" negotiated
      When the driver sets the driver event suppression flags to RING_EVENT_FLAGS_ENABLE and submits a request
      Then the device has sent a used buffer notification

    @clause:dev/core/virtqueues/virtqueue-interrupt-suppression#8e9cf0f0 @requires:VIRTIO_F_EVENT_IDX
    Scenario: With RING_EVENT_FLAGS_DESC the device notifies for the buffer at the event descriptor
      Given the driver has initialized the device with "VIRTIO_F_EVENT_IDX" negotiated
      When the driver sets RING_EVENT_FLAGS_DESC at the used descriptor of request 3 and submits 3 requests one at a time
      Then the device has sent a used buffer notification for request 3

    @clause:dev/core/virtqueues/virtqueue-interrupt-suppression#50b652be
    Scenario: With driver event flags RING_EVENT_FLAGS_DISABLE the device does not notify
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX" negotiated
      And the device has notified the driver for a first request
      When the driver sets the driver event suppression flags to RING_EVENT_FLAGS_DISABLE and submits a request
      Then the device has sent no used buffer notification

    @clause:dev/core/virtqueues/used-buffer-notification-suppression#4060e4ed @requires:VIRTIO_F_EVENT_IDX
    Scenario: With RING_EVENT_FLAGS_DESC the device does not notify before the event descriptor
      Given the driver has initialized the device with "VIRTIO_F_EVENT_IDX" negotiated
      And the device has notified the driver for a first request
      When the driver sets RING_EVENT_FLAGS_DESC 4 descriptors past the next 2 requests and submits them one at a time
      Then the device has sent no used buffer notification for those requests

  Rule: Available buffer notification suppression

    @clause:dev/core/virtqueues/virtqueue-notification-suppression#f9d8255d
    Scenario: Without VIRTIO_F_EVENT_IDX the device event flags are ENABLE or DISABLE
      Given the driver has initialized the device without "VIRTIO_F_EVENT_IDX" negotiated
      When the driver submits 3 requests one after another
      Then the device event suppression flags were RING_EVENT_FLAGS_ENABLE or RING_EVENT_FLAGS_DISABLE every time the driver looked
