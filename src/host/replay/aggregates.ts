// What a native-trace replay counts, in compact typed arrays: TLPs per requester and per PASID, and
// faults per requester, PASID, page range and reason with the first and last fault time of each.
// TLP counts come from the hot path (Replay.tlpsByRid, and the PASID column the engine keeps); faults
// are folded in from the Replay's fault list after each batch (the slow path: a fault allocates
// anyway), which the engine then empties, so memory stays bounded by the number of distinct keys, not
// by the number of faults. Page ranges are RANGE_BYTES (2 MiB) windows of the faulting page; past
// MAX_RANGES distinct ranges the rest are counted in `overflow`. A snapshot copies the used part of
// each array (ReplayAggregates, src/shared/api.ts); a checkpoint copies the whole state for seeks.
import type { Fault, Hazard } from '../../engine/replay';
import type { FaultTable, ReplayAggregates } from '../../shared/api';

export const RANGE_BYTES = 2 * 1024 * 1024;
export const MAX_RANGES = 65536;
const PASIDS = 1 << 20;

/**
 * Fault counts by key: key → slot, and per-slot count, first and last time. A key is one number, or
 * two (a, b) for two-column tables (looked up through a map per first number: no string per fault).
 */
class KeyedFaults {
  private slots = new Map<number, number>();
  private slots2 = new Map<number, Map<number, number>>();
  count: Float64Array<ArrayBuffer> = new Float64Array(64);
  first: Float64Array<ArrayBuffer> = new Float64Array(64);
  last: Float64Array<ArrayBuffer> = new Float64Array(64);
  /** per-slot key columns (numbers), as many as the table has */
  cols: Float64Array<ArrayBuffer>[];
  size = 0;

  constructor(columns: number) {
    this.cols = Array.from({ length: columns }, () => new Float64Array(64));
  }

  /** Adds a fault for the one-number key `key` (its column value). False when full. */
  add(key: number, time: number, max = Infinity): boolean {
    let s = this.slots.get(key);
    if (s === undefined) {
      if (this.size >= max) return false;
      s = this.newSlot(time);
      this.slots.set(key, s);
      this.cols[0]![s] = key;
    }
    this.count[s]!++;
    this.last[s] = time;
    return true;
  }

  /** Adds a fault for the two-number key (a, b) (its two column values). False when full. */
  add2(a: number, b: number, time: number, max = Infinity): boolean {
    let byB = this.slots2.get(a);
    let s = byB?.get(b);
    if (s === undefined) {
      if (this.size >= max) return false;
      s = this.newSlot(time);
      if (!byB) this.slots2.set(a, (byB = new Map()));
      byB.set(b, s);
      this.cols[0]![s] = a;
      this.cols[1]![s] = b;
    }
    this.count[s]!++;
    this.last[s] = time;
    return true;
  }

  private newSlot(time: number): number {
    const s = this.size++;
    if (s === this.count.length) this.grow();
    this.first[s] = time;
    return s;
  }

  private grow(): void {
    const g = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.count = g(this.count);
    this.first = g(this.first);
    this.last = g(this.last);
    this.cols = this.cols.map(g);
  }

  table(): FaultTable {
    return {
      count: this.count.slice(0, this.size),
      first: this.first.slice(0, this.size),
      last: this.last.slice(0, this.size),
    };
  }

  col(c: number): Float64Array {
    return this.cols[c]!.slice(0, this.size);
  }

  clone(): KeyedFaults {
    const k = new KeyedFaults(this.cols.length);
    k.slots = new Map(this.slots);
    for (const [a, byB] of this.slots2) k.slots2.set(a, new Map(byB));
    k.count = this.count.slice();
    k.first = this.first.slice();
    k.last = this.last.slice();
    k.cols = this.cols.map((c) => c.slice());
    k.size = this.size;
    return k;
  }
}

/** The counts a run summary needs beyond the Replay's own (docs/replay-json.md). */
export interface RunSummaryCounts {
  summaryVersion: number;
  profile: string;
  platform: string;
  events: number;
  tlps: number;
  faults: number;
  recording: Record<string, number>;
  hazards: number;
  badLines: number;
  rejectedControl: number;
  devices: import('../../shared/api').DeviceSummary[];
}

