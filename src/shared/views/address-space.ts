// The address-space map view: what a device (or one of its PASIDs) can reach at a trace time, and the
// page walk of one address. Built by src/engine/inspect/address-space.ts and walk.ts.
// - Ranges are the leaves of the domain's page table, in address order, adjacent pages coalesced when
//   their permissions, page size, creating event and (TEE-IO) output privacy are equal. An identity
//   domain is one 1:1 range over the whole input space (pageSize 0: no page table); a blocked domain has
//   none. Addresses are hex strings (they exceed 2^53).
// - Nested domains (a user stage-1 over a kernel stage-2 parent): `ranges` are the stage-1 ranges
//   (IOVA → GPA), each with `nested` saying whether and where stage 2 maps the GPA (`pa` = the HPA, ''
//   when stage 2 does not) and read/write/execute the intersection of both stages; a stage-1 leaf is
//   split wherever stage-2 coverage, permissions or contiguity change. `stage2` holds the parent's own
//   ranges (GPA → HPA), null for other domains.
// - Fault marks: for text traces, the faults of the device (and PASID) so far, bucketed by 4 KiB page
//   (coarser, by powers of two, past 2000 buckets); for native traces, the replay's per-device 2 MiB
//   fault ranges (src/host/replay/aggregates.ts: the worker does not keep every fault, nor the PASID).
import { z } from 'zod';

const bdf = z.string().min(1).max(32);
const pasid = z.number().int().min(0).max(0xfffff).nullable();
const address = z
  .string()
  .min(1)
  .max(24)
  .regex(/^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/, 'an address is 0x followed by 1–16 hex digits, or decimal');

export const addressSpaceParams = z
  .object({
    bdf,
    pasid: pasid.optional(),
    /** trace time (ns) to show; the state shown by the player when absent */
    time: z.number().finite().optional(),
  })
  .strict();

export const walkParams = z
  .object({
    bdf,
    pasid: pasid.optional(),
    /** hex or decimal address */
    address,
    access: z.enum(['read', 'write']).optional(),
    time: z.number().finite().optional(),
  })
  .strict();

export interface MappedRange {
  /** first address, hex */
  start: string;
  /** last address (inclusive), hex */
  end: string;
  /** output (physical) address of `start`, hex */
  pa: string;
  read: boolean;
  write: boolean;
  execute: boolean;
  /** the page size of the leaf entries, bytes; 0 for an identity domain (no page table) */
  pageSize: number;
  /** the control event that created the mapping ("file:line" or an event label), when known */
  origin: string | null;
  /** trace time (ns) of that event */
  originTime: number | null;
  /** TEE-IO: whether the pages' output addresses are private or shared memory; null without TEE-IO */
  output: 'private' | 'shared' | null;
  /** nested domains only: the two stages of the range (`pa` is then the HPA, '' when stage 2 misses) */
  nested?: NestedStages;
}

export interface NestedStages {
  /** stage-1 output (guest physical address) of `start`, hex */
  gpa: string;
  /** whether stage 2 maps the GPAs (false: DMA to the range faults in stage 2) */
  s2Mapped: boolean;
  /** stage-1 permissions (W = R/W, X = no XD; R always) */
  s1: { read: boolean; write: boolean; execute: boolean };
  /** stage-2 permissions of the GPAs, null where stage 2 does not map them */
  s2: { read: boolean; write: boolean } | null;
  /** the stage-1 leaf size, bytes (`pageSize` is the smaller of both stages' leaves) */
  s1PageSize: number;
}

/** The stage-2 parent of a nested domain, as the map's second strip shows it (GPA → HPA). */
export interface Stage2Space {
  domainId: number;
  addressWidth: number;
  ranges: MappedRange[];
  truncated: boolean;
}

export interface ResvRange {
  /** direct, direct-relaxable, msi, reserved, sw-msi (include/linux/iommu.h enum iommu_resv_type) */
  type: string;
  start: string;
  end: string;
  source: string;
}

export interface FaultMark {
  start: string;
  end: string;
  count: number;
}

export interface AddressSpaceView {
  time: number;
  bdf: string;
  /** segment << 16 | requester ID: the key of the fault aggregates */
  requester: number;
  pasid: number | null;
  /** blocked, identity, dma, dma-fq, unmanaged, nested, sva, or none (a PASID with nothing attached) */
  domainType: string;
  domainId: number | null;
  /** address width the domain can translate, bits */
  addressWidth: number;
  ranges: MappedRange[];
  /** true when the ranges stop early (more than 10 000 after coalescing) */
  truncated: boolean;
  /** nested domains: the stage-2 parent's own ranges (GPA → HPA); null otherwise */
  stage2: Stage2Space | null;
  /** why the map is empty or partial (blocked, SVA, nothing attached), or null */
  note: string | null;
  /** PASIDs of the device's group with a domain attached (to pick one) */
  pasids: number[];
  resv: ResvRange[];
  /** TEE-IO: the first shared address (private below), or null when not TEE-IO */
  sharedBoundary: string | null;
  /** TEE-IO: the platform's rule in words ("below 0x… is private", "bit N set is shared") */
  sharedRule: string | null;
  /** faults of this device/PASID so far, bucketed by address range */
  faultMarks: FaultMark[];
  /** bucket size of faultMarks, bytes */
  faultBucketBytes: number;
  /** 'faults' (every fault, with its PASID) or 'ranges' (the per-device 2 MiB aggregates) */
  faultSource: 'faults' | 'ranges';
}

export interface WalkLevel {
  /** the structure, as the VT-d spec names it: root entry, context entry, PASID-table entry, SL-PML4E… */
  level: string;
  /** the entry's physical address, hex */
  entryAddress: string;
  /** the entry's value, hex (128-bit and wider entries as 64-bit words, most significant first, "hi:lo") */
  value: string;
  /** decoded fields, in the spec's names (addresses as hex strings) */
  fields: Record<string, string | number | boolean>;
}

export interface WalkView {
  bdf: string;
  pasid: number | null;
  address: string;
  access: 'read' | 'write';
  /** the IOMMU unit that translates the requester, or null when none does */
  unit: string | null;
  levels: WalkLevel[];
  /** translated, fault, interrupt (the MSI window), or untranslated (no unit remaps the requester) */
  status: 'translated' | 'fault' | 'interrupt' | 'untranslated';
  /** where the walk stopped: root, context, pasid-dir, pasid-entry, first-level, second-level… */
  stage: string | null;
  /** translated address, or null when the walk faults */
  result: string | null;
  /** leaf page size, bytes, when translated */
  pageSize: number | null;
  /** fault reason when it faults */
  reason: number | null;
  reasonText: string | null;
}

/** What the details pane shows of a domain: its type, id and state in words. */
export interface DomainState {
  type: string;
  id: number | null;
  state: Record<string, string | number | boolean>;
}
