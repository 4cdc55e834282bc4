// Turns a decoded native-trace chunk into the player's queue items and feeds a chunk to an EngineCore
// in trace order. Shared by the decoder worker (which sends the items through a port and the records
// through the ring) and the in-thread replay (which feeds the core directly).
import {
  isObservedFault,
  TLP_RECORD_WORDS,
  type DecodedChunk,
  type TraceProblem,
} from '../../trace/native/index';
import type { EngineCore } from './engine-core';
import type { QueueItem } from './protocol';

/** Where a chunk's control event came from, e.g. "run.iotrace chunk 3 event 0". */
export function controlOrigin(label: string, sequence: number, index: number): string {
  return `${label} chunk ${sequence} event ${index}`;
}

/**
 * The chunk's items in order: its start, then each control event or observed fault with the number of
 * records before it, then its skipped control events as problems (at the chunk's end).
 */
export function chunkItems(
  c: DecodedChunk,
  label: string,
  offset: number,
): { items: QueueItem[]; before: number[] } {
  const items: QueueItem[] = [{ kind: 'chunk', offset, sequence: c.sequence, firstTime: c.firstTime }];
  const before: number[] = [0];
  c.controls.forEach((e, i) => {
    const origin = controlOrigin(label, c.sequence, i);
    items.push(
      isObservedFault(e.event)
        ? { kind: 'observed', time: e.time, origin, event: e.event }
        : { kind: 'control', time: e.time, origin, event: e.event },
    );
    before.push(e.before);
  });
  for (const s of c.skippedControls) {
    items.push({ kind: 'problem', time: c.lastTime, problem: skippedProblem(c, offset, s) });
    before.push(c.recordCount);
  }
  return { items, before };
}

function skippedProblem(
  c: DecodedChunk,
  offset: number,
  s: { index: number; message: string },
): TraceProblem {
  return {
    offset,
    length: 0,
    message: `chunk ${c.sequence}: control event ${s.index} skipped: ${s.message}`,
  };
}

/** Feeds a whole chunk to a core in trace order (the in-thread path); returns the events applied. */
export function feedChunk(core: EngineCore, c: DecodedChunk, label: string, offset: number): number {
  const { items, before } = chunkItems(c, label, offset);
  const words = c.records;
  let events = c.recordCount;
  let r = 0;
  for (let i = 0; i < items.length; i++) {
    for (const until = before[i]!; r < until; r++) core.tlp(words, r * TLP_RECORD_WORDS);
    if (core.item(items[i]!)) events++;
  }
  for (const n = c.recordCount; r < n; r++) core.tlp(words, r * TLP_RECORD_WORDS);
  core.events += events;
  core.fold();
  return events;
}
