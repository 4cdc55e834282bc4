// The engine worker: consumes TLP records from the SharedArrayBuffer ring in place and applies them
// with Replay.applyTlpRun, run by run between markers (no allocation per TLP, no BigInt), takes the queue
// item a marker record stands for from the item port (receiveMessageOnPort: synchronous, in order),
// and answers the controller's commands: play (as fast as possible or paced at ×speed of trace time),
// pause, step N events, seek to a time, speed. It waits on the ring (Atomics.wait) only when the ring
// is empty; it checks for commands between batches, and sends a snapshot at most `snapshotsPerSecond`
// times a second while it works, and one after every command. When the trace ends it sends 'done'
// with the run's result; a seek may start it again.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { inspect, type InspectQuery } from '../../engine/inspect/index';
import { createRing, RingConsumer } from '../../engine/ring/spsc-ring';
import type { ReplayStatus } from '../../shared/api';
import { FaultColumns } from '../../query/fault-columns';
import { FaultTimesCore } from './fault-times-core';
import { RowSink } from './fault-store';
import {
  MARK_ITEM,
  MARK_MASK,
  RING_CAPACITY,
  type EngineCommand,
  type EngineData,
  type EngineMessage,
  type ItemBatch,
  type QueueItem,
} from './protocol';

const TWO_32 = 2 ** 32;
const MAX_PACED_WAIT_MS = 250;
/**
 * Slots of the ring this worker creates for each run: sixteen times protocol.ts's RING_CAPACITY (8 MiB).
 * The decoder, woken (or back from a nap) once a quarter is free, refills 65 536 records at a time while
 * three quarters are left to apply, about 6 ms of work here: enough slack for the decoder's thread to be
 * late back on its CPU (a 2 MiB ring ran empty about 5 % of the time in the bench, this one under 1 %).
 */
const RING_RECORDS = RING_CAPACITY * 16;

