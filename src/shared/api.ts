// The one contract between the renderer and the host (Electron main, or `iommu-lab serve`).
//
// Calls are request/response: the renderer sends {method, params}, the host validates params with the
// schema below (every transport runs `parseCall` before dispatching) and answers with the result or an
// ApiError. Events flow host → renderer only. Two transports implement this contract: Electron IPC
// through the preload (src/preload, src/main/ipc.ts) and a WebSocket carrying msgpackr frames
// (src/host/web-host.ts, src/renderer/src/transport). The renderer sees only `ApiClient`.
import { z } from 'zod';
import { addressSpaceParams, walkParams, type AddressSpaceView, type WalkView } from './views/address-space';
import {
  faultClustersParams,
  faultDetailsParams,
  queryFaultsParams,
  type ClusterRow,
  type FaultDetails,
  type FaultPageColumns,
  type FaultRowExtra,
} from './views/faults';
import { cancelTaskParams, recentFilesParams, type RecentFile } from './views/files';
import { platformTreeParams, type PlatformTreeView } from './views/platform-tree';
import {
  exportReportParams,
  reportDiffParams,
  whatIfParams,
  type ReportDiffView,
  type WhatIfView,
} from './views/reports';
import { timelineParams, type TimelineView } from './views/timeline';

export type * from './views/address-space';
export type * from './views/faults';
export type * from './views/files';
export type * from './views/platform-tree';
export type * from './views/reports';
export type * from './views/timeline';

export const API_VERSION = 1;

// ---------- data shapes (results and events) ----------

/**
 * What an opened file was taken for (detected from its content): a platform, a lab trace, ACPI
 * firmware tables or lspci output (firmware), or a capture imported into a trace (kernel-log, ftrace,
 * qemu-trace, analyzer-csv).
 */
export type FileKind =
  'platform' | 'trace' | 'firmware' | 'kernel-log' | 'ftrace' | 'qemu-trace' | 'analyzer-csv' | 'unknown';

/** A firmware finding of an opened firmware file (src/firmware findings, as Linux would complain). */
export interface FileFinding {
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  /** the input file it is about, when known */
  file?: string;
  /** ACPI signature of the table the offset refers to (DMAR, IVRS…) */
  table?: string;
  /** byte offset into that table */
  offset?: number;
  /** 1-based line in a text input (acpidump, iasl .dsl, lspci, kernel log) */
  line?: number;
}

export interface OpenedFile {
  name: string;
  kind: FileKind;
  bytes: number;
  /** one line on what opening it did (imported records, the platform built…) */
  note?: string;
  /** firmware: the findings of every firmware file opened so far */
  findings?: FileFinding[];
}

export interface DeviceSummary {
  /** segment:bus:dev.fn, e.g. "0000:00:14.0" */
  bdf: string;
  name: string;
  /** PCI class code as 6 hex digits, e.g. "0c0330" */
  classCode: string;
  group: number;
  domainType: string;
  /** bound kernel driver, or null */
  driver: string | null;
  tlps: number;
  faults: number;
}

export interface PlatformSummary {
  name: string;
  source: string;
  devices: DeviceSummary[];
}

export type ReplayStatus = 'empty' | 'ready' | 'playing' | 'paused' | 'done';

export interface ReplayStats {
  status: ReplayStatus;
  /** trace time of the last event applied, in ns */
  time: number;
  /** trace time of the last event in the trace, in ns */
  endTime: number;
  eventsApplied: number;
  eventsTotal: number;
  tlps: number;
  faults: number;
  speed: number;
  /** the fault-semantics profile of the replay */
  profile: string;
  /** native traces (worker player): use-after-unmap hazards so far */
  hazards?: number;
  /** native traces (worker player): compact per-device, PASID, page-range and reason counts */
  aggregates?: ReplayAggregates;
  /** live counters: TLPs and faults per second of wall time over the last second (0 unless playing) */
  tlpsPerSecond?: number;
  faultsPerSecond?: number;
  /** native traces: how full the ring from the decoder to the engine was (0..1) */
  ringFill?: number;
  /** events applied of the trace's (0..1; 1 once done) */
  progress?: number;
}

/**
 * Fault counts by one key, as parallel arrays (one entry per key seen, in the order first seen), with
 * the trace times (ns) of the first and last fault of each key.
 */
export interface FaultTable {
  count: Float64Array;
  first: Float64Array;
  last: Float64Array;
}

