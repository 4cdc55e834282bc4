// The Gen1/Gen2 framer, the TLP decoder (aer-tlp.ts decodeTlp) and the .pad packet decoder on symbol
// streams built by hand here: each TLP's LCRC and each DLLP's CRC is computed in this file with a
// bit-at-a-time CRC written from the specification's definition (polynomials 04C11DB7h and 100Bh,
// seed all ones, bits taken LSB first, result complemented, sent least significant byte first), not
// with the code under test. Plus a property test: random symbols and random records never throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PadRecordData } from './agilent-pad';
import { PadPacketDecoder, type PadMemoryRequest } from './agilent-pad-packets';
import { decodeTlp } from './aer-tlp';
import { dllpCrc, lcrc } from './pcie-crc';
import { frameSymbols, type FramedPacket, type FrameProblem, type SymbolBlock } from './pcie-framer';

/** CRC bit by bit (reflected input, LSB first), complemented; returned as the symbols in link order. */
function specCrc(bytes: number[], poly: number, width: 16 | 32): number[] {
  const top = width === 32 ? 0x80000000 : 0x8000;
  const mask = width === 32 ? 0xffffffff : 0xffff;
  let c = mask;
  for (const byte of bytes) {
    for (let bit = 0; bit < 8; bit++) {
      const inBit = (byte >>> bit) & 1;
      const msb = c & top ? 1 : 0;
      c = (c << 1) & mask;
      if (msb ^ inBit) c = (c ^ poly) & mask;
    }
  }
  c = ~c & mask;
  // the remainder's bit 31 (15) goes out first as bit 0 of the first symbol
  const out: number[] = [];
  for (let byte = 0; byte < width / 8; byte++) {
    let v = 0;
    for (let bit = 0; bit < 8; bit++) v |= ((c >>> (width - 1 - (byte * 8 + bit))) & 1) << bit;
    out.push(v);
  }
  return out;
}

const be = (dws: number[]): number[] =>
  dws.flatMap((d) => [d >>> 24, (d >>> 16) & 0xff, (d >>> 8) & 0xff, d & 0xff]);

/** STP, seq, the TLP's DWs, LCRC (inverted when nullified), END or EDB. */
function tlpSymbols(
  seq: number,
  dws: number[],
  opts: { nullify?: boolean; badLcrc?: boolean } = {},
): number[] {
  const body = [(seq >>> 8) & 0x0f, seq & 0xff, ...be(dws)];
  let crc = specCrc(body, 0x04c11db7, 32);
  if (opts.nullify) crc = crc.map((b) => ~b & 0xff);
  if (opts.badLcrc) crc = [crc[0]! ^ 1, ...crc.slice(1)];
  return [0xfb, ...body, ...crc, opts.nullify ? 0xfe : 0xfd];
}

function dllpSymbols(b: [number, number, number, number], bad = false): number[] {
  const crc = specCrc(b, 0x100b, 16);
  if (bad) crc[1] ^= 0x80;
  return [0x5c, ...b, ...crc, 0xfd];
}

function frame(symbols: number[], more: Partial<SymbolBlock> = {}) {
  const packets: FramedPacket[] = [];
  const problems: FrameProblem[] = [];
  frameSymbols(
    {
      record: 7,
      timeNs: 1000,
      direction: 'upstream',
      symbols: Uint8Array.from(symbols),
      kFlags: null,
      fileOffset: 500,
      symbolError: false,
      disparityError: false,
      ...more,
    },
    { packet: (p) => packets.push(p), problem: (p) => problems.push(p) },
  );
  return { packets, problems };
}

const UPSTREAM = 1 << 28;
function padRecord(data: number[], flags = UPSTREAM, extra: Partial<PadRecordData> = {}): PadRecordData {
  return {
    number: 42,
    timeNs: 5000,
    lfsr: 0,
    metadataInfo: 0,
    flags: flags | 0x500,
    fileOffset: 100,
    data: Uint8Array.from(data),
    ...extra,
  };
}

