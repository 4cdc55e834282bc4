// The packets of a Keysight/Agilent .pad capture: takes each record's data from PadReader (its
// onRecordData option), frames it with pcie-framer.ts and tallies what comes out. Pure.
//
// Contract:
// - new PadPacketDecoder(options).record(r) for each record PadReader hands over; summary() at the end.
// - Record data layout (cyrozap/agilent-pcie-analyzer-re: the ksy's metadata_info, the Wireshark
//   dissector proto_pcie_capture.c): one byte per symbol, the 8b/10b-decoded value, lanes merged in link
//   order. When the record's LFSR and metadata_info are non-zero and metadata_info[14:0] (the metadata
//   offset) is non-zero, the symbols are the data's first metadata-offset bytes and 2 bytes of 8b/10b
//   metadata follow per 8 symbols: a K-symbol mask (bit i: symbol i of the 8, taken LSB first — the
//   order is not confirmed on a capture) and a disparity mask; the extra and LFSR metadata after them
//   (metadata_info bit 15) are skipped. Otherwise (the public x1 sample: LFSR and metadata_info 0) the
//   whole data is symbols and K codes are inferred from the framing. Flags bit 28 gives the direction
//   (1: upstream, sent by the downstream device), bits 3 and 11 the symbol and disparity errors.
//   Records flagged scrambled (bit 29) are framed as stored (not descrambled: the sample has none).
// - TLPs: an upstream TLP with a good LCRC, not nullified, not malformed and not a Data Link Layer
//   replay (a sequence number at or before the last good one in the same direction, within half the
//   12-bit space) that is a memory read, write or AtomicOp is handed to onMemoryRequest; the rest is
//   counted by reason. The summary keeps the first `keep` packets and problems (default 20, 100).
import type { PadRecordData } from './agilent-pad';
import { frameSymbols, type Direction, type FramedPacket, type FrameProblem } from './pcie-framer';

export interface PadMemoryRequest {
  timeNs: number;
  record: number;
  requesterId: number;
  pasid: number | null;
  tbit: boolean;
  at: number;
  access: 'read' | 'write' | 'atomic';
  exec: boolean;
  priv: boolean;
  address: bigint;
  /** bytes (Length × 4) */
  length: number;
  tlpType: string;
}

export interface PadPacketOptions {
  onMemoryRequest?: (r: PadMemoryRequest) => void;
  /** packets kept for the summary (default 20) */
  keepPackets?: number;
  /** problems kept for the summary (default 100) */
  keepProblems?: number;
}

/** A framed packet as the JSON output lists it. */
export type PadPacketJson = Record<string, unknown>;

export interface PadPacketSummary {
  /** records framed, their symbols, and how their K codes were known */
  records: number;
  symbols: number;
  kCodes: { inferred: number; stored: number };
  scrambledRecords: number;
  tlps: {
    total: number;
    /** LCRC good, not nullified, not malformed, not a replay */
    good: number;
    lcrcErrors: number;
    nullified: number;
    malformed: number;
    replayed: number;
    /** by decoded type ("MWr", "Msg PME_Turn_Off", "CplD"…), over every TLP framed */
    byType: Record<string, number>;
    byDirection: Record<Direction, number>;
  };
  dllps: { total: number; crcErrors: number; byType: Record<string, number> };
  orderedSets: Record<string, number>;
  memoryRequests: {
    /** handed to onMemoryRequest (written by -o) */
    upstream: number;
    /** CPU → device (MMIO): not through the IOMMU, not written */
    downstream: number;
  };
  /** TLPs not handed to onMemoryRequest, by reason (DLLPs and ordered sets are never) */
  notWritten: Record<string, number>;
  packets: PadPacketJson[];
  problems: { count: number; byKind: Record<string, number>; first: FrameProblem[] };
}

const hex = (n: number, w = 8): string => `0x${(n >>> 0).toString(16).padStart(w, '0')}`;
const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

/** The packet as the JSON output shows it. */
export function packetJson(p: FramedPacket): PadPacketJson {
  const base = { record: p.record, offset: p.offset, timeNs: p.timeNs, direction: p.direction };
  if (p.kind === 'dllp') {
    return {
      kind: 'dllp',
      ...base,
      type: p.dllp.name,
      fields: p.dllp.fields,
      crc: hex(p.crc, 4),
      crcOk: p.crcOk,
    };
  }
  if (p.kind === 'ordered-set') return { kind: 'ordered-set', ...base, type: p.name, symbols: p.symbols };
  const t = p.tlp;
  return {
    kind: 'tlp',
    ...base,
    seq: p.seq,
    type: t.tlpType,
    requesterId: t.requesterId,
    bdf: t.bdf,
    pasid: t.pasid,
    tbit: t.tbit,
    at: t.at,
    access: t.access,
    address: t.address,
    length: t.length,
    detail: t.detail,
    payloadBytes: p.payload.length,
    lcrc: hex(p.lcrc),
    lcrcOk: p.lcrcOk,
    nullified: p.nullified,
    malformed: p.malformed,
  };
}

