// The defect catalog: named deviations of the reference devices, each breaking exactly
// one spec clause. A run selects one with --defect NAME; the device takes the deviation
// only at the point where it implements the rule (`if (defects.on('name'))`), so every
// other clause keeps holding. The suite proves each scenario can fail by running it
// against the defect of its clause (tests/defect-matrix.test.ts).

/** 'net': reserved for the multi-buffer defect until a net model lands (no device here takes it). */
export type DefectDevice = 'entropy' | 'blk' | 'net' | 'console';
export type DefectTransport = 'pci' | 'mmio';
export type DefectRing = 'split' | 'packed';

export interface DefectInfo {
  name: string;
  clause: string;
  devices: DefectDevice[];
  /** Absent = both transports. */
  transports?: DefectTransport[];
  /**
   * Ring layouts on which the defect breaks its clause (absent = both): a run must
   * negotiate that layout to see it. Split-ring hooks live in virtio/split-ring-device.ts
   * and packed ones in virtio/packed-ring-device.ts, so each is only taken on its layout;
   * a device-level defect marked 'split' is still taken on a packed ring but its clause is
   * a split-ring one (the packed counterpart has its own defect).
   */
  rings?: DefectRing[];
  summary: string;
  /** Other clause IDs that necessarily fail too (reason in a comment next to the entry). */
  alsoBreaks?: string[];
  /**
   * Set when the defect leaves the suite's driver unable to initialise the device at all
   * on this transport (a required capability is missing), so every other scenario on it
   * fails too. The reason is the value.
   */
  breaksDriver?: string;
}

/**
 * Every clause ID the catalog uses, in one table: the IDs of the committed v1.4-cs01
 * index (spec-refs/index). Where the registry carried an ID forward from an earlier
 * spec version, the ID keeps that version's label path and fingerprint (e.g. 2.7.7.2 is
 * "virtqueue-interrupt-suppression"); emulator/defects.test.ts checks they all resolve.
 * Fix an ID here and every defect follows.
 */
