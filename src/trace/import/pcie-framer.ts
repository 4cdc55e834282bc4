// A PCI Express Gen1/Gen2 (2.5 and 5.0 GT/s, 8b/10b) packet framer over 8b/10b-decoded symbols, per the
// PCIe Base Specification's Physical Layer framing (§4.2.2): STP (K27.7, FBh) starts a TLP, SDP (K28.2,
// 5Ch) a DLLP, END (K29.7, FDh) ends either, EDB (K30.7, FEh) ends a nullified TLP; COM (K28.5, BCh)
// starts an ordered set: SKP (COM + K28.0 1Ch…), FTS (COM + 3 × K28.1 3Ch), Electrical Idle (EIOS: COM +
// 3 × IDL K28.3 7Ch), Electrical Idle Exit (EIEOS: COM + K28.7 FCh…), TS1/TS2 (COM + 15 symbols,
// identifier D10.2 4Ah / D5.2 45h from symbol 6). PAD (K23.7, F7h) and logical idle (D0.0, 00h) between
// packets are skipped. Pure.
//
// Contract:
// - frameSymbols(block, sink) frames one block of symbols (a capture record: the analyzer stores one packet
//   or ordered set per record, lanes already merged in link order) and calls sink.packet / sink.problem in
//   order. It never throws on any input. Packets never span blocks: a packet cut at the block's end is a
//   framing problem.
// - Symbols are the decoded 8-bit values. When the capture gives per-symbol K flags (`kFlags`), a K code
//   is a K-flagged symbol; without them (the Keysight x1 sample stores none) a symbol is taken as a K
//   code only where framing expects one (between packets), and a TLP's end is where its header puts it
//   (prefixes + 3/4 header DWs + payload + ECRC + LCRC), else at the next END/EDB value.
// - TLPs: the 12-bit sequence number, the DWs up to the end of the header (prefixes included), the payload
//   (a view valid during the call), the LCRC checked (pcie-crc.ts; EDB: a nullified TLP must carry the
//   inverted LCRC), and the header decoded by aer-tlp.ts decodeTlp. DLLPs: type, fields (pcie-dllp.ts) and
//   CRC-16 checked.
// - Problems carry the block's record number, the byte offset in the record's data and in the file, and a
//   kind: 'bad-symbol' and 'disparity' (the record's own error flags: the analyzer does not say where, so
//   the offset is that of the first symbol not framed, else 0), 'framing' (symbols outside any packet,
//   a missing END, a packet cut short), 'lcrc', 'crc16'. A run of unframed symbols is one problem; after
//   an EIOS the rest of the block (the link going to electrical idle) is one problem.
import { decodeTlp, type DecodedTlp } from './aer-tlp';
import { dllpCrc, lcrc, storedDllpCrc, storedLcrc } from './pcie-crc';
import { decodeDllp, type Dllp } from './pcie-dllp';

export const SYM = {
  STP: 0xfb,
  SDP: 0x5c,
  END: 0xfd,
  EDB: 0xfe,
  PAD: 0xf7,
  COM: 0xbc,
  SKP: 0x1c,
  FTS: 0x3c,
  IDL: 0x7c,
  EIE: 0xfc,
} as const;

/** The K codes PCIe uses (K28.0–K28.7, K23.7, K27.7, K29.7, K30.7). */
const K_CODES = new Set([0x1c, 0x3c, 0x5c, 0x7c, 0x9c, 0xbc, 0xdc, 0xfc, 0xf7, 0xfb, 0xfd, 0xfe]);

export type Direction = 'downstream' | 'upstream';

export interface SymbolBlock {
  /** the capture's record number */
  record: number;
  timeNs: number;
  direction: Direction;
  symbols: Uint8Array;
  /** per symbol: non-zero for a K code, when the capture stores it */
  kFlags: Uint8Array | null;
  /** file offset of symbols[0] (for problems) */
  fileOffset: number;
  /** the record's symbol-error and disparity-error flags */
  symbolError: boolean;
  disparityError: boolean;
}

