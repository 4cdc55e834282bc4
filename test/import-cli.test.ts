// `iommu-lab import`: JSON and text output on real sample lines written to a temporary directory, a
// gzip built from them, the refusals (binary, -o), the Keysight/Agilent .pad sample's container summary, and the real QEMU trace of the reference
// samples when ../shared is present.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { importCommand } from '../src/cli/import-command';
import { EXIT } from '../src/cli/exit-codes';
import { readNativeTrace } from '../src/host/trace-file';
import { lcrc } from '../src/trace/import/pcie-crc';
import { readTlp, type NativeTraceHeader, type TlpRecord } from '../src/trace/native/index';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-import-'));
const SAMPLES = join(__dirname, '..', '..', 'shared', 'reference', 'samples');

// from intel-dmar/dmesg-intel-dmar-fault-pasidffffffff-reason05-relative-ts.txt and
// intel-dmar/syslog-intel-dmar-boot-rmrr-firmware-bug-t450s.txt, plus one line cut short
const KERNEL = [
  '[  +0.012066] DMAR: DRHD: handling fault status reg 2',
  '[  +0.000022] DMAR: [DMA Write] Request device [06:00.0] PASID ffffffff fault addr 0 [fault reason 05] PTE Write access is not set',
  'May 30 17:32:17 localhost kernel: [    0.168655] DMAR: RMRR base: 0x0000009d800000 end: 0x0000009fffffff',
  '[ 1.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault',
].join('\n');

