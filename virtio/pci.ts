// Virtio over PCI bus, modern interface (spec 4.1): IDs, capability structures,
// common configuration layout. Offsets are byte offsets; names follow the spec.
export const PCI_VENDOR_ID_VIRTIO = 0x1af4;
/** Modern (non-transitional) PCI device ID = 0x1040 + virtio device ID. */
export const PCI_DEVICE_ID_BASE = 0x1040;

// PCI config space header offsets (PCI Local Bus spec).
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS = 0x09;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_PIN = 0x3d;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_COMMAND_IO = 1, PCI_COMMAND_MEMORY = 2, PCI_COMMAND_MASTER = 4;
export const PCI_CAP_ID_MSIX = 0x11;
export const PCI_CAP_ID_VNDR = 0x09;

// struct virtio_pci_cap (4.1.4)
export const VIRTIO_PCI_CAP = {
  cap_vndr: 0, cap_next: 1, cap_len: 2, cfg_type: 3, bar: 4, id: 5, offset: 8, length: 12,
  SIZE: 16,
} as const;
/** struct virtio_pci_notify_cap adds notify_off_multiplier at 16. */
export const VIRTIO_PCI_NOTIFY_CAP_MULT = 16;

export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;
export const VIRTIO_PCI_CAP_SHARED_MEMORY_CFG = 8;
export const VIRTIO_PCI_CAP_VENDOR_CFG = 9;

// struct virtio_pci_common_cfg (4.1.4.3): [offset, width]
export const COMMON_CFG = {
  device_feature_select: [0x00, 4], device_feature: [0x04, 4],
  driver_feature_select: [0x08, 4], driver_feature: [0x0c, 4],
  config_msix_vector: [0x10, 2], num_queues: [0x12, 2],
  device_status: [0x14, 1], config_generation: [0x15, 1],
  queue_select: [0x16, 2], queue_size: [0x18, 2], queue_msix_vector: [0x1a, 2],
  queue_enable: [0x1c, 2], queue_notify_off: [0x1e, 2],
  queue_desc: [0x20, 8], queue_driver: [0x28, 8], queue_device: [0x30, 8],
  queue_notif_config_data: [0x38, 2], queue_reset: [0x3a, 2],
  admin_queue_index: [0x3c, 2], admin_queue_num: [0x3e, 2],
} as const satisfies Record<string, readonly [number, 1 | 2 | 4 | 8]>;
export type CommonCfgField = keyof typeof COMMON_CFG;
export const COMMON_CFG_SIZE = 0x40;

/** MSI-X "no vector" value (4.1.4.3, 4.1.5.1.2). */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;
/** ISR status bits (4.1.4.5). */
export const ISR_QUEUE = 1, ISR_CONFIG = 2;

// MSI-X capability (PCI spec): message control at +2, table offset/BIR at +4, PBA at +8.
export const MSIX_CAP = { msg_ctrl: 2, table: 4, pba: 8, SIZE: 12 } as const;
export const MSIX_CTRL_ENABLE = 0x8000, MSIX_CTRL_MASKALL = 0x4000, MSIX_CTRL_TABLE_SIZE = 0x7ff;
/** MSI-X table entry: addr lo, addr hi, data, vector control (bit 0 = masked). */
export const MSIX_ENTRY = { addr_lo: 0, addr_hi: 4, data: 8, ctrl: 12, SIZE: 16 } as const;