interface At {
  record: number;
  /** byte offset in the record's data */
  offset: number;
  timeNs: number;
  direction: Direction;
}

export interface FramedTlp extends At {
  kind: 'tlp';
  seq: number;
  /** the prefix and header DWs (big-endian u32s) */
  dws: number[];
  /** the payload bytes (a view, valid during the sink call) */
  payload: Uint8Array;
  lcrc: number;
  lcrcOk: boolean;
  /** ended by EDB, with the inverted LCRC: the transmitter cancelled it */
  nullified: boolean;
  /** symbols from STP to END/EDB */
  symbols: number;
  tlp: DecodedTlp;
  /** the TLP's header does not match its framing (END elsewhere, DWs missing), or null */
  malformed: string | null;
}

export interface FramedDllp extends At {
  kind: 'dllp';
  dllp: Dllp;
  crc: number;
  crcOk: boolean;
}

export interface FramedOrderedSet extends At {
  kind: 'ordered-set';
  name: 'SKP' | 'FTS' | 'EIOS' | 'EIEOS' | 'TS1' | 'TS2';
  symbols: number;
}

export type FramedPacket = FramedTlp | FramedDllp | FramedOrderedSet;

export type FrameProblemKind = 'bad-symbol' | 'disparity' | 'framing' | 'lcrc' | 'crc16';

export interface FrameProblem {
  record: number;
  offset: number;
  fileOffset: number;
  direction: Direction;
  kind: FrameProblemKind;
  message: string;
}

export interface FrameSink {
  packet(p: FramedPacket): void;
  problem(p: FrameProblem): void;
}

const hex = (n: number, w = 2): string => `0x${n.toString(16).padStart(w, '0')}`;

const TS_IDS: Record<number, 'TS1' | 'TS2'> = { 0x4a: 'TS1', 0x45: 'TS2', 0xb5: 'TS1', 0xba: 'TS2' };

/** Frames one block of symbols (see the module comment). */
export function frameSymbols(b: SymbolBlock, sink: FrameSink): void {
  const s = b.symbols;
  const n = s.length;
  const k = b.kFlags;
  const isK = (j: number): boolean => (k ? k[j] !== 0 : K_CODES.has(s[j]!));
  const at = (offset: number): At => ({ record: b.record, offset, timeNs: b.timeNs, direction: b.direction });
  const problem = (offset: number, kind: FrameProblemKind, message: string): void =>
    sink.problem({
      record: b.record,
      offset,
      fileOffset: b.fileOffset + offset,
      direction: b.direction,
      kind,
      message,
    });
  let firstUnframed = -1;
  let runStart = -1;
  const closeRun = (end: number, why = ''): void => {
    if (runStart < 0) return;
    if (firstUnframed < 0) firstUnframed = runStart;
    const count = end - runStart;
    problem(
      runStart,
      'framing',
      `${count} symbol${count === 1 ? '' : 's'} outside any packet (offsets ${runStart}–${end - 1}, first ${hex(s[runStart]!)})${why}`,
    );
    runStart = -1;
  };

  let i = 0;
  while (i < n) {
    const c = s[i]!;
    if (!isK(i) || (runStart >= 0 && (c === 0x00 || c === SYM.PAD))) {
      // logical idle (D0.0) between packets is expected; anything else opens (or extends) a run
      if (runStart < 0 && c !== 0x00) runStart = i;
      i++;
      continue;
    }
    if (c === SYM.PAD) {
      i++;
      continue;
    }
    if (c === SYM.STP) {
      closeRun(i);
      i = tlpAt(b, i, isK, sink, problem);
    } else if (c === SYM.SDP) {
      closeRun(i);
      i = dllpAt(b, i, sink, problem, at);
    } else if (c === SYM.COM) {
      closeRun(i);
      const os = orderedSetAt(s, i);
      if (!os) {
        runStart = i;
        i++;
        continue;
      }
      sink.packet({ kind: 'ordered-set', ...at(i), name: os.name, symbols: os.length });
      i += os.length;
      if (os.name === 'EIOS' && i < n) {
        // the transmitter stops after an EIOS: what the analyzer records next is the line settling
        runStart = i;
        closeRun(n, ' after an Electrical Idle Ordered Set (the link entering electrical idle)');
        i = n;
      }
    } else {
      if (runStart < 0) runStart = i;
      i++;
    }
  }
  closeRun(n);
  const where = firstUnframed >= 0 ? firstUnframed : 0;
  if (b.symbolError)
    problem(
      where,
      'bad-symbol',
      'the record is flagged with a symbol error (an invalid 10-bit code; the capture does not say where)',
    );
  if (b.disparityError)
    problem(
      where,
      'disparity',
      'the record is flagged with a running-disparity error (the capture does not say where)',
    );
}