/** What a native-trace replay has counted so far; sent with 'stats' snapshots (at most 30 a second). */
export interface ReplayAggregates {
  /** TLPs per requester ID (segment << 16 | bus << 8 | devfn), for every requester seen */
  tlpsByDevice: { device: Uint32Array; tlps: Float64Array };
  /** TLPs per PASID, for TLPs with a PASID prefix */
  tlpsByPasid: { pasid: Uint32Array; tlps: Float64Array };
  faultsByDevice: FaultTable & { device: Uint32Array };
  /** faults of requests with a PASID */
  faultsByPasid: FaultTable & { pasid: Uint32Array };
  /** VT-d fault reason (lab TEE-IO reasons are above 0xff) */
  faultsByReason: FaultTable & { reason: Uint32Array };
  /** per requester and page range: `base` is the range's first address, `rangeBytes` its size */
  faultsByRange: FaultTable & {
    device: Uint32Array;
    base: Float64Array;
    rangeBytes: number;
    overflow: number;
  };
  /** what the fault recording registers did with the faults: recorded, compressed, overflow, fpd… */
  recording: Record<string, number>;
}

export interface FaultRow extends FaultRowExtra {
  index: number;
  time: number;
  bdf: string;
  pasid: number | null;
  access: 'read' | 'write';
  address: string;
  reason: number;
  reasonText: string;
  /** where the hardware walk stopped: root, context, pasid-entry, second-level, tee-io… */
  stage: string;
  /** recorded in a fault register, compressed (same source pending), overflow, fpd (suppressed), not-recorded */
  recording: string;
  /** firmware/platform classes: rmrr-without-unity-map, dma-while-blocked, beyond-address-width… */
  classes: string[];
  /** the line Linux would print for this fault */
  dmesg: string;
  /** the fault-semantics profile that produced it: vtd-spec or qemu-7.2 */
  profile: string;
}

export interface HazardRow {
  kind: 'stale-iotlb';
  time: number;
  bdf: string;
  address: string;
  access: 'read' | 'write';
  /** the unmap whose IOTLB invalidation was still pending */
  unmapOrigin: string;
  unmapTime: number;
  /** how long ago, in ns */
  age: number;
}

/** What the cross-check view shows (the host returns src/crosscheck's full CrosscheckResult). */
export interface CrosscheckView {
  profile: string;
  complete: boolean;
  translations: number;
  agree: number;
  disagree: number;
  unchecked: number;
  agreement: number;
  faults: { observed: number; reproduced: number; byReason: Record<string, number> };
  recorded: { observed: number; model: number; compressed: number };
  disagreements: { request: unknown; qemu: unknown; lab: unknown }[];
}

/** A long task's progress (at most ~10 events a second per task); the last one carries `finished`. */
export interface Progress {
  /** the task id, for cancelTask */
  task: string;
  done: number;
  total: number;
  /** what the task does, e.g. "importing dmesg.log" */
  label?: string;
  finished?: 'done' | 'cancelled' | 'failed';
}

export interface HostInfo {
  apiVersion: number;
  labVersion: string;
  transport: 'electron' | 'web';
  files: OpenedFile[];
}

export interface ExportedFile {
  name: string;
  mime: string;
  bytes: Uint8Array;
}

// ---------- calls ----------

const empty = z.object({}).strict();

/** A file the host reads (a path on the host's machine) or one the renderer sends (its bytes). */
const fileParam = z.union([
  z.object({ path: z.string().min(1).max(4096) }).strict(),
  z
    .object({
      name: z.string().min(1).max(255),
      bytes: z.instanceof(Uint8Array).refine((b) => b.byteLength <= 1 << 30, 'file larger than 1 GiB'),
    })
    .strict(),
]);

