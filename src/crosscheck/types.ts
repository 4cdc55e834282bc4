// The two views of one run, as the crosscheck reads them (capture.ts builds them; everything after works
// on these). Contract:
// - GuestCapture: the guest's serial console. Times are printk seconds since boot ('boot' clock).
//   `ops` are the iommu:map/unmap tracepoints in console order; the 6.1 tracepoints carry no device, so
//   `domain` is filled in later by attribute.ts. Addresses and sizes are bigints.
// - QemuCapture: QEMU's log-backend trace. Times are host epoch seconds. `events` is every event the
//   crosscheck uses, in line order (which is time order in a log-backend file).
// - Issues (errors and warnings) name the file and line; a capture with errors is still usable: the
//   crosscheck reports what it could check (partial results) and says why the rest is missing.
// Pure data, no I/O.

export interface Issue {
  level: 'error' | 'warning';
  /** 'guest' | 'qemu' | 'both' */
  source: 'guest' | 'qemu' | 'both';
  line: number | null;
  message: string;
}

export interface GuestOp {
  op: 'map' | 'unmap';
  /** position among the ops, 0-based */
  index: number;
  line: number;
  time: number;
  iova: bigint;
  size: bigint;
  paddr: bigint | null;
  unmappedSize: bigint | null;
  raw: string;
}

export interface GuestDeviceEvent {
  op:
    | 'add_device_to_group'
    | 'remove_device_from_group'
    | 'attach_device_to_domain'
    | 'detach_device_from_domain';
  line: number;
  time: number | null;
  bdf: string;
  group: number | null;
}

/** A DMAR fault line the guest driver printed (one cleared fault record). */
export interface GuestFault {
  line: number;
  time: number | null;
  bdf: string | null;
  sid: number | null;
  access: string;
  /** page address as printed */
  address: bigint;
  reason: number;
  pasid: number | null;
  raw: string;
}

/** "DMAR: DRHD: handling fault status reg N": the fault handler ran. */
export interface GuestFaultStatus {
  line: number;
  time: number | null;
  fsts: number;
}

/** "PHASE N: text (nvme marker lba=0x…)" written to /dev/kmsg by the workload. */
export interface PhaseMarker {
  phase: number;
  line: number;
  time: number | null;
  text: string;
  lba: number | null;
}

/** One row of the workload's PCI listing: "0000:00:03.0 0x8086 0x10d3 0x020000 e1000e". */
export interface WorkloadDevice {
  bdf: string;
  vendor: number;
  device: number;
  classCode: number;
  driver: string | null;
  line: number;
}

export interface ReservedRegion {
  start: bigint;
  end: bigint;
  type: string;
}

/** One group of the workload's listing: "group 3 type=DMA devices: …" and its "reserved:" lines. */
export interface WorkloadGroup {
  id: number;
  type: string;
  devices: string[];
  reserved: ReservedRegion[];
  line: number;
}

export interface GuestUnit {
  name: string;
  base: bigint;
  cap: bigint;
  ecap: bigint;
  line: number;
}

export interface GuestCapture {
  file: string;
  lines: number;
  ops: GuestOp[];
  devices: GuestDeviceEvent[];
  faults: GuestFault[];
  faultStatus: GuestFaultStatus[];
  phases: PhaseMarker[];
  pci: WorkloadDevice[];
  groups: WorkloadGroup[];
  /** "pci 0000:00:03.0: Adding to iommu group 1" */
  groupHints: { bdf: string; group: number; line: number }[];
  units: GuestUnit[];
  haw: number | null;
  /** kernel command line as printed, when found */
  cmdline: string | null;
  firstTime: number | null;
  lastTime: number | null;
  badLines: number;
  issues: Issue[];
}

export interface QemuTranslationEvent {
  type: 'translation';
  line: number;
  time: number;
  sid: number;
  bdf: string;
  /** page address QEMU printed (vtd_dmar_translate iova) */
  iova: bigint;
  gpa: bigint;
  mask: bigint;
  /** byte address of the access (IOTLB line), else the page address */
  addr: bigint;
  /** leaf entry from the IOTLB line, null when the line was missing */
  pte: bigint | null;
  domain: number | null;
  result: 'hit' | 'miss' | 'translated';
  raw: string;
}

export interface QemuFaultEvent {
  type: 'fault';
  line: number;
  time: number;
  sid: number;
  reason: number;
  addr: bigint;
  write: boolean;
  raw: string;
}

export interface QemuInvalidationEvent {
  type: 'iotlb-inv';
  line: number;
  time: number;
  scope: 'page' | 'domain' | 'global';
  did: number | null;
  addr: bigint;
  /** address mask: 2^am pages */
  am: number;
  raw: string;
}

export interface QemuContextInvalidationEvent {
  type: 'cc-inv';
  line: number;
  time: number;
  scope: 'global' | 'domain' | 'device';
  sid: number | null;
  did: number | null;
  raw: string;
}

export interface QemuFrrEvent {
  type: 'frr';
  line: number;
  time: number;
  index: number;
  high: bigint;
  low: bigint;
}

export interface QemuRootEvent {
  type: 'root';
  line: number;
  time: number;
  addr: bigint;
  scalable: boolean;
}

export interface QemuEnableEvent {
  type: 'enable';
  line: number;
  time: number;
  enabled: boolean;
}

export type QemuEvent =
  | QemuTranslationEvent
  | QemuFaultEvent
  | QemuInvalidationEvent
  | QemuContextInvalidationEvent
  | QemuFrrEvent
  | QemuRootEvent
  | QemuEnableEvent;

export interface NvmeMarker {
  line: number;
  time: number;
  lba: number;
}

export interface QemuCapture {
  file: string;
  lines: number;
  events: QemuEvent[];
  nvmeReads: NvmeMarker[];
  /** "leaf entry name" QEMU printed in its IOTLB lines: slpte (second level), flpte/fspte (first level) */
  pteNames: string[];
  firstTime: number | null;
  lastTime: number | null;
  badLines: number;
  issues: Issue[];
}