/** The symbols a TLP takes from STP to END, from its header; null when the block ends first. */
function tlpLength(s: Uint8Array, i: number): number | null {
  let p = i + 3;
  // TLP prefixes (Fmt 100b), at most a few: bounded by the block anyway
  while (p + 4 <= s.length && s[p]! >>> 5 === 4) p += 4;
  if (p + 4 > s.length) return null;
  const fmt = s[p]! >>> 5;
  const lenDw = ((s[p + 2]! & 3) << 8) | s[p + 3]! || 1024;
  const td = (s[p + 2]! & 0x80) !== 0;
  const bytes = (fmt & 1 ? 16 : 12) + (fmt & 2 ? lenDw * 4 : 0) + (td ? 4 : 0);
  return p + bytes + 4 + 1 - i;
}

function tlpAt(
  b: SymbolBlock,
  i: number,
  isK: (j: number) => boolean,
  sink: FrameSink,
  problem: (offset: number, kind: FrameProblemKind, message: string) => void,
): number {
  const s = b.symbols;
  const n = s.length;
  const isEnd = (j: number): boolean => (s[j] === SYM.END || s[j] === SYM.EDB) && isK(j);
  let malformed: string | null = null;
  const want = tlpLength(s, i);
  let end = want !== null ? i + want - 1 : -1;
  if (end < 0 || end >= n || !isEnd(end)) {
    // the header's length does not lead to END/EDB: take the first END/EDB after the smallest TLP
    let j = i + 3 + 12 + 4;
    while (j < n && !isEnd(j)) j++;
    if (j >= n) {
      problem(i, 'framing', `TLP (STP at offset ${i}) not ended before the record's end (${n - i} symbols)`);
      return n;
    }
    malformed =
      want === null
        ? `header cut short`
        : `its header gives ${want} symbols from STP to END, the END/EDB is at ${j + 1 - i}`;
    problem(i, 'framing', `TLP at offset ${i}: ${malformed}`);
    end = j;
  }
  const lcrcAt = end - 4;
  if (b.kFlags) {
    for (let j = i + 1; j < end; j++) {
      if (b.kFlags[j]) {
        problem(j, 'framing', `K code ${hex(s[j]!)} inside the TLP at offset ${i}`);
        malformed ??= 'K code inside';
        break;
      }
    }
  }
  const seq = ((s[i + 1]! & 0x0f) << 8) | s[i + 2]!;
  const computed = lcrc(s, i + 1, lcrcAt);
  const stored = storedLcrc(s, lcrcAt);
  const nullified = s[end] === SYM.EDB;
  let lcrcOk: boolean;
  if (nullified) {
    lcrcOk = stored === ~computed >>> 0;
    if (!lcrcOk)
      problem(
        lcrcAt,
        'lcrc',
        `nullified TLP (EDB) seq ${seq}: LCRC ${hex(stored, 8)} is not the inverted LCRC ${hex(~computed >>> 0, 8)}`,
      );
  } else {
    lcrcOk = stored === computed;
    if (!lcrcOk)
      problem(lcrcAt, 'lcrc', `TLP seq ${seq}: LCRC ${hex(stored, 8)}, computed ${hex(computed, 8)}`);
  }
  const dws: number[] = [];
  let p = i + 3;
  const readDw = (q: number): number =>
    ((s[q]! << 24) | (s[q + 1]! << 16) | (s[q + 2]! << 8) | s[q + 3]!) >>> 0;
  while (p + 4 <= lcrcAt && dws.length < 16) {
    const d = readDw(p);
    dws.push(d);
    p += 4;
    if (d >>> 29 !== 4) break; // the header's DW0: the rest of the header follows
  }
  const dw0 = dws[dws.length - 1];
  const headerDws = dw0 !== undefined && dw0 >>> 29 !== 4 ? ((dw0 >>> 29) & 1 ? 4 : 3) : 0;
  for (let h = 1; h < headerDws && p + 4 <= lcrcAt; h++, p += 4) dws.push(readDw(p));
  const tlp = decodeTlp(dws, null);
  if (tlp.problem) malformed ??= tlp.problem;
  sink.packet({
    kind: 'tlp',
    record: b.record,
    offset: i,
    timeNs: b.timeNs,
    direction: b.direction,
    seq,
    dws,
    payload: s.subarray(p, Math.min(lcrcAt, p + tlp.payloadDws * 4)),
    lcrc: stored,
    lcrcOk,
    nullified,
    symbols: end + 1 - i,
    tlp,
    malformed,
  });
  return end + 1;
}