/** Parameter schemas, one per call. The host validates every call against these. */
export const callParams = {
  hello: empty,
  openFile: z.union([
    z.object({ path: z.string().min(1).max(4096) }).strict(),
    z
      .object({
        name: z.string().min(1).max(255),
        bytes: z.instanceof(Uint8Array).refine((b) => b.byteLength <= 1 << 30, 'file larger than 1 GiB'),
      })
      .strict(),
  ]),
  platformSummary: empty,
  replayControl: z.discriminatedUnion('action', [
    z.object({ action: z.literal('play') }).strict(),
    z.object({ action: z.literal('pause') }).strict(),
    z
      .object({ action: z.literal('step'), count: z.number().int().min(1).max(1_000_000).optional() })
      .strict(),
    z.object({ action: z.literal('seek'), time: z.number().finite().min(0) }).strict(),
    z.object({ action: z.literal('speed'), speed: z.number().finite().min(0) }).strict(),
    z.object({ action: z.literal('reset') }).strict(),
  ]),
  replayStats: empty,
  queryFaults: queryFaultsParams,
  faultClusters: faultClustersParams,
  faultDetails: faultDetailsParams,
  platformTree: platformTreeParams,
  addressSpace: addressSpaceParams,
  walk: walkParams,
  timeline: timelineParams,
  recentFiles: recentFilesParams,
  cancelTask: cancelTaskParams,
  whatIf: whatIfParams,
  exportReport: exportReportParams,
  reportDiff: reportDiffParams,
  crosscheck: z
    .object({
      guest: fileParam,
      qemu: fileParam,
      profile: z.enum(['vtd-spec', 'qemu-7.2']).optional(),
    })
    .strict(),
} as const;

export interface CallResults {
  hello: HostInfo;
  openFile: OpenedFile;
  platformSummary: PlatformSummary | null;
  replayControl: ReplayStats;
  replayStats: ReplayStats;
  /** `total` rows match the filter, of `all`; `colorRule` per row: first matching rule, or -1 */
  /** with shape 'columns', `rows` is empty and `columns` holds the page (FaultPageColumns) */
  queryFaults: {
    total: number;
    all?: number;
    rows: (FaultRow & { colorRule?: number })[];
    columns?: FaultPageColumns;
  };
  faultClusters: ClusterRow[];
  faultDetails: FaultDetails;
  platformTree: PlatformTreeView;
  addressSpace: AddressSpaceView;
  walk: WalkView;
  timeline: TimelineView;
  recentFiles: RecentFile[];
  cancelTask: { cancelled: boolean };
  whatIf: WhatIfView;
  exportReport: ExportedFile;
  reportDiff: ReportDiffView;
  crosscheck: CrosscheckView;
}

export type Method = keyof typeof callParams;
export type CallParams<M extends Method> = z.input<(typeof callParams)[M]>;
export type CallResult<M extends Method> = CallResults[M];

export const METHODS = Object.keys(callParams) as Method[];

// ---------- events ----------

export interface EventPayloads {
  progress: Progress;
  stats: ReplayStats;
  filesChanged: OpenedFile[];
}
export type EventName = keyof EventPayloads;
export const EVENTS: readonly EventName[] = ['progress', 'stats', 'filesChanged'];

// ---------- errors ----------

/** Error codes carried across the transports. */
export type ApiErrorCode = 'EINVAL' | 'ENOENT' | 'ENOSYS' | 'EIO' | 'EBUSY' | 'ECANCELED';

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Validates an untrusted call; throws ApiError(ENOSYS | EINVAL) naming the method and the bad field. */
export function parseCall(method: unknown, params: unknown): { method: Method; params: unknown } {
  if (typeof method !== 'string' || !Object.hasOwn(callParams, method)) {
    throw new ApiError('ENOSYS', `unknown method ${JSON.stringify(method)}`);
  }
  const m = method as Method;
  const parsed = callParams[m].safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new ApiError('EINVAL', `${m}: invalid params${where}: ${issue?.message ?? 'rejected'}`);
  }
  return { method: m, params: parsed.data };
}

// ---------- the two sides ----------

/** What the renderer holds. Both transports implement it; the renderer never knows which one it has. */
export interface ApiClient {
  call<M extends Method>(method: M, params: CallParams<M>): Promise<CallResult<M>>;
  on<E extends EventName>(event: E, handler: (payload: EventPayloads[E]) => void): () => void;
}

/** What the host implements; transports dispatch validated calls to it and forward its events. */
export type ApiHandlers = {
  [M in Method]: (params: z.output<(typeof callParams)[M]>) => Promise<CallResult<M>> | CallResult<M>;
};

export type EventSink = <E extends EventName>(event: E, payload: EventPayloads[E]) => void;

/** Wire frames of the WebSocket transport (msgpackr-encoded). */
export type WireFrame =
  | { t: 'call'; id: number; method: string; params: unknown }
  | { t: 'result'; id: number; result: unknown }
  | { t: 'error'; id: number; code: ApiErrorCode; message: string }
  | { t: 'event'; event: EventName; payload: unknown };
