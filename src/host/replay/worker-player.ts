// The worker player: replays a native trace in two worker threads joined by a SharedArrayBuffer ring
// (decoder-worker.ts reads and checks chunks; engine-worker.ts applies them) and drives it from this
// thread: play (as fast as possible, or at ×speed of trace time), pause, step, seek to a time, speed.
// Snapshots arrive at most `snapshotsPerSecond` times a second (30 by default) as ReplayStats with
// compact typed-array aggregates; this side keeps the latest one, the device table and the fault table
// (every fault and hazard, as columns: fault-store.ts). Used by `iommu-lab replay` for native traces and by the session
// behind the UI. Nothing here blocks this thread.
import { MessageChannel, Worker } from 'node:worker_threads';
import { InspectError, type InspectQuery } from '../../engine/inspect/index';
import type { FaultProfile } from '../../engine/vtd/translate';
import type { DeviceSummary, ReplayStats } from '../../shared/api';
import { SUMMARY_VERSION } from '../../report/summary';
import { LiveCounters } from '../live-counters';
import type { RowBatch } from '../../query/fault-columns';
import type { FaultQuery } from '../../query/query';
import type { RunSummaryCounts } from './aggregates';
import { DEFAULT_MATCH_WINDOW_NS } from './agreement';
import { WorkerRows } from './fault-store';
import type { NativeInput } from './native-input';
import type {
  DecoderData,
  DecoderMessage,
  EngineCommand,
  EngineData,
  EngineMessage,
  EngineResult,
  EngineSnapshot,
} from './protocol';
import { workerScript } from './worker-url';

export interface WorkerPlayerOptions {
  profile?: FaultProfile;
  iotlbMode?: 'hardware' | 'strict';
  /** TLPs between the checkpoints seeks restart from (default 2^18) */
  checkpointEvery?: number;
  snapshotsPerSecond?: number;
  matchWindowNs?: number;
  /** the name control events' origins use (default: the file's base name) */
  label?: string;
  onStats?: (s: ReplayStats) => void;
  /** takes the fault table's row batches instead of the player's own table (a backfill: backfill.ts) */
  onRows?: (b: RowBatch) => void;
  /** told when a worker fails (pending seeks then never resolve) */
  onError?: (e: Error) => void;
}

export class WorkerPlayer {
  private snap: EngineSnapshot;
  private resultValue: EngineResult | null = null;
  private doneWaiters: { resolve: (r: EngineResult) => void; reject: (e: Error) => void }[] = [];
  private seekWaiters = new Map<number, (s: ReplayStats) => void>();
  private nextSeek = 1;
  private inspectWaiters = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private nextInspect = 1;
  private speed = 0;
  private failed: Error | null = null;
  private closed = false;
  private lastNotify = -Infinity;
  private notifyTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly notifyEveryMs: number;
  /** every fault and hazard of the state shown, for the fault table (fault-store.ts) */
  private readonly rows = new WorkerRows();
  private readonly live = new LiveCounters();

  private constructor(
    readonly input: NativeInput,
    private readonly engine: Worker,
    private readonly decoder: Worker,
    private readonly commands: MessageChannel['port1'],
    first: EngineSnapshot,
    private readonly onStats: ((s: ReplayStats) => void) | undefined,
    snapshotsPerSecond: number,
    private readonly onRows: ((b: RowBatch) => void) | undefined,
    private readonly onError: ((e: Error) => void) | undefined,
  ) {
    this.snap = first;
    this.notifyEveryMs = 1000 / snapshotsPerSecond;
  }

