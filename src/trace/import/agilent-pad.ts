// Keysight/Agilent N5305A/N5306A PCIe protocol analyzer `.pad` capture container: a streaming reader of
// its header and its fixed 40-byte records. Layout reverse-engineered by cyrozap/agilent-pcie-analyzer-re
// (doc/agilent_pad.ksy), summarised in the reference formats.md §8; checked against the one public
// sample (trace-link-power-off.pad).
//
// Contract:
// - PadReader.push(bytes) takes the (decompressed) file in pieces of any size, in order; end() returns
//   the summary. Memory is bounded: the header (at most MAX_HEADER_BYTES) and one partial record are
//   buffered; record data is counted, never held.
// - Header: big-endian; strings are a u16 length and that many ASCII bytes. Module type, port, Rx/Tx,
//   description, format code, 2 unknown u32, trigger record number, a u32 (3), first and last record
//   numbers, record length (40), timestamp array size (8 u32), first/last/stop/trigger times (u64 ns),
//   GUID, two channel names, start and stop times (hour, minute, millisecond u16s), the file offsets of
//   the records and of the record data (u64), and a marker string ("Start-of-fixed-records").
// - Records (from the records offset, last - first + 1 of them): little-endian u32 number, u32 data
//   length, u64 count, u64 timestamp ns (both u64 stored as high u32 then low u32), u16 LFSR, u16
//   metadata info, u32 flags (bits 2:0 link width x1..x16, 3 symbol error, 7:4 start lane, 8 speed
//   valid, 9 5.0 GT/s (else 2.5), 10 channel bonded, 11 disparity error, 27:12 lanes in electrical
//   idle, 28 upstream (else downstream), 29 scrambled, 30 gap), u64 data offset (from the record data
//   offset). Upstream records belong to the header's second channel, downstream to its first (the
//   sample names them "101/1:Downstream" and "101/1:Upstream").
// - Record data: with the onRecordData option, each record's data (its symbols) is handed over once the
//   file has delivered it, in data-offset order, as a view valid during the call
//   (agilent-pad-packets.ts frames it into TLPs and DLLPs). Records are then kept as a table (about 40
//   bytes each) until the data region is read, and one record's data is buffered when it spans pieces.
//   Without the option the reader only checks that the data region holds what the records point at.
// - Damage never throws: each problem is reported once with its file offset, and reading goes on where
//   it can (a record length other than 40 stops record parsing; a cut file reports the records missing).
// Pure (no Node imports): runs anywhere.

export const PAD_RECORD_BYTES = 40;
export const MAX_HEADER_BYTES = 1 << 16;
/** a record's data above this size is not handed over (reported) */
export const MAX_RECORD_DATA_BYTES = 1 << 24;

/** One record and its data, as PadReaderOptions.onRecordData receives them. */
export interface PadRecordData {
  number: number;
  timeNs: number;
  lfsr: number;
  /** bits 14:0 offset of the 8b/10b metadata in the data (0: none), bit 15 extra metadata */
  metadataInfo: number;
  flags: number;
  /** file offset of the data's first byte */
  fileOffset: number;
  /** the record's data: a view, valid during the call */
  data: Uint8Array;
}

export interface PadReaderOptions {
  onRecordData?: (r: PadRecordData) => void;
}

export interface PadCoarseTime {
  hour: number;
  minute: number;
  millisec: number;
}

export interface PadHeader {
  moduleType: string;
  portId: string;
  rxOrTx: string;
  description: string;
  formatCode: string;
  triggerRecordNumber: number;
  firstRecordNumber: number;
  lastRecordNumber: number;
  recordLength: number;
  timestampArraySize: number;
  /** ns, as the header gives them */
  firstTimestampNs: number;
  lastTimestampNs: number;
  stopTimestampNs: number;
  triggerTimestampNs: number;
  guid: string;
  channels: [string, string];
  startTime: PadCoarseTime;
  stopTime: PadCoarseTime;
  recordsOffset: number;
  recordDataOffset: number;
  marker: string;
  /** bytes the header takes */
  length: number;
}

export interface PadProblem {
  offset: number;
  message: string;
}

export interface PadChannelSummary {
  name: string;
  direction: 'downstream' | 'upstream';
  records: number;
  dataBytes: number;
  firstNs: number | null;
  lastNs: number | null;
}

