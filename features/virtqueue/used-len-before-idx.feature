@role:device @ring:split
Feature: The split used ring: len before used idx (device requirement, 2.7.8.2)
  The device sets len in a used element before it moves used idx past it. The driver puts
  0xffffffff into every used element's len field before it submits (no buffer of the
  queue can be used with that len) and reads the element in the same access that first
  shows used idx moved: a len still 0xffffffff was written after idx.

  @clause:dev/core/virtqueues/the-virtqueue-used-ring#b28b34f9
  Scenario: len is in place when used idx shows the element
    Given the driver has initialized the device
    When the driver fills the used ring's len fields with 0xffffffff and submits a request
    Then the used element's len was written when used idx moved
