@role:device @device:console
Feature: Console device (device requirements, 5.3 and the core rules a console shows)
  The suite is the driver and owns the host end of every port: it sends bytes toward
  the driver, captures what the driver sends and what is written to emerg_wr. Every
  scenario runs on both ring layouts except the one tagged with a split-ring clause.

  # --- configuration -------------------------------------------------------------------

  @clause:dev/core/device-configuration-space#dcc61455 @ring:any
  Scenario: cols, rows and max_nr_ports read the same before FEATURES_OK as once the features are negotiated
    When the driver reads the console configuration before FEATURES_OK and again after negotiating its features
    Then both reads of cols, rows and max_nr_ports agree

  @clause:dev/pci/pci-device-layout/common-configuration-structure-layout#dcc67076 @transport:pci @requires:VIRTIO_CONSOLE_F_SIZE @ring:any
  Scenario: config_generation changes when the host resizes the console (PCI)
    Given the driver has initialized the console with VIRTIO_CONSOLE_F_SIZE
    When the host resizes the console to 132 columns and 43 rows
    Then cols and rows read 132 and 43 with a config_generation other than before

  @clause:dev/mmio/mmio-device-register-layout#1bc2dbd7 @transport:mmio @requires:VIRTIO_CONSOLE_F_SIZE @ring:any
  Scenario: ConfigGeneration changes when the host resizes the console (MMIO)
    Given the driver has initialized the console with VIRTIO_CONSOLE_F_SIZE
    When the host resizes the console to 132 columns and 43 rows
    Then cols and rows read 132 and 43 with a config_generation other than before

  # --- port 0 data ---------------------------------------------------------------------

  @clause:dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4 @ring:any
  Scenario: A transmit buffer comes back with used len 0 and its bytes reach the host
    Given the driver has initialized the console with port 0 only
    When the driver sends "hello, host" on port 0 split over 3 descriptors
    Then the transmit buffer's used len is 0
    And the host receives "hello, host" on port 0

  @clause:dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4 @ring:any
  Scenario: Bytes from the host arrive in a receive buffer whose used len counts them
    Given the driver has initialized the console with port 0 only
    When the host sends "hi, driver" on port 0
    Then the driver receives "hi, driver" on port 0 with a used len the device wrote

  @clause:dev/core/virtqueues/the-virtqueue-descriptor-table#303b1ca3
  Scenario: The device leaves a transmit buffer as the driver wrote it
    Given the driver has initialized the console with port 0 only
    When the driver sends "hello, host" on port 0 split over 3 descriptors
    Then the transmit buffer still holds "hello, host"

  @clause:dev/core/device-status-field#5ab911d4 @ring:any
  Scenario: Before DRIVER_OK the device neither takes transmit data nor fills receive buffers
    Given the driver has set up the console queues with receive buffers but not set DRIVER_OK
    When the host sends "early in" on port 0 and the driver makes "early out" available on port 0
    Then no receive buffer is used and the host receives nothing on port 0

  # --- emergency write (5.3.5.1) -----------------------------------------------------------

  @clause:dev/console/device-initialization#bc247ee6 @requires:VIRTIO_CONSOLE_F_EMERG_WRITE @ring:any
  Scenario: A write to emerg_wr right after a reset is accepted
    Given the device has just been reset
    When the driver writes 0x41 to emerg_wr
    Then the host receives one emergency byte, as for a write once the device is initialized

  @clause:dev/console/device-initialization#6e2ce757 @requires:VIRTIO_CONSOLE_F_EMERG_WRITE @ring:any
  Scenario: The device outputs the lower byte of what is written to emerg_wr
    Given the driver has initialized the console with VIRTIO_CONSOLE_F_EMERG_WRITE
    When the driver writes 0x7a000041 to emerg_wr
    Then the host receives the emergency byte 0x41

  # --- multiport (5.3.6.2) -------------------------------------------------------------------

  @clause:dev/console/device-operation/multiport-device-operation#357d7cc1 @requires:VIRTIO_CONSOLE_F_MULTIPORT @ring:any
  Scenario: The device answers DEVICE_READY with one DEVICE_ADD per port, each below max_nr_ports
    Given the driver has initialized the console with VIRTIO_CONSOLE_F_MULTIPORT
    When the driver sends VIRTIO_CONSOLE_DEVICE_READY
    Then no DEVICE_ADD names a port that exists already or a port at or above max_nr_ports

  @clause:dev/console/device-operation/multiport-device-operation#357d7cc1 @requires:VIRTIO_CONSOLE_F_MULTIPORT @ring:any
  Scenario: PORT_READY and PORT_OPEN do not make the device announce a port again
    Given the driver has initialized the console with VIRTIO_CONSOLE_F_MULTIPORT
    When the driver sends VIRTIO_CONSOLE_DEVICE_READY, then PORT_READY and PORT_OPEN for every announced port
    Then no DEVICE_ADD names a port that exists already or a port at or above max_nr_ports

  @clause:dev/console/device-operation/multiport-device-operation#357d7cc1 @requires:VIRTIO_CONSOLE_F_MULTIPORT @ring:any
  Scenario: A port plugged in again after its removal is announced, and no other port again
    Given the driver has initialized the console with VIRTIO_CONSOLE_F_MULTIPORT
    When the driver sends VIRTIO_CONSOLE_DEVICE_READY
    And the host unplugs port 1 and plugs it in again
    Then no DEVICE_ADD names a port that exists already or a port at or above max_nr_ports

  @clause:dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4 @requires:VIRTIO_CONSOLE_F_MULTIPORT @ring:any
  Scenario: Data on port 1 goes both ways once the driver has opened it
    Given the driver has initialized the console with VIRTIO_CONSOLE_F_MULTIPORT
    When the driver sends VIRTIO_CONSOLE_DEVICE_READY, then PORT_READY and PORT_OPEN for every announced port
    And the driver sends "to port one" on port 1
    And the host sends "from port one" on port 1
    Then the transmit buffer's used len is 0
    And the host receives "to port one" on port 1
    And the driver receives "from port one" on port 1 with a used len the device wrote

  @clause:dev/console/device-operation/multiport-device-operation#7161049f @requires:VIRTIO_CONSOLE_F_MULTIPORT @ring:any
  Scenario: A port unplugged before DEVICE_READY is not removed with DEVICE_REMOVE
    Given the driver has initialized the console with VIRTIO_CONSOLE_F_MULTIPORT
    When the host unplugs port 1 and then the driver sends VIRTIO_CONSOLE_DEVICE_READY
    Then every DEVICE_REMOVE names a port announced by an earlier DEVICE_ADD