export interface PadSummary {
  /** bytes read (of the decompressed file) */
  bytes: number;
  header: PadHeader | null;
  records: {
    /** records read, and how many the header announces */
    count: number;
    expected: number;
    firstNumber: number | null;
    lastNumber: number | null;
    /** records whose number is not the previous one + 1 */
    numberGaps: number;
    firstNs: number | null;
    lastNs: number | null;
    /** records whose time is before the previous record's */
    timeBackwards: number;
    /** records whose count field is not 1 (always 1 for PCIe) */
    countNotOne: number;
  };
  channels: [PadChannelSummary, PadChannelSummary] | [];
  link: {
    /** records by link width ("x1", "x4"…) and by speed ("2.5 GT/s", "5.0 GT/s", "unknown" when not valid) */
    widths: Record<string, number>;
    speeds: Record<string, number>;
    channelBonded: number;
    scrambled: number;
    symbolErrors: number;
    disparityErrors: number;
    gaps: number;
    /** union of the lanes in electrical idle (bit i: lane i) */
    electricalIdleLanes: number;
  };
  data: {
    /** bytes from the record data offset to the end of the file, and the bytes records point at */
    bytes: number;
    referenced: number;
    /** records whose data does not start where the previous record's ended */
    nonContiguous: number;
  };
  problems: PadProblem[];
}

const TWO_32 = 2 ** 32;
const WIDTHS = ['x1', 'x2', 'x4', 'x8', 'x16'];

class NeedMore extends Error {}

/** A cursor over the buffered header bytes; throws NeedMore when they run out. */
class Cursor {
  at = 0;
  constructor(private readonly b: Uint8Array) {}
  private need(n: number): void {
    if (this.at + n > this.b.length) throw new NeedMore();
  }
  u16(): number {
    this.need(2);
    const v = (this.b[this.at]! << 8) | this.b[this.at + 1]!;
    this.at += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const b = this.b;
    const v =
      ((b[this.at]! << 24) | (b[this.at + 1]! << 16) | (b[this.at + 2]! << 8) | b[this.at + 3]!) >>> 0;
    this.at += 4;
    return v;
  }
  u64(): number {
    const hi = this.u32();
    return hi * TWO_32 + this.u32();
  }
  str(): string {
    const n = this.u16();
    this.need(n);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.b[this.at + i]! & 0x7f);
    this.at += n;
    return s;
  }
  time(): PadCoarseTime {
    return { hour: this.u16(), minute: this.u16(), millisec: this.u16() };
  }
}

function parseHeader(b: Uint8Array): PadHeader {
  const c = new Cursor(b);
  const moduleType = c.str();
  const portId = c.str();
  const rxOrTx = c.str();
  const description = c.str();
  const formatCode = c.str();
  c.u32();
  c.u32();
  const triggerRecordNumber = c.u32();
  c.u32();
  const firstRecordNumber = c.u32();
  const lastRecordNumber = c.u32();
  const recordLength = c.u32();
  const timestampArraySize = c.u32();
  const firstTimestampNs = c.u64();
  const lastTimestampNs = c.u64();
  const stopTimestampNs = c.u64();
  const triggerTimestampNs = c.u64();
  const guid = c.str();
  const channels: [string, string] = [c.str(), c.str()];
  const startTime = c.time();
  const stopTime = c.time();
  const recordsOffset = c.u64();
  const recordDataOffset = c.u64();
  const marker = c.str();
  return {
    moduleType,
    portId,
    rxOrTx,
    description,
    formatCode,
    triggerRecordNumber,
    firstRecordNumber,
    lastRecordNumber,
    recordLength,
    timestampArraySize,
    firstTimestampNs,
    lastTimestampNs,
    stopTimestampNs,
    triggerTimestampNs,
    guid,
    channels,
    startTime,
    stopTime,
    recordsOffset,
    recordDataOffset,
    marker,
    length: c.at,
  };
}

const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

