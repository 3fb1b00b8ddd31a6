@role:device @device:net @ring:any
Feature: Network device statistics (device requirements, 5.1.9.5.11.12)

  @clause:dev/net/device-operation/control-virtqueue/device-statistics#97b64d05 @requires:VIRTIO_NET_F_DEVICE_STATS
  Scenario: VIRTIO_NET_CTRL_STATS_QUERY lists every statistic type the device answers
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_DEVICE_STATS"
    When the driver sends VIRTIO_NET_CTRL_STATS_QUERY
    Then the device answers with the 8 bytes of supported_stats_types
    And every statistic type VIRTIO_NET_CTRL_STATS_GET answers is in supported_stats_types

  @clause:dev/net/device-operation/control-virtqueue/device-statistics#541a86fe @requires:VIRTIO_NET_F_DEVICE_STATS
  Scenario Outline: An incorrect VIRTIO_NET_CTRL_STATS_GET is answered with VIRTIO_NET_ERR (<case>)
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_DEVICE_STATS"
    And the device lists <listed> in supported_stats_types
    When the driver sends VIRTIO_NET_CTRL_STATS_GET for "<request>"
    Then the control command ack is VIRTIO_NET_ERR

    Examples:
      | case                               | listed   | request                   |
      | vq_index beyond the queues         | RX_BASIC | beyond: RX_BASIC          |
      | an unknown type                    | RX_BASIC | receiveq1: RX_BASIC bit8  |
      | a type not for that virtqueue      | TX_BASIC | receiveq1: TX_BASIC       |
      | the type's feature not negotiated  | TX_CSUM  | transmitq1: TX_CSUM       |

  @clause:dev/net/device-operation/control-virtqueue/device-statistics#358535ed @requires:VIRTIO_NET_F_DEVICE_STATS
  Scenario: One incorrect entry fails the whole VIRTIO_NET_CTRL_STATS_GET
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_DEVICE_STATS"
    And the device lists RX_BASIC and TX_BASIC in supported_stats_types
    When the driver sends VIRTIO_NET_CTRL_STATS_GET for "receiveq1: RX_BASIC; receiveq1: TX_BASIC"
    Then the command fails as a whole: ack VIRTIO_NET_ERR and no statistics reply

  @clause:dev/net/device-operation/control-virtqueue/device-statistics#cff4d0bd @requires:VIRTIO_NET_F_DEVICE_STATS
  Scenario: A statistics reply's size is the bytes it occupies
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_DEVICE_STATS"
    And the device lists RX_BASIC and TX_BASIC in supported_stats_types
    When the driver sends VIRTIO_NET_CTRL_STATS_GET for "receiveq1: RX_BASIC; transmitq1: TX_BASIC"
    Then each statistics reply's size is the bytes its type occupies

  @clause:dev/net/device-operation/control-virtqueue/device-statistics#a00372f3 @requires:VIRTIO_NET_F_DEVICE_STATS
  Scenario: A statistics reply header names its type and virtqueue
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_DEVICE_STATS"
    And the device lists RX_BASIC and TX_BASIC in supported_stats_types
    When the driver sends VIRTIO_NET_CTRL_STATS_GET for "receiveq1: RX_BASIC; transmitq1: TX_BASIC"
    Then each statistics reply header has the type and vq_index asked for

  @clause:dev/net/device-operation/control-virtqueue/device-statistics#0888f360 @requires:VIRTIO_NET_F_DEVICE_STATS
  Scenario: The device writes no more than the replies into a larger result buffer
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_DEVICE_STATS"
    And the device lists RX_BASIC in supported_stats_types
    When the driver sends VIRTIO_NET_CTRL_STATS_GET for "receiveq1: RX_BASIC"
    Then the result buffer past the replies is untouched
