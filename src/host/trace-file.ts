// Native trace files on disk (docs/trace-format.md): the Node I/O around the pure codec of
// src/trace/native. Memory stays bounded whatever the file's size:
//   NativeTraceWriter  writes as it goes, holding at most one chunk (plus 32 bytes per chunk for the
//                      footer index); each chunk is on its way to disk before the call returns.
//   readNativeTrace    streams a file through the decoder, chunk by chunk, with back-pressure; damage
//                      is reported (offset, bytes skipped) and reading goes on.
//   NativeTraceFile    random access with positional reads: seek(t) finds the first record at or after
//                      time t by binary search over the footer's index entries (O(log n) reads of 32
//                      bytes), then inside one chunk. When the footer is missing or damaged it rebuilds
//                      the index by one streaming scan (32 bytes per chunk in memory) and says so.
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import {
  CHUNK_HEADER_BYTES,
  ChunkIndex,
  decodeChunkPayload,
  decodeHeadRegion,
  FOOTER_HEADER_BYTES,
  footerBytes,
  firstRecordAtOrAfter,
  INDEX_ENTRY_BYTES,
  NativeTraceDecoder,
  NativeTraceEncoder,
  parseChunkHeader,
  parseFooterHeader,
  parseIndexEntry,
  parsePreamble,
  parseTrailer,
  payloadBytes,
  PREAMBLE_BYTES,
  TLP_RECORD_WORDS,
  tlpTime,
  TRAILER_BYTES,
  type DecodedChunk,
  type DecodedItem,
  type EncoderOptions,
  type EncoderTotals,
  type IndexEntry,
  type NativeTraceHeader,
  type TlpRecord,
  type TraceControlEvent,
  type TraceProblem,
} from '../trace/native/index';

/** Writes a native trace file. Call close() to write the footer; without it the file has none. */
export class NativeTraceWriter {
  private constructor(
    private readonly fh: FileHandle,
    private readonly enc: NativeTraceEncoder,
  ) {}

  /** Creates (or truncates) path and writes the head region. */
  static async create(
    path: string,
    header: NativeTraceHeader,
    options?: EncoderOptions,
  ): Promise<NativeTraceWriter> {
    const enc = new NativeTraceEncoder(header, options);
    const fh = await open(path, 'w');
    try {
      await fh.write(enc.start());
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new NativeTraceWriter(fh, enc);
  }

  /** Appends one record (RangeError when a field is out of range or the time goes back). */
  async tlp(r: TlpRecord): Promise<void> {
    const full = this.enc.addTlp(r);
    if (full) await this.fh.write(full);
  }

  /** Appends count raw records (TLP_RECORD_WORDS words each) from words, starting at firstWord. */
  async tlpWords(words: Uint32Array, firstWord: number, count: number): Promise<void> {
    let done = 0;
    while (done < count) {
      done += this.enc.addTlpWords(words, firstWord + done * TLP_RECORD_WORDS, count - done);
      const full = this.enc.takeFullChunk();
      if (full) await this.fh.write(full);
    }
  }

  /** Appends a control event at `time` (integer ns, never before the previous item). */
  async control(time: number, event: TraceControlEvent): Promise<void> {
    const full = this.enc.addControl(time, event);
    if (full) await this.fh.write(full);
  }

  /** Writes the last chunk, the footer and the trailer, and closes the file. */
  async close(): Promise<EncoderTotals> {
    try {
      for (const piece of this.enc.finish()) await this.fh.write(piece);
    } finally {
      await this.fh.close();
    }
    return { ...this.enc.written };
  }
}

/** Streams a native trace file: its header, chunks, footer and problems, in file order. */
export async function* readNativeTrace(path: string, pieceBytes = 256 * 1024): AsyncGenerator<DecodedItem> {
  const decoder = new NativeTraceDecoder();
  const stream = createReadStream(path, { highWaterMark: pieceBytes });
  try {
    for await (const piece of stream) yield* decoder.push(piece as Buffer);
    yield* decoder.end();
  } finally {
    stream.destroy();
  }
}

export interface TracePosition {
  /** index of the chunk in the file's index */
  chunk: number;
  /** file offset of that chunk */
  offset: number;
  /** index of the record inside the chunk */
  record: number;
  /** the record's time */
  time: number;
}

class DamagedEntry extends Error {}

/** Random access to a native trace file by positional reads. */
export class NativeTraceFile {
  header: NativeTraceHeader | null = null;
  /** problems found while opening, indexing and reading, in the order found */
  readonly problems: TraceProblem[] = [];
  /** where the chunk index comes from: the file's footer, or a scan of the file */
  indexSource: 'footer' | 'scan' = 'footer';
  private footerOffset = 0;
  private footerEntries = 0;
  private scanned: ChunkIndex | null = null;
  private readonly seen = new Set<string>();

