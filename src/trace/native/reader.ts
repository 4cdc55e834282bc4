// NativeTraceDecoder: reads a native trace (docs/trace-format.md) from a stream of byte pieces of any
// size, with no I/O, and yields its header, its chunks in file order, its footer and its problems.
// Memory is bounded by the largest chunk (64 MiB at most, 128 KiB for the default writer), whatever
// the file's size or the pieces' size.
//
// Damage never stops it: a bad or truncated header, a chunk whose header or payload fails its CRC,
// stray bytes, a damaged footer or index entry are each reported once as a TraceProblem with their
// file offset and the number of bytes skipped, and reading goes on at the next chunk: the decoder
// scans forward byte by byte for the next sync marker whose header CRC matches (resync), so bytes
// lost or inserted inside a chunk cost that chunk only. Only an intact header of an unknown version
// stops it. Every step consumes input or waits for more, so no input makes it loop.
import { decodeChunkPayload, isChunkSync, parseChunkHeader, payloadBytes, type DecodedChunk } from './chunk';
import { isFooterSync, parseFooterHeader, parseIndexEntry, parseTrailer } from './footer';
import { decodeHeadRegion, parsePreamble, type NativeTraceHeader } from './header';
import {
  CHUNK_HEADER_BYTES,
  FOOTER_HEADER_BYTES,
  INDEX_ENTRY_BYTES,
  MAX_CHUNK_PAYLOAD_BYTES,
  PREAMBLE_BYTES,
  TRAILER_BYTES,
} from './layout';

export interface TraceProblem {
  /** file offset where the damage starts */
  offset: number;
  /** bytes skipped from there (0 when nothing was skipped) */
  length: number;
  message: string;
}

export type DecodedItem =
  | { kind: 'header'; header: NativeTraceHeader }
  | { kind: 'chunk'; chunk: DecodedChunk }
  | { kind: 'footer'; offset: number; entries: number }
  | { kind: 'problem'; problem: TraceProblem };

type State = 'head' | 'body' | 'scan' | 'index' | 'trailer' | 'done';

const MAX_BUFFER = CHUNK_HEADER_BYTES + MAX_CHUNK_PAYLOAD_BYTES;

export class NativeTraceDecoder {
  private buf = new Uint8Array(256 * 1024);
  /** file offset of buf[0] */
  private base = 0;
  /** unparsed bytes are buf[lo, hi) */
  private lo = 0;
  private hi = 0;
  /** bytes the parser needs at lo to make progress */
  private need = PREAMBLE_BYTES;
  private state: State = 'head';
  private scanStart = 0;
  private scanReason = '';
  private entriesLeft = 0;
  private footerOffset = -1;
  private sawFooter = false;
  private ended = false;

  /** Feeds the next bytes of the file; returns what they completed. */
  push(bytes: Uint8Array): DecodedItem[] {
    if (this.ended) throw new Error('push() after end()');
    const items: DecodedItem[] = [];
    let i = 0;
    while (i < bytes.length && this.state !== 'done') {
      const k = Math.min(this.room(), bytes.length - i);
      this.buf.set(bytes.subarray(i, i + k), this.hi);
      this.hi += k;
      i += k;
      this.parse(items, false);
    }
    return items;
  }

  /** Marks the end of the file; returns what that completed (problems for what was cut short). */
  end(): DecodedItem[] {
    if (this.ended) return [];
    this.ended = true;
    const items: DecodedItem[] = [];
    this.parse(items, true);
    return items;
  }

  private get offset(): number {
    return this.base + this.lo;
  }

  /** Room after hi, compacting or growing the buffer when the parser waits for more than fits. */
  private room(): number {
    if (this.lo === this.hi) {
      this.base += this.lo;
      this.lo = this.hi = 0;
    } else if (this.hi === this.buf.length || this.lo >= this.buf.length >>> 1) {
      this.buf.copyWithin(0, this.lo, this.hi);
      this.base += this.lo;
      this.hi -= this.lo;
      this.lo = 0;
    }
    if (this.hi === this.buf.length) {
      const grown = new Uint8Array(Math.max(this.need, Math.min(this.buf.length * 2, MAX_BUFFER)));
      grown.set(this.buf.subarray(0, this.hi));
      this.buf = grown;
    }
    return this.buf.length - this.hi;
  }

