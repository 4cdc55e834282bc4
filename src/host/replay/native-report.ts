// Fault reports of native traces (docs/report.md): the report's pass over the file, in this thread.
//
// A report needs, for each fault cluster, the page walk and the group's state at the moment its first
// fault happened, and at the end the lab's final state (mappings, groups, PASID attachments, the
// unmaps hints name). The worker player's engine folds faults out in batches and sends only counts and
// the fault table's rows, so it cannot give these without changing its engine (see the note in
// src/cli/report-command.ts). This pass reads the chunks (readNativeTrace, bounded memory), merges each
// chunk's TLP records and control events in file order exactly as the player does (chunkItems), and
// feeds them to a ReportRun (src/report/report-model.ts), which walks the tables when a cluster opens.
// Nothing is capped: every fault is counted into its cluster; the run keeps one Fault object per
// cluster, so memory grows with clusters and distinct faulting pages, not with faults.
// A text trace and its native conversion give the same clusters.
import { createReadStream } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Platform } from '../../engine/platform/index';
import type { ReplayEvent } from '../../engine/replay';
import { ReportRun, type ReportInputError, type ReportOptions } from '../../report/report-model';
import { TLP_RECORD_WORDS, type TraceProblem } from '../../trace/native/index';
import { readNativeTrace } from '../trace-file';
import { chunkItems } from './chunk-items';
import type { NativeInput } from './native-input';

export interface NativeReportPass {
  run: ReportRun;
  /** TLP records and control events of the trace (edit events and observed faults excluded) */
  events: number;
  /** damaged parts and skipped control events, once each */
  errors: ReportInputError[];
}

/**
 * Replays a native trace for its report: `before` (what-if edit events) first, then the trace. `label`
 * names the trace in control events' origins ("x.iotrace chunk 3 event 0"), as the player does.
 */
export async function nativeReportPass(
  input: NativeInput,
  platform: Platform,
  options: ReportOptions,
  before: readonly ReplayEvent[],
  label: string,
): Promise<NativeReportPass> {
  const run = new ReportRun(platform, options, 1);
  for (const e of before) run.apply(e);
  const problems: TraceProblem[] = [...input.problems];
  for await (const it of readNativeTrace(input.path)) {
    if (it.kind === 'problem') {
      problems.push(it.problem);
      continue;
    }
    if (it.kind !== 'chunk') continue;
    const c = it.chunk;
    const { items, before: at } = chunkItems(c, label, c.offset);
    const words = c.records;
    let r = 0;
    for (let i = 0; i <= items.length; i++) {
      const until = i < items.length ? at[i]! : c.recordCount;
      for (; r < until; r++) run.tlpWords(words, r * TLP_RECORD_WORDS);
      const item = items[i];
      if (!item) continue;
      if (item.kind === 'control') {
        // as EngineCore.item: an event without its own `t` takes the trace time
        const event = item.event.t === undefined ? { ...item.event, t: item.time } : item.event;
        run.apply({ kind: 'control', time: item.time, origin: item.origin, event });
      } else if (item.kind === 'problem') problems.push(item.problem);
    }
  }
  const seen = new Set<string>();
  const errors: ReportInputError[] = [];
  for (const p of problems) {
    const key = `${p.offset}:${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({ file: input.path, offset: p.offset, length: p.length, message: p.message });
  }
  return { run, events: run.events - before.length, errors };
}

/** SHA-256 and size of a file, read as a stream (a native trace may not fit in memory). */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = sha256.create();
  let bytes = 0;
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = piece as Buffer;
    h.update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    bytes += b.byteLength;
  }
  return { sha256: bytesToHex(h.digest()), bytes };
}