// MWr, 4-DW header, 2 DW of data, AT 00, requester 03:00.0, tag 0x12, BEs ff, address 0x1_2345_6780,
// behind a PASID prefix (PASID 0x12345, Execute Requested) and an IDE prefix with T set
const PASID_PREFIX = 0x91000000 | (1 << 20) | 0x12345;
const IDE_PREFIX = 0x92000000 | (1 << 21) | (0x05 << 8);
const MWR64 = [0x60000002, 0x030012ff, 0x00000001, 0x23456780, 0xdeadbeef, 0x01020304];

describe('CRCs', () => {
  it('match a bit-at-a-time CRC written from the definition', () => {
    const body = Uint8Array.from([0x00, 0x05, 0x33, 0, 0, 0, 0, 0, 0, 0x19, 0, 0, 0, 0, 0, 0, 0, 0]);
    const link = (v: number, n: number) =>
      Array.from({ length: n }, (_, i) => (v >>> (8 * (n - 1 - i))) & 0xff);
    expect(link(lcrc(body), 4)).toEqual(specCrc([...body], 0x04c11db7, 32));
    // the real capture's LCRC of that PME_Turn_Off (record 0): fa 26 06 4b
    expect(lcrc(body)).toBe(0xfa26064b);
    // and the CRC-32 check value (crc32("123456789") = cbf43926, sent 26 39 f4 cb)
    expect(lcrc(Uint8Array.from('123456789', (c) => c.charCodeAt(0)))).toBe(0x2639f4cb);
    const ack = Uint8Array.from([0x00, 0x00, 0x00, 0x05]);
    expect(link(dllpCrc(ack), 2)).toEqual(specCrc([...ack], 0x100b, 16));
    expect(dllpCrc(ack)).toBe(0x9617); // the capture's Ack seq 5 (record 1): 96 17
  });
});

describe('decodeTlp', () => {
  it('applies the PASID and IDE prefixes and decodes the header', () => {
    const d = decodeTlp([PASID_PREFIX, IDE_PREFIX, ...MWR64.slice(0, 4)], null);
    expect(d).toMatchObject({
      tlpType: 'MWr',
      access: 'write',
      requesterId: 0x0300,
      bdf: '0000:03:00.0',
      pasid: 0x12345,
      exec: true,
      priv: false,
      tbit: true,
      at: 0,
      address: '0x123456780',
      length: 8,
      headerDws: 4,
      payloadDws: 2,
      ecrc: false,
      problem: null,
    });
    expect(d.prefixes.map((p) => p.name)).toEqual(['PASID', 'IDE']);
    expect(d.detail).toMatchObject({
      tag: 0x12,
      firstBe: 0xf,
      lastBe: 0xf,
      ideStream: 5,
      prefixes: 'PASID IDE',
    });
  });

  it('names messages, completions, configuration requests; reports DWs missing', () => {
    expect(decodeTlp([0x33000000, 0x00000019, 0, 0], null)).toMatchObject({
      tlpType: 'Msg',
      access: 'message',
      detail: { messageCode: 0x19, message: 'PME_Turn_Off', routing: 'broadcast from RC' },
    });
    expect(decodeTlp([0x4a000001, 0x01000004, 0x03001200], null)).toMatchObject({
      tlpType: 'CplD',
      requesterId: 0x0300,
      detail: { completerId: 0x0100, status: 'SC', byteCount: 4 },
    });
    expect(decodeTlp([0x0a000000, 0x01008004, 0x03001200], null).detail.status).toBe('CA');
    expect(decodeTlp([0x04000001, 0x0000010f, 0x01000010], null).tlpType).toBe('CfgRd0');
    // 10-bit tag: T9 (DW0 bit 23) and T8 (bit 19)
    expect(decodeTlp([0x00880001, 0x0100ab0f, 0x1000], null).detail.tag).toBe(0x3ab);
    expect(decodeTlp([0x60000001, 0x01000000], null).problem).toBe('header cut short (2 of 4 DWs)');
    expect(decodeTlp([PASID_PREFIX], null)).toMatchObject({
      problem: 'TLP prefixes without a header',
      access: 'other',
    });
  });
});