  /** Starts both workers on the trace (the decoder begins filling the ring; play starts the engine). */
  static async open(input: NativeInput, options: WorkerPlayerOptions = {}): Promise<WorkerPlayer> {
    const [decoderUrl, engineUrl] = await Promise.all([
      workerScript('replay-decoder'),
      workerScript('replay-engine'),
    ]);
    const items = new MessageChannel();
    const decoderCommands = new MessageChannel();
    const engineCommands = new MessageChannel();
    const stop = new SharedArrayBuffer(4);
    const label = options.label ?? input.path.split(/[\\/]/).pop()!;
    const decoderData: DecoderData = {
      role: 'decoder',
      path: input.path,
      headRegion: input.headRegion,
      stop,
      items: items.port1,
      commands: decoderCommands.port2,
      label,
    };
    const engineData: EngineData = {
      role: 'engine',
      options: {
        platform: input.platformJson,
        profile: options.profile ?? input.autoProfile,
        iotlbMode: options.iotlbMode ?? 'hardware',
        firstChunkOffset: input.firstChunkOffset,
        checkpointEvery: options.checkpointEvery ?? 1 << 18,
        snapshotsPerSecond: options.snapshotsPerSecond ?? 30,
        matchWindowNs: options.matchWindowNs ?? DEFAULT_MATCH_WINDOW_NS,
      },
      stop,
      items: items.port2,
      commands: engineCommands.port2,
      decoder: decoderCommands.port1,
    };
    const decoder = new Worker(decoderUrl, {
      workerData: decoderData,
      transferList: [items.port1, decoderCommands.port2],
    });
    const engine = new Worker(engineUrl, {
      workerData: engineData,
      transferList: [items.port2, engineCommands.port2, decoderCommands.port1],
    });
    const first = await new Promise<EngineSnapshot>((resolve, reject) => {
      const fail = (e: Error): void => {
        void decoder.terminate();
        void engine.terminate();
        reject(e);
      };
      engine.on('message', function first(m: EngineMessage) {
        if (m.type === 'stats') {
          engine.off('message', first);
          resolve(m.snapshot);
        } else if (m.type === 'error') fail(new Error(m.message));
      });
      engine.once('error', fail);
      decoder.once('error', fail);
    });
    const p = new WorkerPlayer(
      input,
      engine,
      decoder,
      engineCommands.port1,
      first,
      options.onStats,
      options.snapshotsPerSecond ?? 30,
      options.onRows,
      options.onError,
    );
    p.listen();
    return p;
  }

  private listen(): void {
    this.engine.on('message', (m: EngineMessage) => this.onEngine(m));
    this.decoder.on('message', (m: DecoderMessage) => {
      if (m.type === 'error') this.fail(new Error(`decoder: ${m.message}`));
    });
    const onError = (e: Error): void => this.fail(e);
    this.engine.on('error', onError);
    this.decoder.on('error', onError);
    this.engine.on('exit', (code) => {
      if (!this.closed && code !== 0) this.fail(new Error(`the engine worker exited with code ${code}`));
    });
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    for (const w of this.doneWaiters) w.reject(e);
    this.doneWaiters = [];
    for (const w of this.inspectWaiters.values()) w.reject(e);
    this.inspectWaiters.clear();
    if (!this.closed) this.onError?.(e);
  }

  private onEngine(m: EngineMessage): void {
    switch (m.type) {
      case 'rows':
        if (this.onRows) this.onRows(m.batch);
        else this.rows.take(m.batch);
        break;
      case 'stats':
        this.take(m.snapshot);
        break;
      case 'seeked': {
        this.take(m.snapshot);
        for (const [id, resolve] of this.seekWaiters) {
          if (id > m.id) continue;
          this.seekWaiters.delete(id);
          resolve(this.stats());
        }
        break;
      }
      case 'done':
        this.take(m.snapshot);
        this.resultValue = m.result;
        for (const w of this.doneWaiters) w.resolve(m.result);
        this.doneWaiters = [];
        break;
      case 'inspected': {
        const w = this.inspectWaiters.get(m.id);
        this.inspectWaiters.delete(m.id);
        if (m.error !== undefined) w?.reject(new InspectError(m.error));
        else w?.resolve(m.result);
        break;
      }
      case 'error':
        this.fail(new Error(`engine: ${m.message}`));
        break;
      case 'ready':
        break;
    }
  }

  private take(s: EngineSnapshot): void {
    this.snap = s;
    this.notify();
  }

