// The address-space map view: what a device (or one of its PASIDs) can reach at a trace time, and the
// page walk of one address. Built by src/engine/inspect/address-space.ts and walk.ts.
import { z } from 'zod';

const bdf = z.string().min(1).max(32);
const pasid = z.number().int().min(0).max(0xfffff).nullable();

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
    address: z.string().min(1).max(24),
    access: z.enum(['read', 'write']).optional(),
    time: z.number().finite().optional(),
  })
  .strict();

export interface MappedRange {
  /** first address, hex */
  start: string;
  /** last address (inclusive), hex */
  end: string;
  read: boolean;
  write: boolean;
  execute: boolean;
  /** the page size of the leaf entries, bytes */
  pageSize: number;
  /** the control event that created the mapping ("file:line" or an event label), when known */
  origin: string | null;
}

export interface AddressSpaceView {
  time: number;
  bdf: string;
  pasid: number | null;
  domainType: string;
  domainId: number | null;
  /** address width the domain can translate, bits */
  addressWidth: number;
  ranges: MappedRange[];
  resv: { type: string; start: string; end: string; source: string }[];
  /** TEE-IO: the first shared address (private below), or null when not TEE-IO */
  sharedBoundary: string | null;
  /** faults of this device/PASID so far, bucketed by page range */
  faultMarks: { start: string; end: string; count: number }[];
}

export interface WalkLevel {
  /** the structure: root, context, pasid-dir, pasid-table, PML5, PML4, PDPT, PD, PT… */
  level: string;
  /** the entry's physical address, hex */
  entryAddress: string;
  /** the entry's value, hex (128-bit entries as two 64-bit halves "hi:lo") */
  value: string;
  /** decoded fields, in the spec's names */
  fields: Record<string, string | number | boolean>;
}

export interface WalkView {
  bdf: string;
  pasid: number | null;
  address: string;
  access: 'read' | 'write';
  levels: WalkLevel[];
  /** translated address, or null when the walk faults */
  result: string | null;
  /** fault reason when it faults */
  reason: number | null;
  reasonText: string | null;
}
