// Replaying a whole native trace, for `iommu-lab replay`: through the worker player (the normal path),
// or in this thread (to compare two fault-semantics profiles request by request). Both feed the same
// EngineCore, so they give the same counts, and fill the same fault table, whose first rows they return
// (table-rows.ts).
import { faultBdf, type Fault } from '../../engine/replay';
import type { FaultProfile } from '../../engine/vtd/translate';
import type { FaultRow, HazardRow, ReplayStats } from '../../shared/api';
import { TLP_RECORD_WORDS, tlpAddress } from '../../trace/native/index';
import { readNativeTrace } from '../trace-file';
import { chunkItems } from './chunk-items';
import type { FaultQuery } from '../../query/query';
import { EngineCore } from './engine-core';
import { RowSink, WorkerRows } from './fault-store';
import type { NativeInput } from './native-input';
import type { EngineResult } from './protocol';
import { tableRows } from './table-rows';
import { WorkerPlayer } from './worker-player';

export interface NativeReplayOptions {
  profile: FaultProfile;
  iotlbMode: 'hardware' | 'strict';
  /** fault, hazard and differing-request rows to list */
  maxFaults: number;
  label: string;
}

export interface NativeReplayOutput {
  result: EngineResult;
  /** the first `maxFaults` faults and hazards (from `table`) */
  faultRows: readonly FaultRow[];
  hazardRows: readonly HazardRow[];
  /** every fault and hazard, for --filter (fault-store.ts) */
  table: FaultQuery;
}

/** Plays the trace to its end as fast as possible through the decoder and engine workers. */
export async function replayNativeWorkers(
  input: NativeInput,
  o: NativeReplayOptions,
  onStats?: (s: ReplayStats) => void,
): Promise<NativeReplayOutput> {
  const player = await WorkerPlayer.open(input, {
    profile: o.profile,
    iotlbMode: o.iotlbMode,
    label: o.label,
    snapshotsPerSecond: onStats ? 2 : 1,
    onStats,
  });
  try {
    const result = await player.run();
    const table = player.table().query;
    const { faultRows, hazardRows } = tableRows(table, o.maxFaults);
    return { result, faultRows, hazardRows, table };
  } finally {
    await player.dispose();
  }
}

export interface ProfileComparison {
  profiles: [FaultProfile, FaultProfile];
  requests: number;
  differing: number;
  /** the first differing requests */
  rows: {
    index: number;
    time: number;
    bdf: string;
    address: string;
    access: string;
    outcomes: [string, string];
  }[];
}

export const outcomeText = (reason: number): string =>
  reason === 0 ? 'translated' : `fault 0x${reason.toString(16).padStart(2, '0')}`;

/**
 * Replays the trace in this thread; with `other`, a second engine under that profile takes every event
 * in lockstep and the requests whose outcomes differ are listed (the first `o.maxFaults`).
 */
export async function replayNativeInThread(
  input: NativeInput,
  o: NativeReplayOptions,
  other?: FaultProfile,
): Promise<NativeReplayOutput & { comparison: ProfileComparison | null }> {
  const options = { iotlbMode: o.iotlbMode, firstChunkOffset: input.firstChunkOffset };
  const a = new EngineCore(input.platformJson, { ...options, profile: o.profile });
  const b = other ? new EngineCore(input.platformJson, { ...options, profile: other }) : null;
  const sink = (a.rowSink = new RowSink(o.profile));
  const comparison: ProfileComparison | null = other
    ? { profiles: [o.profile, other], requests: 0, differing: 0, rows: [] }
    : null;
  const outcome = (f: Fault | null): number => (f ? f.reason : 0);
  for await (const it of readNativeTrace(input.path)) {
    if (it.kind === 'problem') {
      const item = { kind: 'problem' as const, time: a.replay.time, problem: it.problem };
      a.item(item);
      b?.item(item);
      continue;
    }
    if (it.kind !== 'chunk') continue;
    const c = it.chunk;
    const { items, before } = chunkItems(c, o.label, c.offset);
    const words = c.records;
    let r = 0;
    const tlpsTo = (until: number): void => {
      for (; r < until; r++) {
        const at = r * TLP_RECORD_WORDS;
        if (!b || !comparison) {
          a.tlp(words, at);
          continue;
        }
        const fa = outcome(a.replay.applyTlpWords(words, at));
        const fb = outcome(b.replay.applyTlpWords(words, at));
        const i = comparison.requests++;
        if (fa === fb) continue;
        comparison.differing++;
        if (comparison.rows.length >= o.maxFaults) continue;
        const access = (words[at + 3]! >>> 24) & 3;
        comparison.rows.push({
          index: i,
          time: a.replay.time,
          bdf: faultBdf({ requesterId: words[at + 2]! & 0xffff } as Fault),
          address: `0x${tlpAddress(words, at).toString(16)}`,
          access: access === 2 ? 'atomic' : access === 1 ? 'write' : 'read',
          outcomes: [outcomeText(fa), outcomeText(fb)],
        });
      }
    };
    let events = c.recordCount;
    for (let i = 0; i < items.length; i++) {
      tlpsTo(before[i]!);
      if (a.item(items[i]!)) events++;
      b?.item(items[i]!);
    }
    tlpsTo(c.recordCount);
    a.events += events;
    a.fold();
    if (b) b.fold();
  }
  a.fold();
  const rows = new WorkerRows();
  const batch = sink.take(a.agg.faults + a.agg.hazards);
  if (batch) rows.take(batch);
  const table = rows.query;
  const { faultRows, hazardRows } = tableRows(table, o.maxFaults);
  return { result: a.result(), faultRows, hazardRows, comparison, table };
}
