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
    'lists what the Keysight/Agilent .pad.zst sample holds, says TLPs are not decoded, refuses -o',
    async () => {
      const pad = join(SAMPLES, 'pcie-analyzer', 'keysight-agilent-pad-trace-link-power-off.pad.zst');
      const { code, out } = await run(pad, { json: true });
      expect(code).toBe(EXIT.OK);
      const j = JSON.parse(out);
      // values read by hand from the decompressed file (src/trace/import/agilent-pad.test.ts)
      expect(j).toMatchObject({
        kind: 'keysight-pad',
        compressed: 'zstd',
        bytes: 12236,
        header: { moduleType: 'AGT_MODULE_ONEPORT_PCIEXPRESS_X8', recordLength: 40 },
        records: { count: 78, expected: 78, firstNumber: 3531075, lastNumber: 3531152 },
        timeSpanNs: 0x20201a10 - 0x20200dd8,
        link: { widths: { x1: 78 }, speeds: { '2.5 GT/s': 78 }, electricalIdleLanes: '0x0' },
        data: { bytes: 8876, referenced: 8876 },
        tlpDecoding: { done: false },
        problems: [],
      });
      expect(j.channels.map((c: { name: string; records: number }) => [c.name, c.records])).toEqual([
        ['101/1:Downstream', 31],
        ['101/1:Upstream', 47],
      ]);
      const text = await run(pad);
      expect(text.out).toMatch(/records +78 of 78/);
      expect(text.out).toMatch(/TLPs +not done: record data holds 8b\/10b-decoded symbols/);
      const o = await run(pad, { output: join(dir, 'pad.iotrace') });
      expect(o.code).toBe(EXIT.FATAL);
      expect(o.err).toMatch(/TLP decoding of its 8b\/10b symbol data is not done/);
    },
  );

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
