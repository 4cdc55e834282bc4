// A chunk of the native trace body: a 40-byte header behind a sync marker, then fixed-size TLP records
// (tlp-record.ts), then control events (control.ts), merged in time order. The header carries its own
// CRC-32, so a reader that lost its place can recognise the next chunk (resync) and trust its length;
// the payload has a CRC-32 of its own. Layout (little-endian):
//
//   0  4  sync 89 'C' 'H' 'K'           20 4  first time, high
//   4  4  sequence number (from 0)      24 4  last time, low
//   8  4  record count n                28 4  last time, high
//   12 4  control bytes c               32 4  CRC-32 of the payload (32n + c bytes)
//   16 4  first time, low               36 4  CRC-32 of header bytes 0..35
//
// First and last time bound every record's and event's time. Nothing here throws on bad bytes: a
// problem is a string and the caller reports it with the chunk's offset.
import { decodeControlSection, type ControlEntry } from './control';
import { crc32 } from './crc';
import {
  CHUNK_HEADER_BYTES,
  CHUNK_SYNC,
  getU32,
  getU64,
  MAX_CHUNK_PAYLOAD_BYTES,
  putU32,
  putU64,
  requireLittleEndian,
} from './layout';
import {
  ACCESS_ATOMIC,
  F_ACCESS_SHIFT,
  TLP_RECORD_BYTES,
  TLP_RECORD_WORDS,
  tlpTime,
  W_FLAGS,
} from './tlp-record';

export interface ChunkHeader {
  /** file offset of the chunk's first byte (its sync marker) */
  offset: number;
  sequence: number;
  recordCount: number;
  controlBytes: number;
  firstTime: number;
  lastTime: number;
  payloadCrc: number;
}

export interface DecodedChunk extends ChunkHeader {
  /** recordCount records of TLP_RECORD_WORDS words each */
  records: Uint32Array;
  /** in order; entry.before tells where each goes among the records */
  controls: ControlEntry[];
  /** control events that failed their schema and were left out: index in the chunk and reason */
  skippedControls: { index: number; message: string }[];
}

export function payloadBytes(h: Pick<ChunkHeader, 'recordCount' | 'controlBytes'>): number {
  return h.recordCount * TLP_RECORD_BYTES + h.controlBytes;
}

/** Writes a chunk header at b[at..at+40). */
export function encodeChunkHeader(b: Uint8Array, at: number, h: Omit<ChunkHeader, 'offset'>): void {
  putU32(b, at, CHUNK_SYNC);
  putU32(b, at + 4, h.sequence);
  putU32(b, at + 8, h.recordCount);
  putU32(b, at + 12, h.controlBytes);
  putU64(b, at + 16, h.firstTime);
  putU64(b, at + 24, h.lastTime);
  putU32(b, at + 32, h.payloadCrc);
  putU32(b, at + 36, crc32(b, at, at + 36));
}

/** True when b[at..at+4) is a chunk sync marker. */
export function isChunkSync(b: Uint8Array, at: number): boolean {
  return getU32(b, at) === CHUNK_SYNC;
}

/** Parses the 40 header bytes at b[at]; `offset` is their file offset. */
export function parseChunkHeader(b: Uint8Array, at: number, offset: number): ChunkHeader | string {
  if (b.length - at < CHUNK_HEADER_BYTES) return 'truncated chunk header';
  if (!isChunkSync(b, at)) return 'no chunk sync marker';
  if (crc32(b, at, at + 36) !== getU32(b, at + 36)) return 'damaged chunk header: CRC mismatch';
  const recordCount = getU32(b, at + 8);
  const controlBytes = getU32(b, at + 12);
  const firstTime = getU64(b, at + 16);
  const lastTime = getU64(b, at + 24);
  if (firstTime === null || lastTime === null || firstTime > lastTime) {
    return 'chunk header: times out of order or not below 2^53 ns';
  }
  if (recordCount * TLP_RECORD_BYTES + controlBytes > MAX_CHUNK_PAYLOAD_BYTES) {
    return `chunk header: payload of ${recordCount} records and ${controlBytes} control bytes is too large`;
  }
  return {
    offset,
    sequence: getU32(b, at + 4),
    recordCount,
    controlBytes,
    firstTime,
    lastTime,
    payloadCrc: getU32(b, at + 32),
  };
}