export class PadReader {
  private readonly s: PadSummary = {
    bytes: 0,
    header: null,
    records: {
      count: 0,
      expected: 0,
      firstNumber: null,
      lastNumber: null,
      numberGaps: 0,
      firstNs: null,
      lastNs: null,
      timeBackwards: 0,
      countNotOne: 0,
    },
    channels: [],
    link: {
      widths: {},
      speeds: {},
      channelBonded: 0,
      scrambled: 0,
      symbolErrors: 0,
      disparityErrors: 0,
      gaps: 0,
      electricalIdleLanes: 0,
    },
    data: { bytes: 0, referenced: 0, nonContiguous: 0 },
    problems: [],
  };
  /** the header's bytes while it is incomplete, then one partial record */
  private buf: Uint8Array = new Uint8Array(0);
  private state: 'header' | 'records' | 'rest' = 'header';
  /** bytes between the header's end and the records offset, still to skip */
  private skip = 0;
  private dataEnd = 0;
  private ended = false;
  private readonly onRecordData: ((r: PadRecordData) => void) | null;
  /** the records, while their data is to come (onRecordData only) */
  private table: RecordTable | null = null;
  private order: Uint32Array | null = null;
  private next = 0;
  private part: Uint8Array | null = null;
  private partFilled = 0;

  constructor(options: PadReaderOptions = {}) {
    this.onRecordData = options.onRecordData ?? null;
    if (this.onRecordData) this.table = new RecordTable();
  }

  /** Feeds the next piece of the (decompressed) file. */
  push(piece: Uint8Array): void {
    if (this.ended) throw new Error('PadReader: push after end');
    const pieceStart = this.s.bytes;
    this.s.bytes += piece.length;
    let p = piece;
    if (this.state === 'header') {
      this.buf = concat(this.buf, p);
      this.tryHeader();
      if (this.state === 'header') return;
      p = this.buf; // what follows the header
      this.buf = new Uint8Array(0);
    }
    if (this.state === 'records') this.records(p);
    if (this.table && this.s.header) this.recordData(piece, pieceStart);
  }

  /** Hands over the record data that lies in piece (at file offset pieceStart). */
  private recordData(piece: Uint8Array, pieceStart: number): void {
    const h = this.s.header!;
    const t = this.table!;
    const a = pieceStart - h.recordDataOffset; // the piece's offset in the data region
    const b = a + piece.length;
    if (b <= 0) return;
    if (!this.order) {
      this.order = t.byDataOffset();
      if (this.s.records.count < this.s.records.expected && this.state === 'records')
        this.s.problems.push({
          offset: h.recordDataOffset,
          message: `record data starts before the last record: the data of records read after it is not decoded`,
        });
    }
    const order = this.order;
    while (this.next < order.length) {
      const r = order[this.next]!;
      const start = t.dataOffset[r]!;
      const len = t.dataLength[r]!;
      const from = start + this.partFilled;
      if (len > MAX_RECORD_DATA_BYTES || (len > 0 && from < Math.max(a, 0))) {
        this.s.problems.push({
          offset: h.recordDataOffset + start,
          message:
            len > MAX_RECORD_DATA_BYTES
              ? `record ${t.number[r]} has ${len} bytes of data (over ${MAX_RECORD_DATA_BYTES}): not decoded`
              : `record ${t.number[r]}'s data overlaps data already read: not decoded`,
        });
        this.next++;
        this.part = null;
        this.partFilled = 0;
        continue;
      }
      if (len === 0 || (this.partFilled === 0 && start >= a && start + len <= b)) {
        this.emit(r, piece.subarray(start - a, start - a + len));
        this.next++;
        continue;
      }
      if (from >= b) return;
      this.part ??= new Uint8Array(len);
      const end = Math.min(start + len, b);
      this.part.set(piece.subarray(from - a, end - a), this.partFilled);
      this.partFilled += end - from;
      if (this.partFilled < len) return;
      this.emit(r, this.part);
      this.part = null;
      this.partFilled = 0;
      this.next++;
    }
  }

  private emit(r: number, data: Uint8Array): void {
    const t = this.table!;
    this.onRecordData!({
      number: t.number[r]!,
      timeNs: t.time[r]!,
      lfsr: t.lfsrMeta[r]! & 0xffff,
      metadataInfo: t.lfsrMeta[r]! >>> 16,
      flags: t.flags[r]!,
      fileOffset: this.s.header!.recordDataOffset + t.dataOffset[r]!,
      data,
    });
  }

