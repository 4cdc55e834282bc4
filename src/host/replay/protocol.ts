// The worker player's wire contract: what the controller (main thread), the decoder worker and the
// engine worker send each other.
//
// Records travel in a SharedArrayBuffer SPSC ring (src/engine/ring/spsc-ring.ts) from the decoder to
// the engine, 8 uint32 words each. A TLP record is the native record itself, as checked by the decoder.
// A marker record says "take the next item from the item queue" (control events, observed faults,
// chunk starts, problems), its time in words 0-1: its word 3 has access code 3 (bits 24-25), which no
// checked TLP record can have (the decoder refuses a chunk holding one), so the engine tells markers
// from TLPs by the word it reads anyway.
// Items travel through a MessagePort, one message per chunk, posted before the chunk's records enter
// the ring; the engine takes them synchronously (receiveMessageOnPort) when it meets a marker, so items
// and records keep the file's order, ties included, with no per-record cost for TLPs.
//
// Each run of the decoder (from the start, or from a checkpoint after a seek) has a generation number
// and a ring of its own; items of an older generation are dropped. The engine stops a run by raising
// the decoder's stop word and draining the old ring until the decoder closes it.
import type { MessagePort } from 'node:worker_threads';
import type { InspectQuery } from '../../engine/inspect/index';
import type { RejectedControl } from '../../engine/replay';
import type { FaultProfile } from '../../engine/vtd/translate';
import type { ControlEvent } from '../../trace/control-script';
import type { ObservedFaultEvent, TraceProblem } from '../../trace/native/index';
import type { DeviceSummary, ReplayAggregates, ReplayStatus } from '../../shared/api';
import type { RowBatch } from '../../query/fault-columns';
import type { AgreementReport } from './agreement';
import type { RunSummaryCounts } from './aggregates';

/** word 3 of a marker record: access code 3, reserved in TLP records */
export const MARK_ITEM = 0x03000000;
export const MARK_MASK = 0x03000000;
export const RING_CAPACITY = 16384;

export type QueueItem =
  /** the start of a chunk: a restart point for seeks (`offset` is its file offset) */
  | { kind: 'chunk'; offset: number; sequence: number; firstTime: number }
  | { kind: 'control'; time: number; origin: string; event: ControlEvent }
  | { kind: 'observed'; time: number; origin: string; event: ObservedFaultEvent }
  | { kind: 'problem'; time: number; problem: TraceProblem };

/** decoder → engine, through the item port */
export interface ItemBatch {
  generation: number;
  items: QueueItem[];
}

/** engine → decoder, through the decoder's command port */
export type DecoderCommand =
  | {
      type: 'run';
      generation: number;
      ring: SharedArrayBuffer;
      /** file offset of the first chunk to read (the end of the head region to start at the top) */
      fromOffset: number;
    }
  | { type: 'exit' };

/** decoder → controller */
export type DecoderMessage =
  | { type: 'ready' }
  | { type: 'ran'; generation: number; chunks: number; stopped: boolean }
  | { type: 'error'; message: string };

export interface DecoderData {
  role: 'decoder';
  path: string;
  /** the file's head region (magic to header CRC), fed to the decoder before a run's first chunk */
  headRegion: Uint8Array;
  /** Int32Array word 0: the generation to stop (the engine raises it on a seek) */
  stop: SharedArrayBuffer;
  /** where the items go (the engine holds the other end) */
  items: MessagePort;
  /** runs come from the engine */
  commands: MessagePort;
  label: string;
}

export interface EngineOptions {
  /** the platform description's JSON object */
  platform: Record<string, unknown>;
  profile: FaultProfile;
  iotlbMode: 'hardware' | 'strict';
  /** file offset of the first chunk */
  firstChunkOffset: number;
  /** TLPs between checkpoints (restart points for seeks) */
  checkpointEvery: number;
  /** snapshots per second at most */
  snapshotsPerSecond: number;
  /** observed/model fault matching window, ns */
  matchWindowNs: number;
}

export interface EngineData {
  role: 'engine';
  options: EngineOptions;
  stop: SharedArrayBuffer;
  /** the decoder's items */
  items: MessagePort;
  /** the controller's commands */
  commands: MessagePort;
  /** to start and stop the decoder's runs */
  decoder: MessagePort;
}

/** controller → engine, through the command port */
export type EngineCommand =
  | { type: 'play'; speed: number }
  | { type: 'pause' }
  | { type: 'step'; count: number }
  | { type: 'seek'; time: number; id: number }
  | { type: 'speed'; speed: number }
  /** a read-only view of the state (src/engine/inspect); answered once any seek in progress is done */
  | { type: 'inspect'; id: number; query: InspectQuery }
  | { type: 'exit' };

export interface EngineSnapshot {
  status: ReplayStatus;
  time: number;
  eventsApplied: number;
  tlps: number;
  faults: number;
  hazards: number;
  controls: number;
  /** control events the model refused, and damaged parts skipped, so far */
  rejectedControl: number;
  badLines: number;
  platform: string;
  speed: number;
  profile: FaultProfile;
  aggregates: ReplayAggregates;
  devices: DeviceSummary[];
  /** records waiting in the ring when the snapshot was taken, as a fraction of its capacity (0..1) */
  ringFill?: number;
}

/** engine → controller */
export type EngineMessage =
  | { type: 'ready' }
  | { type: 'stats'; snapshot: EngineSnapshot }
  /** the fault table's rows since the last batch (fault-store.ts), posted ahead of a snapshot */
  | { type: 'rows'; batch: RowBatch }
  | { type: 'seeked'; id: number; snapshot: EngineSnapshot }
  | { type: 'done'; snapshot: EngineSnapshot; result: EngineResult }
  | { type: 'inspected'; id: number; result?: unknown; error?: string }
  | { type: 'error'; message: string };

export interface EngineResult {
  summary: RunSummaryCounts;
  rejected: RejectedControl[];
  problems: TraceProblem[];
  skippedControls: number;
  agreement: AgreementReport | null;
}