  /** Records that parsing waits for n bytes at lo. */
  private waitFor(n: number): void {
    this.need = n;
  }

  /** Bytes the decoder holds for its buffer: bounded by the largest chunk, not by the file. */
  get bufferBytes(): number {
    return this.buf.length;
  }

  private problem(items: DecodedItem[], offset: number, length: number, message: string): void {
    items.push({ kind: 'problem', problem: { offset, length, message } });
  }

  private startScan(regionStart: number, reason: string, resumeAt: number): void {
    this.state = 'scan';
    this.scanStart = regionStart;
    this.scanReason = reason;
    this.lo = resumeAt;
  }

  private parse(items: DecodedItem[], atEnd: boolean): void {
    for (;;) {
      const avail = this.hi - this.lo;
      const off = this.offset;
      switch (this.state) {
        case 'done':
          return;
        case 'head': {
          if (avail < PREAMBLE_BYTES) {
            if (!atEnd) return this.waitFor(PREAMBLE_BYTES);
            this.problem(items, off, avail, avail === 0 ? 'empty file' : 'truncated header');
            this.state = 'done';
            return;
          }
          const pre = parsePreamble(this.buf.subarray(this.lo, this.lo + PREAMBLE_BYTES));
          if (!pre.ok) {
            this.startScan(off, pre.message, this.lo + 1);
            break;
          }
          if (avail < pre.headRegionBytes) {
            if (!atEnd) return this.waitFor(pre.headRegionBytes);
            this.startScan(off, 'truncated or damaged header', this.lo + PREAMBLE_BYTES);
            break;
          }
          const r = decodeHeadRegion(this.buf.subarray(this.lo, this.lo + pre.headRegionBytes));
          if (r.ok) {
            items.push({ kind: 'header', header: r.header });
            this.lo += pre.headRegionBytes;
            this.state = 'body';
          } else if (r.fatal) {
            this.problem(items, off, pre.headRegionBytes, `${r.message}: the rest is not read`);
            this.state = 'done';
            return;
          } else if (r.intact) {
            this.problem(items, off, pre.headRegionBytes, r.message);
            this.lo += pre.headRegionBytes;
            this.state = 'body';
          } else {
            this.startScan(off, r.message, this.lo + PREAMBLE_BYTES);
          }
          break;
        }
        case 'body': {
          if (avail < 4) {
            if (!atEnd) return this.waitFor(4);
            if (avail > 0) this.problem(items, off, avail, `truncated: ${avail} stray bytes at the end`);
            else if (!this.sawFooter) {
              this.problem(items, off, 0, 'no footer: the trace ends without its index (it was not closed)');
            }
            this.state = 'done';
            return;
          }
          if (isChunkSync(this.buf, this.lo)) {
            if (avail < CHUNK_HEADER_BYTES) {
              if (!atEnd) return this.waitFor(CHUNK_HEADER_BYTES);
              this.problem(items, off, avail, 'truncated chunk header');
              this.state = 'done';
              return;
            }
            const h = parseChunkHeader(this.buf, this.lo, off);
            if (typeof h === 'string') {
              this.startScan(off, h, this.lo + 1);
              break;
            }
            const total = CHUNK_HEADER_BYTES + payloadBytes(h);
            if (avail < total) {
              if (!atEnd) return this.waitFor(total);
              // Bytes may have been lost inside this chunk: look for intact chunks in what is left.
              this.startScan(
                off,
                `chunk ${h.sequence} truncated: ${avail} of its ${total} bytes`,
                this.lo + 1,
              );
              break;
            }
            const c = decodeChunkPayload(h, this.buf.subarray(this.lo + CHUNK_HEADER_BYTES, this.lo + total));
            if (typeof c === 'string') {
              // Not skipped by its length: bytes inserted or lost in it would throw the next one off.
              this.startScan(off, `chunk ${h.sequence}: ${c}`, this.lo + 1);
              break;
            }
            items.push({ kind: 'chunk', chunk: c });
            for (const s of c.skippedControls) {
              this.problem(
                items,
                off,
                0,
                `chunk ${h.sequence}, control event ${s.index} skipped: ${s.message}`,
              );
            }
            this.lo += total;
            break;
          }
          if (isFooterSync(this.buf, this.lo)) {
            if (avail < FOOTER_HEADER_BYTES) {
              if (!atEnd) return this.waitFor(FOOTER_HEADER_BYTES);
              this.problem(items, off, avail, 'truncated footer');
              this.state = 'done';
              return;
            }
            const n = parseFooterHeader(this.buf, this.lo);
            if (typeof n === 'string') {
              this.startScan(off, n, this.lo + 1);
              break;
            }
            items.push({ kind: 'footer', offset: off, entries: n });
            this.sawFooter = true;
            this.footerOffset = off;
            this.entriesLeft = n;
            this.lo += FOOTER_HEADER_BYTES;
            this.state = 'index';
            break;
          }
          this.startScan(off, 'unexpected bytes where a chunk should start', this.lo + 1);
          break;
        }
        case 'index': {
          if (this.entriesLeft === 0) {
            this.state = 'trailer';
            break;
          }
          if (avail < INDEX_ENTRY_BYTES) {
            if (!atEnd) return this.waitFor(INDEX_ENTRY_BYTES);
            this.problem(items, this.footerOffset, off + avail - this.footerOffset, 'truncated footer');
            this.state = 'done';
            return;
          }
          const e = parseIndexEntry(this.buf, this.lo);
          if (typeof e === 'string') this.problem(items, off, INDEX_ENTRY_BYTES, `footer: ${e}`);
          this.lo += INDEX_ENTRY_BYTES;
          this.entriesLeft--;
          break;
        }
        case 'trailer': {
          if (avail < TRAILER_BYTES) {
            if (!atEnd) return this.waitFor(TRAILER_BYTES);
            this.problem(items, off, avail, 'truncated trailer');
            this.state = 'done';
            return;
          }
          const t = parseTrailer(this.buf, this.lo);
          if (typeof t === 'string' || t !== this.footerOffset) {
            this.problem(items, off, TRAILER_BYTES, typeof t === 'string' ? t : 'trailer points elsewhere');
          }
          this.lo += TRAILER_BYTES;
          this.state = 'body';
          break;
        }
        case 'scan': {
          if (this.scanStep(items, atEnd)) break;
          return;
        }
      }
    }
  }

