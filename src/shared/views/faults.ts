// Fault-table queries: filtering (the filter language shared with the CLI, src/query), sorting,
// coloring rules and clusters, and the details of one fault. Rows are made on the host, a page at a time.
import { z } from 'zod';
import { hexAddressWords } from '../hex-address';

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
    /**
     * 'columns': the page as typed arrays per field (FaultPageColumns) instead of row objects, for the
     * fault table (fewer objects to decode and collect while scrolling); 'rows' when absent
     */
    shape: z.enum(['rows', 'columns']).optional(),
  })
  .strict();

/** FaultPageColumns.kind */
export const PAGE_KIND_FAULT = 0;
export const PAGE_KIND_HAZARD = 1;
/** a row a seek skipped, not replayed (yet): only index fields are meaningful (see FaultColumns) */
export const PAGE_KIND_GAP = 2;

/**
 * A page of queryFaults with shape 'columns' (the result's `columns`; its `rows` is then empty): the
 * same rows as the row shape (FaultRow + FaultRowExtra),
 * as one typed array per numeric field (entry k is the page's k-th row) and small string tables the
 * rows refer to by code. Made on the host straight from the columnar store (src/query/fault-columns.ts);
 * the renderer only formats it (hex, BDF text). typed arrays cross both transports as binary (msgpackr
 * `moreTypes` over the web host's WebSocket, structured clone over Electron IPC). faultPageRow (below)
 * turns entry k back into the row shape.
 */
export interface FaultPageColumns {
  /** rows in this page */
  length: number;
  /** position in the table's trace order (FaultRowExtra.row) */
  row: Uint32Array;
  /** index among faults (a hazard's among hazards) */
  index: Uint32Array;
  /** trace time, ns */
  time: Float64Array;
  /** segment << 16 | requester ID */
  rid: Uint32Array;
  /** -1: no PASID */
  pasid: Int32Array;
  /** the address (a fault's page, a hazard's address) as its high and low 32 bits */
  addrHi: Uint32Array;
  addrLo: Uint32Array;
  reason: Uint16Array;
  /** 0 read, 1 write */
  access: Uint8Array;
  /** the T bit: 0, 1, or -1 when not known */
  tbit: Int8Array;
  /** PAGE_KIND_FAULT, PAGE_KIND_HAZARD or PAGE_KIND_GAP */
  kind: Uint8Array;
  /** the first coloring rule the row matches, -1 for none (all -1 without rules) */
  colorRule: Int8Array;
  /** codes into reasonTexts, stages, recordings */
  reasonText: Uint16Array;
  stage: Uint8Array;
  recording: Uint8Array;
  /** bit j set: the row has class classNames[j] */
  classes: Uint16Array;
  /** a hazard's unmap: its trace time (0 for other rows) and origin (code into origins; -1 for others) */
  unmapTime: Float64Array;
  unmapOrigin: Int32Array;
  /**
   * the dmesg lines of the rows ('' for gap rows), joined into one string: row k's line is
   * dmesgText.slice(dmesgEnd[k - 1] ?? 0, dmesgEnd[k]) (pageDmesg). One string a page rather than one
   * a row, so a page the table keeps is a few objects for the garbage collector to trace, not hundreds.
   */
  dmesgText: string;
  dmesgEnd: Uint32Array;
  reasonTexts: string[];
  stages: string[];
  recordings: string[];
  classNames: string[];
  origins: string[];
  profile: string;
}

/** "0x…" of a page's address k, as the row shape writes it. */
export function pageAddress(c: FaultPageColumns, k: number): string {
  return hexAddressWords(c.addrHi[k]!, c.addrLo[k]!);
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** "0000:00:14.0" of a page's requester k (src/engine/bdf.ts formatBdf). */
export function pageBdf(c: FaultPageColumns, k: number): string {
  const v = c.rid[k]!;
  const rid = v & 0xffff;
  return `${hex(v >>> 16, 4)}:${hex(rid >> 8, 2)}:${hex((rid >> 3) & 0x1f, 2)}.${rid & 7}`;
}

/** The dmesg line of a page's row k. */
export function pageDmesg(c: FaultPageColumns, k: number): string {
  return c.dmesgText.slice(k > 0 ? c.dmesgEnd[k - 1]! : 0, c.dmesgEnd[k]!);
}

/** Entry k of a columns page in the row shape (what the row shape of the same query gives). */
export function faultPageRow(
  c: FaultPageColumns,
  k: number,
): import('../api').FaultRow & { colorRule?: number } {
  const kind = c.kind[k]!;
  const classes: string[] = [];
  for (let v = c.classes[k]!, j = 0; v; v >>>= 1, j++) if (v & 1) classes.push(c.classNames[j]!);
  const tbit = c.tbit[k]!;
  const row: import('../api').FaultRow & { colorRule?: number } = {
    index: c.index[k]!,
    row: c.row[k]!,
    time: c.time[k]!,
    bdf: pageBdf(c, k),
    pasid: c.pasid[k]! < 0 ? null : c.pasid[k]!,
    access: c.access[k] ? 'write' : 'read',
    address: pageAddress(c, k),
    profile: c.profile,
    tbit: tbit < 0 ? null : tbit,
    kind: kind === PAGE_KIND_HAZARD ? 'hazard' : 'fault',
    reason: c.reason[k]!,
    reasonText: c.reasonTexts[c.reasonText[k]!]!,
    stage: c.stages[c.stage[k]!]!,
    recording: c.recordings[c.recording[k]!]!,
    classes,
    dmesg: pageDmesg(c, k),
  };
  if (kind === PAGE_KIND_HAZARD) {
    const unmapTime = c.unmapTime[k]!;
    row.hazard = {
      unmapOrigin: c.origins[c.unmapOrigin[k]!] ?? '?',
      unmapTime,
      age: row.time - unmapTime,
    };
  }
  return row;
}

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