export class Aggregates {
  /** TLPs per PASID (hot path: the engine increments it), and the PASIDs seen in first-seen order */
  pasidTlps = new Float64Array(0);
  pasidSeen: number[] = [];
  private byDevice = new KeyedFaults(1);
  private byPasid = new KeyedFaults(1);
  private byReason = new KeyedFaults(1);
  private byRange = new KeyedFaults(2);
  private rangeOverflow = 0;
  recording = new Map<string, number>();
  faults = 0;
  hazards = 0;

  /** Counts one TLP with a PASID (called from the hot path: one branch and one increment). */
  pasidTlp(pasid: number): void {
    if (this.pasidTlps.length === 0) this.pasidTlps = new Float64Array(PASIDS);
    if (this.pasidTlps[pasid]!++ === 0) this.pasidSeen.push(pasid);
  }

  addFault(f: Fault, segment = 0): void {
    this.faults++;
    const dev = ((segment << 16) | f.requesterId) >>> 0;
    this.byDevice.add(dev, f.time);
    if (f.pasid !== null) this.byPasid.add(f.pasid, f.time);
    this.byReason.add(f.reason, f.time);
    const base = Math.floor(f.pageAddr / RANGE_BYTES) * RANGE_BYTES;
    if (!this.byRange.add2(dev, base, f.time, MAX_RANGES)) this.rangeOverflow++;
    this.recording.set(f.recording, (this.recording.get(f.recording) ?? 0) + 1);
  }

  addHazard(_h: Hazard): void {
    this.hazards++;
  }

  /** The compact form sent to the UI. `tlpsByRid` is the Replay's per-requester TLP count. */
  snapshot(tlpsByRid: Uint32Array): ReplayAggregates {
    let n = 0;
    for (let r = 0; r < tlpsByRid.length; r++) if (tlpsByRid[r]) n++;
    const device = new Uint32Array(n);
    const tlps = new Float64Array(n);
    for (let r = 0, i = 0; r < tlpsByRid.length; r++) {
      if (!tlpsByRid[r]) continue;
      device[i] = r;
      tlps[i++] = tlpsByRid[r]!;
    }
    const pasid = Uint32Array.from(this.pasidSeen);
    return {
      tlpsByDevice: { device, tlps },
      tlpsByPasid: { pasid, tlps: Float64Array.from(this.pasidSeen, (p) => this.pasidTlps[p]!) },
      faultsByDevice: { ...this.byDevice.table(), device: Uint32Array.from(this.byDevice.col(0)) },
      faultsByPasid: { ...this.byPasid.table(), pasid: Uint32Array.from(this.byPasid.col(0)) },
      faultsByReason: { ...this.byReason.table(), reason: Uint32Array.from(this.byReason.col(0)) },
      faultsByRange: {
        ...this.byRange.table(),
        device: Uint32Array.from(this.byRange.col(0)),
        base: this.byRange.col(1),
        rangeBytes: RANGE_BYTES,
        overflow: this.rangeOverflow,
      },
      recording: Object.fromEntries(this.recording),
    };
  }

  /** A copy for a checkpoint: the PASID column kept sparse (only the PASIDs seen). */
  freeze(): Aggregates {
    const a = this.copyTables();
    a.pasidFrozen = Float64Array.from(this.pasidSeen, (p) => this.pasidTlps[p]!);
    return a;
  }

  /** A live copy of a checkpoint's state. */
  thaw(): Aggregates {
    const a = this.copyTables();
    if (this.pasidFrozen && this.pasidSeen.length) {
      a.pasidTlps = new Float64Array(PASIDS);
      this.pasidSeen.forEach((p, i) => (a.pasidTlps[p] = this.pasidFrozen![i]!));
    }
    return a;
  }

  private pasidFrozen: Float64Array | null = null;

  private copyTables(): Aggregates {
    const a = new Aggregates();
    a.pasidSeen = [...this.pasidSeen];
    a.byDevice = this.byDevice.clone();
    a.byPasid = this.byPasid.clone();
    a.byReason = this.byReason.clone();
    a.byRange = this.byRange.clone();
    a.rangeOverflow = this.rangeOverflow;
    a.recording = new Map(this.recording);
    a.faults = this.faults;
    a.hazards = this.hazards;
    return a;
  }
}
