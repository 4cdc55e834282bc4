// NativeTraceEncoder: turns a stream of TLP records and control events into the bytes of a native
// trace file (docs/trace-format.md), chunk by chunk, with no I/O: the caller writes each piece it
// returns, in order. Memory: one chunk's buffer (reused: a returned chunk is valid until the next call)
// plus 32 bytes per chunk written, the index the footer needs. Times never go back, are integer
// nanoseconds below 2^53, and a record or event that breaks that is refused with a RangeError before
// anything of it is written.
import { encodeChunkHeader } from './chunk';
import { encodeControlEntry } from './control';
import { crc32 } from './crc';
import { ChunkIndex } from './footer';
import { encodeHeadRegion, type NativeTraceHeader } from './header';
import type { TraceControlEvent } from './observed-fault';
import { CHUNK_HEADER_BYTES, isU53, MAX_CHUNK_PAYLOAD_BYTES, requireLittleEndian } from './layout';
import {
  ACCESS_ATOMIC,
  F_ACCESS_SHIFT,
  TLP_RECORD_BYTES,
  TLP_RECORD_WORDS,
  tlpProblem,
  tlpTime,
  W_FLAGS,
  writeTlp,
  type TlpRecord,
} from './tlp-record';

export interface EncoderOptions {
  /** records per chunk (default 4096: 128 KiB of records) */
  recordsPerChunk?: number;
  /** a chunk is closed once its control events take this many bytes (default 64 KiB) */
  maxControlBytes?: number;
}

export interface EncoderTotals {
  bytes: number;
  chunks: number;
  records: number;
  controls: number;
}

export class NativeTraceEncoder {
  readonly recordsPerChunk: number;
  readonly maxControlBytes: number;
  private readonly head: Uint8Array;
  private out: Uint8Array;
  /** the records of the open chunk, in place in `out` after the chunk header */
  private words: Uint32Array;
  private control = new Uint8Array(1024);
  private controlLen = 0;
  private recordCount = 0;
  private controlCount = 0;
  private firstTime = 0;
  private lastTime = 0;
  private started = false;
  private finished = false;
  private full: Uint8Array | null = null;
  private readonly index = new ChunkIndex();
  private readonly totals: EncoderTotals = { bytes: 0, chunks: 0, records: 0, controls: 0 };

  constructor(header: NativeTraceHeader, options: EncoderOptions = {}) {
    requireLittleEndian();
    this.recordsPerChunk = options.recordsPerChunk ?? 4096;
    this.maxControlBytes = options.maxControlBytes ?? 64 * 1024;
    if (
      !Number.isInteger(this.recordsPerChunk) ||
      this.recordsPerChunk < 1 ||
      this.recordsPerChunk * TLP_RECORD_BYTES + this.maxControlBytes > MAX_CHUNK_PAYLOAD_BYTES / 2
    ) {
      throw new RangeError('recordsPerChunk and maxControlBytes must leave a chunk well under 64 MiB');
    }
    this.head = encodeHeadRegion(header);
    this.out = new Uint8Array(CHUNK_HEADER_BYTES + this.recordsPerChunk * TLP_RECORD_BYTES);
    this.words = new Uint32Array(
      this.out.buffer,
      CHUNK_HEADER_BYTES,
      this.recordsPerChunk * TLP_RECORD_WORDS,
    );
  }

  /** The head region (magic, header, CRC): the file's first bytes. */
  start(): Uint8Array {
    if (this.started) throw new Error('start() was already called');
    this.started = true;
    this.totals.bytes = this.head.length;
    return this.head;
  }

  /** Appends a record; returns the chunk it completed (valid until the next call), if any. */
  addTlp(r: TlpRecord): Uint8Array | null {
    this.checkOpen();
    const problem = tlpProblem(r);
    if (problem) throw new RangeError(problem);
    this.checkTime(r.time);
    writeTlp(this.words, this.recordCount * TLP_RECORD_WORDS, r);
    this.noteItem(r.time);
    this.recordCount++;
    return this.recordCount === this.recordsPerChunk ? this.closeChunk() : null;
  }