export const CLAUSE = {
  usedLen: 'dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4',
  usedLenBeforeIdx: 'dev/core/virtqueues/the-virtqueue-used-ring#b28b34f9',
  offerPrerequisite: 'dev/core/feature-bits#c168304e',
  offerUndefined: 'dev/core/feature-bits#6eabe65a',
  acceptSubset: 'dev/core/feature-bits#8e5e2226',
  renegotiate: 'dev/core/feature-bits#82457834',
  beforeDriverOk: 'dev/core/device-status-field#5ab911d4',
  resetStatus: 'dev/core/device-reset#3c77b259',
  afterReset: 'dev/core/device-reset#45355193',
  version1: 'dev/reserved#605018ce',
  configBeforeFeaturesOk: 'dev/core/device-configuration-space#dcc61455',
  writeReadable: 'dev/core/virtqueues/the-virtqueue-descriptor-table#303b1ca3',
  writeDescTable: 'dev/core/virtqueues/the-virtqueue-descriptor-table#8a81b0c7',
  descLayout: 'dev/core/message-framing#e0f78532',
  indirectWriteFlag: 'dev/core/virtqueues/the-virtqueue-descriptor-table/indirect-descriptors#6d148687',
  indirectAfterDirect: 'dev/core/virtqueues/the-virtqueue-descriptor-table/indirect-descriptors#5a914a16',
  noInterruptHonoured: 'dev/core/virtqueues/virtqueue-interrupt-suppression#50b652be',
  notifyFlagsZero: 'dev/core/virtqueues/virtqueue-interrupt-suppression#5dff8fc0',
  usedEventIgnoredWithoutEventIdx: 'dev/core/virtqueues/virtqueue-interrupt-suppression#28bbee95',
  usedEventReached: 'dev/core/virtqueues/virtqueue-interrupt-suppression#8e9cf0f0',
  usedEventNotReached: 'dev/core/virtqueues/used-buffer-notification-suppression#4060e4ed',
  noInterruptIgnoredWithEventIdx: 'dev/core/virtqueues/virtqueue-interrupt-suppression#ec18853a',
  usedFlags01: 'dev/core/virtqueues/virtqueue-notification-suppression#f9d8255d',
  usedFlags0EventIdx: 'dev/core/virtqueues/virtqueue-notification-suppression#29a11fea',
  spurious: 'dev/core/virtqueues/virtqueue-notification-suppression#43f0058c',
  pciVendor: 'dev/pci/pci-device-discovery#c6a7eb77',
  pciDevice: 'dev/pci/pci-device-discovery#18ada0c9',
  commonCap: 'dev/pci/pci-device-layout/common-configuration-structure-layout#65adf37d',
  featureWindow: 'dev/pci/pci-device-layout/common-configuration-structure-layout#1174c62d',
  pciConfigGeneration: 'dev/pci/pci-device-layout/common-configuration-structure-layout#dcc67076',
  pciReset: 'dev/pci/pci-device-layout/common-configuration-structure-layout#ae302d9e',
  queueEnableReset: 'dev/pci/pci-device-layout/common-configuration-structure-layout#0655533c',
  queueSizePow2: 'dev/pci/pci-device-layout/common-configuration-structure-layout#882aa4ad',
  notifyCap: 'dev/pci/pci-device-layout/notification-capability#822daf55',
  notifyMultiplier: 'dev/pci/pci-device-layout/notification-capability#43b982c2',
  isrCap: 'dev/pci/pci-device-layout/isr-status-capability#555537f9',
  isrReadClear: 'dev/pci/pci-device-layout/isr-status-capability#3a7442c5',
  msixNoVector: 'dev/pci/pci-specific-initialization-and-device-operation/device-initialization/msi-x-vector-configuration#fbe4a5bc',
  mmioMagic: 'dev/mmio/mmio-device-register-layout#e2184120',
  mmioVersion: 'dev/mmio/mmio-device-register-layout#d4432878',
  mmioReset: 'dev/mmio/mmio-device-register-layout#c11f2e6a',
  mmioConfigGeneration: 'dev/mmio/mmio-device-register-layout#1bc2dbd7',
  mmioQueueNotReady: 'dev/mmio/mmio-device-register-layout#2c403867',
  entropyBytes: 'dev/entropy/device-operation#d8fd1519',
  blkOfferFlush: 'dev/blk/device-initialization#6a887818',
  blkPadding: 'dev/blk/device-initialization#e9a84363',
  blkReadOnly: 'dev/blk/device-operation#e179b42a',
  blkUnknownFlags: 'dev/blk/device-operation#f5fd7678',
  blkDiscardUnmap: 'dev/blk/device-operation#15b3fd2f',
  blkWriteZeroes: 'dev/blk/device-operation#6511626b',
  consoleEmergWrite: 'dev/console/device-initialization#bc247ee6',
  consoleEmergLowByte: 'dev/console/device-initialization#6e2ce757',
  consoleDeviceAdd: 'dev/console/device-operation/multiport-device-operation#357d7cc1',
  consoleDeviceRemove: 'dev/console/device-operation/multiport-device-operation#7161049f',
  // Packed virtqueues (2.8.12, 2.8.15, 2.8.18) and IN_ORDER (6.2).
  packedAvailChanged: 'dev/core/packed-virtqueues/the-virtqueue-descriptor-table#20c57546',
  packedWriteReadable: 'dev/core/packed-virtqueues/the-virtqueue-descriptor-table#8d43643a',
  packedUsedFinal: 'dev/core/packed-virtqueues/the-virtqueue-descriptor-table#0e9524e7',
  packedCompletionOrder: 'dev/core/packed-virtqueues#91b72387',
  packedProcessingOrder: 'dev/core/packed-virtqueues#312238fc',
  packedListOrder: 'dev/core/packed-virtqueues/scatter-gather-support#70522821',
  inOrder: 'dev/reserved#7da24598',
  // Network device (5.1).
  netMaxPairs: 'dev/net/device-configuration-layout#73121dbc',
  netMtuRange: 'dev/net/device-configuration-layout#d7347f90',
  netMtuRecommended: 'dev/net/device-configuration-layout#f68cd1eb',
  netMtuFixed: 'dev/net/device-configuration-layout#56ae3d25',
  netRxMtu: 'dev/net/device-configuration-layout#be2213c8',
  netTxMtu: 'dev/net/device-configuration-layout#862cb2b7',
  netRxExtraNoCtrlVq: 'dev/net/device-configuration-layout#ae9d24ab',
  netHashReportNoCtrlVq: 'dev/net/device-configuration-layout#81f376de',
  netTxUnknownFlags: 'dev/net/device-operation/packet-transmission#5797f43d',
  netTxNoCsum: 'dev/net/device-operation/packet-transmission#72cbe924',
  netTxChecksumNotRelied: 'dev/net/device-operation/packet-transmission#6cdc4393',
  netNumBuffersDesc: 'dev/net/device-operation/setting-up-receive-buffers#05650223',
  netSingleDesc: 'dev/net/device-operation/setting-up-receive-buffers#3bdb9208',
  netNumBuffersOne: 'dev/net/device-operation/processing-of-incoming-packets#edb58f9f',
  netNumBuffersMrg: 'dev/net/device-operation/processing-of-incoming-packets#0583936f',
  netMrgFull: 'dev/net/device-operation/processing-of-incoming-packets#0279b3bd',
  netRxFlagsZero: 'dev/net/device-operation/processing-of-incoming-packets#c264fa1b',
  netRxGsoTcp4: 'dev/net/device-operation/processing-of-incoming-packets#6ef03533',
  netRxGsoUdp: 'dev/net/device-operation/processing-of-incoming-packets#5df54257',
  netRxGsoTcp6: 'dev/net/device-operation/processing-of-incoming-packets#3c0f6307',
  netRxGsoNone: 'dev/net/device-operation/processing-of-incoming-packets#6780364d',
  netCtrlRx: 'dev/net/device-operation/control-virtqueue/packet-receive-filtering#49039279',
  netPromisc: 'dev/net/device-operation/control-virtqueue/packet-receive-filtering#66873283',
  netAllmulti: 'dev/net/device-operation/control-virtqueue/packet-receive-filtering#89d7c158',
  netMacTableReset: 'dev/net/device-operation/control-virtqueue/setting-mac-address-filtering#8f87a34c',
  netMacTableSet: 'dev/net/device-operation/control-virtqueue/setting-mac-address-filtering#c60cc6f0',
  netMacAddrSet: 'dev/net/device-operation/control-virtqueue/setting-mac-address-filtering#865c5149',
  netMacFilter: 'dev/net/device-operation/control-virtqueue/setting-mac-address-filtering#bdd8a5d7',
  netMqStart: 'dev/net/device-operation/control-virtqueue/automatic-receive-steering-in-multiqueue-mode#3978a755',
  netMqPairs: 'dev/net/device-operation/control-virtqueue/automatic-receive-steering-in-multiqueue-mode#b61488f7',
  netRxRscInfo: 'dev/net/device-operation/processing-of-incoming-packets#c21c870d',
  netRxTunnelCsumFlag: 'dev/net/device-operation/processing-of-incoming-packets#e42ba18a',
  netRxSecurity: 'dev/net/device-operation/processing-of-incoming-packets#86c2c0ab',
  netRxSecurityErr: 'dev/net/device-operation/processing-of-incoming-packets#86c2c0ab~2',
  netRxGsoUdpL4: 'dev/net/device-operation/processing-of-incoming-packets#e0bdb340',
  netRxGsoTunnel: 'dev/net/device-operation/processing-of-incoming-packets#68e0373d',
  netVlanAccept: 'dev/net/device-operation/control-virtqueue/vlan-filtering#a0e2b8d5',
  netTxBothTunnelBits: 'dev/net/device-operation/packet-transmission#d8adfc4e',
  netTxTunnelNoCsum: 'dev/net/device-operation/packet-transmission#76956b70',
  netTxTunnelCsumFlag: 'dev/net/device-operation/packet-transmission#aaac1762',
  netVlanFilter: 'dev/net/device-operation/control-virtqueue/vlan-filtering#019657ec',
  netAnnounceAck: 'dev/net/device-operation/control-virtqueue/gratuitous-packet-sending#2e9546a3',
  netRxDataValid: 'dev/net/device-operation/processing-of-incoming-packets#7621be5f',
  netDuplex: 'dev/net/device-configuration-layout#b1988111',
  netSpeedStable: 'dev/net/device-configuration-layout#9b995d10',
  netCtrlRxExtra: 'dev/net/device-operation/control-virtqueue/packet-receive-filtering#35dc0a70',
  netAllUni: 'dev/net/device-operation/control-virtqueue/packet-receive-filtering#c5b33834',
  netNoMulti: 'dev/net/device-operation/control-virtqueue/packet-receive-filtering#5817ceb2',
  netNoUni: 'dev/net/device-operation/control-virtqueue/packet-receive-filtering#3822baab',
  netNoBcast: 'dev/net/device-operation/control-virtqueue/packet-receive-filtering#056bfe7f',
  netSpeedRange: 'dev/net/device-configuration-layout#dd15f924',
  netRssKeySize: 'dev/net/device-configuration-layout#bb4b7aff',
  netRssTableLength: 'dev/net/device-configuration-layout#cc9de560',
  netRssSteering: 'dev/net/device-operation/control-virtqueue/receive-side-scaling-rss/rss-processing#5a10db43',
  netInnerHashOuter: 'dev/net/device-operation/control-virtqueue/inner-header-hash#152d03db',
  netInnerHashUnsupported: 'dev/net/device-operation/control-virtqueue/inner-header-hash#56ee875a',
  netInnerHashDisabled: 'dev/net/device-operation/control-virtqueue/inner-header-hash#0dd54532',
  netMrgTogether: 'dev/net/device-operation/processing-of-incoming-packets#50ccf054',
  netStatsQuery: 'dev/net/device-operation/control-virtqueue/device-statistics#97b64d05',
  netStatsIncorrect: 'dev/net/device-operation/control-virtqueue/device-statistics#541a86fe',
  netStatsWholeCommand: 'dev/net/device-operation/control-virtqueue/device-statistics#358535ed',
  netStatsSize: 'dev/net/device-operation/control-virtqueue/device-statistics#cff4d0bd',
  netStatsHeader: 'dev/net/device-operation/control-virtqueue/device-statistics#a00372f3',
  netStatsValidBytes: 'dev/net/device-operation/control-virtqueue/device-statistics#0888f360',
  netCoalReserved: 'dev/net/device-operation/control-virtqueue/notifications-coalescing#d98a379b',
  netCoalSetErr: 'dev/net/device-operation/control-virtqueue/notifications-coalescing#87ef66c3',
  netCoalVqSetErr: 'dev/net/device-operation/control-virtqueue/notifications-coalescing#cb4772df',
  netCoalVqIndex: 'dev/net/device-operation/control-virtqueue/notifications-coalescing#65cabacb',
  netCoalReset: 'dev/net/device-operation/control-virtqueue/notifications-coalescing#4580e68e',
  netCoalSuppressed: 'dev/net/device-operation/control-virtqueue/notifications-coalescing#83cd94e1',
  // Checksum and segmentation offloads (emulator/net/offload.ts).
  netRxCsumValidated: 'dev/net/device-operation/processing-of-incoming-packets#f6733a23',
  netRxCsumPseudo: 'dev/net/device-operation/processing-of-incoming-packets#346f9fcb',
  netRxCsumStartOffset: 'dev/net/device-operation/processing-of-incoming-packets#af28a6e2',
  netRxGsoNeedsCsum: 'dev/net/device-operation/processing-of-incoming-packets#cfe3334a',
  netRxGsoEcn: 'dev/net/device-operation/processing-of-incoming-packets#cd1d69b3',
  netRxGsoHdrLen: 'dev/net/device-operation/processing-of-incoming-packets#0bf50cf6',
  netTxHdrLenHint: 'dev/net/device-operation/packet-transmission#1a33c732',
  netRxTunnelGsoNotNegotiated: 'dev/net/device-operation/processing-of-incoming-packets#91d4d8fa',
  queueResetStops: 'dev/core/virtqueues/virtqueue-reset/virtqueue-reset#f5a07871',
  queueResetState: 'dev/core/virtqueues/virtqueue-reset/virtqueue-reset#6cca79f8',
} as const;

