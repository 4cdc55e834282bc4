// The engine side of the worker player, without the thread: a Replay (src/engine/replay.ts) fed TLP
// records (Replay.applyTlpWords, straight from a Uint32Array) and queue items (control events through
// Replay.apply, observed faults, chunk starts, problems), plus what the player keeps beside it:
// aggregates (aggregates.ts), observed/model agreement (agreement.ts), every fault and hazard handed to
// the fault table's row sink (fault-store.ts), and checkpoints for seeks. The engine worker drives it from the ring; the CLI's in-thread path
// (--compare-profiles) and the tests drive it from decoded chunks. Depends on nothing Node-specific.
//
// Faults and hazards are folded out of the Replay after each batch (fold()), so its lists stay short.
//
// Checkpoints, for seeks. At the start of a chunk, once `checkpointEvery` TLPs have passed since the
// last one, the core saves its counts (small: aggregates, per-requester counts, TDISP states) and the number of control events applied so far; control events are logged as they are first
// applied. A seek to time t rebuilds the model from the last checkpoint A at least WARMUP_NS (the DMA-FQ
// flush timeout, 10 ms) before the checkpoint R it restarts from: a fresh lab, the logged control
// events up to A re-applied, then the records from A to R replayed uncounted so that the IOTLB and
// the flush queues hold what they held (use-after-unmap hazards depend on them), R's counts restored,
// and the records from R to t replayed and counted. What a seek cannot rebuild: an IOTLB entry filled
// more than WARMUP_NS before R and still cached, which only matters if its page is unmapped later and
// used within the flush window (a hazard in a straight replay, a fault after such a seek).
import { buildLab } from '../../engine/lab';
import { loadPlatform, type Platform } from '../../engine/platform/index';
import { Replay, type ControlStep, type Fault, type Hazard, type RejectedControl } from '../../engine/replay';
import type { TdispState } from '../../engine/iommu/tdisp';
import { IOVA_FQ_TIMEOUT_NS } from '../../engine/vtd/intel-driver';
import type { FaultProfile } from '../../engine/vtd/translate';
import { deviceSummaries, SUMMARY_VERSION } from '../../report/summary';
import type { ReplayStatus } from '../../shared/api';
import type { TraceProblem } from '../../trace/native/index';
import { Aggregates, type RunSummaryCounts } from './aggregates';
import { Agreement, DEFAULT_MATCH_WINDOW_NS, type AgreementReport } from './agreement';
import type { EngineResult, EngineSnapshot, QueueItem } from './protocol';

export const WARMUP_NS = IOVA_FQ_TIMEOUT_NS;
const F_PASID_PRESENT = 1 << 20;

export interface CoreOptions {
  profile?: FaultProfile;
  iotlbMode?: 'hardware' | 'strict';
  checkpointEvery?: number;
  matchWindowNs?: number;
  /** file offset of the first chunk: checkpoint 0 restarts there */
  firstChunkOffset?: number;
}

export interface Checkpoint {
  /** file offset of the chunk to read from */
  offset: number;
  time: number;
  events: number;
  controls: number;
  tlps: number;
  tlpsByRid: [number, number][];
  faultsByRid: [number, number][];
  agg: Aggregates;
  agreement: Agreement;
  rejected: number;
  problems: number;
  skipped: number;
  observed: number;
  tdisp: [string, TdispState, unknown[]][];
}

export class EngineCore {
  replay: Replay;
  agg = new Aggregates();
  agreement: Agreement;
  readonly platform: Platform;
  readonly profile: FaultProfile;
  /** TLPs and control events applied (chunk starts, problems and observed faults are not events) */
  events = 0;
  controls = 0;
  observed = 0;
  skipped = 0;
  problems: TraceProblem[] = [];
  /** takes every fault and hazard counted, with its ordinal (the fault table's rows: fault-store.ts) */
  rowSink: { fault(f: Fault, ordinal: number): void; hazard(h: Hazard, ordinal: number): void } | null = null;
  /** every control event applied, in order, for rebuilding after a seek */
  readonly controlLog: ControlStep[] = [];
  private readonly rejectedLog: RejectedControl[] = [];
  readonly checkpoints: Checkpoint[] = [];
  private lastCheckpointTlps = 0;
  /** while replaying toward a checkpoint after a seek: nothing is counted, then its counts return */
  private warmTo: Checkpoint | null = null;
  private readonly checkpointEvery: number;