  /** Ends the file: reports what is missing and returns the summary. */
  end(): PadSummary {
    if (this.ended) return this.s;
    this.ended = true;
    const s = this.s;
    const h = s.header;
    if (!h) {
      if (!s.problems.length)
        s.problems.push({
          offset: 0,
          message: s.bytes === 0 ? 'empty file' : `the file ends inside the header (${s.bytes} bytes read)`,
        });
      return s;
    }
    if (s.records.count < s.records.expected && this.state === 'records') {
      s.problems.push({
        offset: s.bytes,
        message: `the file ends after ${s.records.count} of ${s.records.expected} records`,
      });
    }
    s.data.bytes = Math.max(0, s.bytes - h.recordDataOffset);
    if (this.dataEnd > s.data.bytes) {
      s.problems.push({
        offset: s.bytes,
        message: `records point at ${this.dataEnd} bytes of record data, the file holds ${s.data.bytes}`,
      });
    }
    return s;
  }

  private tryHeader(): void {
    const s = this.s;
    let h: PadHeader;
    try {
      h = parseHeader(this.buf);
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
      if (this.buf.length > MAX_HEADER_BYTES) {
        s.problems.push({ offset: 0, message: `no complete header in the first ${MAX_HEADER_BYTES} bytes` });
        this.state = 'rest';
        this.buf = new Uint8Array(0);
      }
      return;
    }
    s.header = h;
    if (!h.moduleType.startsWith('AGT_MODULE_'))
      s.problems.push({
        offset: 2,
        message: `module type "${h.moduleType}" does not start with AGT_MODULE_`,
      });
    if (h.timestampArraySize !== 8)
      s.problems.push({ offset: 0, message: `timestamp array of ${h.timestampArraySize} words, not 8` });
    const expected = h.lastRecordNumber + 1 - h.firstRecordNumber;
    s.records.expected = Math.max(0, expected);
    const [down, up] = h.channels;
    const ch = (name: string, direction: 'downstream' | 'upstream'): PadChannelSummary => ({
      name,
      direction,
      records: 0,
      dataBytes: 0,
      firstNs: null,
      lastNs: null,
    });
    s.channels = [ch(down, 'downstream'), ch(up, 'upstream')];
    const recordsEnd = h.recordsOffset + s.records.expected * PAD_RECORD_BYTES;
    if (h.recordLength !== PAD_RECORD_BYTES) {
      s.problems.push({
        offset: 0,
        message: `record length ${h.recordLength}, not ${PAD_RECORD_BYTES}: records not read`,
      });
      this.state = 'rest';
    } else if (expected < 0) {
      s.problems.push({
        offset: 0,
        message: `last record number ${h.lastRecordNumber} is before the first ${h.firstRecordNumber}`,
      });
      this.state = 'rest';
    } else if (h.recordsOffset < h.length) {
      s.problems.push({
        offset: h.length,
        message: `records offset ${h.recordsOffset} lies inside the header (${h.length} bytes)`,
      });
      this.state = 'rest';
    } else {
      if (recordsEnd > h.recordDataOffset) {
        s.problems.push({
          offset: h.recordDataOffset,
          message: `the records (to ${recordsEnd}) overlap the record data at ${h.recordDataOffset}`,
        });
      }
      this.state = 'records';
    }
    // push() goes on with the bytes after the header
    this.buf = this.buf.subarray(h.length);
    this.skip = Math.max(0, h.recordsOffset - h.length);
  }

  /** Consumes record bytes (after skipping to the records offset); buffers a partial record. */
  private records(p: Uint8Array): void {
    const r = this.s.records;
    if (r.count >= r.expected) {
      this.state = 'rest';
      return;
    }
    if (this.skip) {
      const k = Math.min(p.length, this.skip);
      this.skip -= k;
      p = p.subarray(k);
    }
    if (this.buf.length && p.length) {
      const take = Math.min(p.length, PAD_RECORD_BYTES - this.buf.length);
      this.buf = concat(this.buf, p.subarray(0, take));
      p = p.subarray(take);
      if (this.buf.length === PAD_RECORD_BYTES) {
        this.record(this.buf, 0);
        this.buf = new Uint8Array(0);
      }
    }
    let at = 0;
    while (r.count < r.expected && p.length - at >= PAD_RECORD_BYTES) {
      this.record(p, at);
      at += PAD_RECORD_BYTES;
    }
    if (r.count >= r.expected) this.state = 'rest';
    else if (at < p.length) this.buf = p.slice(at);
  }

