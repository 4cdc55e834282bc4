// The packets of the one public Keysight/Agilent capture (pcie-analyzer/keysight-agilent-pad-trace-link-
// power-off.pad.zst), framed from its record data. Expected values written by hand from a hex dump of
// the decompressed file's record data (offset 0xd20; records at 0xec, 40 bytes each; all 78 records
// have LFSR 0 and metadata info 0, so the data is one decoded byte per symbol with no K-flag metadata):
//   record 0 (3531075, downstream, 24 bytes):
//     fb | 00 05 | 33000000 00000019 00000000 00000000 | fa 26 06 4b | fd
//     STP, seq 5, Fmt 001 Type 10011 (Msg, 4-DW header, broadcast from the RC), Length 0, requester
//     0000 (00:00.0), tag 00, message code 19h PME_Turn_Off, LCRC fa26064b, END
//   record 1 (upstream):  5c | 00 00 00 05 | 96 17 | fd   Ack seq 5, CRC 9617
//   record 2 (upstream):  5c | 80 04 00 67 | 5a b8 | fd   UpdateFC-P VC0, HdrFC 04h<<2|0 = 16, DataFC 067h = 103
//   record 3 (upstream):  fb | 00 04 | 35000000 0000001b 00000000 00000000 | db ac c7 b1 | fd
//     Msg gathered to the RC (Type 10101), PME_TO_Ack (1bh), seq 4
//   records 4–8, 10–26, 28, 29, 31, 32, 34, 35 … (upstream): 5c 21 000000 1055 fd  PM_Enter_L23 (43 in all)
//   record 9 (downstream): bc 1c 1c 1c                    SKP ordered set (COM + 3 SKP)
//   record 27 (downstream): 5c 00 00 00 04 | 37 0c | fd   Ack seq 4
//   record 30 (downstream): 5c 80 04 c1 80 | b7 3a | fd   UpdateFC-P, HdrFC 04h<<2|3 = 19, DataFC 180h = 384
//   records 33, 36 … 59, 61–76 (downstream): 5c 24 000000 930c fd  PM_Request_Ack (26 in all)
//   record 60 (upstream, 4120 bytes, flags 0x10000d08) and record 77 (downstream, flags 0xd08):
//     bc 7c 7c 7c (EIOS: COM + 3 IDL) then 4116 bytes of line noise; both flagged symbol + disparity error
// The link-power-off handshake of PCIe Base Spec §5.3.3.2.1: PME_Turn_Off down, Ack, PME_TO_Ack up,
// PM_Enter_L23 repeated until the RC's PM_Request_Ack, then both sides send EIOS. No memory request.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decompress } from 'fzstd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PadReader } from './agilent-pad';
import { PadPacketDecoder, type PadPacketSummary } from './agilent-pad-packets';

const SAMPLE = fileURLToPath(
  new URL(
    '../../../../shared/reference/samples/pcie-analyzer/keysight-agilent-pad-trace-link-power-off.pad.zst',
    import.meta.url,
  ),
);
const have = existsSync(SAMPLE);
const bytes = have ? decompress(new Uint8Array(readFileSync(SAMPLE))) : new Uint8Array(0);

function decode(
  b: Uint8Array,
  piece: number,
  keepPackets = 100,
): { packets: PadPacketSummary; problems: unknown[] } {
  const d = new PadPacketDecoder({ keepPackets, onMemoryRequest: () => undefined });
  const r = new PadReader({ onRecordData: (x) => d.record(x) });
  for (let i = 0; i < b.length; i += piece) r.push(b.subarray(i, i + piece));
  return { packets: d.summary(), problems: r.end().problems };
}

const TRIGGER_NS = 2 * 2 ** 32 + 0x20200dd8;