function dllpAt(
  b: SymbolBlock,
  i: number,
  sink: FrameSink,
  problem: (offset: number, kind: FrameProblemKind, message: string) => void,
  at: (offset: number) => At,
): number {
  const s = b.symbols;
  if (i + 8 > s.length) {
    problem(i, 'framing', `DLLP (SDP at offset ${i}) cut short: ${s.length - i} of 8 symbols`);
    return s.length;
  }
  if (s[i + 7] !== SYM.END || (b.kFlags && !b.kFlags[i + 7])) {
    problem(i + 7, 'framing', `DLLP at offset ${i}: ${hex(s[i + 7]!)} where END belongs`);
  }
  const crc = storedDllpCrc(s, i + 5);
  const computed = dllpCrc(s, i + 1, i + 5);
  const dllp = decodeDllp(s[i + 1]!, s[i + 2]!, s[i + 3]!, s[i + 4]!);
  const crcOk = crc === computed;
  if (!crcOk) problem(i + 5, 'crc16', `DLLP ${dllp.name}: CRC ${hex(crc, 4)}, computed ${hex(computed, 4)}`);
  sink.packet({ kind: 'dllp', ...at(i), dllp, crc, crcOk });
  return i + 8;
}

/** The ordered set a COM at i starts, or null when the symbols after it match none. */
function orderedSetAt(s: Uint8Array, i: number): { name: FramedOrderedSet['name']; length: number } | null {
  const n = s.length;
  const next = s[i + 1];
  const run = (sym: number, max: number): number => {
    let j = i + 1;
    while (j < n && j - i - 1 < max && s[j] === sym) j++;
    return j - i - 1;
  };
  if (next === SYM.SKP) return { name: 'SKP', length: 1 + run(SYM.SKP, 5) };
  if (next === SYM.FTS) return { name: 'FTS', length: 1 + run(SYM.FTS, 3) };
  if (next === SYM.IDL) return { name: 'EIOS', length: 1 + run(SYM.IDL, 3) };
  if (next === SYM.EIE) {
    let len = 1 + run(SYM.EIE, 15);
    if (i + len < n && s[i + len] === 0x4a && len < 16) len++; // 5.0 GT/s: symbol 15 is D10.2
    return { name: 'EIEOS', length: len };
  }
  if (i + 16 <= n) {
    const id = TS_IDS[s[i + 6]!];
    if (id && s.subarray(i + 6, i + 16).every((x) => x === s[i + 6])) return { name: id, length: 16 };
  }
  return null;
}