  private record(b: Uint8Array, at: number): void {
    const s = this.s;
    const r = s.records;
    const dv = new DataView(b.buffer, b.byteOffset + at, PAD_RECORD_BYTES);
    const number = dv.getUint32(0, true);
    const dataLength = dv.getUint32(4, true);
    const count = dv.getUint32(8, true) * TWO_32 + dv.getUint32(12, true);
    const time = dv.getUint32(16, true) * TWO_32 + dv.getUint32(20, true);
    const flags = dv.getUint32(28, true);
    this.table?.add(
      number,
      time,
      dv.getUint16(24, true) | (dv.getUint16(26, true) << 16),
      flags,
      dv.getUint32(32, true) * TWO_32 + dv.getUint32(36, true),
      dataLength,
    );
    const dataOffset = dv.getUint32(32, true) * TWO_32 + dv.getUint32(36, true);
    if (r.lastNumber !== null && number !== r.lastNumber + 1) r.numberGaps++;
    if (r.lastNs !== null && time < r.lastNs) r.timeBackwards++;
    if (count !== 1) r.countNotOne++;
    r.firstNumber ??= number;
    r.lastNumber = number;
    r.firstNs ??= time;
    r.lastNs = time;
    r.count++;

    const ch = s.channels[(flags >>> 28) & 1]!;
    ch.records++;
    ch.dataBytes += dataLength;
    ch.firstNs ??= time;
    ch.lastNs = time;

    const l = s.link;
    bump(l.widths, WIDTHS[flags & 7] ?? `width code ${flags & 7}`);
    bump(l.speeds, flags & (1 << 8) ? (flags & (1 << 9) ? '5.0 GT/s' : '2.5 GT/s') : 'unknown');
    if (flags & (1 << 10)) l.channelBonded++;
    if (flags & (1 << 29)) l.scrambled++;
    if (flags & (1 << 3)) l.symbolErrors++;
    if (flags & (1 << 11)) l.disparityErrors++;
    if (flags & (1 << 30)) l.gaps++;
    l.electricalIdleLanes = (l.electricalIdleLanes | ((flags >>> 12) & 0xffff)) >>> 0;

    if (dataOffset !== this.dataEnd && r.count > 1) s.data.nonContiguous++;
    this.dataEnd = Math.max(this.dataEnd, dataOffset + dataLength);
    s.data.referenced += dataLength;
  }
}

/** The records' fields the data hand-over needs, in growing typed arrays. */
class RecordTable {
  n = 0;
  number = new Uint32Array(64);
  time = new Float64Array(64);
  lfsrMeta = new Uint32Array(64);
  flags = new Uint32Array(64);
  dataOffset = new Float64Array(64);
  dataLength = new Uint32Array(64);

  add(
    number: number,
    time: number,
    lfsrMeta: number,
    flags: number,
    dataOffset: number,
    dataLength: number,
  ): void {
    if (this.n === this.number.length) {
      const grow = <T extends Uint32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.number = grow(this.number);
      this.time = grow(this.time);
      this.lfsrMeta = grow(this.lfsrMeta);
      this.flags = grow(this.flags);
      this.dataOffset = grow(this.dataOffset);
      this.dataLength = grow(this.dataLength);
    }
    const i = this.n++;
    this.number[i] = number;
    this.time[i] = time;
    this.lfsrMeta[i] = lfsrMeta >>> 0;
    this.flags[i] = flags;
    this.dataOffset[i] = dataOffset;
    this.dataLength[i] = dataLength;
  }

  /** record indexes by data offset (record order among equal offsets) */
  byDataOffset(): Uint32Array {
    const idx = Array.from({ length: this.n }, (_, i) => i);
    idx.sort((x, y) => this.dataOffset[x]! - this.dataOffset[y]! || x - y);
    return Uint32Array.from(idx);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!a.length) return b.slice();
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
}

/** What the .pad import decodes and what it leaves out, in words the import output carries. */
export const PAD_TLP_DECODING_NOTE =
  'record data (8b/10b-decoded symbols) framed into TLPs, DLLPs and ordered sets at 2.5/5.0 GT/s (LCRC and DLLP CRC checked); ' +
  'the native trace (-o) carries the upstream memory requests (reads, writes, AtomicOps: device DMA); ' +
  'messages, completions, other TLPs, downstream requests (CPU to device), DLLPs and ordered sets are counted, not written';