const BOTH: DefectDevice[] = ['entropy', 'blk'];
const BLK: DefectDevice[] = ['blk'];
const SPLIT: DefectRing[] = ['split'];
const PACKED: DefectRing[] = ['packed'];
const NET: DefectDevice[] = ['net'];
/**
 * Every device type: device-core, ring and transport hooks that any device takes (net and
 * console through their request queue, transmitq1 / port 0's transmitq; probes in
 * emulator/transmit-probes.ts).
 */
const ANY: DefectDevice[] = ['entropy', 'blk', 'net', 'console'];
const NOT_NET: DefectDevice[] = ['entropy', 'blk', 'console'];

export const DEFECTS: readonly DefectInfo[] = [
  // --- virtqueue: used ring -------------------------------------------------------
  // Triggered only by a request identical to the one before it (same readable bytes, same
  // writable room), as the used-len scenario makes with its two canary patterns.
  { name: 'used-len-too-long', clause: CLAUSE.usedLen, devices: BOTH,
    summary: 'for a request identical to the previous one, reports a used len 16 bytes longer than what it wrote' },
  // Taken only where the used element's old len exceeds the buffer's writable bytes (a value
  // this completion cannot leave), else every scenario reading len at once would see it.
  { name: 'used-len-after-idx', clause: CLAUSE.usedLenBeforeIdx, devices: ANY, rings: SPLIT,
    summary: 'publishes used idx (and notifies) before writing the used element\'s len, which it writes 20 ms later' },
  // --- feature bits ---------------------------------------------------------------
  // CONFIG_WCE requires FLUSH (virtio/features.ts); dropping FLUSH also breaks the blk
  // SHOULD to offer FLUSH (WARN).
  { name: 'offers-feature-without-prerequisite', clause: CLAUSE.offerPrerequisite, devices: BLK,
    alsoBreaks: [CLAUSE.blkOfferFlush],
    summary: 'offers VIRTIO_BLK_F_CONFIG_WCE without VIRTIO_BLK_F_FLUSH, which it requires' },
  // Not net: bit 50 is a net feature (the hook offers a bit the device type leaves undefined).
  { name: 'offers-undefined-feature', clause: CLAUSE.offerUndefined, devices: ['entropy', 'blk', 'console'],
    summary: 'offers feature bit 50, which the spec does not define' },
  { name: 'rejects-valid-feature-subset', clause: CLAUSE.acceptSubset, devices: ANY,
    summary: 'refuses FEATURES_OK when the driver accepts VIRTIO_F_VERSION_1 alone' },
  { name: 'renegotiation-fails', clause: CLAUSE.renegotiate, devices: ANY,
    summary: 'refuses FEATURES_OK after a reset once features were negotiated' },
  { name: 'no-version-1', clause: CLAUSE.version1, devices: ANY,
    summary: 'does not offer VIRTIO_F_VERSION_1 (but accepts a driver with or without it)' },
  // --- device status, reset, configuration -----------------------------------------
  { name: 'consumes-before-driver-ok', clause: CLAUSE.beforeDriverOk, devices: ANY,
    summary: 'processes available buffers on a notification before DRIVER_OK' },
  { name: 'notifies-before-driver-ok', clause: CLAUSE.beforeDriverOk, devices: ANY,
    summary: 'sends a used buffer notification for a notification before DRIVER_OK (without using the buffer)' },
  // On PCI the same observable is the PCI reset clause too; and every scenario that resets
  // a running device waits in vain for status 0 (the driver must wait for it).
  // Not net: its own scenarios that reset the device (coalescing, RSS, MAC table) wait for status 0 in vain.
  { name: 'status-nonzero-after-reset', clause: CLAUSE.resetStatus, devices: NOT_NET,
    alsoBreaks: [CLAUSE.pciReset, CLAUSE.afterReset, CLAUSE.renegotiate, CLAUSE.queueEnableReset, CLAUSE.mmioReset],
    summary: 'after a reset from a non-zero status, device status keeps reading the old value' },
  { name: 'works-after-reset', clause: CLAUSE.afterReset, devices: ANY,
    summary: 'keeps the virtqueues of before a reset and uses them (and notifies) on a notification' },
  { name: 'config-unreadable-before-features-ok', clause: CLAUSE.configBeforeFeaturesOk, devices: [...BLK, 'console'],
    summary: 'device-specific configuration reads 0 until FEATURES_OK is set' },
  // --- descriptor table, framing, indirect -----------------------------------------
  { name: 'writes-device-readable-buffer', clause: CLAUSE.writeReadable, devices: [...BLK, 'console'], rings: SPLIT,
    summary: 'zero-fills the device-readable buffers of a request after reading them' },
  { name: 'writes-descriptor-table', clause: CLAUSE.writeDescTable, devices: ANY, rings: SPLIT,
    summary: 'clears the flags of the head descriptor of each chain it uses' },
  { name: 'assumes-descriptor-layout', clause: CLAUSE.descLayout, devices: BLK,
    summary: 'expects the request header in one descriptor of at least 16 bytes; fails the request (IOERR) otherwise' },
  { name: 'indirect-write-flag-rejected', clause: CLAUSE.indirectWriteFlag, devices: ANY,
    summary: 'treats WRITE on a descriptor that refers to an indirect table as an error (DEVICE_NEEDS_RESET)' },
  { name: 'indirect-after-direct-unsupported', clause: CLAUSE.indirectAfterDirect, devices: ANY, rings: SPLIT,
    summary: 'treats an indirect descriptor after direct ones as an error (DEVICE_NEEDS_RESET)' },
  // --- notification suppression ----------------------------------------------------
  // On net the coalescing rule for suppressed notifications is observed through the same NO_INTERRUPT flag.
  { name: 'notifies-despite-no-interrupt', clause: CLAUSE.noInterruptHonoured, devices: ANY, rings: SPLIT, alsoBreaks: [CLAUSE.netCoalSuppressed],
    summary: 'without EVENT_IDX, notifies even when avail.flags has VIRTQ_AVAIL_F_NO_INTERRUPT' },
  // The used_event-is-ignored clause is observed through the same flags-0 notification.
  { name: 'no-notify-when-flags-zero', clause: CLAUSE.notifyFlagsZero, devices: ANY, rings: SPLIT,
    alsoBreaks: [CLAUSE.usedEventIgnoredWithoutEventIdx],
    summary: 'without EVENT_IDX, never sends a used buffer notification' },
  { name: 'uses-used-event-without-event-idx', clause: CLAUSE.usedEventIgnoredWithoutEventIdx, devices: ANY, rings: SPLIT,
    summary: 'without EVENT_IDX, still suppresses notifications by used_event' },
  // The NO_INTERRUPT-is-ignored clause (EVENT_IDX) is observed through a used_event hit.
  { name: 'ignores-used-event', clause: CLAUSE.usedEventReached, devices: ANY, rings: SPLIT,
    alsoBreaks: [CLAUSE.noInterruptIgnoredWithEventIdx],
    summary: 'with EVENT_IDX, compares used_event off by one and notifies one buffer late' },
  { name: 'notifies-before-used-event', clause: CLAUSE.usedEventNotReached, devices: ANY, rings: SPLIT,
    summary: 'with EVENT_IDX, notifies after every buffer regardless of used_event' },
  { name: 'honours-no-interrupt-with-event-idx', clause: CLAUSE.noInterruptIgnoredWithEventIdx, devices: ANY, rings: SPLIT,
    summary: 'with EVENT_IDX, suppresses notifications when avail.flags has VIRTQ_AVAIL_F_NO_INTERRUPT' },
  { name: 'bad-used-flags', clause: CLAUSE.usedFlags01, devices: ANY, rings: SPLIT,
    summary: 'without EVENT_IDX, writes 2 into used.flags' },
  { name: 'used-flags-set-with-event-idx', clause: CLAUSE.usedFlags0EventIdx, devices: ANY, rings: SPLIT,
    summary: 'with EVENT_IDX, sets VIRTQ_USED_F_NO_NOTIFY in used.flags' },
  { name: 'spurious-notification-breaks', clause: CLAUSE.spurious, devices: ANY,
    summary: 'a notification with no new buffers puts the device into DEVICE_NEEDS_RESET' },
  // --- packed virtqueue (taken in virtio/packed-ring-device.ts; emulator/device.ts for IN_ORDER) ---
  // 2.8 states few device requirements; where it has none for a rule (event suppression,
  // the wrap counter), the defect names the split ring's clause for the same rule and says so.
  { name: 'packed-uses-desc-avail-unchanged', clause: CLAUSE.packedAvailChanged, devices: ANY, rings: PACKED,
    summary: 'takes a descriptor as available whenever AVAIL differs from USED, whatever the wrap counter (uses a stale or wrongly flagged one)' },
  { name: 'packed-writes-device-readable', clause: CLAUSE.packedWriteReadable, devices: BLK, rings: PACKED,
    summary: 'writes the data meant for the device-writable buffers also into the first device-readable buffer' },
  { name: 'packed-flags-before-body', clause: CLAUSE.packedUsedFinal, devices: ANY, rings: PACKED,
    summary: 'writes a used descriptor\'s flags before its id and len (changes the descriptor after flipping USED)' },
  // No 2.8 device clause names the Device Ring Wrap Counter: after the first lap the used
  // descriptors carry lap-1 flags, so they are not written into the ring as the driver reads it.
  { name: 'packed-used-wrap-not-toggled', clause: CLAUSE.packedCompletionOrder, devices: ANY, rings: PACKED,
    summary: 'used descriptors always carry wrap counter 1 (the Device Ring Wrap Counter never toggles)' },
  // Needs two or more buffers made available before one notification, with IN_ORDER negotiated.
  { name: 'packed-in-order-out-of-order', clause: CLAUSE.inOrder, devices: ANY, rings: PACKED,
    summary: 'with IN_ORDER, uses the buffers of one notification newest first, one used descriptor each' },
  // Packed counterpart of notifies-despite-no-interrupt (2.7.7.2's SHOULD NOT for flags 1).
  // As its split counterpart, it also notifies net's suppressed-but-coalesced receiveq (same observable).
  { name: 'packed-notifies-despite-disable', clause: CLAUSE.noInterruptHonoured, devices: ANY, rings: PACKED, alsoBreaks: [CLAUSE.netCoalSuppressed],
    summary: 'sends a used-buffer notification although the driver event suppression says RING_EVENT_FLAGS_DISABLE' },
  // Packed counterpart of notifies-before-used-event (2.7.7.2's SHOULD NOT before used_event).
  { name: 'packed-ignores-event-desc', clause: CLAUSE.usedEventNotReached, devices: ANY, rings: PACKED,
    summary: 'with EVENT_IDX, treats RING_EVENT_FLAGS_DESC as ENABLE and notifies for every used buffer' },
  // A list as long as the queue is allowed (2.8.17 bounds it by the Queue Size).
  { name: 'packed-rejects-full-ring-chain', clause: CLAUSE.descLayout, devices: ANY, rings: PACKED,
    summary: 'refuses a descriptor list as long as the whole ring (DEVICE_NEEDS_RESET)' },
  // Only devices that use several buffers for one request (net with MRG_RXBUF) take it.
  { name: 'packed-multi-buffer-first-early', clause: CLAUSE.packedCompletionOrder, devices: ['net'], rings: PACKED,
    summary: 'for a request over several buffers, marks the first buffer used first (the driver can see part of the request)' },
  // Packed counterpart of bad-used-flags (2.7.10.2: flags 0 or 1 without EVENT_IDX).
  { name: 'packed-bad-event-flags', clause: CLAUSE.usedFlags01, devices: ANY, rings: PACKED,
    summary: 'writes the reserved value 0x3 into the device event suppression flags' },
  { name: 'packed-event-desc-without-event-idx', clause: CLAUSE.usedFlags01, devices: ANY, rings: PACKED,
    summary: 'without EVENT_IDX, writes RING_EVENT_FLAGS_DESC into the device event suppression flags' },
  // Packed counterpart of no-notify-when-flags-zero (2.7.7.2: notify when not suppressed).
  { name: 'packed-no-notify-when-enabled', clause: CLAUSE.notifyFlagsZero, devices: ANY, rings: PACKED,
    summary: 'sends no used-buffer notification although the driver event suppression says RING_EVENT_FLAGS_ENABLE' },
  // Packed counterpart of ignores-used-event (2.7.7.2: notify when the event is reached).
  { name: 'packed-event-desc-late', clause: CLAUSE.usedEventReached, devices: ANY, rings: PACKED,
    summary: 'with EVENT_IDX, judges RING_EVENT_FLAGS_DESC against the descriptors used before the last ones (notifies one buffer late)' },
  // Seen where the device's processing leaves a stream in its order (console port output, net wire).
  // Not with IN_ORDER: there the order taken is the order used, the IN_ORDER clause's business.
  { name: 'packed-starts-out-of-ring-order', clause: CLAUSE.packedProcessingOrder, devices: ['console', 'net'], rings: PACKED,
    summary: 'of two lists available one after the other, processes the second before the first' },
  // Only NEXT-linked lists (not indirect tables); the driver places a list's later buffers at lower addresses to see it.
  { name: 'packed-list-in-address-order', clause: CLAUSE.packedListOrder, devices: BLK, rings: PACKED,
    summary: 'uses the buffers of a NEXT-linked list in ascending address order instead of list order' },
  // --- PCI ---------------------------------------------------------------------------
  { name: 'wrong-vendor-id', clause: CLAUSE.pciVendor, devices: ANY, transports: ['pci'],
    summary: 'PCI vendor ID 0x1AF5' },
  // Not net: net's ID + 1 is blk's, and a driver then takes the device for a block device.
  { name: 'wrong-device-id', clause: CLAUSE.pciDevice, devices: NOT_NET, transports: ['pci'],
    summary: 'PCI device ID one above 0x1040 + virtio device ID' },
  { name: 'no-common-cfg', clause: CLAUSE.commonCap, devices: ANY, transports: ['pci'],
    breaksDriver: 'without a common configuration capability no driver can initialise the device',
    summary: 'omits the common configuration capability from the capability list' },
  { name: 'no-notify-cap', clause: CLAUSE.notifyCap, devices: ANY, transports: ['pci'],
    breaksDriver: 'without a notification capability no driver can notify the device',
    summary: 'omits the notification capability from the capability list' },
  { name: 'no-isr-cap', clause: CLAUSE.isrCap, devices: ANY, transports: ['pci'],
    breaksDriver: 'without an ISR status capability an INTx driver cannot observe used-buffer or config notifications',
    summary: 'omits the ISR status capability from the capability list' },
  { name: 'odd-notify-multiplier', clause: CLAUSE.notifyMultiplier, devices: ANY, transports: ['pci'],
    summary: 'notify_off_multiplier 6 (neither 0 nor a power of 2)' },
  { name: 'feature-window-ignored', clause: CLAUSE.featureWindow, devices: ANY, transports: ['pci'],
    summary: 'device_feature_select 2 and 3 show feature bits 0-31 and 32-63 again instead of 0 (the select wraps)' },
  { name: 'static-config-generation', clause: CLAUSE.pciConfigGeneration, devices: [...BLK, 'net', 'console'], transports: ['pci'],
    summary: 'config_generation never changes, also when the configuration does' },
  { name: 'queue-enable-kept-after-reset', clause: CLAUSE.queueEnableReset, devices: ANY, transports: ['pci'],
    summary: 'queue_enable keeps reading 1 after a reset' },
  { name: 'non-pow2-queue-size', clause: CLAUSE.queueSizePow2, devices: ANY, rings: SPLIT, transports: ['pci'],
    summary: 'queue_size reads 100 (not a power of 2) as the maximum queue size' },
  // Not net: its coalescing scenario counts notifications through the ISR, so a stale ISR reads as one more.
  { name: 'isr-not-cleared-on-read', clause: CLAUSE.isrReadClear, devices: NOT_NET, transports: ['pci'],
    summary: 'reading the ISR status does not clear it' },
  { name: 'msix-mapping-failure-hidden', clause: CLAUSE.msixNoVector, devices: ANY, transports: ['pci'],
    summary: 'a queue/config MSI-X vector beyond the table reads back as written instead of NO_VECTOR' },
  // --- MMIO --------------------------------------------------------------------------
  { name: 'bad-magic', clause: CLAUSE.mmioMagic, devices: ANY, transports: ['mmio'],
    summary: 'MagicValue reads 0x76697274 (byte-swapped)' },
  { name: 'mmio-version-1', clause: CLAUSE.mmioVersion, devices: ANY, transports: ['mmio'],
    summary: 'Version reads 1 although the register layout is version 2' },
  { name: 'mmio-reset-keeps-interrupt', clause: CLAUSE.mmioReset, devices: ANY, transports: ['mmio'],
    summary: 'a reset leaves InterruptStatus as it was' },
  { name: 'mmio-static-config-generation', clause: CLAUSE.mmioConfigGeneration, devices: [...BLK, 'net', 'console'], transports: ['mmio'],
    summary: 'ConfigGeneration never changes, also when the configuration does' },
  { name: 'mmio-uses-queue-not-ready', clause: CLAUSE.mmioQueueNotReady, devices: ANY, transports: ['mmio'],
    summary: 'processes a queue whose addresses are set on a notification although QueueReady is 0' },
  // --- entropy -------------------------------------------------------------------------
  { name: 'entropy-no-bytes', clause: CLAUSE.entropyBytes, devices: ['entropy'],
    summary: 'returns requests with used len 0 and writes nothing' },
  // --- blk -----------------------------------------------------------------------------
  { name: 'blk-no-flush', clause: CLAUSE.blkOfferFlush, devices: BLK,
    summary: 'does not offer VIRTIO_BLK_F_FLUSH' },
  { name: 'blk-padding-nonzero', clause: CLAUSE.blkPadding, devices: BLK,
    summary: 'configuration padding bytes unused0 and unused1 read 0xff' },
  { name: 'blk-ro-write-succeeds', clause: CLAUSE.blkReadOnly, devices: BLK,
    summary: 'with VIRTIO_BLK_F_RO offered, writes the data and reports VIRTIO_BLK_S_OK' },
  { name: 'blk-unknown-flags-accepted', clause: CLAUSE.blkUnknownFlags, devices: BLK,
    summary: 'discard and write zeroes ignore unknown flags instead of VIRTIO_BLK_S_UNSUPP' },
  { name: 'blk-discard-unmap-accepted', clause: CLAUSE.blkDiscardUnmap, devices: BLK,
    summary: 'discard with the unmap flag set completes with VIRTIO_BLK_S_OK instead of VIRTIO_BLK_S_UNSUPP' },
  { name: 'blk-write-zeroes-not-zero', clause: CLAUSE.blkWriteZeroes, devices: BLK,
    summary: 'write zeroes with unmap set deallocates nothing and leaves the old data readable' },
  // --- console (emulator/console/model.ts) ---------------------------------------------
  { name: 'console-emerg-wr-needs-driver-ok', clause: CLAUSE.consoleEmergWrite, devices: ['console'],
    summary: 'ignores writes to emerg_wr until DRIVER_OK is set' },
  { name: 'console-emerg-wr-high-byte', clause: CLAUSE.consoleEmergLowByte, devices: ['console'],
    summary: 'outputs the highest byte written to emerg_wr instead of the lower one' },
  { name: 'console-adds-port-twice', clause: CLAUSE.consoleDeviceAdd, devices: ['console'],
    summary: 'answers DEVICE_READY with two DEVICE_ADD messages for port 1' },
  { name: 'console-adds-port-beyond-max', clause: CLAUSE.consoleDeviceAdd, devices: ['console'],
    summary: 'answers DEVICE_READY with a DEVICE_ADD for port max_nr_ports too' },
  { name: 'console-readds-port-on-port-ready', clause: CLAUSE.consoleDeviceAdd, devices: ['console'],
    summary: 'answers PORT_READY with another DEVICE_ADD for that port before its CONSOLE_PORT/PORT_NAME/PORT_OPEN' },
  { name: 'console-hotplug-readds-ports', clause: CLAUSE.consoleDeviceAdd, devices: ['console'],
    summary: 'on a hot-plug after DEVICE_READY, sends DEVICE_ADD for every present port instead of the new one only' },
  { name: 'console-removes-unannounced-port', clause: CLAUSE.consoleDeviceRemove, devices: ['console'],
    summary: 'sends DEVICE_REMOVE for a port unplugged before the driver was told about it with DEVICE_ADD' },
  // The used len of a transmit buffer counts bytes written into it: none.
  { name: 'console-tx-used-len-total', clause: CLAUSE.usedLen, devices: ['console'],
    summary: 'uses transmit buffers with their whole length as used len although it writes nothing into them' },
  { name: 'console-rx-len-overstated', clause: CLAUSE.usedLen, devices: ['console'],
    summary: 'uses receive buffers with their whole length as used len however few bytes it wrote' },
  // --- net (emulator/net/model.ts) -------------------------------------------------------
  { name: 'net-max-pairs-zero', clause: CLAUSE.netMaxPairs, devices: NET,
    summary: 'offers VIRTIO_NET_F_MQ with max_virtqueue_pairs 0' },
  // 60 is below the recommended 1280 too.
  { name: 'net-mtu-out-of-range', clause: CLAUSE.netMtuRange, devices: NET, alsoBreaks: [CLAUSE.netMtuRecommended],
    summary: 'offers VIRTIO_NET_F_MTU with mtu 60 (below 68)' },
  { name: 'net-mtu-below-1280', clause: CLAUSE.netMtuRecommended, devices: NET,
    summary: 'offers VIRTIO_NET_F_MTU with mtu 576 (legal, below the recommended 1280) and enforces it' },
  { name: 'net-mtu-changes', clause: CLAUSE.netMtuFixed, devices: NET,
    summary: 'mtu grows by 1000 at every link status change' },
  { name: 'net-rx-exceeds-mtu', clause: CLAUSE.netRxMtu, devices: NET,
    summary: 'with VIRTIO_NET_F_MTU, passes received frames longer than mtu + 14 to the driver' },
  { name: 'net-tx-truncates-at-1514', clause: CLAUSE.netTxMtu, devices: NET,
    summary: 'cuts transmitted frames to 1514 bytes although mtu is larger' },
  { name: 'net-offers-mq-without-ctrl-vq', clause: CLAUSE.offerPrerequisite, devices: NET,
    summary: 'offers VIRTIO_NET_F_CTRL_RX, CTRL_VLAN, GUEST_ANNOUNCE, CTRL_MAC_ADDR and MQ without VIRTIO_NET_F_CTRL_VQ (CTRL_RX_EXTRA dropped too)' },
  { name: 'net-offers-rx-extra-without-ctrl-vq', clause: CLAUSE.netRxExtraNoCtrlVq, devices: NET,
    summary: 'offers VIRTIO_NET_F_CTRL_RX_EXTRA without VIRTIO_NET_F_CTRL_VQ (and drops the bits that require CTRL_VQ)' },
  { name: 'net-offers-hash-report-without-ctrl-vq', clause: CLAUSE.netHashReportNoCtrlVq, devices: NET,
    summary: 'offers VIRTIO_NET_F_HASH_REPORT without VIRTIO_NET_F_CTRL_VQ (and drops the bits that require CTRL_VQ)' },
  { name: 'net-tx-drops-unknown-flags', clause: CLAUSE.netTxUnknownFlags, devices: NET,
    summary: 'drops transmitted frames whose virtio_net_hdr flags carry a bit it does not know' },
  { name: 'net-tx-csum-without-needs-csum', clause: CLAUSE.netTxNoCsum, devices: NET,
    summary: 'writes a checksum at csum_start + csum_offset whenever they are non-zero, NEEDS_CSUM or not' },
  { name: 'net-tx-drops-bad-checksum', clause: CLAUSE.netTxChecksumNotRelied, devices: NET,
    summary: 'without NEEDS_CSUM, drops transmitted IPv4 frames whose header checksum is wrong' },
  // Its two buffers carry num_buffers 2, which also breaks num_buffers = 1 without MRG_RXBUF.
  { name: 'net-splits-without-mrg-rxbuf', clause: CLAUSE.netSingleDesc, devices: NET, alsoBreaks: [CLAUSE.netNumBuffersOne],
    summary: 'without VIRTIO_NET_F_MRG_RXBUF, spreads a packet over buffers of at most 1024 bytes' },
  { name: 'net-num-buffers-zero', clause: CLAUSE.netNumBuffersOne, devices: NET,
    summary: 'without VIRTIO_NET_F_MRG_RXBUF, leaves num_buffers 0 (the legacy header had none)' },
  // 5.1.9.3.2 and 5.1.9.4.1 both state the num_buffers count.
  { name: 'net-mrg-num-buffers-one', clause: CLAUSE.netNumBuffersMrg, devices: NET, alsoBreaks: [CLAUSE.netNumBuffersDesc],
    summary: 'with VIRTIO_NET_F_MRG_RXBUF, sets num_buffers 1 for a packet over several buffers' },
  { name: 'net-mrg-partial-fill', clause: CLAUSE.netMrgFull, devices: NET,
    summary: 'with VIRTIO_NET_F_MRG_RXBUF, leaves the last 12 bytes of every buffer of a packet unused' },
  { name: 'net-mrg-buffers-used-apart', clause: CLAUSE.netMrgTogether, devices: NET,
    summary: 'with VIRTIO_NET_F_MRG_RXBUF, makes the first buffer of a packet used (and notifies) 30 ms before the others' },
  // Device statistics (emulator/net/stats.ts).
  { name: 'net-stats-caps-incomplete', clause: CLAUSE.netStatsQuery, devices: NET,
    summary: 'VIRTIO_NET_CTRL_STATS_QUERY leaves VIRTIO_NET_STATS_TYPE_CVQ out of supported_stats_types although GET answers it' },
  // Checking nothing, it also answers the correct entries of a request with an incorrect one.
  { name: 'net-stats-get-unchecked', clause: CLAUSE.netStatsIncorrect, devices: NET, alsoBreaks: [CLAUSE.netStatsWholeCommand],
    summary: 'VIRTIO_NET_CTRL_STATS_GET checks nothing: answers any vq_index and type it can, ignores unknown types and missing features' },
  { name: 'net-stats-partial-get', clause: CLAUSE.netStatsWholeCommand, devices: NET,
    summary: 'VIRTIO_NET_CTRL_STATS_GET drops the incorrect entries and answers the others with VIRTIO_NET_OK' },
  { name: 'net-stats-size-without-hdr', clause: CLAUSE.netStatsSize, devices: NET,
    summary: 'statistics replies give size without the 8-byte virtio_net_stats_reply_hdr' },
  { name: 'net-stats-reply-vq-index-zero', clause: CLAUSE.netStatsHeader, devices: NET,
    summary: 'statistics reply headers carry vq_index 0 whatever the queue' },
  { name: 'net-stats-fills-result', clause: CLAUSE.netStatsValidBytes, devices: NET,
    summary: 'VIRTIO_NET_CTRL_STATS_GET zero-fills the whole command-specific-result buffer after the replies' },
  // Notification coalescing (emulator/net/coalescing.ts; limits 4096 packets, 1 s).
  { name: 'net-coal-reserved-rejected', clause: CLAUSE.netCoalReserved, devices: NET,
    summary: 'answers VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET/VQ_GET with a non-zero reserved field with VIRTIO_NET_ERR' },
  { name: 'net-coal-set-clamps', clause: CLAUSE.netCoalSetErr, devices: NET,
    summary: 'VIRTIO_NET_CTRL_NOTF_COAL_TX_SET/RX_SET beyond its limits: acknowledged with VIRTIO_NET_OK, parameters cut to the limits' },
  { name: 'net-coal-vq-set-clamps', clause: CLAUSE.netCoalVqSetErr, devices: NET,
    summary: 'VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET beyond its limits: acknowledged with VIRTIO_NET_OK, parameters cut to the limits' },
  { name: 'net-coal-vq-any-index', clause: CLAUSE.netCoalVqIndex, devices: NET,
    summary: 'VIRTIO_NET_CTRL_NOTF_COAL_VQ_SET/VQ_GET accept any vq_index (controlq, beyond the queues)' },
  { name: 'net-coal-kept-after-reset', clause: CLAUSE.netCoalReset, devices: NET,
    summary: 'keeps the coalescing parameters across a device reset' },
  { name: 'net-coal-notifies-suppressed', clause: CLAUSE.netCoalSuppressed, devices: NET,
    summary: 'when receive coalescing conditions are met (max_packets reached, max_usecs elapsed), notifies even while the driver suppresses notifications' },
  { name: 'net-rx-data-valid-without-guest-csum', clause: CLAUSE.netRxFlagsZero, devices: NET,
    summary: 'sets VIRTIO_NET_HDR_F_DATA_VALID in received headers without VIRTIO_NET_F_GUEST_CSUM' },
  { name: 'net-rx-gso-from-frame', clause: CLAUSE.netRxGsoNone, devices: NET, alsoBreaks: [CLAUSE.netRxGsoTcp4, CLAUSE.netRxGsoUdp, CLAUSE.netRxGsoTcp6],
    summary: 'sets gso_type TCPV4/TCPV6/UDP by the received frame\'s protocol without any GUEST_TSO/UFO feature' },
  { name: 'net-ctrl-rx-unsupported', clause: CLAUSE.netCtrlRx, devices: NET,
    summary: 'offers VIRTIO_NET_F_CTRL_RX but answers its VIRTIO_NET_CTRL_RX commands (PROMISC, ALLMULTI) with VIRTIO_NET_ERR' },
  { name: 'net-promisc-ignored', clause: CLAUSE.netPromisc, devices: NET,
    summary: 'acknowledges VIRTIO_NET_CTRL_RX_PROMISC but keeps filtering by MAC' },
  { name: 'net-allmulti-ignored', clause: CLAUSE.netAllmulti, devices: NET,
    summary: 'acknowledges VIRTIO_NET_CTRL_RX_ALLMULTI but keeps dropping multicast frames not in the table' },
  { name: 'net-no-rx-filter', clause: CLAUSE.netMacFilter, devices: NET,
    summary: 'with promiscuous mode off, still passes frames for any destination MAC' },
  { name: 'net-mac-table-late', clause: CLAUSE.netMacTableSet, devices: NET,
    summary: 'a VIRTIO_NET_CTRL_MAC_TABLE_SET table takes effect only with the next control command' },
  { name: 'net-mac-table-kept-after-reset', clause: CLAUSE.netMacTableReset, devices: NET,
    summary: 'keeps the MAC filtering table across a device reset' },
  { name: 'net-mac-addr-config-stale', clause: CLAUSE.netMacAddrSet, devices: NET,
    summary: 'VIRTIO_NET_CTRL_MAC_ADDR_SET changes the filter but not mac in the configuration' },
  { name: 'net-mq-spreads-at-start', clause: CLAUSE.netMqStart, devices: NET,
    summary: 'with VIRTIO_NET_F_MQ, steers received frames over every receiveq before VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET' },
  { name: 'net-mq-shrink-ignored', clause: CLAUSE.netMqPairs, devices: NET,
    summary: 'VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET with fewer pairs is acknowledged but the old pairs keep receiving' },
  // Each stray bit breaks its own clause and flags-zero without GUEST_CSUM.
  { name: 'net-rx-stray-flag-bits', clause: CLAUSE.netRxRscInfo, devices: NET,
    alsoBreaks: [CLAUSE.netRxFlagsZero, CLAUSE.netRxTunnelCsumFlag, CLAUSE.netRxSecurity, CLAUSE.netRxSecurityErr],
    summary: 'sets RSC_INFO, UDP_TUNNEL_CSUM, SECURITY and SECURITY_ERR in received headers (none negotiated, no IPsec)' },
  // gso_type UDP_L4 | UDP_TUNNEL_IPV4 is not NONE either; on a UDP-tunnelled frame it passes a tunnel GSO
  // packet without GUEST_UDP_TUNNEL_GSO as well (5.1.9.4.1 ¶19).
  { name: 'net-rx-gso-udp-l4-tunnel', clause: CLAUSE.netRxGsoUdpL4, devices: NET, alsoBreaks: [CLAUSE.netRxGsoTunnel, CLAUSE.netRxGsoNone, CLAUSE.netRxTunnelGsoNotNegotiated],
    summary: 'sets gso_type VIRTIO_NET_HDR_GSO_UDP_L4 | UDP_TUNNEL_IPV4 for received UDP frames without GUEST_USO4/6 or GUEST_UDP_TUNNEL_GSO' },
  { name: 'net-drops-vlan-tagged', clause: CLAUSE.netVlanAccept, devices: NET,
    summary: 'without VIRTIO_NET_F_CTRL_VLAN, drops received VLAN-tagged frames' },
  { name: 'net-vlan-add-ignored', clause: CLAUSE.netVlanFilter, devices: NET,
    summary: 'with VIRTIO_NET_F_CTRL_VLAN, acknowledges VIRTIO_NET_CTRL_VLAN_ADD but keeps dropping frames of that VLAN' },
  { name: 'net-vlan-no-filter', clause: CLAUSE.netVlanFilter, devices: NET,
    summary: 'with VIRTIO_NET_F_CTRL_VLAN and promiscuous mode off, passes frames of VLANs not in the filter table' },
  { name: 'net-rx-data-valid-unvalidated', clause: CLAUSE.netRxDataValid, devices: NET,
    summary: 'with VIRTIO_NET_F_GUEST_CSUM, sets VIRTIO_NET_HDR_F_DATA_VALID on every received frame without checking its checksums' },
  { name: 'net-duplex-invalid', clause: CLAUSE.netDuplex, devices: NET,
    summary: 'with VIRTIO_NET_F_SPEED_DUPLEX, duplex reads 0x02 (neither full, half nor unknown)' },
  { name: 'net-speed-changes-link-up', clause: CLAUSE.netSpeedStable, devices: NET,
    summary: 'with VIRTIO_NET_F_SPEED_DUPLEX, speed grows by one on every configuration read while the link is up' },
  { name: 'net-ctrl-rx-extra-unsupported', clause: CLAUSE.netCtrlRxExtra, devices: NET,
    summary: 'offers VIRTIO_NET_F_CTRL_RX_EXTRA but answers ALLUNI, NOMULTI, NOUNI and NOBCAST with VIRTIO_NET_ERR' },
  { name: 'net-alluni-ignored', clause: CLAUSE.netAllUni, devices: NET,
    summary: 'acknowledges VIRTIO_NET_CTRL_RX_ALLUNI but keeps dropping unicast frames for other addresses' },
  { name: 'net-nomulti-ignored', clause: CLAUSE.netNoMulti, devices: NET,
    summary: 'acknowledges VIRTIO_NET_CTRL_RX_NOMULTI but keeps passing multicast frames' },
  { name: 'net-nouni-ignored', clause: CLAUSE.netNoUni, devices: NET,
    summary: 'acknowledges VIRTIO_NET_CTRL_RX_NOUNI but keeps passing unicast frames' },
  { name: 'net-nobcast-ignored', clause: CLAUSE.netNoBcast, devices: NET,
    summary: 'acknowledges VIRTIO_NET_CTRL_RX_NOBCAST but keeps passing broadcast frames' },
  { name: 'net-announce-not-cleared', clause: CLAUSE.netAnnounceAck, devices: NET,
    summary: 'acknowledges VIRTIO_NET_CTRL_ANNOUNCE_ACK but leaves VIRTIO_NET_S_ANNOUNCE set in status' },
  // The same missing check lets the other two malformed tunnel headers through.
  { name: 'net-tx-accepts-malformed-tunnel', clause: CLAUSE.netTxBothTunnelBits, devices: NET, alsoBreaks: [CLAUSE.netTxTunnelNoCsum, CLAUSE.netTxTunnelCsumFlag],
    summary: 'transmits packets whose UDP tunnel gso_type bits or UDP_TUNNEL_CSUM flag are inconsistent instead of refusing them' },
  // RSS and hash report (emulator/net/rss.ts).
  { name: 'net-speed-out-of-range', clause: CLAUSE.netSpeedRange, devices: NET,
    summary: 'with VIRTIO_NET_F_SPEED_DUPLEX, speed reads 0x80000000 (above 0x7fffffff and not 0xffffffff)' },
  { name: 'net-rss-key-size-small', clause: CLAUSE.netRssKeySize, devices: NET,
    summary: 'offers VIRTIO_NET_F_RSS and VIRTIO_NET_F_HASH_REPORT with rss_max_key_size 32' },
  { name: 'net-rss-table-length-small', clause: CLAUSE.netRssTableLength, devices: NET,
    summary: 'offers VIRTIO_NET_F_RSS with rss_max_indirection_table_length 64' },
  { name: 'net-rss-indirection-ignored', clause: CLAUSE.netRssSteering, devices: NET,
    summary: 'with RSS configured, sends a hashed packet to receive queue pair (hash & indirection_table_mask) mod max_virtqueue_pairs, not to the indirection table entry' },
  { name: 'net-rss-unclassified-to-receiveq1', clause: CLAUSE.netRssSteering, devices: NET,
    summary: 'with RSS configured, puts packets it calculates no hash for on receiveq1 instead of unclassified_queue' },
  { name: 'net-rss-hash-ports-swapped', clause: CLAUSE.netRssSteering, devices: NET,
    summary: 'with RSS configured, calculates the TCP/UDP hash with the destination port before the source port (steering and hash_value follow it)' },
  { name: 'net-inner-hash-any-tunnel', clause: CLAUSE.netInnerHashOuter, devices: NET,
    summary: 'once any encapsulation type is enabled for inner header hash, hashes the inner header of every encapsulation it recognises (VXLAN and GENEVE)' },
  { name: 'net-hash-tunnel-accepts-unsupported', clause: CLAUSE.netInnerHashUnsupported, devices: NET,
    summary: 'acknowledges VIRTIO_NET_CTRL_HASH_TUNNEL_SET with encapsulation types not in supported_tunnel_types' },
  { name: 'net-inner-hash-zero-ignored', clause: CLAUSE.netInnerHashDisabled, devices: NET,
    summary: 'acknowledges VIRTIO_NET_CTRL_HASH_TUNNEL_SET with enabled_tunnel_types 0 but keeps hashing inner headers' },
  { name: 'net-inner-hash-kept-after-reset', clause: CLAUSE.netInnerHashDisabled, devices: NET,
    summary: 'keeps the enabled encapsulation types (inner header hash) across a device reset' },
  // --- net offloads (emulator/net/offload.ts) ---------------------------------------------
  { name: 'net-rx-needs-csum-unvalidated', clause: CLAUSE.netRxCsumValidated, devices: NET,
    summary: 'with VIRTIO_NET_F_GUEST_CSUM, passes a host\'s partial checksum on with NEEDS_CSUM although the IPv4 header checksum before it is wrong' },
  // The driver's completion then lacks the pseudo header, so csum_start/csum_offset no longer give a right checksum either.
  { name: 'net-rx-csum-field-zeroed', clause: CLAUSE.netRxCsumPseudo, devices: NET, alsoBreaks: [CLAUSE.netRxCsumStartOffset],
    summary: 'with NEEDS_CSUM, leaves 0 in the received packet\'s checksum field instead of the pseudo-header sum' },
  { name: 'net-rx-csum-offset-wrong', clause: CLAUSE.netRxCsumStartOffset, devices: NET,
    summary: 'with NEEDS_CSUM, reports csum_offset 6 (UDP\'s) for TCP packets too' },
  { name: 'net-rx-gso-without-needs-csum', clause: CLAUSE.netRxGsoNeedsCsum, devices: NET,
    summary: 'with VIRTIO_NET_F_GUEST_TSO4/TSO6, delivers GSO packets with flags 0 (no NEEDS_CSUM)' },
  { name: 'net-rx-gso-ecn-ignored', clause: CLAUSE.netRxGsoEcn, devices: NET,
    summary: 'delivers TCP GSO packets with CWR set as GSO without VIRTIO_NET_F_GUEST_ECN, and without VIRTIO_NET_HDR_GSO_ECN in gso_type with it' },
  { name: 'net-rx-gso-hdr-len-zero', clause: CLAUSE.netRxGsoHdrLen, devices: NET,
    summary: 'with VIRTIO_NET_F_GUEST_TSO4/TSO6, leaves hdr_len 0 in received GSO packets' },
  { name: 'net-tx-gso-trusts-hdr-len', clause: CLAUSE.netTxHdrLenHint, devices: NET,
    summary: 'with VIRTIO_NET_F_HOST_TSO4/TSO6 (no GUEST_HDRLEN), segments a TCP GSO packet behind the first hdr_len bytes, as if they were its headers' },
  { name: 'net-rx-partial-csum-not-completed', clause: CLAUSE.netRxFlagsZero, devices: NET,
    summary: 'without VIRTIO_NET_F_GUEST_CSUM, delivers a packet whose checksum the host left partial without completing it' },
  { name: 'net-rx-tunnel-gso-as-tcp', clause: CLAUSE.netRxTunnelGsoNotNegotiated, devices: NET,
    summary: 'with VIRTIO_NET_F_GUEST_TSO4/TSO6 but not GUEST_UDP_TUNNEL_GSO, delivers a UDP-tunnelled TCP packet to segment whole, as gso_type TCPV4/TCPV6' },
  // --- virtqueue reset (VIRTIO_F_RING_RESET) -------------------------------------------
  { name: 'queue-reset-ignored', clause: CLAUSE.queueResetStops, devices: ANY,
    summary: 'ignores a write of 1 to queue_reset / QueueReset: the queue stays enabled and in use' },
  { name: 'queue-reset-keeps-ring-state', clause: CLAUSE.queueResetState, devices: ANY,
    summary: 'carries the avail and used positions of a reset queue over to its re-enabled rings' },

];