export function runEngineWorker(d: EngineData): void {
  const o = d.options;
  const post = (m: EngineMessage): void => parentPort!.postMessage(m);
  const core = new FaultTimesCore(o.platform, {
    profile: o.profile,
    iotlbMode: o.iotlbMode,
    checkpointEvery: o.checkpointEvery,
    matchWindowNs: o.matchWindowNs,
    firstChunkOffset: o.firstChunkOffset,
  });
  // every fault and hazard, for the fault table: posted as a 'rows' batch ahead of each snapshot
  const rows = new RowSink(core.profile);
  core.rowSink = rows;
  function postRows(): void {
    const batch = rows.take(core.agg.faults + core.agg.hazards);
    if (batch)
      parentPort!.postMessage(
        { type: 'rows', batch } satisfies EngineMessage,
        FaultColumns.transferables(batch),
      );
  }
  const stop = new Int32Array(d.stop);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const snapEveryMs = 1000 / o.snapshotsPerSecond;

  /** records applied between two releases of ring slots (see work()) */
  const releaseEvery = RING_RECORDS >>> 2;
  let generation = 0;
  let consumer: RingConsumer = null!;
  let words: Uint32Array = null!;
  let runEnded = true;
  let queue: QueueItem[] = [];
  let qHead = 0;
  /** file offset of the chunk being consumed */
  let chunkOffset = o.firstChunkOffset;
  let status: ReplayStatus = 'ready';
  let speed = 0;
  let playWall = 0;
  let playTrace = 0;
  let stepsLeft = 0;
  let seekUntil: number | null = null;
  let seekId = -1;
  let resumeAfterSeek = false;
  let lastSnap = 0;
  let scheduled = false;
  let exited = false;
  /** inspect queries that arrived during a seek: answered once it is done */
  let pendingInspects: { id: number; query: InspectQuery }[] = [];

  function answerInspect(id: number, query: InspectQuery): void {
    try {
      post({
        type: 'inspected',
        id,
        result: inspect(
          {
            replay: core.replay,
            controls: core.controlLog.slice(0, core.controls),
            faultTimes: { log: core.faultTimes, count: core.agg.faults },
          },
          query,
        ),
      });
    } catch (e) {
      post({ type: 'inspected', id, error: (e as Error).message });
    }
  }

  function startRun(fromOffset: number): void {
    generation++;
    const ring = createRing(RING_RECORDS);
    consumer = new RingConsumer(ring);
    words = consumer.words;
    queue = [];
    qHead = 0;
    runEnded = false;
    chunkOffset = fromOffset;
    d.decoder.postMessage({ type: 'run', generation, ring, fromOffset });
  }

  /** Stops the decoder's run: raise the stop word, drain the ring until it is closed, drop its items. */
  function stopRun(): void {
    if (runEnded) return;
    Atomics.store(stop, 0, generation);
    let n: number;
    while ((n = consumer.acquire()) > 0) consumer.release(n);
    runEnded = true;
    while (receiveMessageOnPort(d.items));
    queue = [];
    qHead = 0;
  }

  function nextItem(): QueueItem {
    let waited = 0;
    while (qHead >= queue.length) {
      const m = receiveMessageOnPort(d.items);
      if (!m) {
        // The decoder posts items before the records that refer to them are published: this does not happen.
        if (++waited > 10_000) throw new Error('a marker record has no queue item');
        Atomics.wait(nap, 0, 0, 1);
        continue;
      }
      const b = m.message as ItemBatch;
      if (b.generation !== generation) continue;
      queue = b.items;
      qHead = 0;
    }
    return queue[qHead++]!;
  }

  function snapshotMsg(): EngineMessage & { type: 'stats' } {
    lastSnap = performance.now();
    core.fold();
    postRows();
    const snapshot = core.snapshot(status, speed);
    snapshot.ringFill = runEnded ? 0 : consumer.available() / consumer.capacity;
    return { type: 'stats', snapshot };
  }

  function maybeSnapshot(): void {
    // while a seek warms up, the counts are those of an earlier checkpoint: show nothing
    if (!core.warming && performance.now() - lastSnap >= snapEveryMs) post(snapshotMsg());
  }

  /**
   * Applies up to n readable records: TLPs straight from the ring, markers through the item queue.
   * Stops before a record later than `limit`, or after `maxEvents` events. Returns the records
   * consumed, the events applied and whether the time limit stopped it.
   */
  let consumed = 0;
  let applied = 0;
  /** the aggregates count TLPs per PASID (core.agg changes when a checkpoint's counts return) */
  const countPasid = (pasid: number): void => core.agg.pasidTlp(pasid);
  function apply(n: number, limit: number, maxEvents: number): boolean {
    consumed = 0;
    applied = 0;
    if (limit === Infinity && maxEvents === Infinity) {
      // The hot loop: runs of TLPs go to Replay.applyTlpRun (which stops at a marker), markers to the
      // item queue; the slot offset is stepped instead of recomputed.
      let markers = 0;
      let controls = 0;
      const end = words.length;
      let at = consumer.slot(0);
      let j = 0;
      while (j < n) {
        const k = core.replay.applyTlpRun(words, at, n - j, countPasid);
        j += k;
        at += k * 8;
        if (at >= end) at -= end;
        if (j === n) break;
        markers++;
        const it = nextItem();
        if (it.kind === 'chunk') chunkOffset = it.offset;
        if (core.item(it)) controls++; // a chunk start may restore a checkpoint's counts (core.agg)
        j++;
        at += 8;
        if (at === end) at = 0;
      }
      consumed = n;
      applied = n - markers + controls;
      return false;
    }
    for (let j = 0; j < n; j++) {
      const at = consumer.slot(j);
      if (words[at + 1]! * TWO_32 + words[at]! > limit) return true;
      if (applied >= maxEvents) return false;
      if ((words[at + 3]! & MARK_MASK) !== MARK_ITEM) {
        core.tlp(words, at);
        applied++;
      } else {
        const it = nextItem();
        if (it.kind === 'chunk') chunkOffset = it.offset;
        if (core.item(it)) applied++;
      }
      consumed = j + 1;
    }
    return false;
  }

  function schedule(delayMs = 0): void {
    if (scheduled || exited) return;
    scheduled = true;
    setTimeout(pump, delayMs);
  }

  function pump(): void {
    scheduled = false;
    try {
      work();
    } catch (e) {
      post({ type: 'error', message: (e as Error).stack ?? String(e) });
    }
  }

  function work(): void {
    for (;;) {
      let m;
      while ((m = receiveMessageOnPort(d.commands))) command(m.message as EngineCommand);
      if (exited) return;
      const active = status === 'playing' || stepsLeft > 0 || seekUntil !== null;
      if (!active) return;
      if (runEnded) {
        ended();
        return;
      }
      let n = consumer.available();
      if (n === 0) n = consumer.acquire();
      if (n === 0) {
        runEnded = true;
        ended();
        return;
      }
      // At most a quarter of the ring at a time, released as soon as it is applied: the decoder (woken
      // once a quarter is free) refills the ring while this thread goes on with the rest, instead of
      // finding it nearly empty after one release of everything and leaving this thread to wait for it.
      if (n > releaseEvery) n = releaseEvery;
      const paced = seekUntil === null && stepsLeft === 0 && speed > 0;
      const limit =
        seekUntil !== null
          ? seekUntil
          : paced
            ? playTrace + (performance.now() - playWall) * 1e6 * speed
            : Infinity;
      const hitLimit = apply(n, limit, stepsLeft > 0 ? stepsLeft : Infinity);
      if (consumed > 0) consumer.release(consumed);
      core.events += applied;
      core.fold();
      if (stepsLeft > 0) {
        stepsLeft -= applied;
        if (stepsLeft <= 0) {
          stepsLeft = 0;
          post(snapshotMsg());
          return;
        }
      }
      if (seekUntil !== null) {
        if (hitLimit) {
          seeked();
          continue;
        }
      } else if (hitLimit) {
        // paced: wait until the next record is due
        const at = consumer.slot(0);
        const next = words[at + 1]! * TWO_32 + words[at]!;
        const ms = Math.min(MAX_PACED_WAIT_MS, Math.max(1, (next - limit) / 1e6 / speed));
        maybeSnapshot();
        schedule(ms);
        return;
      }
      maybeSnapshot();
    }
  }

  function seeked(): void {
    const id = seekId;
    seekUntil = null;
    seekId = -1;
    status = resumeAfterSeek && !runEnded ? 'playing' : 'paused';
    playWall = performance.now();
    playTrace = core.replay.time;
    post({ type: 'seeked', id, snapshot: snapshotMsg().snapshot });
    const waiting = pendingInspects;
    pendingInspects = [];
    for (const q of waiting) answerInspect(q.id, q.query);
  }

  function ended(): void {
    if (seekUntil !== null) {
      resumeAfterSeek = false;
      seeked();
    }
    stepsLeft = 0;
    status = 'done';
    const snapshot = snapshotMsg().snapshot;
    post({ type: 'done', snapshot, result: core.result() });
  }

  function seek(time: number, id: number): void {
    if (seekUntil === null) resumeAfterSeek = status === 'playing';
    stepsLeft = 0;
    seekId = id;
    if (!runEnded && core.canGoForwardTo(time, chunkOffset)) {
      seekUntil = time;
      status = 'paused';
      return;
    }
    if (runEnded && status === 'done' && time >= core.replay.time) {
      // the final state is the state at any time past the last event
      post({ type: 'seeked', id, snapshot: snapshotMsg().snapshot });
      seekId = -1;
      return;
    }
    stopRun();
    postRows(); // the rows so far keep their positions; the rebuild restores earlier counts
    const from = core.rebuild(core.restartFor(time));
    startRun(from);
    seekUntil = time;
    status = 'paused';
  }

  function command(c: EngineCommand): void {
    switch (c.type) {
      case 'play':
        if (status === 'done') break;
        speed = c.speed;
        if (seekUntil !== null) {
          resumeAfterSeek = true;
          break;
        }
        status = 'playing';
        playWall = performance.now();
        playTrace = core.replay.time;
        break;
      case 'pause':
        if (status === 'playing') status = 'paused';
        resumeAfterSeek = false;
        post(snapshotMsg());
        break;
      case 'step':
        if (status === 'done') break;
        status = 'paused';
        stepsLeft = c.count;
        break;
      case 'speed':
        speed = c.speed;
        playWall = performance.now();
        playTrace = core.replay.time;
        post(snapshotMsg());
        break;
      case 'seek':
        seek(c.time, c.id);
        break;
      case 'inspect':
        if (seekUntil !== null) pendingInspects.push({ id: c.id, query: c.query });
        else answerInspect(c.id, c.query);
        break;
      case 'exit':
        exited = true;
        stopRun();
        d.decoder.postMessage({ type: 'exit' });
        d.commands.close();
        d.items.close();
        d.decoder.close();
        break;
    }
  }

  d.commands.on('message', (c: EngineCommand) => {
    try {
      command(c);
    } catch (e) {
      post({ type: 'error', message: (e as Error).stack ?? String(e) });
    }
    schedule();
  });
  startRun(o.firstChunkOffset);
  post({ type: 'ready' });
  post(snapshotMsg());
}

if (parentPort && (workerData as { role?: string } | null)?.role === 'engine') {
  runEngineWorker(workerData as EngineData);
}
