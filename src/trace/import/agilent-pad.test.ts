// The Keysight/Agilent .pad reader on the one public capture (the reference sample
// pcie-analyzer/keysight-agilent-pad-trace-link-power-off.pad.zst, 12236 bytes decompressed), fed in
// pieces of several sizes, and on damaged copies. Expected values read by hand from a hex dump of the
// decompressed file:
//   0x0000  00 20 "AGT_MODULE_ONEPORT_PCIEXPRESS_X8", 00 01 "1", 00 02 "Rx", 00 00, 00 03 "PA1"
//   0x0038  trigger record 0035e143 (3531075), 00000003, first 0035e143, last 0035e190 (3531152),
//           record length 00000028, timestamp words 00000008
//   0x0050  first time 00000000 b8adb280, last 00000002 20201a10, stop 00000002 20201a10,
//           trigger 00000002 20200dd8
//   0x0070  00 24 GUID "6fb18cfe-…", 00 10 "101/1:Downstream", 00 0e "101/1:Upstream", 6 × 0000
//   0x00c4  records offset 00000000 000000ec (236), record data offset 00000000 00000d20 (3360),
//           00 16 "Start-of-fixed-records" (ends at 0xec)
//   0x00ec  record 0: 43e13500 (3531075), 18000000 (24 bytes), count 0/1, time 2 / d80d2020
//           (= the trigger time), lfsr 0, metadata 0, flags 00050000 (0x500: x1, speed valid, 2.5 GT/s,
//           bonded, downstream), data offset 0/0
//   0x0114  record 1: 44e13500, 8 bytes, flags 00050010 (0x10000500: upstream), data offset 0/0x18
// Tallies over the 78 records (checked with an independent struct.unpack scan): 31 downstream records
// with 4372 bytes of data, 47 upstream with 4504; two records (60 up, 77 down, 4120 bytes each) have flags
// 0xd08 (symbol error and disparity error: the link powering off); data 8876 bytes = 12236 - 3360.
// (Record 0's data, fb 00 05 33000000 00000019 …, is an STP-framed PME_Turn_Off message: the reader
// hands record data over with onRecordData; agilent-pad-packets.test.ts frames it.)
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { PAD_RECORD_BYTES, PadReader, type PadSummary } from './agilent-pad';

// shared/ lies beside the checkout (as test/import-cli.test.ts finds it)
const SAMPLE = fileURLToPath(
  new URL(
    '../../../../shared/reference/samples/pcie-analyzer/keysight-agilent-pad-trace-link-power-off.pad.zst',
    import.meta.url,
  ),
);
const have = existsSync(SAMPLE);
const bytes = have ? decompress(new Uint8Array(readFileSync(SAMPLE))) : new Uint8Array(0);

function read(b: Uint8Array, piece: number): PadSummary {
  const r = new PadReader();
  for (let i = 0; i < b.length; i += piece) r.push(b.subarray(i, i + piece));
  return r.end();
}

describe.skipIf(!have)('the link power-off sample', () => {
  it('decompresses to 12236 bytes', () => {
    expect(bytes.length).toBe(12236);
  });

  it.each([1, 7, 40, 41, 4096, 1 << 20])('reads the header and 78 records in pieces of %i bytes', (piece) => {
    const s = read(bytes, piece);
    expect(s.problems).toEqual([]);
    expect(s.bytes).toBe(12236);
    expect(s.header).toEqual({
      moduleType: 'AGT_MODULE_ONEPORT_PCIEXPRESS_X8',
      portId: '1',
      rxOrTx: 'Rx',
      description: '',
      formatCode: 'PA1',
      triggerRecordNumber: 3531075,
      firstRecordNumber: 3531075,
      lastRecordNumber: 3531152,
      recordLength: 40,
      timestampArraySize: 8,
      firstTimestampNs: 0xb8adb280,
      lastTimestampNs: 2 * 2 ** 32 + 0x20201a10,
      stopTimestampNs: 2 * 2 ** 32 + 0x20201a10,
      triggerTimestampNs: 2 * 2 ** 32 + 0x20200dd8,
      guid: '6fb18cfe-4493-4a1e-8272-649b0c21ae24',
      channels: ['101/1:Downstream', '101/1:Upstream'],
      startTime: { hour: 0, minute: 0, millisec: 0 },
      stopTime: { hour: 0, minute: 0, millisec: 0 },
      recordsOffset: 0xec,
      recordDataOffset: 0xd20,
      marker: 'Start-of-fixed-records',
      length: 0xec,
    });
    expect(s.records).toEqual({
      count: 78,
      expected: 78,
      firstNumber: 3531075,
      lastNumber: 3531152,
      numberGaps: 0,
      // the first record is the trigger's; the last is at the header's last time
      firstNs: 2 * 2 ** 32 + 0x20200dd8,
      lastNs: 2 * 2 ** 32 + 0x20201a10,
      timeBackwards: 0,
      countNotOne: 0,
    });
    expect(s.channels.map((c) => [c.name, c.direction, c.records, c.dataBytes])).toEqual([
      ['101/1:Downstream', 'downstream', 31, 4372],
      ['101/1:Upstream', 'upstream', 47, 4504],
    ]);
    expect(s.link).toEqual({
      widths: { x1: 78 },
      speeds: { '2.5 GT/s': 78 },
      channelBonded: 78,
      scrambled: 0,
      symbolErrors: 2,
      disparityErrors: 2,
      gaps: 0,
      electricalIdleLanes: 0,
    });
    expect(s.data).toEqual({ bytes: 8876, referenced: 8876, nonContiguous: 0 });
  });
});

describe.skipIf(!have)('damaged copies', () => {
  it('a file cut inside the records reports the records missing', () => {
    const s = read(bytes.subarray(0, 0xec + 10 * PAD_RECORD_BYTES + 13), 100);
    expect(s.records.count).toBe(10);
    expect(s.problems.map((p) => p.message)).toEqual([
      'the file ends after 10 of 78 records',
      'records point at 108 bytes of record data, the file holds 0', // the first 10 records' data lengths add up to 108
    ]);
  });

  it('a file cut inside the header, an empty file', () => {
    expect(read(bytes.subarray(0, 100), 30).problems).toEqual([
      { offset: 0, message: 'the file ends inside the header (100 bytes read)' },
    ]);
    expect(read(new Uint8Array(0), 1).problems).toEqual([{ offset: 0, message: 'empty file' }]);
  });

  it('a record length other than 40 stops record parsing, with a problem', () => {
    const b = bytes.slice();
    b[0x4b] = 0x30; // record length 0x28 → 0x30
    const s = read(b, 4096);
    expect(s.records.count).toBe(0);
    expect(s.problems[0]).toEqual({ offset: 0, message: 'record length 48, not 40: records not read' });
  });

  it('a record number out of sequence and time going back are counted', () => {
    const b = bytes.slice();
    const r5 = 0xec + 5 * PAD_RECORD_BYTES;
    b[r5] = 0x00; // number 0x0035e148 → 0x0035e100
    b[r5 + 20] = 0x00; // its time's low word 0x2020…… → 0x2020..00: earlier than record 4
    b[r5 + 21] = 0x00;
    const s = read(b, 4096);
    expect(s.records.numberGaps).toBe(2); // into record 5 and out of it
    expect(s.records.timeBackwards).toBe(1);
    expect(s.problems).toEqual([]);
  });
});