  constructor(
    platformJson: Record<string, unknown>,
    private readonly options: CoreOptions = {},
  ) {
    const loaded = loadPlatform(platformJson);
    if (!loaded.ok) {
      const e = loaded.errors[0]!;
      throw new Error(`platform: ${e.path}: ${e.message}`);
    }
    this.platform = loaded.value;
    this.profile = options.profile ?? 'vtd-spec';
    this.checkpointEvery = options.checkpointEvery ?? 1 << 18;
    this.replay = this.newReplay();
    this.agreement = new Agreement(options.matchWindowNs ?? DEFAULT_MATCH_WINDOW_NS);
    this.checkpoints.push(this.capture(options.firstChunkOffset ?? 0, -1));
  }

  private newReplay(): Replay {
    return new Replay(buildLab(this.platform), { profile: this.profile, iotlbMode: this.options.iotlbMode });
  }

  /** The hot path: one TLP record at words[at..at+7]. */
  tlp(words: Uint32Array, at: number): void {
    this.replay.applyTlpWords(words, at);
    const f = words[at + 3]!;
    if (f & F_PASID_PRESENT) this.agg.pasidTlp(f & 0xfffff);
  }

  /** Applies a queue item; true when it counts as an event (a control event). */
  item(it: QueueItem): boolean {
    switch (it.kind) {
      case 'control': {
        // an event without its own `t` (TDISP transitions record it) takes the trace time
        const event = it.event.t === undefined ? { ...it.event, t: it.time } : it.event;
        const step: ControlStep = { kind: 'control', time: it.time, origin: it.origin, event };
        const rejectedBefore = this.replay.rejected.length;
        this.replay.apply(step);
        if (this.controls === this.controlLog.length) {
          this.controlLog.push(step);
          if (this.replay.rejected.length > rejectedBefore)
            this.rejectedLog.push(this.replay.rejected.at(-1)!);
        }
        this.controls++;
        return true;
      }
      case 'observed':
        if (!this.warmTo) {
          // the model's faults so far first: the agreement settles by trace time, and a batch's faults are
          // otherwise folded only at its end, after later observed faults may have settled earlier ones
          this.fold();
          this.agreement.onObserved(it.time, it.event, it.origin);
          this.observed++;
        }
        return false;
      case 'problem':
        if (!this.warmTo) {
          this.problems.push(it.problem);
          if (it.problem.message.includes('control event')) this.skipped++;
        }
        return false;
      case 'chunk':
        this.chunkStart(it.offset);
        return false;
    }
  }

  /** Folds the faults and hazards the Replay raised since the last call into the counts and the row sink. */
  fold(): void {
    const r = this.replay;
    const faults = r.faults;
    const hazards = r.hazards;
    if (!this.warmTo && (faults.length || hazards.length)) {
      // faults and hazards in time order (a fault before a hazard of the same time), as the fault table
      // lists them: the row sink then gets its rows in order and its batches need no sort
      let i = 0;
      let k = 0;
      while (i < faults.length || k < hazards.length) {
        if (k >= hazards.length || (i < faults.length && faults[i]!.time <= hazards[k]!.time)) {
          const f = faults[i++]!;
          this.agg.addFault(f);
          this.rowSink?.fault(f, this.agg.faults - 1);
          this.agreement.onModelFault(f);
        } else {
          const h = hazards[k++]!;
          this.agg.addHazard(h);
          this.rowSink?.hazard(h, this.agg.hazards - 1);
        }
      }
    }
    faults.length = 0;
    hazards.length = 0;
    if (!this.warmTo) this.agreement.expire(r.time);
  }

  private chunkStart(offset: number): void {
    const w = this.warmTo;
    if (w && offset === w.offset) {
      this.restore(w);
      this.warmTo = null;
      return;
    }
    if (w) return;
    const last = this.checkpoints.at(-1)!;
    if (offset > last.offset && this.replay.tlps - this.lastCheckpointTlps >= this.checkpointEvery) {
      this.fold();
      this.checkpoints.push(this.capture(offset, this.replay.time));
      this.lastCheckpointTlps = this.replay.tlps;
    }
  }

  /** True while the state at `time` could be reached by going on from here (no rebuild needed). */
  canGoForwardTo(time: number, position: number): boolean {
    if (time < this.replay.time) return false;
    const r = this.restartFor(time);
    return r.offset <= position;
  }

  /** The checkpoint to restart from to reach `time`: the last one whose state is at or before it. */
  restartFor(time: number): Checkpoint {
    let best = this.checkpoints[0]!;
    for (const c of this.checkpoints) if (c.time <= time) best = c;
    return best;
  }

