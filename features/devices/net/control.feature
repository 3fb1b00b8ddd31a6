@role:device @device:net
Feature: Network device control virtqueue (device requirements, 5.1.9.5)

  @clause:dev/net/device-operation/control-virtqueue/packet-receive-filtering#49039279 @requires:VIRTIO_NET_F_CTRL_RX
  Scenario Outline: VIRTIO_NET_CTRL_RX commands are supported (<command> <value>)
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX"
    When the driver sends the control command <command> <value>
    Then the control command ack is VIRTIO_NET_OK

    Examples:
      | command                    | value |
      | VIRTIO_NET_CTRL_RX_PROMISC  | 0     |
      | VIRTIO_NET_CTRL_RX_PROMISC  | 1     |
      | VIRTIO_NET_CTRL_RX_ALLMULTI | 1     |
      | VIRTIO_NET_CTRL_RX_ALLMULTI | 0     |

  @clause:dev/net/device-operation/control-virtqueue/packet-receive-filtering#66873283 @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: In promiscuous mode a frame for another address is received
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX"
    And promiscuous mode is turned off and on again
    When the wire brings a frame for another unicast address
    Then the frame is received

  @clause:dev/net/device-operation/control-virtqueue/packet-receive-filtering#89d7c158 @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: With all-multicast receive a multicast frame not in the table is received
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX"
    And promiscuous mode is off
    And all-multicast receive is on
    When the wire brings a frame for a multicast address not in the MAC table
    Then the frame is received

  @clause:dev/net/device-operation/control-virtqueue/setting-mac-address-filtering#bdd8a5d7 @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: With promiscuous mode off a frame for another address is dropped
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX"
    And promiscuous mode is off
    And a frame for the device's MAC address is received
    When the wire brings a frame for another unicast address
    Then the frame is not received

  @clause:dev/net/device-operation/control-virtqueue/setting-mac-address-filtering#c60cc6f0 @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: The MAC table is in force once VIRTIO_NET_CTRL_MAC_TABLE_SET is used
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX"
    And promiscuous mode is off
    And a frame for the address in the MAC table is not received
    When the driver sets the MAC table to the unicast address 02:00:5e:00:00:77
    And the wire brings a frame for the address in the MAC table
    Then the frame is received

  @clause:dev/net/device-operation/control-virtqueue/setting-mac-address-filtering#8f87a34c @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: The MAC table is empty after a reset
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX"
    And promiscuous mode is off
    And the driver sets the MAC table to the unicast address 02:00:5e:00:00:77
    And a frame for the address in the MAC table is received
    When the driver resets and initializes the device again with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX"
    And promiscuous mode is off
    And a frame for another unicast address is not received
    And the wire brings a frame for the address in the MAC table
    Then the frame is not received

  @clause:dev/net/device-operation/control-virtqueue/setting-mac-address-filtering#865c5149 @requires:VIRTIO_NET_F_CTRL_MAC_ADDR @requires:VIRTIO_NET_F_MAC
  Scenario: mac in the configuration follows VIRTIO_NET_CTRL_MAC_ADDR_SET
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_MAC_ADDR"
    When the driver sets the MAC address to 02:00:5e:00:00:42
    Then mac in the configuration reads 02:00:5e:00:00:42

  @clause:dev/net/device-operation/control-virtqueue/automatic-receive-steering-in-multiqueue-mode#3978a755 @requires:VIRTIO_NET_F_MQ
  Scenario: With VIRTIO_NET_F_MQ frames arrive only on receiveq1 before VQ_PAIRS_SET
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_MQ"
    And the driver has posted 8 receive buffers of 2048 bytes
    When the wire brings 6 frames for the device's MAC address
    Then all 6 frames arrive on receiveq1

  @clause:dev/net/device-operation/control-virtqueue/automatic-receive-steering-in-multiqueue-mode#b61488f7 @requires:VIRTIO_NET_F_MQ
  Scenario: After VQ_PAIRS_SET 1 frames arrive only on receiveq1
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_MQ"
    And the driver has posted 8 receive buffers of 2048 bytes
    When the driver sets VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET to 2
    And the driver sets VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET to 1
    And the wire brings 6 frames for the device's MAC address
    Then all 6 frames arrive on receiveq1

  @clause:dev/net/device-operation/control-virtqueue/vlan-filtering#019657ec @requires:VIRTIO_NET_F_CTRL_VLAN @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: With VIRTIO_NET_F_CTRL_VLAN a frame of a VLAN in the filter table is received
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VLAN"
    And promiscuous mode is off
    When the driver adds VLAN 42 to the filter table
    And the wire brings a frame of VLAN 42 for the device's MAC address
    Then the frame is received

  @clause:dev/net/device-operation/control-virtqueue/vlan-filtering#019657ec @requires:VIRTIO_NET_F_CTRL_VLAN @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: With VIRTIO_NET_F_CTRL_VLAN a frame of a VLAN not in the filter table is dropped
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VLAN"
    And promiscuous mode is off
    And the driver adds VLAN 42 to the filter table
    And a frame of VLAN 42 for the device's MAC address is received
    When the wire brings a frame of VLAN 43 for the device's MAC address
    Then the frame of a VLAN not in the table is dropped

  @clause:dev/net/device-operation/control-virtqueue/gratuitous-packet-sending#2e9546a3 @requires:VIRTIO_NET_F_GUEST_ANNOUNCE
  Scenario: VIRTIO_NET_CTRL_ANNOUNCE_ACK clears VIRTIO_NET_S_ANNOUNCE
    Given the net driver has initialized the device with "VIRTIO_NET_F_STATUS, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_GUEST_ANNOUNCE"
    When the device asks the driver to announce itself
    And the driver sends VIRTIO_NET_CTRL_ANNOUNCE_ACK
    Then status does not have VIRTIO_NET_S_ANNOUNCE

  @clause:dev/net/device-operation/control-virtqueue/packet-receive-filtering#35dc0a70 @requires:VIRTIO_NET_F_CTRL_RX_EXTRA @requires:VIRTIO_NET_F_CTRL_RX
  Scenario Outline: VIRTIO_NET_CTRL_RX_EXTRA commands are supported (<command> <value>)
    Given the net driver has initialized the device with "VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_RX_EXTRA"
    When the driver sends the control command <command> <value>
    Then the control command ack is VIRTIO_NET_OK

    Examples:
      | command                   | value |
      | VIRTIO_NET_CTRL_RX_ALLUNI  | 1     |
      | VIRTIO_NET_CTRL_RX_NOMULTI | 1     |
      | VIRTIO_NET_CTRL_RX_NOUNI   | 1     |
      | VIRTIO_NET_CTRL_RX_NOBCAST | 1     |
      | VIRTIO_NET_CTRL_RX_NOBCAST | 0     |

  @clause:dev/net/device-operation/control-virtqueue/packet-receive-filtering#c5b33834 @requires:VIRTIO_NET_F_CTRL_RX_EXTRA @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: With all-unicast receive a frame for another unicast address is received
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_RX_EXTRA"
    And promiscuous mode is off
    And a frame for another unicast address is not received
    And the driver has turned VIRTIO_NET_CTRL_RX_ALLUNI on
    When the wire brings a frame for another unicast address
    Then the frame is received

  @clause:dev/net/device-operation/control-virtqueue/packet-receive-filtering#5817ceb2 @requires:VIRTIO_NET_F_CTRL_RX_EXTRA @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: With multicast receive suppressed a multicast frame is not passed, all-multicast or not
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_RX_EXTRA"
    And promiscuous mode is off
    And all-multicast receive is on
    And a frame for a multicast address not in the MAC table is received
    And the driver has turned VIRTIO_NET_CTRL_RX_NOMULTI on
    When the wire brings a frame for a multicast address not in the MAC table
    Then the frame is not passed to the driver

  @clause:dev/net/device-operation/control-virtqueue/packet-receive-filtering#3822baab @requires:VIRTIO_NET_F_CTRL_RX_EXTRA @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: With unicast receive suppressed a frame for the device's own address is not passed
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_RX_EXTRA"
    And promiscuous mode is off
    And a frame for the device's MAC address is received
    And the driver has turned VIRTIO_NET_CTRL_RX_NOUNI on
    When the wire brings a frame for the device's MAC address
    Then the frame is not passed to the driver

  @clause:dev/net/device-operation/control-virtqueue/packet-receive-filtering#056bfe7f @requires:VIRTIO_NET_F_CTRL_RX_EXTRA @requires:VIRTIO_NET_F_CTRL_RX
  Scenario: With broadcast receive suppressed a broadcast frame is not passed
    Given the net driver has initialized the device with "VIRTIO_NET_F_MAC, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_RX_EXTRA"
    And promiscuous mode is off
    And a frame for the broadcast address is received
    And the driver has turned VIRTIO_NET_CTRL_RX_NOBCAST on
    When the wire brings a frame for the broadcast address
    Then the frame is not passed to the driver
