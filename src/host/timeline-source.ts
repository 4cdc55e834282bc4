// Where the timeline's TLP density comes from, without replaying: for a native trace, the footer's
// index of chunks by time with their record counts (one read of 32 bytes per chunk, cached per file;
// a damaged footer falls back to NativeTraceFile's rebuilt index); for a text trace, the DMA events'
// times. The trace's span runs from its first event to its last.
import { open, stat } from 'node:fs/promises';
import type { ReplayEvent } from '../engine/replay';
import { bucketTimes, spreadChunks } from '../report/timeline';
import {
  FOOTER_HEADER_BYTES,
  INDEX_ENTRY_BYTES,
  parseIndexEntry,
  parseTrailer,
  TRAILER_BYTES,
} from '../trace/native/index';
import { NativeTraceFile } from './trace-file';

export interface TlpDensity {
  start: number;
  end: number;
  tlps: Float64Array;
}

/** A native trace's chunks: first and last time and record count of each. */
export interface ChunkSpans {
  n: number;
  first: Float64Array;
  last: Float64Array;
  counts: Float64Array;
}

/** The footer's entries in one read; null when the footer is missing or any entry is damaged. */
async function footerSpans(f: NativeTraceFile): Promise<ChunkSpans | null> {
  const n = f.chunkCount;
  const spans = { n, first: new Float64Array(n), last: new Float64Array(n), counts: new Float64Array(n) };
  if (f.indexSource !== 'footer' || n === 0) return n === 0 ? spans : null;
  const fh = await open(f.path, 'r');
  try {
    const trailer = new Uint8Array(TRAILER_BYTES);
    await fh.read(trailer, 0, TRAILER_BYTES, f.size - TRAILER_BYTES);
    const footer = parseTrailer(trailer, 0);
    if (typeof footer !== 'number') return null;
    const b = new Uint8Array(n * INDEX_ENTRY_BYTES);
    const { bytesRead } = await fh.read(b, 0, b.length, footer + FOOTER_HEADER_BYTES);
    if (bytesRead !== b.length) return null;
    for (let i = 0; i < n; i++) {
      const e = parseIndexEntry(b, i * INDEX_ENTRY_BYTES);
      if (typeof e === 'string') return null;
      spans.first[i] = e.firstTime;
      spans.last[i] = e.lastTime;
      spans.counts[i] = e.recordCount;
    }
    return spans;
  } finally {
    await fh.close();
  }
}

/** The chunk spans of the native trace at `path`, from its footer (or its rebuilt index). */
export async function nativeChunkSpans(path: string): Promise<ChunkSpans> {
  const f = await NativeTraceFile.open(path);
  try {
    const fast = await footerSpans(f);
    if (fast) return fast;
    const n = f.chunkCount;
    const spans = { n, first: new Float64Array(n), last: new Float64Array(n), counts: new Float64Array(n) };
    for (let i = 0; i < n; i++) {
      const e = await f.entry(i);
      spans.first[i] = e.firstTime;
      spans.last[i] = e.lastTime;
      spans.counts[i] = e.recordCount;
    }
    // a damaged entry rebuilds the index: it may hold fewer chunks than the footer said
    const m = Math.min(n, f.chunkCount);
    return { n: m, first: spans.first, last: spans.last, counts: spans.counts };
  } finally {
    await f.close();
  }
}

let nativeCache: { key: string; spans: Promise<ChunkSpans> } | null = null;
const textCache = new WeakMap<readonly ReplayEvent[], Map<number, TlpDensity>>();

/** TLPs by time bucket over a native trace's span (first chunk's first time to the last time). */
export async function nativeTlpDensity(path: string, buckets: number): Promise<TlpDensity> {
  const s = await stat(path);
  const key = `${path}\0${s.size}\0${s.mtimeMs}`;
  if (nativeCache?.key !== key) {
    const spans = nativeChunkSpans(path);
    nativeCache = { key, spans };
    spans.catch(() => {
      if (nativeCache?.spans === spans) nativeCache = null;
    });
  }
  const c = await nativeCache.spans;
  let start = 0;
  let end = 0;
  if (c.n > 0) {
    start = c.first[0]!;
    for (let i = 0; i < c.n; i++) end = Math.max(end, c.last[i]!);
  }
  return { start, end, tlps: spreadChunks(c.first, c.last, c.counts, c.n, { start, end, buckets }) };
}

/** DMA events by time bucket over a text trace's span (first event to last). */
export function textTlpDensity(events: readonly ReplayEvent[], buckets: number): TlpDensity {
  let byBuckets = textCache.get(events);
  const hit = byBuckets?.get(buckets);
  if (hit) return hit;
  const start = events[0]?.time ?? 0;
  const end = events.at(-1)?.time ?? 0;
  const times: number[] = [];
  for (const e of events) if (e.kind === 'dma') times.push(e.time);
  const d = { start, end, tlps: bucketTimes(times, times.length, { start, end, buckets }) };
  if (!byBuckets) textCache.set(events, (byBuckets = new Map()));
  byBuckets.set(buckets, d);
  return d;
}
