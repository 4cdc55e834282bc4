// `iommu-lab import FILE -o OUT`: what each importer's records become in a native trace, what is
// counted as not carried, and the platform (given, or said to be missing). Lines are real sample
// lines (see test/import-cli.test.ts for their sources).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes';
import { importCommand } from '../src/cli/import-command';
import { replayCommand } from '../src/cli/replay';
import { readNativeTrace } from '../src/host/trace-file';
import {
  readTlp,
  type ControlEntry,
  type NativeTraceHeader,
  type TlpRecord,
} from '../src/trace/native/index';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-native-import-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function importJson(file: string, o: Parameters<typeof importCommand>[1]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await importCommand(
    file,
    { json: true, ...o },
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, j: out.length ? JSON.parse(out.join('\n')) : null, err: err.join('\n') };
}

async function contents(path: string) {
  const r = {
    header: null as NativeTraceHeader | null,
    tlps: [] as TlpRecord[],
    controls: [] as ControlEntry[],
  };
  for await (const it of readNativeTrace(path)) {
    if (it.kind === 'header') r.header = it.header;
    if (it.kind !== 'chunk') continue;
    for (let i = 0; i < it.chunk.recordCount; i++) r.tlps.push(readTlp(it.chunk.records, i * 8));
    r.controls.push(...it.chunk.controls);
  }
  return r;
}

describe('import -o', () => {
  it('kernel-log faults become observed_fault events and the DMAs that faulted; no platform is said so', async () => {
    const log = join(dir, 'kernel.log');
    writeFileSync(
      log,
      [
        '[    5.100000] DMAR: DRHD: handling fault status reg 2',
        '[    5.100020] DMAR: [DMA Write NO_PASID] Request device [06:00.0] fault addr 0xfff01000 [fault reason 0x05] PTE Write access is not set',
        '[    5.300000] DMAR: [DMA Read NO_PASID] Request device [00:14.0] fault addr 0x3e300000 [fault reason 0x06] PTE Read access is not set',
      ].join('\n'),
    );
    const out = join(dir, 'kernel.iotrace');
    const { code, j } = await importJson(log, { output: out });
    expect(code).toBe(EXIT.FAULTS);
    // each Intel fault line is also its DMA: 4 bytes at the printed page, the printed access
    expect(j.output).toMatchObject({ tlps: 2, controls: 0, observedFaults: 2, platformEmbedded: false });
    expect(j.output.platform).toMatch(/^none: building one needs the PCI hierarchy/);
    const c = await contents(out);
    expect(c.header?.platform).toBeNull();
    expect(c.header?.capture.tool).toMatch(/^kernel-log, imported by iommu-lab/);
    expect(c.controls.map((e) => [e.time, e.event.op])).toEqual([
      [0, 'observed_fault'],
      [199_980_000, 'observed_fault'],
    ]);
    expect(c.controls[0]!.event).toMatchObject({ bdf: '0000:06:00.0', address: '0xfff01000', reason: 5 });
    expect(c.tlps.map((t) => [t.time, t.requesterId, t.access, t.addr, t.len])).toEqual([
      [0, 0x0600, 'write', 0xfff01000n, 4],
      [199_980_000, 0x00a0, 'read', 0x3e300000n, 4],
    ]);
    // replaying it needs a platform
    await expect(replayCommand(out, { json: true }, () => undefined)).rejects.toThrow(/no platform/);
    const r: string[] = [];
    await replayCommand(out, { json: true, platform: 'traces/platforms/laptop.platform.json' }, (s) =>
      r.push(s),
    );
    // on the laptop platform: 06:00.0 is no device there (bus 6 has no root entry: 0x1, the kernel said
    // 0x05); the xHCI's read of 0x3e300000 falls in the memory its missing RMRR should cover (0x06 both)
    expect(JSON.parse(r.join('\n')).agreement).toMatchObject({
      observed: 2,
      agree: 1,
      reasonDiffers: 1,
      modelNoFault: 0,
      modelFaults: 2,
    });
  });

  it('ftrace map/unmap become dma_map/dma_unmap for a device, after a driver bind; the rest is counted', async () => {
    const trace = join(dir, 'ftrace.txt');
    writeFileSync(
      trace,
      [
        '   (udev-worker)-532     [010] .....     4.878076: map: IOMMU: iova=0x00000000fe980000 - 0x00000000fea00000 paddr=0x000000010ec80000 size=524288',
        '   kworker/u64:0-12      [011] .....   327.747766: unmap: IOMMU: iova=0x00000000fe980000 - 0x00000000fea00000 size=524288 unmapped_size=524288',
        '  irq/26-AMD-Vi-154     [006] .....   327.753942: io_page_fault: IOMMU:ath12k_pci 0000:c2:00.0 iova=0x00000000fe980000 flags=0x0001',
      ].join('\n'),
    );
    const out = join(dir, 'ftrace.iotrace');
    const without = await importJson(trace, { output: out });
    expect(without.j.output.notMapped).toEqual({
      'ftrace map events naming no device (give --device BDF)': 1,
      'ftrace unmap events naming no device (give --device BDF)': 1,
      'ftrace io_page_fault events (no control-script equivalent)': 1,
    });
    const { j } = await importJson(trace, {
      output: out,
      device: '0000:01:00.0',
      platform: 'traces/platforms/laptop.platform.json',
    });
    expect(j.output).toMatchObject({ controls: 3, driverBinds: 1, platformEmbedded: true });
    const c = await contents(out);
    expect(c.controls.map((e) => e.event)).toEqual([
      { op: 'driver_bind', bdf: '0000:01:00.0', driver: 'imported' },
      {
        op: 'dma_map',
        bdf: '0000:01:00.0',
        iova: 0xfe980000n,
        length: 0x80000n,
        pa: 0x10ec80000n,
        prot: 'rw',
      },
      { op: 'dma_unmap', bdf: '0000:01:00.0', iova: 0xfe980000n, length: 0x80000n },
    ]);
    expect(c.controls.map((e) => e.time)).toEqual([0, 0, 322_869_690_000]);
    const r: string[] = [];
    expect(await replayCommand(out, { json: true }, (s) => r.push(s))).toBe(EXIT.OK);
    expect(JSON.parse(r.join('\n'))).toMatchObject({ events: 3, rejectedControl: 0 });
  });

  it('analyzer TLPs become records; completions and messages are counted as not carried', async () => {
    const csv = join(dir, 'analyzer.csv');
    writeFileSync(
      csv,
      [
        'Time,Type,Requester ID,Address,Length,PASID',
        '0.000001000,MWr,01:00.0,0xfff00000,64,',
        '0.000001500,MRd,01:00.0,0xfff01000,128,5',
        '0.000002000,CplD,01:00.0,,64,',
      ].join('\n'),
    );
    const out = join(dir, 'analyzer.iotrace');
    const { j } = await importJson(csv, { output: out, from: 'analyzer-csv' });
    expect(j.output.tlps).toBe(2);
    expect(Object.values(j.output.notMapped)).toEqual([1]);
    const c = await contents(out);
    expect(c.tlps.map((t) => [t.time, t.requesterId, t.access, t.addr, t.len, t.pasid])).toEqual([
      [0, 0x100, 'write', 0xfff00000n, 64, null],
      [500, 0x100, 'read', 0xfff01000n, 128, 5],
    ]);
  });
});
