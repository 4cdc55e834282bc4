// The crosscheck's answer (what `iommu-lab crosscheck --json` prints and the UI shows). Contract: plain JSON
// data (numbers, strings, booleans, arrays, objects); 64-bit addresses as "0x…" strings; times in seconds
// (guest printk clock or host epoch, as named). Documented in docs/crosscheck.md; bump CROSSCHECK_VERSION
// on an incompatible change.
import type { Issue } from './types';

export const CROSSCHECK_VERSION = 1;

export interface RequestJson {
  kind: 'translation' | 'fault';
  /** QEMU trace line of vtd_dmar_translate / vtd_dmar_fault */
  line: number;
  hostTime: number;
  /** the same moment on the guest's printk clock */
  guestTime: number;
  bdf: string;
  sid: string;
  /** byte address of the access (the IOTLB line's iova, or the fault address) */
  addr: string;
  access: 'read' | 'write';
  raw: string;
}

export type QemuAnswerJson =
  | {
      result: 'translated';
      gpa: string;
      mask: string;
      domain: string | null;
      pte: string | null;
      iotlb: string;
    }
  | { result: 'fault'; reason: string; reasonText: string };

export interface LabAnswerJson {
  result: 'translated' | 'fault' | 'interrupt';
  pa: string | null;
  reason: string | null;
  reasonText: string | null;
  domain: string | null;
  stage: string;
  /** 1 when the lab answered from its IOTLB */
  cached: boolean;
}

export interface GuestEventJson {
  line: number;
  op: 'map' | 'unmap';
  guestTime: number;
  /** when the replay applied it, host clock */
  appliedAt: number;
  domain: string | null;
  iova: string;
  size: number;
  paddr: string | null;
  raw: string;
}

export interface DisagreementJson {
  request: RequestJson;
  qemu: QemuAnswerJson;
  lab: LabAnswerJson;
  /** the guest's map/unmap events of the page (its domain first) that explain the lab's answer */
  guestEvents: GuestEventJson[];
}

export interface RecordJson {
  /** QEMU vtd_frr_new line, null when QEMU recorded fewer faults than the model */
  qemuLine: number | null;
  qemu: { high: string; low: string } | null;
  model: { high: string; low: string } | null;
  same: boolean;
}

export interface GuestReportJson {
  line: number | null;
  guest: string | null;
  /** the line Linux would print for the model's record */
  model: string | null;
  same: boolean;
}

export interface CrosscheckResult {
  crosscheckVersion: number;
  profile: string;
  guestLog: { file: string; lines: number; badLines: number };
  qemuTrace: { file: string; lines: number; badLines: number };
  /** false when an error issue, an unchecked request or an unattributed guest op limits the result */
  complete: boolean;
  translations: number;
  agree: number;
  disagree: number;
  /** translations the logs cannot support (outside the other log's span) */
  unchecked: number;
  /** agree / (agree + disagree), 1 when nothing was checked */
  agreement: number;
  /** translations where QEMU's IOTLB line names another domain id than the lab used (PA may still agree) */
  domainMismatches: number;
  faults: {
    observed: number;
    reproduced: number;
    unchecked: number;
    /** reproduced faults per reason ("0x06") */
    byReason: Record<string, number>;
    observedByReason: Record<string, number>;
  };
  recorded: {
    /** QEMU vtd_frr_new lines */
    observed: number;
    /** faults the lab's fault-recording registers recorded */
    model: number;
    /** faults the model did not record: compressed (same source already pending), overflow, FPD */
    suppressed: number;
    compressed: number;
    overflowed: number;
    fpdSuppressed: number;
    records: RecordJson[];
    /** the guest's DMAR fault lines against the records the model's guest driver would print */
    guestReports: { observed: number; model: number; same: number; lines: GuestReportJson[] };
  };
  platform: {
    unit: {
      name: string;
      base: string;
      cap: string;
      ecap: string;
      haw: number;
      mode: string;
      modeEvidence: string;
      pageTable: string;
      levels: number;
      faultRecords: number;
    };
    devices: {
      bdf: string;
      sid: string;
      group: number | null;
      vendor: string | null;
      device: string | null;
      class: string | null;
      driver: string | null;
    }[];
    groups: {
      id: number;
      type: string | null;
      devices: string[];
      reserved: { start: string; end: string; type: string }[];
    }[];
    domains: {
      domain: string;
      devices: string[];
      groups: number[];
      maps: number;
      unmaps: number;
      evidence: string;
    }[];
  };
  alignment: {
    /** host = guest + offset (seconds) */
    offset: number;
    method: string;
    markers: { phase: number; lba: string; guestTime: number; hostTime: number; delta: number }[];
    markerBound: number | null;
    vote: { offset: number; matched: number; maps: number; window: number } | null;
    /** offsets the translation ordering allows (null bound: none found on that side) */
    bracket: { lo: number | null; hi: number | null; translations: number } | null;
  };
  attribution: {
    maps: number;
    unmaps: number;
    byEvidence: Record<string, number>;
    unattributed: number;
    conflicts: number;
    /** map/unmap the lab's page tables refused (overlap, partial superpage) */
    refused: number;
  };
  disagreements: DisagreementJson[];
  issues: Issue[];
}