describe('frameSymbols', () => {
  it('frames a prefixed MWr, a DLLP, a SKP ordered set and logical idle', () => {
    const { packets, problems } = frame([
      0x00,
      ...tlpSymbols(0x123, [PASID_PREFIX, ...MWR64]),
      0x00,
      0x00,
      ...dllpSymbols([0x00, 0x00, 0x01, 0x23]),
      0xbc,
      0x1c,
      0x1c,
      0x1c,
    ]);
    expect(problems).toEqual([]);
    expect(packets.map((p) => [p.kind, p.offset])).toEqual([
      ['tlp', 1],
      ['dllp', 39],
      ['ordered-set', 47],
    ]);
    const t = packets[0]!;
    if (t.kind !== 'tlp') throw new Error('not a TLP');
    expect(t).toMatchObject({
      seq: 0x123,
      lcrcOk: true,
      nullified: false,
      malformed: null,
      symbols: 36,
      record: 7,
    });
    expect([...t.payload]).toEqual([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    expect(t.tlp.pasid).toBe(0x12345);
    expect(packets[1]).toMatchObject({ dllp: { name: 'Ack', fields: { seq: 0x123 } }, crcOk: true });
    expect(packets[2]).toMatchObject({ name: 'SKP', symbols: 4 });
  });

  it('a nullified TLP (EDB, inverted LCRC) is no problem; EDB with a plain LCRC is', () => {
    const ok = frame(tlpSymbols(9, MWR64, { nullify: true }));
    expect(ok.problems).toEqual([]);
    expect(ok.packets[0]).toMatchObject({ kind: 'tlp', nullified: true, lcrcOk: true });
    const bad = tlpSymbols(9, MWR64);
    bad[bad.length - 1] = 0xfe;
    expect(frame(bad).problems.map((p) => p.kind)).toEqual(['lcrc']);
  });

  it('a bad LCRC is a problem with the record number and the LCRC offset', () => {
    const { packets, problems } = frame([0x00, 0x00, ...tlpSymbols(1, MWR64, { badLcrc: true })]);
    // STP at 2, seq 3–4, 6 DWs 5–28, LCRC at 29
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      record: 7,
      offset: 29,
      fileOffset: 529,
      kind: 'lcrc',
      direction: 'upstream',
    });
    expect(problems[0]!.message).toMatch(/^TLP seq 1: LCRC 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}$/);
    expect(packets[0]).toMatchObject({ lcrcOk: false });
  });

  it('a bad DLLP CRC, a DLLP cut short, a TLP whose END is not where its header says', () => {
    expect(frame(dllpSymbols([0x24, 0, 0, 0], true)).problems).toMatchObject([{ kind: 'crc16', offset: 5 }]);
    expect(frame([0x5c, 0x00, 0x00]).problems).toMatchObject([{ kind: 'framing', offset: 0 }]);
    // header says 1 DW of data, the stream carries 2: END found 4 symbols later (1 + 2 + 24 + 4 + 1)
    const s = tlpSymbols(2, [0x60000001, ...MWR64.slice(1)]);
    const { packets, problems } = frame(s);
    expect(problems.map((p) => p.kind)).toEqual(['framing']);
    expect(problems[0]!.message).toMatch(
      /its header gives 28 symbols from STP to END, the END\/EDB is at 32/,
    );
    expect(packets[0]).toMatchObject({ lcrcOk: true, malformed: expect.stringMatching(/header gives 28/) });
  });

  it('symbols outside packets are one framing problem per run; record error flags are reported', () => {
    const { problems } = frame([0x12, 0x34, 0x00, 0x56, ...dllpSymbols([0x21, 0, 0, 0]), 0x99], {
      symbolError: true,
      disparityError: true,
    });
    expect(problems.map((p) => [p.kind, p.offset])).toEqual([
      ['framing', 0],
      ['framing', 12],
      ['bad-symbol', 0],
      ['disparity', 0],
    ]);
    expect(problems[0]!.message).toBe('4 symbols outside any packet (offsets 0–3, first 0x12)');
  });

  it('with stored K flags, a data byte equal to END inside a TLP is data and a K code inside is a problem', () => {
    // MWr 3-DW, 1 DW of data fd fd fd fd
    const s = tlpSymbols(3, [0x40000001, 0x0100000f, 0x00001000, 0xfdfdfdfd]);
    const k = new Uint8Array(s.length);
    k[0] = 1;
    k[s.length - 1] = 1;
    expect(frame(s, { kFlags: k }).problems).toEqual([]);
    k[10] = 1;
    expect(frame(s, { kFlags: k }).problems.map((p) => [p.kind, p.offset])).toEqual([['framing', 10]]);
  });
});

