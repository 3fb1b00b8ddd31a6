@role:device @device:net @ring:any
Feature: Network device notification coalescing (device requirements, 5.1.9.5.10.6)

  @clause:dev/net/device-operation/control-virtqueue/notifications-coalescing#d98a379b @requires:VIRTIO_NET_F_VQ_NOTF_COAL
  Scenario: VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET ignores reserved
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_VQ_NOTF_COAL"
    And the driver has set coalescing of receiveq1 to 16 packets and 100 usecs
    When the driver sets coalescing of receiveq1 to 0 packets and 0 usecs with reserved 0xffff
    Then the control command ack is VIRTIO_NET_OK
    And coalescing of receiveq1 reads 0 packets and 0 usecs

  @clause:dev/net/device-operation/control-virtqueue/notifications-coalescing#cb4772df @requires:VIRTIO_NET_F_VQ_NOTF_COAL
  Scenario: VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET it cannot apply is answered with VIRTIO_NET_ERR
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_VQ_NOTF_COAL"
    When the driver sets coalescing of receiveq1 to 4294967295 packets and 4294967295 usecs with reserved 0
    Then the device refused them with VIRTIO_NET_ERR or reads them back

  @clause:dev/net/device-operation/control-virtqueue/notifications-coalescing#87ef66c3 @requires:VIRTIO_NET_F_NOTF_COAL @requires:VIRTIO_NET_F_VQ_NOTF_COAL
  Scenario Outline: <command> it cannot apply is answered with VIRTIO_NET_ERR
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_NOTF_COAL, VIRTIO_NET_F_VQ_NOTF_COAL"
    When the driver sends <command> with 4294967295 packets and 4294967295 usecs
    Then the device refused them with VIRTIO_NET_ERR or reads them back

    Examples:
      | command                          |
      | VIRTIO_NET_CTRL_NOTF_COAL_RX_SET |
      | VIRTIO_NET_CTRL_NOTF_COAL_TX_SET |

  @clause:dev/net/device-operation/control-virtqueue/notifications-coalescing#65cabacb @requires:VIRTIO_NET_F_VQ_NOTF_COAL
  Scenario Outline: <command> for <queue> is answered with VIRTIO_NET_ERR
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_VQ_NOTF_COAL"
    When the driver sends <command> for <queue>
    Then the control command ack is VIRTIO_NET_ERR

    Examples:
      | command                          | queue    |
      | VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET | controlq |
      | VIRTIO_NET_CTRL_NOTF_COAL_VQ_GET | controlq |
      | VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET | beyond   |
      | VIRTIO_NET_CTRL_NOTF_COAL_VQ_GET | beyond   |

  @clause:dev/net/device-operation/control-virtqueue/notifications-coalescing#4580e68e @requires:VIRTIO_NET_F_VQ_NOTF_COAL
  Scenario: Coalescing parameters are 0 after a reset
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_VQ_NOTF_COAL"
    And the driver has set coalescing of receiveq1 to 16 packets and 100 usecs
    When the driver resets and initializes the device again with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_VQ_NOTF_COAL"
    Then coalescing of receiveq1 reads 0 packets and 0 usecs

  @clause:dev/net/device-operation/control-virtqueue/notifications-coalescing#83cd94e1 @requires:VIRTIO_NET_F_VQ_NOTF_COAL
  Scenario: Met coalescing conditions send no notification while the driver suppresses them
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_VQ_NOTF_COAL"
    And the driver has set coalescing of receiveq1 to 2 packets and 1000000 usecs
    And the driver has posted 4 receive buffers of 2048 bytes
    And the driver suppresses used buffer notifications of receiveq1
    When the wire brings 2 frames for the device's MAC address
    Then the device sent no used buffer notification for receiveq1
