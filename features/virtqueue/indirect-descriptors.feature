@role:device @requires:VIRTIO_F_INDIRECT_DESC
Feature: Indirect descriptors (device requirements, 2.7.5.3.2; the WRITE flag rule on packed rings too)
  The WRITE flag rule runs on both layouts: 2.8.7 says the same of a packed ring's
  descriptor that refers to an indirect table and states no device requirement of its own,
  so the packed run names the split ring's clause. Direct descriptors followed by an
  indirect one exist only in the split ring (a packed ring's indirect descriptor is alone
  in its list), so that scenario runs on split rings only.

  @clause:dev/core/virtqueues/the-virtqueue-descriptor-table/indirect-descriptors#5a914a16 @ring:split
  Scenario Outline: <direct> direct descriptor(s) followed by one indirect descriptor are handled
    Given the driver has initialized the device with "VIRTIO_F_INDIRECT_DESC" negotiated
    When the driver submits a request as <direct> direct descriptors followed by one indirect descriptor
    Then the request completes correctly

    Examples:
      | direct |
      | 1      |
      | 2      |

  @clause:dev/core/virtqueues/the-virtqueue-descriptor-table/indirect-descriptors#6d148687 @ring:any
  Scenario: The WRITE flag on the descriptor that refers to an indirect table is ignored
    Given the driver has initialized the device with "VIRTIO_F_INDIRECT_DESC" negotiated
    When the driver submits a request in an indirect table whose descriptor has the WRITE flag set
    Then the request completes correctly