  /**
   * Appends raw records (TLP_RECORD_WORDS words each) from src, starting at word firstWord, until
   * count are taken or the open chunk is full; returns how many it took. Collect a completed chunk
   * with takeFullChunk() before adding more. Checks times and access codes, not other fields.
   */
  addTlpWords(src: Uint32Array, firstWord: number, count: number): number {
    this.checkOpen();
    const n = Math.min(count, this.recordsPerChunk - this.recordCount);
    // Check the whole batch first, so a refused batch leaves nothing half-written.
    let prev = this.lastTime;
    for (let i = 0, w = firstWord; i < n; i++, w += TLP_RECORD_WORDS) {
      const t = tlpTime(src, w);
      if (!isU53(t) || t < prev)
        throw new RangeError(`record ${i}: time ${t} goes back or is not below 2^53`);
      if (((src[w + W_FLAGS]! >>> F_ACCESS_SHIFT) & 3) > ACCESS_ATOMIC) {
        throw new RangeError(`record ${i}: reserved access code 3`);
      }
      prev = t;
    }
    if (n === 0) return 0;
    const dst = this.words;
    const end = firstWord + n * TLP_RECORD_WORDS;
    for (let s = firstWord, d = this.recordCount * TLP_RECORD_WORDS; s < end; s++, d++) dst[d] = src[s]!;
    this.noteItem(tlpTime(src, firstWord));
    this.lastTime = prev;
    this.recordCount += n;
    if (this.recordCount === this.recordsPerChunk) this.full = this.closeChunk();
    return n;
  }

  /** The chunk completed by addTlpWords, once (valid until the next call), or null. */
  takeFullChunk(): Uint8Array | null {
    const c = this.full;
    this.full = null;
    return c;
  }

  /** Appends a control event at `time`; returns the chunk it completed, if any. */
  addControl(time: number, event: TraceControlEvent): Uint8Array | null {
    this.checkOpen();
    if (!isU53(time)) throw new RangeError(`time ${time} is not an integer number of ns in 0..2^53`);
    this.checkTime(time);
    const bytes = encodeControlEntry(time, this.recordCount, event);
    if (this.controlLen + bytes.length > this.control.length) {
      const grown = new Uint8Array(Math.max(this.control.length * 2, this.controlLen + bytes.length));
      grown.set(this.control.subarray(0, this.controlLen));
      this.control = grown;
    }
    this.control.set(bytes, this.controlLen);
    this.controlLen += bytes.length;
    this.noteItem(time);
    this.controlCount++;
    return this.controlLen >= this.maxControlBytes ? this.closeChunk() : null;
  }

  /** The last chunk, the footer and the trailer: the file's last bytes. The encoder is done. */
  finish(): Uint8Array[] {
    this.checkOpen();
    const pieces: Uint8Array[] = [];
    if (this.recordCount > 0 || this.controlCount > 0) pieces.push(this.closeChunk());
    this.finished = true;
    const footerOffset = this.totals.bytes;
    for (const p of this.index.footerPieces(footerOffset)) {
      pieces.push(p);
      this.totals.bytes += p.length;
    }
    return pieces;
  }

  /** What has been produced so far (after finish: the whole file). */
  get written(): Readonly<EncoderTotals> {
    return this.totals;
  }

  private checkOpen(): void {
    if (!this.started) throw new Error('call start() first and write its bytes');
    if (this.finished) throw new Error('the encoder is finished');
    if (this.full) throw new Error('take the full chunk (takeFullChunk) before adding more');
  }

  private checkTime(t: number): void {
    if (!isU53(t)) throw new RangeError(`time ${t} is not an integer number of ns in 0..2^53`);
    if (t < this.lastTime) throw new RangeError(`time ${t} goes back (previous item at ${this.lastTime})`);
  }

  private noteItem(t: number): void {
    if (this.recordCount === 0 && this.controlCount === 0) this.firstTime = t;
    this.lastTime = t;
  }

  private closeChunk(): Uint8Array {
    const recBytes = this.recordCount * TLP_RECORD_BYTES;
    const size = CHUNK_HEADER_BYTES + recBytes + this.controlLen;
    if (size > this.out.length) {
      const grown = new Uint8Array(size);
      grown.set(this.out.subarray(0, CHUNK_HEADER_BYTES + recBytes));
      this.out = grown;
      this.words = new Uint32Array(grown.buffer, CHUNK_HEADER_BYTES, this.recordsPerChunk * TLP_RECORD_WORDS);
    }
    this.out.set(this.control.subarray(0, this.controlLen), CHUNK_HEADER_BYTES + recBytes);
    const header = {
      sequence: this.totals.chunks,
      recordCount: this.recordCount,
      controlBytes: this.controlLen,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
      payloadCrc: crc32(this.out, CHUNK_HEADER_BYTES, size),
    };
    encodeChunkHeader(this.out, 0, header);
    this.index.push({
      offset: this.totals.bytes,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
      recordCount: this.recordCount,
    });
    this.totals.bytes += size;
    this.totals.chunks++;
    this.totals.records += this.recordCount;
    this.totals.controls += this.controlCount;
    this.recordCount = 0;
    this.controlCount = 0;
    this.controlLen = 0;
    return this.out.subarray(0, size);
  }
}
