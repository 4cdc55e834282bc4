// Record types produced by the importers (src/trace/import). Contract:
// - Every importer is line-oriented: it takes one physical line at a time and emits ImportRecords and
//   BadLines through callbacks, so a caller can stream a file of any size. Nothing here does I/O.
// - Times: `time` is in SECONDS (a float) on the clock named by `clock`, and `timeRaw` keeps the text
//   as printed. Clocks: 'boot' (printk monotonic, "[   12.345678]"), 'delta' (dmesg -H/-e "[  +0.012066]":
//   time is the running sum of the deltas since the first line of the file), 'wall' (calendar time with a
//   year, seconds since the Unix epoch, read as UTC unless the text has a numeric zone), 'epoch' (QEMU log backend
//   "pid@1676271757.075075"), 'trace' (ftrace timestamp column; default trace clock), 'capture'
//   (analyzer time column). A wall clock printed without a year (syslog "May 30 17:32:17") gives
//   time null with clock 'wall' and timeRaw set.
// - Addresses are lower-case hex strings "0x…" without zero padding (64-bit values never lose bits);
//   sizes are numbers (safe integers).
// - bdf is "SSSS:BB:DD.F". When a line prints no PCI segment, `segment` is null and bdf assumes 0000.
// - `line` is the 1-based number of the first physical line of the record; `raw` is the text as read
//   (physical lines joined with "\n" when a record was wrapped or split).

export type ImportKind = 'kernel-log' | 'ftrace' | 'qemu-trace' | 'analyzer-csv';
export const IMPORT_KINDS: readonly ImportKind[] = ['kernel-log', 'ftrace', 'qemu-trace', 'analyzer-csv'];

export type Clock = 'boot' | 'delta' | 'wall' | 'epoch' | 'trace' | 'capture';

export interface Stamp {
  time: number | null;
  clock: Clock | null;
  timeRaw: string | null;
}

export interface Located extends Stamp {
  line: number;
  raw: string;
}

/** What the faulting request did. 'interrupt': an interrupt request (VT-d INTR-REMAP, AMD-Vi I=1);
 * 'translation': an ATS translation request (AMD-Vi TR=1); 'unknown' when the log does not say. */
export type Access = 'read' | 'write' | 'exec' | 'interrupt' | 'translation' | 'unknown';

export type FaultSource = 'intel' | 'amd' | 'smmu';
export type Detail = Record<string, string | number | boolean | null>;

/** A fault the hardware (or QEMU's model of it) reported and a log recorded. */
export interface ObservedFault extends Located {
  type: 'fault';
  source: FaultSource;
  /** the printed variant, e.g. 'dmar-2021' (see docs/import-json.md) */
  format: string;
  /** what printed it: the kernel driver, QEMU's model, or Xen */
  origin: 'linux' | 'qemu' | 'xen';
  segment: number | null;
  bdf: string | null;
  /** requester/source id (Intel, AMD: bus<<8|devfn) or StreamID (SMMU); null when not printed */
  sid: number | null;
  pasid: number | null;
  access: Access;
  /** faulting address (Intel prints the page address); null for interrupt-remapping faults */
  address: string | null;
  /** Intel: fault reason (FRCD.FR); AMD: event type code (2 = IO_PAGE_FAULT); SMMUv3: event id;
   * SMMUv2: the FSR value */
  reason: number;
  reasonText: string;
  /** the reason text was cut short in the log (terminal truncation, lost continuation) */
  truncated: boolean;
  detail: Detail;
}

export type HintKind =
  | 'rmrr'
  | 'e820'
  | 'ineligible'
  | 'firmware-bug'
  | 'drhd'
  | 'dmar-unit'
  | 'haw'
  | 'ioapic'
  | 'hpet'
  | 'group'
  | 'identity-map'
  | 'no-structure'
  | 'relaxable-rmrr'
  | 'amd-iommu'
  | 'amd-efr'
  | 'ivrs-hid'
  | 'ivrs-special'
  | 'ivmd';