describe.skipIf(!have)('the link power-off sample, framed', () => {
  it.each([1, 13, 40, 4096, 1 << 20])('frames every record the same in pieces of %i bytes', (piece) => {
    const { packets: s, problems } = decode(bytes, piece);
    expect(problems).toEqual([]);
    expect(s).toMatchObject({
      records: 78,
      symbols: 8876,
      kCodes: { inferred: 78, stored: 0 },
      scrambledRecords: 0,
      tlps: {
        total: 2,
        good: 2,
        lcrcErrors: 0,
        nullified: 0,
        malformed: 0,
        replayed: 0,
        byType: { 'Msg PME_Turn_Off': 1, 'Msg PME_TO_Ack': 1 },
        byDirection: { downstream: 1, upstream: 1 },
      },
      dllps: {
        total: 73,
        crcErrors: 0,
        byType: { Ack: 2, 'UpdateFC-P': 2, PM_Enter_L23: 43, PM_Request_Ack: 26 },
      },
      orderedSets: { SKP: 1, EIOS: 2 },
      memoryRequests: { upstream: 0, downstream: 0 },
      notWritten: { messages: 2 },
    });
  });

  it('record 0 is the PME_Turn_Off message TLP, with its LCRC checked', () => {
    const p = decode(bytes, 4096).packets.packets;
    expect(p[0]).toEqual({
      kind: 'tlp',
      record: 3531075,
      offset: 0,
      timeNs: TRIGGER_NS,
      direction: 'downstream',
      seq: 5,
      type: 'Msg',
      requesterId: 0,
      bdf: '0000:00:00.0',
      pasid: null,
      tbit: null,
      at: null,
      access: 'message',
      address: null,
      length: null,
      detail: {
        fmt: 1,
        type: 0x13,
        tag: 0,
        dw: '33000000 00000019 00000000 00000000',
        tc: 0,
        td: false,
        ep: false,
        attr: 0,
        lengthDw: 0,
        messageCode: 0x19,
        message: 'PME_Turn_Off',
        routing: 'broadcast from RC',
      },
      payloadBytes: 0,
      lcrc: '0xfa26064b',
      lcrcOk: true,
      nullified: false,
      malformed: null,
    });
  });

  it('the packets that follow, in record order', () => {
    const p = decode(bytes, 4096).packets.packets;
    const brief = (i: number) => {
      const x = p[i] as Record<string, unknown>;
      return [
        x.record,
        x.direction,
        x.kind,
        x.type,
        x.kind === 'tlp' ? x.seq : (x.fields ?? x.symbols),
        x.crc ?? x.lcrc,
      ];
    };
    expect([1, 2, 3, 4, 9, 27, 30, 33].map(brief)).toEqual([
      [3531076, 'upstream', 'dllp', 'Ack', { seq: 5 }, '0x9617'],
      [
        3531077,
        'upstream',
        'dllp',
        'UpdateFC-P',
        { vc: 0, hdrFc: 16, dataFc: 103, hdrScale: 0, dataScale: 0 },
        '0x5ab8',
      ],
      [3531078, 'upstream', 'tlp', 'Msg', 4, '0xdbacc7b1'],
      [3531079, 'upstream', 'dllp', 'PM_Enter_L23', {}, '0x1055'],
      [3531084, 'downstream', 'ordered-set', 'SKP', 4, undefined],
      [3531102, 'downstream', 'dllp', 'Ack', { seq: 4 }, '0x370c'],
      [
        3531105,
        'downstream',
        'dllp',
        'UpdateFC-P',
        { vc: 0, hdrFc: 19, dataFc: 384, hdrScale: 0, dataScale: 0 },
        '0xb73a',
      ],
      [3531108, 'downstream', 'dllp', 'PM_Request_Ack', {}, '0x930c'],
    ]);
    expect((p[3] as { detail: Record<string, unknown> }).detail).toMatchObject({
      type: 0x15,
      messageCode: 0x1b,
      message: 'PME_TO_Ack',
      routing: 'gathered to RC',
    });
    expect(p[60]).toMatchObject({
      record: 3531135,
      direction: 'upstream',
      kind: 'ordered-set',
      type: 'EIOS',
      symbols: 4,
    });
    expect(p[77]).toMatchObject({
      record: 3531152,
      direction: 'downstream',
      kind: 'ordered-set',
      type: 'EIOS',
    });
  });

  it('the two records after the link powers off: EIOS, then noise the analyzer flags', () => {
    const { count, byKind, first } = decode(bytes, 4096).packets.problems;
    expect(count).toBe(6);
    expect(byKind).toEqual({ framing: 2, 'bad-symbol': 2, disparity: 2 });
    // record 60's data starts at data offset 508 (file 0xd20 + 508 = 3868), record 77's at 4756 (8116)
    expect(first.map((p) => [p.record, p.direction, p.offset, p.fileOffset, p.kind])).toEqual([
      [3531135, 'upstream', 4, 3868 + 4, 'framing'],
      [3531135, 'upstream', 4, 3868 + 4, 'bad-symbol'],
      [3531135, 'upstream', 4, 3868 + 4, 'disparity'],
      [3531152, 'downstream', 4, 8116 + 4, 'framing'],
      [3531152, 'downstream', 4, 8116 + 4, 'bad-symbol'],
      [3531152, 'downstream', 4, 8116 + 4, 'disparity'],
    ]);
    expect(first[0]!.message).toBe(
      '4116 symbols outside any packet (offsets 4–4119, first 0x14) after an Electrical Idle Ordered Set (the link entering electrical idle)',
    );
  });

  it('damaged copies never throw: random bytes changed anywhere in the file', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        fc.integer({ min: 1, max: 5000 }),
        (edits, piece) => {
          const b = bytes.slice();
          for (const [at, v] of edits) b[at] = v;
          const { packets } = decode(b, piece, 5);
          // a record is framed at most once, and only from the bytes the file holds
          expect(packets.records).toBeLessThanOrEqual(b.length / 40);
          expect(packets.symbols).toBeLessThanOrEqual(b.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
