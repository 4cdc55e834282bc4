// The footer: an index of the body's chunks by time, so a reader seeks to any time with a binary
// search (O(log n) reads of 32-byte entries, each with its own CRC-32, so no reader has to hold the
// whole index), then a fixed trailer at the very end of the file pointing at it. Layout
// (little-endian):
//
//   footer header, 16 bytes: sync 89 'I' 'D' 'X', entry count n, reserved 0, CRC-32 of bytes 0..11
//   n entries, 32 bytes each: chunk offset (u64), first time (u64), last time (u64), record count,
//                             CRC-32 of the entry's bytes 0..27
//   trailer, 16 bytes:        footer offset (u64), CRC-32 of trailer bytes 0..7, magic 89 'E' 'N' 'D'
//
// Entries are in file order, which is time order: each chunk's first time is at or after the previous
// chunk's last time. ChunkIndex holds entries in typed arrays (32 bytes per chunk), for the writer and
// for a reader that had to rebuild the index by scanning.
import { crc32 } from './crc';
import {
  FOOTER_HEADER_BYTES,
  FOOTER_SYNC,
  getU32,
  getU64,
  INDEX_ENTRY_BYTES,
  putU32,
  putU64,
  TRAILER_BYTES,
  TRAILER_MAGIC,
} from './layout';

export interface IndexEntry {
  /** file offset of the chunk */
  offset: number;
  firstTime: number;
  lastTime: number;
  recordCount: number;
}

export function encodeIndexEntry(b: Uint8Array, at: number, e: IndexEntry): void {
  putU64(b, at, e.offset);
  putU64(b, at + 8, e.firstTime);
  putU64(b, at + 16, e.lastTime);
  putU32(b, at + 24, e.recordCount);
  putU32(b, at + 28, crc32(b, at, at + 28));
}

export function parseIndexEntry(b: Uint8Array, at: number): IndexEntry | string {
  if (b.length - at < INDEX_ENTRY_BYTES) return 'truncated index entry';
  if (crc32(b, at, at + 28) !== getU32(b, at + 28)) return 'damaged index entry: CRC mismatch';
  const offset = getU64(b, at);
  const firstTime = getU64(b, at + 8);
  const lastTime = getU64(b, at + 16);
  if (offset === null || firstTime === null || lastTime === null || firstTime > lastTime) {
    return 'index entry: offset or times out of range';
  }
  return { offset, firstTime, lastTime, recordCount: getU32(b, at + 24) };
}

export function encodeFooterHeader(count: number): Uint8Array {
  const b = new Uint8Array(FOOTER_HEADER_BYTES);
  putU32(b, 0, FOOTER_SYNC);
  putU32(b, 4, count);
  putU32(b, 8, 0);
  putU32(b, 12, crc32(b, 0, 12));
  return b;
}

export function isFooterSync(b: Uint8Array, at: number): boolean {
  return getU32(b, at) === FOOTER_SYNC;
}

/** The entry count of the footer header at b[at], or a problem. */
export function parseFooterHeader(b: Uint8Array, at: number): number | string {
  if (b.length - at < FOOTER_HEADER_BYTES) return 'truncated footer';
  if (!isFooterSync(b, at)) return 'no footer sync marker';
  if (crc32(b, at, at + 12) !== getU32(b, at + 12)) return 'damaged footer header: CRC mismatch';
  return getU32(b, at + 4);
}

export function encodeTrailer(footerOffset: number): Uint8Array {
  const b = new Uint8Array(TRAILER_BYTES);
  putU64(b, 0, footerOffset);
  putU32(b, 8, crc32(b, 0, 8));
  putU32(b, 12, TRAILER_MAGIC);
  return b;
}

/** The footer offset of the trailer at b[at], or a problem. */
export function parseTrailer(b: Uint8Array, at: number): number | string {
  if (b.length - at < TRAILER_BYTES) return 'truncated trailer';
  if (getU32(b, at + 12) !== TRAILER_MAGIC) return 'no trailer';
  if (crc32(b, at, at + 8) !== getU32(b, at + 8)) return 'damaged trailer: CRC mismatch';
  return getU64(b, at) ?? 'damaged trailer: offset out of range';
}

/** Bytes of a footer with n entries, trailer included. */
export function footerBytes(n: number): number {
  return FOOTER_HEADER_BYTES + n * INDEX_ENTRY_BYTES + TRAILER_BYTES;
}

/** Index of the first entry whose last time is at or after t (count when none is), by binary search. */
export function firstChunkEndingAtOrAfter(count: number, lastTime: (i: number) => number, t: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lastTime(mid) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A growable in-memory chunk index: four float64 per chunk. */
export class ChunkIndex {
  private data = new Float64Array(4 * 64);
  count = 0;

  push(e: IndexEntry): void {
    if ((this.count + 1) * 4 > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const at = this.count++ * 4;
    this.data[at] = e.offset;
    this.data[at + 1] = e.firstTime;
    this.data[at + 2] = e.lastTime;
    this.data[at + 3] = e.recordCount;
  }

  get(i: number): IndexEntry {
    const at = i * 4;
    return {
      offset: this.data[at]!,
      firstTime: this.data[at + 1]!,
      lastTime: this.data[at + 2]!,
      recordCount: this.data[at + 3]!,
    };
  }

  lastTime(i: number): number {
    return this.data[i * 4 + 2]!;
  }

  /** Index of the first chunk whose last time is at or after t; count when none is. */
  seek(t: number): number {
    return firstChunkEndingAtOrAfter(this.count, (i) => this.lastTime(i), t);
  }

  /** The footer for a file whose footer starts at footerOffset, in pieces of at most `per` entries. */
  *footerPieces(footerOffset: number, per = 2048): Generator<Uint8Array> {
    yield encodeFooterHeader(this.count);
    for (let first = 0; first < this.count; first += per) {
      const n = Math.min(per, this.count - first);
      const b = new Uint8Array(n * INDEX_ENTRY_BYTES);
      for (let i = 0; i < n; i++) encodeIndexEntry(b, i * INDEX_ENTRY_BYTES, this.get(first + i));
      yield b;
    }
    yield encodeTrailer(footerOffset);
  }
}