/**
 * Checks and decodes a chunk's payload (exactly payloadBytes(h) bytes): CRC, records' times in order
 * within the header's bounds, control events in order and consistent with the records around them.
 * The records are copied into a fresh, aligned array, or into `into` (at least recordCount × 8 words,
 * owned by the caller, valid until it reuses it) when given: a reader that places payloads at an
 * aligned offset of its own buffer passes a view of those very bytes, and nothing is copied or
 * allocated per chunk.
 */
export function decodeChunkPayload(
  h: ChunkHeader,
  payload: Uint8Array,
  into?: Uint32Array,
): DecodedChunk | string {
  requireLittleEndian();
  if (payload.length !== payloadBytes(h)) return 'truncated chunk payload';
  if (crc32(payload) !== h.payloadCrc) return 'damaged chunk payload: CRC mismatch';
  const recBytes = h.recordCount * TLP_RECORD_BYTES;
  const words = h.recordCount * TLP_RECORD_WORDS;
  // The payload may sit at any byte offset: the records are read through an aligned array.
  const records = into ? into.subarray(0, words) : new Uint32Array(words);
  const aliased = records.buffer === payload.buffer && records.byteOffset === payload.byteOffset;
  if (!aliased)
    new Uint8Array(records.buffer, records.byteOffset, recBytes).set(payload.subarray(0, recBytes));
  let prev = h.firstTime;
  for (let w = 0; w < records.length; w += TLP_RECORD_WORDS) {
    const t = tlpTime(records, w);
    if (t < prev || t > h.lastTime) {
      return `record ${w / TLP_RECORD_WORDS}: time ${t} out of order or outside the chunk's range`;
    }
    if (((records[w + W_FLAGS]! >>> F_ACCESS_SHIFT) & 3) > ACCESS_ATOMIC) {
      return `record ${w / TLP_RECORD_WORDS}: reserved access code 3`;
    }
    prev = t;
  }
  const section = decodeControlSection(payload.subarray(recBytes), h.recordCount, h.firstTime, h.lastTime);
  if (typeof section === 'string') return section;
  for (let i = 0; i < section.entries.length; i++) {
    const e = section.entries[i]!;
    const after = e.before > 0 ? tlpTime(records, (e.before - 1) * TLP_RECORD_WORDS) : h.firstTime;
    const next = e.before < h.recordCount ? tlpTime(records, e.before * TLP_RECORD_WORDS) : h.lastTime;
    if (e.time < after || e.time > next) {
      return `control event ${i}: time ${e.time} is out of order with the records around it`;
    }
  }
  return { ...h, records, controls: section.entries, skippedControls: section.skipped };
}

/** Index of the chunk's first record whose time is at or after t; recordCount when none is. */
export function firstRecordAtOrAfter(
  chunk: Pick<DecodedChunk, 'records' | 'recordCount'>,
  t: number,
): number {
  let lo = 0;
  let hi = chunk.recordCount;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tlpTime(chunk.records, mid * TLP_RECORD_WORDS) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Visits a chunk's items in trace order without allocating per record: onTlp gets the records array
 * and the record's first word; control events come before the record their `before` names.
 */
export function visitChunk(
  chunk: DecodedChunk,
  onTlp: (records: Uint32Array, word: number) => void,
  onControl: (entry: ControlEntry) => void,
): void {
  let c = 0;
  for (let r = 0; r <= chunk.recordCount; r++) {
    while (c < chunk.controls.length && chunk.controls[c]!.before === r) onControl(chunk.controls[c++]!);
    if (r < chunk.recordCount) onTlp(chunk.records, r * TLP_RECORD_WORDS);
  }
}