  /**
   * Rebuilds the model for a restart at checkpoint R (a seek): returns the file offset to read from,
   * which is that of an earlier checkpoint when the IOTLB must be warmed up first.
   */
  rebuild(r: Checkpoint): number {
    let a = this.checkpoints[0]!;
    for (const c of this.checkpoints) if (c.time <= r.time - WARMUP_NS && c.offset <= r.offset) a = c;
    if (r === this.checkpoints[0]) a = r;
    this.replay = this.newReplay();
    for (let i = 0; i < a.controls; i++) this.replay.apply(this.controlLog[i]!);
    this.restore(a);
    this.warmTo = a === r ? null : r;
    return a.offset;
  }

  /** True while replaying toward a seek's restart checkpoint (nothing is counted). */
  get warming(): boolean {
    return this.warmTo !== null;
  }

  /** Restores the counts saved at a checkpoint (the model itself is rebuilt by rebuild()). */
  private restore(c: Checkpoint): void {
    const r = this.replay;
    r.time = c.time < 0 ? 0 : c.time;
    r.tlps = c.tlps;
    r.tlpsByRid.fill(0);
    r.faultsByRid.fill(0);
    for (const [k, v] of c.tlpsByRid) {
      r.tlpsByRid[k] = v;
      r.noteRid(k);
    }
    for (const [k, v] of c.faultsByRid) {
      r.faultsByRid[k] = v;
      r.noteRid(k);
    }
    r.faults.length = 0;
    r.hazards.length = 0;
    r.rejected.length = 0;
    r.rejected.push(...this.rejectedLog.slice(0, c.rejected));
    for (const [bdf, state, history] of c.tdisp) {
      const t = r.lab.core.devices.get(bdf)?.tdisp;
      if (!t) continue;
      t.state = state;
      t.history.length = 0;
      t.history.push(...(structuredClone(history) as typeof t.history));
    }
    this.agg = c.agg.thaw();
    this.agreement = c.agreement.clone();
    this.events = c.events;
    this.controls = c.controls;
    this.observed = c.observed;
    this.problems.length = c.problems;
    this.skipped = c.skipped;
    this.lastCheckpointTlps = c.tlps;
  }

  private capture(offset: number, time: number): Checkpoint {
    const r = this.replay;
    // the nonzero entries, in index order: only requester IDs the replay has met can have one
    const seen = [...r.ridsSeen].sort((x, y) => x - y);
    const sparse = (a: Uint32Array): [number, number][] => {
      const out: [number, number][] = [];
      for (const i of seen) if (a[i]) out.push([i, a[i]!]);
      return out;
    };
    const tdisp: Checkpoint['tdisp'] = [];
    for (const d of r.lab.core.devices.values()) {
      if (d.tdisp) tdisp.push([d.bdf, d.tdisp.state, structuredClone(d.tdisp.history)]);
    }
    return {
      offset,
      time,
      events: this.events,
      controls: this.controls,
      tlps: r.tlps,
      tlpsByRid: sparse(r.tlpsByRid),
      faultsByRid: sparse(r.faultsByRid),
      agg: this.agg.freeze(),
      agreement: this.agreement.clone(),
      rejected: r.rejected.length,
      problems: this.problems.length,
      skipped: this.skipped,
      observed: this.observed,
      tdisp,
    };
  }

  /** The state for the UI (the fault table's rows travel apart: fault-store.ts). */
  snapshot(status: ReplayStatus, speed: number): EngineSnapshot {
    this.fold();
    return {
      status,
      time: this.replay.time,
      eventsApplied: this.events,
      tlps: this.replay.tlps,
      faults: this.agg.faults,
      hazards: this.agg.hazards,
      controls: this.controlLog.length,
      rejectedControl: this.replay.rejected.length,
      badLines: this.problems.length,
      platform: this.platform.name,
      speed,
      profile: this.profile,
      aggregates: this.agg.snapshot(this.replay.tlpsByRid),
      devices: deviceSummaries(this.replay.lab, this.replay),
    };
  }

  summary(): RunSummaryCounts {
    this.fold();
    const r = this.replay;
    return {
      summaryVersion: SUMMARY_VERSION,
      profile: r.profile,
      platform: r.lab.platform.name,
      events: this.events,
      tlps: r.tlps,
      faults: this.agg.faults,
      recording: Object.fromEntries(this.agg.recording),
      hazards: this.agg.hazards,
      badLines: this.problems.length,
      rejectedControl: r.rejected.length,
      devices: deviceSummaries(r.lab, r),
    };
  }

  result(): EngineResult {
    const summary = this.summary();
    const agreement: AgreementReport | null = this.agreement.active ? this.agreement.finish() : null;
    return {
      summary,
      rejected: [...this.replay.rejected],
      problems: [...this.problems],
      skippedControls: this.skipped,
      agreement,
    };
  }
}
