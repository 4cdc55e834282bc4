// Drives a Replay through a loaded trace: play, pause, step, seek, speed. Runs in slices on the
// event loop so calls keep being answered, and reports stats at most 30 times a second.
// Text traces (JSON lines, held in memory) play here; native traces play in the worker player
// (src/host/replay/worker-player.ts), which has the same controls.
import { buildLab } from '../engine/lab';
import type { Platform } from '../engine/platform/index';
import { inspect, type InspectQuery } from '../engine/inspect/index';
import { Replay, type ControlStep, type ReplayEvent } from '../engine/replay';
import type { ReplayStats, ReplayStatus } from '../shared/api';
import { LiveCounters } from './live-counters';

const STATS_INTERVAL_MS = 1000 / 30;
const SLICE_EVENTS = 50_000;

export class Player {
  replay: Replay;
  private next = 0;
  private status: ReplayStatus;
  private speed = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastStats = 0;
  private playStartWall = 0;
  private playStartTrace = 0;
  private readonly live = new LiveCounters();

  constructor(
    private readonly platform: Platform,
    private readonly events: ReplayEvent[],
    private readonly onStats: (s: ReplayStats) => void,
  ) {
    this.replay = new Replay(buildLab(platform));
    this.status = events.length ? 'ready' : 'done';
  }

  stats(): ReplayStats {
    return this.live.add({
      status: this.status,
      time: this.replay.time,
      endTime: this.events.length ? this.events[this.events.length - 1]!.time : 0,
      eventsApplied: this.next,
      eventsTotal: this.events.length,
      tlps: this.replay.tlps,
      faults: this.replay.faults.length,
      speed: this.speed,
      profile: this.replay.profile,
    });
  }

  play(): void {
    if (this.status === 'done' || this.status === 'playing') return;
    this.status = 'playing';
    this.playStartWall = performance.now();
    this.playStartTrace = this.replay.time;
    this.schedule();
  }

  pause(): void {
    if (this.status !== 'playing') return;
    this.status = 'paused';
    this.cancel();
    this.emit(true);
  }

  step(count = 1): void {
    if (this.status === 'playing') this.pause();
    this.advance(count, Infinity);
    if (this.status !== 'done') this.status = 'paused';
    this.emit(true);
  }

  /** Rebuilds the state at trace time `time`: every event at or before it is applied. */
  seek(time: number): void {
    const wasPlaying = this.status === 'playing';
    this.cancel();
    this.replay = new Replay(buildLab(this.platform));
    this.next = 0;
    this.status = this.events.length ? 'paused' : 'done';
    this.advance(Infinity, time);
    if (wasPlaying && this.status !== 'done') this.play();
    else this.emit(true);
  }

  setSpeed(speed: number): void {
    this.speed = speed;
    if (this.status === 'playing') {
      this.playStartWall = performance.now();
      this.playStartTrace = this.replay.time;
    }
    this.emit(true);
  }

  reset(): void {
    this.seek(-1);
    this.status = this.events.length ? 'ready' : 'done';
    this.emit(true);
  }

  /** A read-only view of the state at the current time (src/engine/inspect). */
  inspect(query: InspectQuery): unknown {
    const controls: ControlStep[] = [];
    for (let i = 0; i < this.next; i++) {
      const e = this.events[i]!;
      if (e.kind === 'control') controls.push(e);
    }
    return inspect({ replay: this.replay, controls }, query);
  }

  dispose(): void {
    this.cancel();
  }

  /** Applies up to `count` events whose time is ≤ `until`; true when the trace is finished. */
  private advance(count: number, until: number): boolean {
    let n = 0;
    while (this.next < this.events.length && n < count) {
      const e = this.events[this.next]!;
      if (e.time > until) break;
      this.replay.apply(e);
      this.next++;
      n++;
    }
    if (this.next >= this.events.length) {
      this.status = 'done';
      this.cancel();
      return true;
    }
    return false;
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.tick(), 0);
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private tick(): void {
    this.timer = null;
    if (this.status !== 'playing') return;
    const until =
      this.speed > 0
        ? this.playStartTrace + (performance.now() - this.playStartWall) * 1e6 * this.speed
        : Infinity;
    const finished = this.advance(SLICE_EVENTS, until);
    this.emit(finished);
    if (!finished) {
      // When paced, wait for the next event's time instead of spinning.
      const nextTime = this.events[this.next]?.time ?? 0;
      const delayMs = this.speed > 0 ? Math.min(250, Math.max(0, (nextTime - until) / 1e6 / this.speed)) : 0;
      this.timer = setTimeout(() => this.tick(), delayMs);
    }
  }

  private emit(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastStats < STATS_INTERVAL_MS) return;
    this.lastStats = now;
    this.onStats(this.stats());
  }
}