/** A fact about the platform printed at boot (firmware tables, groups, reserved memory). */
export interface PlatformHint extends Located {
  type: 'hint';
  kind: HintKind;
  fields: Detail;
}

export type ImportedOp =
  | 'map'
  | 'unmap'
  | 'attach_device_to_domain'
  | 'detach_device_from_domain'
  | 'add_device_to_group'
  | 'remove_device_from_group'
  | 'io_page_fault';

/** An iommu tracepoint (include/trace/events/iommu.h) read from ftrace output or from a kernel log
 * printed with tp_printk. The lead maps these to control-script events. */
export interface ImportedEvent extends Located {
  type: 'event';
  op: ImportedOp;
  origin: 'ftrace' | 'tp_printk';
  /** ftrace task column ("(udev-worker)-532" → comm, pid) and CPU, when printed */
  task: { comm: string; pid: number; cpu: number } | null;
  iova: string | null;
  /** map: end of the range as printed (iova + size); null for the pre-5.x format without it */
  iovaEnd: string | null;
  paddr: string | null;
  size: number | null;
  unmappedSize: number | null;
  /** device name as printed ("0000:00:03.0", "1d84000.ufshc") */
  device: string | null;
  bdf: string | null;
  groupId: number | null;
  driver: string | null;
  /** io_page_fault flags (IOMMU_FAULT_READ 0x0 / IOMMU_FAULT_WRITE 0x1) */
  flags: number | null;
  access: Access | null;
}

/** A DMA translation QEMU's VT-d model performed (vtd_dmar_translate), with what the IOTLB line before
 * it added (byte address, leaf PTE, domain). */
export interface QemuTranslation extends Located {
  type: 'translation';
  sid: number | null;
  bdf: string;
  pasid: number | null;
  iova: string;
  gpa: string;
  mask: string;
  /** byte address of the access (vtd_iotlb_page_* iova), when the line before gave it */
  accessAddress: string | null;
  /** leaf PTE permissions from its R (bit 0) and W (bit 1) bits: 'r', 'w', 'rw', '' */
  perms: string | null;
  domain: number | null;
  pte: string | null;
  /** 'hit' / 'miss' (IOTLB hit or page walk + fill) when known, else 'translated' */
  result: 'hit' | 'miss' | 'translated';
  /** write flag of a preceding vtd_dmar_slpte line (older QEMU) */
  write: boolean | null;
}

/** One PCIe transaction layer packet from an analyzer export or a logged TLP header. */
export interface TlpRecord extends Located {
  type: 'tlp';
  origin: 'analyzer' | 'aer';
  requesterId: number | null;
  bdf: string | null;
  pasid: number | null;
  tbit: boolean | null;
  /** Address Type: 0 untranslated, 1 translation request, 2 translated */
  at: number | null;
  access: 'read' | 'write' | 'atomic' | 'message' | 'completion' | 'other';
  tlpType: string;
  address: string | null;
  /** payload/request length in bytes */
  length: number | null;
  detail: Detail;
}

/** A recognised line that carries no fault, hint or event (fault-status headers, page-table dumps,
 * IOTLB lines, QEMU error reports…); counted, and kept in the session only on request. */
export interface InfoRecord extends Located {
  type: 'info';
  what: string;
  fields: Detail;
}

export type ImportRecord =
  ObservedFault | PlatformHint | ImportedEvent | QemuTranslation | TlpRecord | InfoRecord;
export type RecordType = ImportRecord['type'];

export interface BadLine {
  file: string;
  line: number;
  reason: string;
  /** the text, cut to 200 characters */
  text: string;
}

export interface Sink {
  record(r: ImportRecord): void;
  bad(line: number, reason: string, raw: string): void;
  /** a line no importer recognised (prose, unrelated log lines); counted only */
  ignored(line: number): void;
}

/** The contract every importer implements: feed physical lines in order, then end(). */
export interface LineImporter {
  line(text: string, no: number, sink: Sink): void;
  end(sink: Sink): void;
}
