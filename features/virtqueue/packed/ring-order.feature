@role:device @ring:packed @requires:VIRTIO_F_RING_PACKED
Feature: Packed ring order (device requirements, 2.8.12, 2.8.18, 2.7.4.1)
  Used descriptors are written at the ring positions the driver reads next, lap after lap
  with the Device Ring Wrap Counter; the queue size need not be a power of 2.

  @clause:dev/core/packed-virtqueues#91b72387
  Scenario Outline: Used descriptors follow the ring over several laps (queue size <size>, lists of <descs>)
    Given the driver has initialized the device with queue size <size>
    When the driver submits 12 requests over <descs> descriptors one after another
    Then each request was used exactly once

    @device:entropy
    Examples:
      | size | descs |
      | 3    | 1     |
      | 5    | 1     |
      | 7    | 1     |

    # Lists that tile the ring: a list as long as the ring is the framing scenario's.
    Examples:
      | size | descs |
      | 6    | 3     |

  @clause:dev/core/message-framing#e0f78532
  Scenario Outline: A descriptor list as long as the whole ring is accepted (queue size <size>)
    Given the driver has initialized the device with queue size <size>
    When the driver submits a request whose descriptor list fills the whole ring
    Then each request was used exactly once

    Examples:
      | size |
      | 3    |
      | 7    |
