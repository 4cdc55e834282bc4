// The decoder worker: reads a native trace from a chunk's file offset to its end and fills the
// SharedArrayBuffer ring with its TLP records and a marker record (word 3 = MARK_ITEM, an access code
// no checked record has) where each queue item goes: the chunk's start, its control events and observed faults,
// problems. Items are posted to the engine's item port, gathered, just before the records that refer to
// them are published in the ring (RingProducer onPublish; protocol.ts). It blocks only when the ring is full. A run ends at the end of the file (the ring
// is closed) or when the engine raises the stop word to the run's generation (checked between chunks).
// Runs come from the engine's command port, one at a time.
//
// The fast path reads each chunk with two positional reads (header, payload) into one reused,
// aligned buffer and checks it in place (decodeChunkPayload with that buffer: no allocation or copy
// per chunk, zlib's native CRC-32), so the only copy is into the ring. At the first chunk that does not
// check out it hands the rest of the file to the streaming NativeTraceDecoder, which resyncs over
// damage and reports each problem with its file offset.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { RingProducer } from '../../engine/ring/spsc-ring';
import { useCrc32 } from '../../trace/native/crc';
import {
  CHUNK_HEADER_BYTES,
  decodeChunkPayload,
  NativeTraceDecoder,
  parseChunkHeader,
  parseFooterHeader,
  payloadBytes,
  TLP_RECORD_WORDS,
  type DecodedChunk,
  type DecodedItem,
  type TraceProblem,
} from '../../trace/native/index';
import { chunkItems } from './chunk-items';
import { MARK_ITEM, type DecoderCommand, type DecoderData, type QueueItem } from './protocol';

const PIECE = 1 << 20;

export function runDecoderWorker(d: DecoderData): void {
  const crc = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
  if (crc) useCrc32((b) => crc(b));
  const fd = openSync(d.path, 'r');
  const stop = new Int32Array(d.stop);
  const piece = Buffer.allocUnsafe(PIECE);
  const head = new Uint8Array(CHUNK_HEADER_BYTES);
  let scratch = new Uint8Array(256 * 1024);

  function readFully(into: Uint8Array, length: number, position: number): boolean {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, into, done, length - done, position + done);
      if (n <= 0) return false;
      done += n;
    }
    return true;
  }

  function run(cmd: Extract<DecoderCommand, { type: 'run' }>): void {
    const gen = cmd.generation;
    // Queue items wait here until the records that refer to them are published (onPublish), then go in
    // one message: one per published batch of records rather than one per chunk.
    let outbox: QueueItem[] = [];
    const flush = (): void => {
      if (outbox.length === 0) return;
      d.items.postMessage({ generation: gen, items: outbox });
      outbox = [];
    };
    // naps of 0.1 ms for up to 3 ms on a full ring: the engine frees a quarter of it far sooner while it
    // plays, so it never pays for waking this thread (bench: the engine's thread is the bottleneck)
    const producer = new RingProducer(cmd.ring, { pollMs: 0.1, polls: 30, onPublish: flush });
    const words = producer.words;
    const size = fstatSync(fd).size;
    let lastTime = 0;
    let chunks = 0;
    const marker = (time: number): void => {
      const at = producer.claim();
      words[at] = time >>> 0;
      words[at + 1] = Math.floor(time / 2 ** 32);
      words[at + 2] = 0;
      words[at + 3] = MARK_ITEM;
      words[at + 4] = 0;
      words[at + 5] = 0;
      words[at + 6] = 0;
      words[at + 7] = 0;
      producer.commit();
    };
    const send = (items: QueueItem[]): void => {
      for (const it of items) outbox.push(it);
    };
    const chunk = (c: DecodedChunk, offset: number): void => {
      const { items, before } = chunkItems(c, d.label, offset);
      const rec = c.records;
      send(items);
      let r = 0;
      for (let i = 0; i < items.length; i++) {
        const b = before[i]!;
        if (b > r) producer.write(rec, r * TLP_RECORD_WORDS, b - r, false);
        r = b;
        const item = items[i]!;
        marker(item.kind === 'chunk' ? item.firstTime : item.time);
      }
      if (c.recordCount > r) producer.write(rec, r * TLP_RECORD_WORDS, c.recordCount - r, false);
      lastTime = c.lastTime;
      chunks++;
    };
    const problem = (p: TraceProblem): void => {
      send([{ kind: 'problem', time: lastTime, problem: p }]);
      marker(lastTime);
      producer.publish();
    };
    const stopped = (): boolean => Atomics.load(stop, 0) >= gen;

    /** The fast path; returns where the streaming decoder must take over, or -1 when done. */
    const fast = (pos: number): number => {
      while (pos < size) {
        if (stopped()) return -1;
        if (size - pos < CHUNK_HEADER_BYTES || !readFully(head, CHUNK_HEADER_BYTES, pos)) return pos;
        const h = parseChunkHeader(head, 0, pos);
        if (typeof h === 'string') return typeof parseFooterHeader(head, 0) === 'number' ? -1 : pos;
        const len = payloadBytes(h);
        if (pos + CHUNK_HEADER_BYTES + len > size) return pos;
        if (scratch.length < len) scratch = new Uint8Array((Math.max(len, scratch.length * 2) + 3) & ~3);
        if (!readFully(scratch, len, pos + CHUNK_HEADER_BYTES)) return pos;
        const into = new Uint32Array(scratch.buffer, 0, h.recordCount * TLP_RECORD_WORDS);
        const c = decodeChunkPayload(h, scratch.subarray(0, len), into);
        if (typeof c === 'string') return pos;
        chunk(c, pos);
        pos += CHUNK_HEADER_BYTES + len;
      }
      return -1;
    };

    /** The streaming decoder from `from` to the end: resync over damage, every problem reported. */
    const streaming = (from: number): void => {
      const dec = new NativeTraceDecoder();
      dec.push(d.headRegion);
      // It sees the head region, then the file from `from`: offsets past the head region shift back.
      const delta = from - d.headRegion.length;
      const fileOffset = (o: number): number => (o >= d.headRegion.length ? o + delta : o);
      const handle = (it: DecodedItem): void => {
        if (it.kind === 'chunk') chunk(it.chunk, fileOffset(it.chunk.offset));
        else if (it.kind === 'problem') problem({ ...it.problem, offset: fileOffset(it.problem.offset) });
      };
      let pos = from;
      while (pos < size) {
        const n = readSync(fd, piece, 0, Math.min(PIECE, size - pos), pos);
        if (n <= 0) break;
        pos += n;
        for (const it of dec.push(piece.subarray(0, n))) {
          if (stopped()) return;
          handle(it);
        }
      }
      for (const it of dec.end()) handle(it);
    };

    try {
      const rest = fast(cmd.fromOffset);
      if (rest >= 0 && !stopped()) streaming(rest);
    } finally {
      producer.close(); // the engine must never wait on a ring nobody will write
    }
    parentPort?.postMessage({ type: 'ran', generation: gen, chunks, stopped: stopped() });
  }

  d.commands.on('message', (cmd: DecoderCommand) => {
    if (cmd.type === 'run') {
      try {
        run(cmd);
      } catch (e) {
        parentPort?.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
      }
    } else {
      d.commands.close();
      d.items.close();
      closeSync(fd);
    }
  });
  parentPort?.postMessage({ type: 'ready' });
}

if (parentPort && (workerData as { role?: string } | null)?.role === 'decoder') {
  runDecoderWorker(workerData as DecoderData);
}
