@role:device @device:net
Feature: Network device configuration layout and feature bits (device requirements, 5.1.3.1, 5.1.4.1)

  @clause:dev/core/feature-bits#c168304e
  Scenario: No offered network feature lacks a feature it requires
    When the driver reads the device feature bits
    Then no offered feature lacks a feature it requires

  @clause:dev/net/device-configuration-layout#ae9d24ab
  Scenario: VIRTIO_NET_F_CTRL_RX_EXTRA is offered only with VIRTIO_NET_F_CTRL_VQ
    When the driver reads the device feature bits
    Then VIRTIO_NET_F_CTRL_RX_EXTRA is not offered without VIRTIO_NET_F_CTRL_VQ

  @clause:dev/net/device-configuration-layout#81f376de
  Scenario: VIRTIO_NET_F_HASH_REPORT is offered only with VIRTIO_NET_F_CTRL_VQ
    When the driver reads the device feature bits
    Then VIRTIO_NET_F_HASH_REPORT is not offered without VIRTIO_NET_F_CTRL_VQ

  @clause:dev/net/device-configuration-layout#73121dbc @requires:VIRTIO_NET_F_MQ
  Scenario: max_virtqueue_pairs is in range when VIRTIO_NET_F_MQ is offered
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ"
    Then max_virtqueue_pairs is between 1 and 0x8000

  @clause:dev/net/device-configuration-layout#d7347f90 @requires:VIRTIO_NET_F_MTU
  Scenario: mtu is in range when VIRTIO_NET_F_MTU is offered
    Given the net driver has initialized the device with "VIRTIO_NET_F_MTU"
    Then mtu is between 68 and 65535

  @clause:dev/net/device-configuration-layout#f68cd1eb @requires:VIRTIO_NET_F_MTU
  Scenario: mtu is at least 1280 when VIRTIO_NET_F_MTU is offered
    Given the net driver has initialized the device with "VIRTIO_NET_F_MTU"
    Then mtu is at least 1280

  @clause:dev/net/device-configuration-layout#56ae3d25 @requires:VIRTIO_NET_F_MTU @requires:VIRTIO_NET_F_STATUS
  Scenario: mtu does not change when the link goes down and up
    Given the net driver has initialized the device with "VIRTIO_NET_F_MTU, VIRTIO_NET_F_STATUS"
    When the link goes down and up again
    Then mtu reads the same as before

  @clause:dev/net/device-configuration-layout#b1988111 @requires:VIRTIO_NET_F_SPEED_DUPLEX
  Scenario: duplex holds a defined value with VIRTIO_NET_F_SPEED_DUPLEX
    Given the net driver has initialized the device with "VIRTIO_NET_F_SPEED_DUPLEX"
    Then duplex is 0x00, 0x01 or 0xff

  @clause:dev/net/device-configuration-layout#9b995d10 @requires:VIRTIO_NET_F_SPEED_DUPLEX @requires:VIRTIO_NET_F_STATUS
  Scenario: speed does not change while the link is up
    Given the net driver has initialized the device with "VIRTIO_NET_F_SPEED_DUPLEX, VIRTIO_NET_F_STATUS"
    Then speed reads the same again while the link is up

  @clause:dev/net/device-configuration-layout#dd15f924 @requires:VIRTIO_NET_F_SPEED_DUPLEX
  Scenario: speed is within 0 to 0x7fffffff or 0xffffffff with VIRTIO_NET_F_SPEED_DUPLEX
    Given the net driver has initialized the device with "VIRTIO_NET_F_SPEED_DUPLEX"
    Then speed is at most 0x7fffffff or is 0xffffffff

  @clause:dev/net/device-configuration-layout#bb4b7aff
  Scenario: rss_max_key_size is at least 40 when VIRTIO_NET_F_RSS or VIRTIO_NET_F_HASH_REPORT is offered
    When the driver reads the device feature bits
    Then rss_max_key_size is at least 40 if VIRTIO_NET_F_RSS or VIRTIO_NET_F_HASH_REPORT is offered

  @clause:dev/net/device-configuration-layout#cc9de560 @requires:VIRTIO_NET_F_RSS
  Scenario: rss_max_indirection_table_length is at least 128 when VIRTIO_NET_F_RSS is offered
    When the driver reads the device feature bits
    Then rss_max_indirection_table_length is at least 128