export class PadPacketDecoder {
  private readonly s: PadPacketSummary = {
    records: 0,
    symbols: 0,
    kCodes: { inferred: 0, stored: 0 },
    scrambledRecords: 0,
    tlps: {
      total: 0,
      good: 0,
      lcrcErrors: 0,
      nullified: 0,
      malformed: 0,
      replayed: 0,
      byType: {},
      byDirection: { downstream: 0, upstream: 0 },
    },
    dllps: { total: 0, crcErrors: 0, byType: {} },
    orderedSets: {},
    memoryRequests: { upstream: 0, downstream: 0 },
    notWritten: {},
    packets: [],
    problems: { count: 0, byKind: {}, first: [] },
  };
  private readonly keepPackets: number;
  private readonly keepProblems: number;
  private readonly lastSeq: Record<Direction, number | null> = { downstream: null, upstream: null };
  private readonly sink = {
    packet: (p: FramedPacket): void => this.packet(p),
    problem: (p: FrameProblem): void => {
      const pr = this.s.problems;
      pr.count++;
      bump(pr.byKind, p.kind);
      if (pr.first.length < this.keepProblems) pr.first.push(p);
    },
  };

  constructor(private readonly options: PadPacketOptions = {}) {
    this.keepPackets = options.keepPackets ?? 20;
    this.keepProblems = options.keepProblems ?? 100;
  }

  /** Frames one record's data. */
  record(r: PadRecordData): void {
    const s = this.s;
    s.records++;
    if (r.flags & (1 << 29)) s.scrambledRecords++;
    let symbols = r.data;
    let kFlags: Uint8Array | null = null;
    const metaOffset = r.metadataInfo & 0x7fff;
    if ((r.lfsr !== 0 || r.metadataInfo !== 0) && metaOffset > 0 && metaOffset <= r.data.length) {
      symbols = r.data.subarray(0, metaOffset);
      kFlags = new Uint8Array(metaOffset);
      for (let i = 0; i < metaOffset; i++) {
        const m = metaOffset + 2 * (i >>> 3);
        kFlags[i] = m < r.data.length ? (r.data[m]! >>> (i & 7)) & 1 : 0;
      }
      s.kCodes.stored++;
    } else s.kCodes.inferred++;
    s.symbols += symbols.length;
    frameSymbols(
      {
        record: r.number,
        timeNs: r.timeNs,
        direction: r.flags & (1 << 28) ? 'upstream' : 'downstream',
        symbols,
        kFlags,
        fileOffset: r.fileOffset,
        symbolError: (r.flags & (1 << 3)) !== 0,
        disparityError: (r.flags & (1 << 11)) !== 0,
      },
      this.sink,
    );
  }

  summary(): PadPacketSummary {
    return this.s;
  }

  private packet(p: FramedPacket): void {
    const s = this.s;
    if (s.packets.length < this.keepPackets) s.packets.push(packetJson(p));
    if (p.kind === 'ordered-set') {
      bump(s.orderedSets, p.name);
      return;
    }
    if (p.kind === 'dllp') {
      s.dllps.total++;
      if (!p.crcOk) s.dllps.crcErrors++;
      bump(s.dllps.byType, p.dllp.name);
      return;
    }
    const t = s.tlps;
    t.total++;
    t.byDirection[p.direction]++;
    const msg = p.tlp.access === 'message' ? ` ${String(p.tlp.detail.message)}` : '';
    bump(t.byType, `${p.tlp.tlpType}${msg}`);
    const skip = (why: string): void => bump(s.notWritten, why);
    if (p.nullified) {
      t.nullified++;
      return skip('nullified TLPs (EDB)');
    }
    if (!p.lcrcOk) {
      t.lcrcErrors++;
      return skip('TLPs with a bad LCRC');
    }
    if (p.malformed) {
      t.malformed++;
      return skip('malformed TLPs (header and framing disagree)');
    }
    const last = this.lastSeq[p.direction];
    if (last !== null && ((last - p.seq) & 0xfff) < 0x800) {
      t.replayed++;
      return skip('replayed TLPs (Data Link Layer retransmissions)');
    }
    this.lastSeq[p.direction] = p.seq;
    t.good++;
    const d = p.tlp;
    if (d.access === 'message') return skip('messages');
    if (d.access === 'completion') return skip('completions');
    if (d.access !== 'read' && d.access !== 'write' && d.access !== 'atomic')
      return skip('other TLPs (configuration, I/O, prefixes only)');
    if (p.direction === 'downstream') {
      s.memoryRequests.downstream++;
      return skip('downstream memory requests (CPU to device MMIO: not through the IOMMU)');
    }
    s.memoryRequests.upstream++;
    this.options.onMemoryRequest?.({
      timeNs: p.timeNs,
      record: p.record,
      requesterId: d.requesterId ?? 0,
      pasid: d.pasid,
      tbit: d.tbit ?? false,
      at: d.at ?? 0,
      access: d.access,
      exec: d.exec,
      priv: d.priv,
      address: BigInt(d.address ?? '0x0'),
      length: d.length ?? 4,
      tlpType: d.tlpType,
    });
  }
}