  /** Hands the latest stats to onStats, at most snapshotsPerSecond times a second (the last one waits). */
  private notify(): void {
    if (!this.onStats || this.closed) return;
    const wait = this.lastNotify + this.notifyEveryMs - performance.now();
    if (wait <= 0) {
      this.lastNotify = performance.now();
      this.onStats(this.stats());
    } else if (!this.notifyTimer) {
      this.notifyTimer = setTimeout(() => {
        this.notifyTimer = null;
        this.notify();
      }, wait);
    }
  }

  private send(c: EngineCommand): void {
    if (this.failed) throw this.failed;
    this.commands.postMessage(c);
  }

  /** The latest snapshot as the API's ReplayStats. */
  stats(): ReplayStats {
    const s = this.snap;
    return this.live.add({
      status: s.status,
      time: s.time,
      endTime: this.input.endTime,
      eventsApplied: s.eventsApplied,
      eventsTotal: this.input.records + s.controls,
      tlps: s.tlps,
      faults: s.faults,
      speed: s.speed,
      profile: s.profile,
      hazards: s.hazards,
      aggregates: s.aggregates,
      ringFill: s.ringFill,
    });
  }

  get devices(): DeviceSummary[] {
    return this.snap.devices;
  }

  /** The run summary of the state shown (docs/replay-json.md), as runSummary gives it for text traces. */
  summary(): RunSummaryCounts {
    const s = this.snap;
    return {
      summaryVersion: SUMMARY_VERSION,
      profile: s.profile,
      platform: s.platform,
      events: s.eventsApplied,
      tlps: s.tlps,
      faults: s.faults,
      recording: s.aggregates.recording,
      hazards: s.hazards,
      badLines: s.badLines,
      rejectedControl: s.rejectedControl,
      devices: s.devices,
    };
  }

  /** The fault table: its query over every fault and hazard, and how many rows the state shown has. */
  table(): { query: FaultQuery; visible: number } {
    return { query: this.rows.query, visible: this.snap.faults + this.snap.hazards };
  }

  /** The fault table's rows as received (with where a far seek left gaps: fault-store.ts). */
  get tableRows(): WorkerRows {
    return this.rows;
  }

  /** The result of the last time the trace was played to its end, or null. */
  get result(): EngineResult | null {
    return this.resultValue;
  }

  /** Plays at `speed` × trace time (0: as fast as possible); by default at the speed last set. */
  play(speed = this.speed): void {
    this.speed = speed;
    this.send({ type: 'play', speed });
  }

  pause(): void {
    this.send({ type: 'pause' });
  }

  step(count = 1): void {
    this.send({ type: 'step', count });
  }

  setSpeed(speed: number): void {
    this.speed = speed;
    this.send({ type: 'speed', speed });
  }

  /** Brings the state to trace time `time` (every event at or before it applied); resolves then. */
  seek(time: number): Promise<ReplayStats> {
    const id = this.nextSeek++;
    return new Promise((resolve) => {
      this.seekWaiters.set(id, resolve);
      this.send({ type: 'seek', time, id });
    });
  }

  /** A read-only view of the engine's state (src/engine/inspect), once any seek in progress is done. */
  inspect(query: InspectQuery): Promise<unknown> {
    const id = this.nextInspect++;
    return new Promise((resolve, reject) => {
      this.inspectWaiters.set(id, { resolve, reject });
      try {
        this.send({ type: 'inspect', id, query });
      } catch (e) {
        this.inspectWaiters.delete(id);
        reject(e as Error);
      }
    });
  }

  /** Back to the start (nothing applied). */
  reset(): Promise<ReplayStats> {
    return this.seek(-1);
  }

  /** Resolves when the trace has been played to its end (now, if it already was). */
  finished(): Promise<EngineResult> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.resultValue && this.snap.status === 'done') return Promise.resolve(this.resultValue);
    return new Promise((resolve, reject) => this.doneWaiters.push({ resolve, reject }));
  }

  /** Plays as fast as possible to the end and returns the result. */
  async run(): Promise<EngineResult> {
    const done = this.finished();
    this.play(0);
    return done;
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    try {
      this.commands.postMessage({ type: 'exit' } satisfies EngineCommand);
    } catch {
      // already closed
    }
    this.commands.close();
    await Promise.all([this.engine.terminate(), this.decoder.terminate()]);
  }
}
