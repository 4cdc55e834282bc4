// Fault-table queries: filtering (the filter language shared with the CLI, src/query), sorting,
// coloring rules and clusters, and the details of one fault. Rows are made on the host, a page at a time.
import { z } from 'zod';

export const SORT_KEYS = ['index', 'time', 'bdf', 'pasid', 'address', 'reason', 'access'] as const;

export const queryFaultsParams = z
  .object({
    offset: z.number().int().min(0),
    limit: z.number().int().min(0).max(10_000),
    /** a filter expression (docs/filter.md); all rows when absent or blank */
    filter: z.string().max(4096).optional(),
    sort: z
      .object({ key: z.enum(SORT_KEYS), descending: z.boolean().optional() })
      .strict()
      .optional(),
    /** coloring rules: each row gets the index of the first rule it matches */
    colorRules: z.array(z.string().max(4096)).max(32).optional(),
  })
  .strict();

/**
 * What a fault-table row adds to FaultRow (src/shared/api.ts): the table lists faults and use-after-unmap
 * hazards in trace order. For a hazard, `index` counts hazards (for a fault, faults), reason is 0 and
 * `hazard` says which unmap left the stale IOTLB entry.
 */
export interface FaultRowExtra {
  /** 'fault' when absent */
  kind?: 'fault' | 'hazard';
  /** position in the table's trace order (faults and hazards together), 0-based */
  row?: number;
  /** the request's TEE-IO T bit, when the lab knows it */
  tbit?: number | null;
  hazard?: { unmapOrigin: string; unmapTime: number; age: number };
}

export const faultClustersParams = z.object({ filter: z.string().max(4096).optional() }).strict();

export const faultDetailsParams = z
  .object({
    /** the fault's index among faults (a hazard's among hazards) */
    index: z.number().int().min(0),
    /** 'fault' when absent */
    kind: z.enum(['fault', 'hazard']).optional(),
  })
  .strict();

/** One cluster of faults (src/report/clusters.ts): same device, reason, page range and time window. */
export interface ClusterRow {
  id: string;
  bdf: string;
  pasid: number | null;
  reason: number;
  reasonText: string;
  /** the page range, hex */
  start: string;
  end: string;
  count: number;
  firstTime: number;
  lastTime: number;
  /** index of the first fault (for selecting it) */
  firstIndex: number;
  /** the root-cause hint's rule and text */
  hint: { rule: string; text: string };
}

/**
 * The details pane for one fault or hazard: the request, the walk at its time (the state after every
 * event at or before it), the domain then, the dmesg line and the root-cause hint (src/report/hints.ts,
 * judged on that state for this one fault; a hazard's is the stale-IOTLB hint naming its unmap).
 */
export interface FaultDetails {
  /** a fault, or a use-after-unmap hazard (a request a stale IOTLB entry translated) */
  kind: 'fault' | 'hazard';
  /** among faults, or among hazards */
  index: number;
  time: number;
  request: { bdf: string; pasid: number | null; access: string; address: string; tbit: number | null };
  reason: number;
  reasonText: string;
  /** where the hardware walk stopped when the fault happened */
  stage: string;
  recording: string;
  classes: string[];
  /** the page walk of the request, on the state at the fault's time */
  walk: import('./address-space').WalkView;
  domain: import('./address-space').DomainState;
  dmesg: string;
  /** rule and text, with the hint's title and the team expected to act */
  hint: { rule: string; title: string; team: string; text: string };
  profile: string;
  /** a hazard: the unmap that left the IOTLB entry stale (its event and time) and how long before it was */
  hazard?: { unmapOrigin: string; unmapTime: number; age: number };
}