  private constructor(
    readonly path: string,
    readonly size: number,
    private readonly fh: FileHandle,
  ) {}

  static async open(path: string): Promise<NativeTraceFile> {
    const fh = await open(path, 'r');
    try {
      const f = new NativeTraceFile(path, (await fh.stat()).size, fh);
      await f.readHead();
      await f.readFooter();
      return f;
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /** Number of chunks in the index. */
  get chunkCount(): number {
    return this.scanned ? this.scanned.count : this.footerEntries;
  }

  /**
   * The index entry of chunk i (0 ≤ i < chunkCount). A damaged footer entry makes the file rebuild
   * its index by a scan, once; chunkCount then counts the intact chunks found.
   */
  async entry(i: number): Promise<IndexEntry> {
    try {
      return await this.entryOnce(i);
    } catch (e) {
      if (!(e instanceof DamagedEntry)) throw e;
      await this.scan();
      if (i >= this.chunkCount) throw new RangeError(`no chunk ${i} in the rebuilt index`, { cause: e });
      return this.entryOnce(i);
    }
  }

  /** Reads and checks chunk i; a damaged chunk is a problem (also listed in `problems`). */
  async readChunk(i: number): Promise<DecodedChunk | TraceProblem> {
    return this.readChunkAt(await this.entry(i));
  }

  /** Chunks from index i on, one at a time; damaged ones come as problems. */
  async *chunksFrom(i = 0): AsyncGenerator<DecodedChunk | TraceProblem> {
    for (let j = i; j < this.chunkCount; j++) yield await this.readChunk(j);
  }

  /**
   * The first record whose time is at or after t, or null when there is none. Binary search over the
   * index by last time (O(log n) reads), then inside the chunk; a damaged chunk is passed over, so
   * the answer is the first readable record at or after t.
   */
  async seek(t: number): Promise<TracePosition | null> {
    try {
      return await this.seekOnce(t);
    } catch (e) {
      if (!(e instanceof DamagedEntry)) throw e;
      await this.scan();
      return this.seekOnce(t);
    }
  }

  private async seekOnce(t: number): Promise<TracePosition | null> {
    let lo = 0;
    let hi = this.chunkCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((await this.entryOnce(mid)).lastTime < t) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.chunkCount; i++) {
      const c = await this.readChunkAt(await this.entryOnce(i));
      if (!('records' in c)) continue;
      const k = firstRecordAtOrAfter(c, t);
      if (k < c.recordCount) {
        return { chunk: i, offset: c.offset, record: k, time: tlpTime(c.records, k * TLP_RECORD_WORDS) };
      }
    }
    return null;
  }

  private async readChunkAt(e: IndexEntry): Promise<DecodedChunk | TraceProblem> {
    const head = await this.read(e.offset, CHUNK_HEADER_BYTES);
    const h = parseChunkHeader(head, 0, e.offset);
    if (typeof h === 'string') return this.problem(e.offset, 0, `chunk at offset ${e.offset}: ${h}`);
    if (h.firstTime !== e.firstTime || h.lastTime !== e.lastTime || h.recordCount !== e.recordCount) {
      return this.problem(e.offset, 0, `chunk ${h.sequence}: does not match its index entry`);
    }
    const total = CHUNK_HEADER_BYTES + payloadBytes(h);
    const c = decodeChunkPayload(h, await this.read(e.offset + CHUNK_HEADER_BYTES, payloadBytes(h)));
    return typeof c === 'string' ? this.problem(e.offset, total, `chunk ${h.sequence}: ${c}`) : c;
  }

  /** Records a problem once, however often a seek or a read meets it. */
  private problem(offset: number, length: number, message: string): TraceProblem {
    const p = { offset, length, message };
    const key = `${offset}:${message}`;
    if (!this.seen.has(key)) {
      this.seen.add(key);
      this.problems.push(p);
    }
    return p;
  }

  private async read(position: number, length: number): Promise<Uint8Array> {
    const b = new Uint8Array(Math.max(0, Math.min(length, this.size - position)));
    let done = 0;
    while (done < b.length) {
      const { bytesRead } = await this.fh.read(b, done, b.length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === b.length ? b : b.subarray(0, done);
  }

  private async readHead(): Promise<void> {
    const pre = parsePreamble(await this.read(0, PREAMBLE_BYTES));
    if (!pre.ok) return void this.problem(0, 0, pre.message);
    const r = decodeHeadRegion(await this.read(0, pre.headRegionBytes));
    if (r.ok) this.header = r.header;
    else if (r.fatal) throw new Error(`${this.path}: ${r.message}`);
    else this.problem(0, pre.headRegionBytes, r.message);
  }

  private async readFooter(): Promise<void> {
    const why = await this.footerProblem();
    if (why !== null) {
      this.problem(Math.max(0, this.size - TRAILER_BYTES), 0, `${why}: index rebuilt by scanning the file`);
      await this.scan();
    }
  }

  /** Locates the footer; the reason it cannot be used, or null. */
  private async footerProblem(): Promise<string | null> {
    if (this.size < PREAMBLE_BYTES + footerBytes(0)) return 'no footer';
    const off = parseTrailer(await this.read(this.size - TRAILER_BYTES, TRAILER_BYTES), 0);
    if (typeof off === 'string') return off;
    if (off + footerBytes(0) > this.size) return 'trailer points past the end';
    const n = parseFooterHeader(await this.read(off, FOOTER_HEADER_BYTES), 0);
    if (typeof n === 'string') return n;
    if (off + footerBytes(n) !== this.size) return 'footer size does not match the file';
    this.footerOffset = off;
    this.footerEntries = n;
    return null;
  }

  private async entryOnce(i: number): Promise<IndexEntry> {
    if (!Number.isInteger(i) || i < 0 || i >= this.chunkCount) throw new RangeError(`no chunk ${i}`);
    if (this.scanned) return this.scanned.get(i);
    const at = this.footerOffset + FOOTER_HEADER_BYTES + i * INDEX_ENTRY_BYTES;
    const e = parseIndexEntry(await this.read(at, INDEX_ENTRY_BYTES), 0);
    if (typeof e === 'string') {
      this.problem(at, INDEX_ENTRY_BYTES, `footer: ${e}: index rebuilt by scanning the file`);
      throw new DamagedEntry(e);
    }
    return e;
  }

  /** Builds the index from the chunks a streaming read finds (their problems join `problems`). */
  private async scan(): Promise<void> {
    if (this.scanned) return;
    const index = new ChunkIndex();
    for await (const it of readNativeTrace(this.path)) {
      if (it.kind === 'chunk') index.push(it.chunk);
      else if (it.kind === 'problem') this.problem(it.problem.offset, it.problem.length, it.problem.message);
    }
    this.scanned = index;
    this.indexSource = 'scan';
  }
}