describe('PadPacketDecoder', () => {
  it('hands an upstream MWr with PASID and IDE prefixes over as a memory request', () => {
    const got: PadMemoryRequest[] = [];
    const d = new PadPacketDecoder({ onMemoryRequest: (r) => got.push(r) });
    d.record(padRecord(tlpSymbols(1, [PASID_PREFIX, IDE_PREFIX, ...MWR64])));
    expect(got).toEqual([
      {
        timeNs: 5000,
        record: 42,
        requesterId: 0x0300,
        pasid: 0x12345,
        tbit: true,
        at: 0,
        access: 'write',
        exec: true,
        priv: false,
        address: 0x123456780n,
        length: 8,
        tlpType: 'MWr',
      },
    ]);
    // the same TLP again (a Data Link Layer replay), a downstream copy, a nullified one: not handed over
    d.record(padRecord(tlpSymbols(1, [PASID_PREFIX, ...MWR64])));
    d.record(padRecord(tlpSymbols(1, MWR64), 0));
    d.record(padRecord(tlpSymbols(2, MWR64, { nullify: true })));
    expect(got).toHaveLength(1);
    expect(d.summary().notWritten).toEqual({
      'replayed TLPs (Data Link Layer retransmissions)': 1,
      'downstream memory requests (CPU to device MMIO: not through the IOMMU)': 1,
      'nullified TLPs (EDB)': 1,
    });
    expect(d.summary().tlps).toMatchObject({
      total: 4,
      good: 2,
      replayed: 1,
      nullified: 1,
      byType: { MWr: 4 },
    });
  });

  it('reads K flags from the record metadata (LFSR or metadata info set, offset in bits 14:0)', () => {
    const s = tlpSymbols(3, [0x40000001, 0x0100000f, 0x00001000, 0xfdfdfdfd]);
    // 2 metadata bytes per 8 symbols: K mask (LSB first), disparity
    const meta: number[] = [];
    for (let i = 0; i < s.length; i += 8) {
      let m = 0;
      for (let j = 0; j < 8 && i + j < s.length; j++) if (i + j === 0 || i + j === s.length - 1) m |= 1 << j;
      meta.push(m, 0);
    }
    const got: PadMemoryRequest[] = [];
    const d = new PadPacketDecoder({ onMemoryRequest: (r) => got.push(r) });
    d.record(padRecord([...s, ...meta], UPSTREAM, { lfsr: 0xffff, metadataInfo: s.length }));
    expect(d.summary()).toMatchObject({
      kCodes: { stored: 1, inferred: 0 },
      symbols: s.length,
      problems: { count: 0 },
    });
    expect(got.map((r) => [r.access, r.address, r.length])).toEqual([['write', 0x1000n, 4]]);
  });

  it('never throws on random records; problems stay inside the record', () => {
    const symbol = fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0xfb, 0x5c, 0xfd, 0xfe, 0xbc, 0x1c, 0x7c, 0xfc, 0xf7, 0x00, 0x80),
    );
    fc.assert(
      fc.property(
        fc.array(symbol, { maxLength: 200 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (data, flags, lfsr, metadataInfo) => {
          const d = new PadPacketDecoder({ onMemoryRequest: () => undefined, keepProblems: 1000 });
          const r = padRecord(data, flags, { lfsr, metadataInfo, flags });
          d.record(r);
          d.record(padRecord([...tlpSymbols(5, MWR64), ...data]));
          for (const p of d.summary().problems.first) {
            expect(p.offset).toBeGreaterThanOrEqual(0);
            expect(p.offset).toBeLessThanOrEqual(Math.max(data.length, 35 + data.length));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