const NAMES = new Set(DEFECTS.map((d) => d.name));

export function findDefect(name: string): DefectInfo | undefined {
  return DEFECTS.find((d) => d.name === name);
}

/** Does `d` apply to this device type and transport (and ring layout, when given)? */
export function defectApplies(d: DefectInfo, device: DefectDevice, transport: DefectTransport, ring?: DefectRing): boolean {
  return d.devices.includes(device) && (d.transports === undefined || d.transports.includes(transport))
    && (ring === undefined || d.rings === undefined || d.rings.includes(ring));
}

/**
 * The active defect of one device instance. `on(name)` is true only for the selected
 * defect, and only when it applies to this device type and transport.
 */
export class Defects {
  readonly active?: DefectInfo;

  constructor(name: string | undefined, device: DefectDevice, transport: DefectTransport) {
    if (name === undefined) return;
    const d = findDefect(name);
    if (!d) throw new Error(`unknown defect '${name}'`);
    if (defectApplies(d, device, transport)) this.active = d;
  }

  on(name: string): boolean {
    // A hook with a misspelt name would silently never fire: refuse it.
    if (!NAMES.has(name)) throw new Error(`defect hook for unknown defect '${name}'`);
    return this.active?.name === name;
  }

  static none(): Defects { return new Defects(undefined, 'entropy', 'pci'); }
}
