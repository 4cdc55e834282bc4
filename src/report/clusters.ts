// Fault clusters: faults grouped by requester, PASID, fault reason, page range and time window, so a
// report lists one line per problem rather than one per DMA. The rules (docs/report.md):
//   - a cluster's key is (requester ID, PASID or none, fault reason);
//   - pages fall in 64 KiB-aligned windows (CLUSTER_WINDOW_BYTES); a fault joins a cluster of its key
//     when its window is inside the cluster's or adjacent to it (so contiguous ranges merge) and it
//     comes at most CLUSTER_GAP_NS (100 ms) after the cluster's last fault; otherwise it opens a new
//     cluster. Of several candidates, the one opened last wins.
// Incremental (add() per fault, in replay order) so a caller can snapshot the lab when a cluster opens.
// Each cluster keeps its counts (faults, writes, classes, fault-recording outcomes) as faults arrive, so
// the report needs no fault but the first: `keepFaults` bounds the Fault objects a cluster retains
// (default: all; the native-trace report keeps only the first, so its memory grows with clusters and
// distinct pages, not with faults). Pure.
import type { Fault } from '../engine/replay';

export const CLUSTER_WINDOW_BYTES = 0x10000;
export const CLUSTER_GAP_NS = 100_000_000;

export interface FaultCluster {
  requesterId: number;
  pasid: number | null;
  reason: number;
  /** first and last 64 KiB window index */
  firstWindow: number;
  lastWindow: number;
  lowestPage: number;
  highestPage: number;
  pages: Set<number>;
  firstTime: number;
  lastTime: number;
  /** the fault that opened the cluster */
  first: Fault;
  /** every fault of the cluster, and how many of them wrote */
  count: number;
  writes: number;
  /** union of the faults' classes, in order of first appearance */
  classes: Set<string>;
  /** faults by fault-recording outcome */
  recording: Map<string, number>;
  /** the first `keepFaults` faults (all by default) */
  faults: Fault[];
}

const keyOf = (f: Fault): string => `${f.requesterId}/${f.pasid ?? '-'}/${f.reason}`;

function count(c: FaultCluster, f: Fault, keep: number): void {
  c.count++;
  if (f.write) c.writes++;
  for (const k of f.classes) c.classes.add(k);
  c.recording.set(f.recording, (c.recording.get(f.recording) ?? 0) + 1);
  if (c.faults.length < keep) c.faults.push(f);
}

export class Clusterer {
  readonly clusters: FaultCluster[] = [];
  private readonly byKey = new Map<string, FaultCluster[]>();

  /** `keepFaults`: Fault objects each cluster retains (at least the first is always kept) */
  constructor(private readonly keepFaults = Infinity) {}

  /** Adds a fault; returns its cluster and whether the fault opened it. */
  add(f: Fault): { cluster: FaultCluster; opened: boolean } {
    const key = keyOf(f);
    const window = Math.floor(f.pageAddr / CLUSTER_WINDOW_BYTES);
    const list = this.byKey.get(key) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i]!;
      if (f.time - c.lastTime > CLUSTER_GAP_NS) continue;
      if (window < c.firstWindow - 1 || window > c.lastWindow + 1) continue;
      c.firstWindow = Math.min(c.firstWindow, window);
      c.lastWindow = Math.max(c.lastWindow, window);
      c.lowestPage = Math.min(c.lowestPage, f.pageAddr);
      c.highestPage = Math.max(c.highestPage, f.pageAddr);
      c.pages.add(f.pageAddr);
      c.lastTime = Math.max(c.lastTime, f.time);
      count(c, f, this.keepFaults);
      return { cluster: c, opened: false };
    }
    const c: FaultCluster = {
      requesterId: f.requesterId,
      pasid: f.pasid,
      reason: f.reason,
      firstWindow: window,
      lastWindow: window,
      lowestPage: f.pageAddr,
      highestPage: f.pageAddr,
      pages: new Set([f.pageAddr]),
      firstTime: f.time,
      lastTime: f.time,
      first: f,
      count: 0,
      writes: 0,
      classes: new Set(),
      recording: new Map(),
      faults: [],
    };
    count(c, f, Math.max(1, this.keepFaults));
    list.push(c);
    this.byKey.set(key, list);
    this.clusters.push(c);
    return { cluster: c, opened: true };
  }
}

/** Clusters a whole fault list (in replay order). */
export function clusterFaults(faults: readonly Fault[]): FaultCluster[] {
  const c = new Clusterer();
  for (const f of faults) c.add(f);
  return c.clusters;
}