/** A Keysight .pad file (layout: src/trace/import/agilent-pad.ts) holding these x1 records. */
function buildPad(records: { time: number; flags: number; data: number[] }[]): Uint8Array {
  const b: number[] = [];
  const u16 = (v: number) => b.push(v >>> 8, v & 0xff);
  const u32 = (v: number) => b.push(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const u64 = (v: number) => (u32(Math.floor(v / 2 ** 32)), u32(v >>> 0));
  const str = (t: string) => (u16(t.length), b.push(...[...t].map((c) => c.charCodeAt(0))));
  for (const t of ['AGT_MODULE_ONEPORT_PCIEXPRESS_X8', '1', 'Rx', '', 'PA1']) str(t);
  [0, 0, 100, 3, 100, 99 + records.length, 40, 8].forEach(u32);
  [records[0]!.time, records.at(-1)!.time, records.at(-1)!.time, records[0]!.time].forEach(u64);
  for (const t of ['00000000-0000-0000-0000-000000000000', 'Down', 'Up']) str(t);
  for (let i = 0; i < 6; i++) u16(0);
  const recordsOffset = b.length + 16 + 2 + 'Start-of-fixed-records'.length;
  const dataOffset = recordsOffset + 40 * records.length;
  u64(recordsOffset);
  u64(dataOffset);
  str('Start-of-fixed-records');
  const le = (v: number) => b.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  let at = 0;
  records.forEach((r, i) => {
    // number, data length, count (hi, lo), time (hi, lo), LFSR and metadata info (u16 each), flags, data offset
    [100 + i, r.data.length, 0, 1, 0, r.time, 0, r.flags, 0, at].forEach(le);
    at += r.data.length;
  });
  for (const r of records) b.push(...r.data);
  return Uint8Array.from(b);
}

async function run(file: string, opts: Parameters<typeof importCommand>[1] = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await importCommand(
    file,
    opts,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('iommu-lab import', () => {
  const kernel = join(dir, 'kernel.log');
  writeFileSync(kernel, KERNEL);

  it('--json: kind, counts, bad lines with file:line, faults in the documented shape, hints', async () => {
    const { code, out } = await run(kernel, { json: true });
    const j = JSON.parse(out);
    expect(j.kind).toBe('kernel-log');
    expect(j.importVersion).toBe(1);
    expect(j.counts).toMatchObject({ lines: 4, bad: 1, records: { fault: 1, hint: 1, info: 1 } });
    expect(j.badLines).toEqual([
      {
        file: kernel,
        line: 4,
        reason: 'DMAR fault line cut short',
        text: '[ 1.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault',
      },
    ]);
    expect(j.faults).toEqual([
      {
        source: 'intel',
        bdf: '0000:06:00.0',
        pasid: null,
        access: 'write',
        address: '0x0',
        reason: 5,
        reasonText: 'PTE Write access is not set',
        time: 0.012088,
        clock: 'delta',
        timeRaw: '+0.000022',
        line: 2,
        format: 'dmar-2019',
        origin: 'linux',
        segment: null,
        sid: 0x600,
        truncated: false,
        detail: { reasonRadix: 10 },
      },
    ]);
    expect(j.hints).toEqual([
      {
        kind: 'rmrr',
        fields: { base: '0x9d800000', end: '0x9fffffff' },
        line: 3,
        time: 0.168655,
        clock: 'boot',
        timeRaw: '0.168655',
      },
    ]);
    expect(code).toBe(EXIT.FAULTS | EXIT.ERRORS);
  });

  it('prints a readable summary without --json', async () => {
    const { out } = await run(kernel);
    expect(out).toContain('kind      kernel-log (detected');
    expect(out).toContain('1 faults (intel 1, amd 0, smmu 0), 1 hints');
    expect(out).toContain(`  ${kernel}:4: DMAR fault line cut short`);
    expect(out).toContain(
      'line 2 [+0.000022] intel 0000:06:00.0 write 0x0 reason 0x05 PTE Write access is not set',
    );
  });

  it('reads gzip-compressed input and honours --from', async () => {
    const gz = join(dir, 'trace.txt.gz');
    // from ftrace/ftrace-iommu-map-unmap-format-before-after-dev-proposal.txt
    writeFileSync(gz, gzipSync('  map: IOMMU: iova=0x0000000ffff36000 paddr=0x00000001164d8000 size=4096\n'));
    const { code, out } = await run(gz, { json: true, from: 'ftrace' });
    const j = JSON.parse(out);
    expect(j).toMatchObject({ kind: 'ftrace', compressed: 'gzip', counts: { records: { event: 1 } } });
    expect(j.events[0]).toMatchObject({
      op: 'map',
      iova: '0xffff36000',
      paddr: '0x1164d8000',
      size: 4096,
      line: 1,
    });
    expect(code).toBe(EXIT.OK);
  });

  it('refuses an unwritable -o, unknown --from, binary files and missing files with exit 64', async () => {
    const o = await run(kernel, { output: join(dir, 'no-such-dir', 'x.iotrace') });
    expect(o.code).toBe(EXIT.FATAL);
    expect(o.err).toMatch(/-o .*x\.iotrace: ENOENT/);
    const f = await run(kernel, { from: 'pcap' });
    expect(f.code).toBe(EXIT.FATAL);
    expect(f.err).toMatch(/unknown kind "pcap"/);
    const bin = join(dir, 'x.bin');
    writeFileSync(bin, Uint8Array.from([0, 1, 2, 3]));
    expect((await run(bin)).err).toMatch(/binary data/);
    expect((await run(join(dir, 'missing.log'))).code).toBe(EXIT.FATAL);
  });

  it.skipIf(!existsSync(SAMPLES))(
    'lists what the Keysight/Agilent .pad.zst sample holds and the packets its symbols frame into; -o writes none',
    async () => {
      const pad = join(SAMPLES, 'pcie-analyzer', 'keysight-agilent-pad-trace-link-power-off.pad.zst');
      const { code, out } = await run(pad, { json: true });
      // the two records after the link powers off hold noise the analyzer flags: problems, exit 8
      expect(code).toBe(EXIT.ERRORS);
      const j = JSON.parse(out);
      // values read by hand from the decompressed file (src/trace/import/agilent-pad.test.ts,
      // agilent-pad-packets.test.ts)
      expect(j).toMatchObject({
        kind: 'keysight-pad',
        compressed: 'zstd',
        bytes: 12236,
        header: { moduleType: 'AGT_MODULE_ONEPORT_PCIEXPRESS_X8', recordLength: 40 },
        records: { count: 78, expected: 78, firstNumber: 3531075, lastNumber: 3531152 },
        timeSpanNs: 0x20201a10 - 0x20200dd8,
        link: { widths: { x1: 78 }, speeds: { '2.5 GT/s': 78 }, electricalIdleLanes: '0x0' },
        data: { bytes: 8876, referenced: 8876 },
        tlpDecoding: { done: true },
        packets: {
          records: 78,
          tlps: { total: 2, good: 2, byType: { 'Msg PME_Turn_Off': 1, 'Msg PME_TO_Ack': 1 } },
          dllps: { total: 73, crcErrors: 0 },
          orderedSets: { SKP: 1, EIOS: 2 },
          memoryRequests: { upstream: 0, downstream: 0 },
          notWritten: { messages: 2 },
          problems: { count: 6, byKind: { framing: 2, 'bad-symbol': 2, disparity: 2 } },
        },
        problems: [],
      });
      expect(j.packets.packets[0]).toMatchObject({
        record: 3531075,
        kind: 'tlp',
        seq: 5,
        detail: { message: 'PME_Turn_Off', messageCode: 0x19 },
        requesterId: 0,
        lcrcOk: true,
      });
      expect(j.channels.map((c: { name: string; records: number }) => [c.name, c.records])).toEqual([
        ['101/1:Downstream', 31],
        ['101/1:Upstream', 47],
      ]);
      const text = await run(pad);
      expect(text.out).toMatch(/records +78 of 78/);
      expect(text.out).toMatch(/TLPs +2 \(2 good, .*\): Msg PME_Turn_Off 1, Msg PME_TO_Ack 1/);
      expect(text.out).toMatch(
        /DLLPs +73 \(0 bad CRC\): Ack 2, UpdateFC-P 2, PM_Enter_L23 43, PM_Request_Ack 26/,
      );
      const o = await run(pad, { output: join(dir, 'pad.iotrace'), json: true });
      expect(o.code).toBe(EXIT.ERRORS);
      expect(JSON.parse(o.out).output).toMatchObject({
        tlps: 0,
        platformEmbedded: false,
        notMapped: {
          messages: 2,
          'DLLPs (counted, never written)': 73,
          'ordered sets (counted, never written)': 3,
        },
      });
    },
  );

  it('-o on a .pad capture built here: its upstream MWr with PASID and IDE prefixes becomes one TLP record', async () => {
    // upstream: MWr 64-bit (requester 03:00.0, 0x1_2345_6780, 2 DW) behind PASID 0x12345 (Execute) and
    // an IDE prefix with T set; a nullified copy; downstream: the same MWr (CPU → device, not written)
    const mwr = [
      0x91000000 | (1 << 20) | 0x12345,
      0x92000000 | (1 << 21),
      0x60000002,
      0x030012ff,
      1,
      0x23456780,
      7,
      8,
    ];
    const tlp = (seq: number, nullify = false): number[] => {
      const body = Uint8Array.from([
        seq >>> 8,
        seq & 0xff,
        ...mwr.flatMap((d) => [d >>> 24, (d >>> 16) & 0xff, (d >>> 8) & 0xff, d & 0xff]),
      ]);
      const c = lcrc(body);
      const crc = [c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff].map((b) =>
        nullify ? ~b & 0xff : b,
      );
      return [0xfb, ...body, ...crc, nullify ? 0xfe : 0xfd];
    };
    const file = join(dir, 'built.pad');
    writeFileSync(
      file,
      buildPad([
        { time: 1000, flags: 0x10000500, data: tlp(1) },
        { time: 1100, flags: 0x10000500, data: tlp(2, true) },
        { time: 1200, flags: 0x00000500, data: tlp(1) },
      ]),
    );
    const out = join(dir, 'built.iotrace');
    const { code, out: json } = await run(file, { json: true, output: out });
    expect(code).toBe(EXIT.OK);
    const j = JSON.parse(json);
    expect(j.packets).toMatchObject({
      tlps: { total: 3, good: 2, nullified: 1, byType: { MWr: 3 } },
      memoryRequests: { upstream: 1, downstream: 1 },
      problems: { count: 0 },
    });
    expect(j.output).toMatchObject({
      tlps: 1,
      notMapped: {
        'nullified TLPs (EDB)': 1,
        'downstream memory requests (CPU to device MMIO: not through the IOMMU)': 1,
      },
    });
    const tlps: TlpRecord[] = [];
    let header: NativeTraceHeader | null = null;
    for await (const it of readNativeTrace(out)) {
      if (it.kind === 'header') header = it.header;
      if (it.kind === 'chunk')
        for (let i = 0; i < it.chunk.recordCount; i++) tlps.push(readTlp(it.chunk.records, i * 8));
    }
    expect(header?.timeBase).toEqual({ unit: 'ns', clock: 'capture' });
    expect(tlps).toEqual([
      {
        time: 0,
        requesterId: 0x0300,
        segment: 0,
        pasid: 0x12345,
        tBit: true,
        at: 0,
        access: 'write',
        exec: true,
        priv: false,
        addr: 0x123456780n,
        len: 8,
      },
    ]);
  });

  it.skipIf(!existsSync(SAMPLES))(
    'streams the real QEMU trace (qemu-real-scalable/qemu-trace.log.gz, 64525 lines)',
    async () => {
      const { code, out } = await run(join(SAMPLES, 'qemu-real-scalable', 'qemu-trace.log.gz'), {
        json: true,
      });
      const j = JSON.parse(out);
      // counts from the sample's README: 4557 vtd_dmar_translate, 1285 vtd_dmar_fault (1028 reason 6, 257 reason 5)
      expect(j.kind).toBe('qemu-trace');
      expect(j.counts).toMatchObject({ lines: 64525, bad: 0, records: { translation: 4557, fault: 1285 } });
      expect(j.faults.filter((f: { reason: number }) => f.reason === 6)).toHaveLength(1028);
      expect(j.faults[0]).toMatchObject({
        source: 'intel',
        bdf: '0000:00:03.0',
        access: 'read',
        address: '0xfffff000',
        reason: 6,
      });
      expect(j.translations).toHaveLength(100);
      expect(code).toBe(EXIT.FAULTS);
    },
  );
});