  /** Looks for the next valid chunk or footer; true when found (state is then 'body'). */
  private scanStep(items: DecodedItem[], atEnd: boolean): boolean {
    const b = this.buf;
    for (let j = this.lo; j + 4 <= this.hi; j++) {
      if (b[j] !== 0x89) continue;
      const chunk = isChunkSync(b, j);
      if (!chunk && !isFooterSync(b, j)) continue;
      const required = chunk ? CHUNK_HEADER_BYTES : FOOTER_HEADER_BYTES;
      if (this.hi - j < required) {
        if (atEnd) continue;
        this.lo = j;
        this.need = required;
        return false;
      }
      const ok = chunk
        ? typeof parseChunkHeader(b, j, this.base + j) !== 'string'
        : typeof parseFooterHeader(b, j) !== 'string';
      if (!ok) continue;
      const at = this.base + j;
      const skipped = at - this.scanStart;
      this.problem(items, this.scanStart, skipped, `${this.scanReason}; skipped ${skipped} bytes`);
      this.lo = j;
      this.state = 'body';
      return true;
    }
    if (atEnd) {
      const skipped = this.base + this.hi - this.scanStart;
      this.problem(items, this.scanStart, skipped, `${this.scanReason}; skipped ${skipped} bytes to the end`);
      this.lo = this.hi;
      this.state = 'done';
      return false;
    }
    // Keep the last 3 bytes: they may begin a sync marker.
    this.lo = Math.max(this.lo, this.hi - 3);
    this.need = 4;
    return false;
  }
}
