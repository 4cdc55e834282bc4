// The report model on small traces whose faults are known by construction: one scenario per hint
// rule, the page walk taken when a cluster opens (not at the end), hashes, exit bits, firmware.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPlatform, type Platform } from '../engine/platform/index';
import type { Finding } from '../firmware/findings';
import { parseTraceJsonl } from '../trace/trace-jsonl';
import { parseReport, runReport, sha256Hex, type Report } from './report-model';

function platform(name: string): { platform: Platform; bytes: Uint8Array } {
  const bytes = new Uint8Array(readFileSync(`traces/platforms/${name}.platform.json`));
  const r = loadPlatform(JSON.parse(new TextDecoder().decode(bytes)));
  if (!r.ok) throw new Error(r.errors[0]!.message);
  return { platform: r.value, bytes };
}

const HEADER = '{"format":"iommu-lab/trace-jsonl","version":1}';

function report(plat: string, lines: string[], firmwareFindings?: Finding[]): Report {
  const text = [HEADER, ...lines].join('\n');
  const trace = parseTraceJsonl(text, 't.jsonl');
  expect(trace.errors).toEqual([]);
  const p = platform(plat);
  return runReport(p.platform, trace.events, {
    traceBytes: new TextEncoder().encode(text),
    platformBytes: p.bytes,
    traceName: 't.jsonl',
    platformName: `${plat}.platform.json`,
    options: {},
    labVersion: 'test',
    firmwareFindings,
  }).report;
}

const rules = (r: Report): string[] => r.clusters.map((c) => c.hint.rule);

describe('root-cause hints, one scenario each', () => {
  it('rmrr-user: the xHCI (relaxable RMRR) handed to user space, then its SMM buffer DMA faults', () => {
    const r = report('laptop', [
      '{"op":"device_bind","t":100,"bdf":"0000:00:14.0"}',
      '{"op":"dma","t":200,"bdf":"00:14.0","addr":"0x3e2f0000","len":64,"access":"read"}',
    ]);
    expect(rules(r)).toEqual(['rmrr-user']);
    expect(r.clusters[0]!.classes).toEqual(
      expect.arrayContaining(['dma-while-blocked', 'rmrr-without-unity-map']),
    );
    expect(r.clusters[0]!.hint.detail).toContain('0x3e2e0000–0x3e2fffff');
    expect(r.groups.find((g) => g.id === 2)).toMatchObject({ owner: 'user', domainType: 'blocked' });
  });

  it('dma-while-blocked: the Wi-Fi card claimed by user space and not attached yet', () => {
    const r = report('laptop', [
      '{"op":"device_bind","t":100,"bdf":"0000:01:00.0"}',
      '{"op":"dma","t":200,"bdf":"01:00.0","addr":"0x100000","len":64,"access":"write"}',
    ]);
    expect(rules(r)).toEqual(['dma-while-blocked']);
  });

  it('beyond-address-width and not-mapped on the NVMe drive', () => {
    const r = report('laptop', [
      '{"op":"dma","t":100,"bdf":"02:00.0","addr":"0x1000000000000","len":64,"access":"read"}',
      '{"op":"dma","t":200,"bdf":"02:00.0","addr":"0x12340000","len":64,"access":"write"}',
    ]);
    expect(rules(r)).toEqual(['beyond-address-width', 'not-mapped']);
    expect(r.clusters[0]!.hint.detail).toContain('48-bit');
  });

  it('not-mapped names the unmap when the IOTLB was invalidated at once (strict domain)', () => {
    const r = report('server', [
      '{"op":"driver_bind","t":50,"bdf":"0000:1b:00.0","driver":"nvme"}',
      '{"op":"dma_map","t":100,"bdf":"0000:1b:00.0","iova":"0x100000","length":"0x1000","prot":"rw"}',
      '{"op":"dma_unmap","t":200,"bdf":"0000:1b:00.0","iova":"0x100000","length":"0x1000"}',
      '{"op":"dma","t":300,"bdf":"1b:00.0","addr":"0x100000","len":64,"access":"write"}',
    ]);
    expect(rules(r)).toEqual(['not-mapped']);
    expect(r.clusters[0]!.hint.detail).toContain('t.jsonl:4 unmapped it at t=200 ns');
  });

  it('pasid-not-attached and tbit-mismatch on the TEE-IO host', () => {
    const r = report('tee-io', [
      '{"op":"driver_bind","t":50,"bdf":"0000:16:00.0","driver":"mlx5_core"}',
      '{"op":"dma_map","t":100,"bdf":"0000:16:00.0","iova":"0x100000","length":"0x1000","prot":"rw"}',
      '{"op":"dma","t":200,"bdf":"16:00.0","pasid":5,"addr":"0x100000","len":64,"access":"read"}',
      '{"op":"dma","t":300,"bdf":"16:00.0","addr":"0x100000","len":64,"access":"read","tbit":1}',
    ]);
    expect(rules(r)).toEqual(['pasid-not-attached', 'tbit-mismatch']);
    expect(r.clusters[0]).toMatchObject({ pasid: 5, stage: 'pasid-entry' });
    expect(r.pasids).toEqual([
      { bdf: '0000:16:00.0', pasid: 5, attached: null, tlps: 1, faults: 1, clusters: [r.clusters[0]!.id] },
    ]);
    expect(r.clusters[1]).toMatchObject({ reason: 0x101, stage: 'tee-io' });
  });
});

describe('the page walk at the first fault', () => {
  it('shows the read-only leaf even though the driver remapped the page writable later', () => {
    const r = report('laptop', [
      '{"op":"driver_bind","t":50,"bdf":"0000:02:00.0","driver":"nvme"}',
      '{"op":"dma_map","t":100,"bdf":"0000:02:00.0","iova":"0xfffe0000","length":"0x1000","prot":"r"}',
      '{"op":"dma","t":200,"bdf":"02:00.0","addr":"0xfffe0040","len":64,"access":"write"}',
      '{"op":"dma_unmap","t":300,"bdf":"0000:02:00.0","iova":"0xfffe0000","length":"0x1000"}',
      '{"op":"dma_map","t":400,"bdf":"0000:02:00.0","iova":"0xfffe0000","length":"0x1000","prot":"rw"}',
    ]);
    const c = r.clusters[0]!;
    expect(c.hint.rule).toBe('permission');
    expect(c.walk!.unit).toBe('dmar1');
    expect(c.walk!.steps.map((s) => s.structure)).toEqual([
      'root-entry',
      'context-entry',
      'second-level-pte',
      'second-level-pte',
      'second-level-pte',
      'second-level-pte',
    ]);
    expect(c.walk!.steps[5]!.fields).toMatchObject({ r: true, w: false });
    expect(c.walk!.outcome).toEqual({ status: 'fault', reason: 5, stage: 'second-level', address: null });
    // at the end the mapping is read-write
    expect(r.devices.find((d) => d.bdf === '0000:02:00.0')!.mappings).toEqual([
      expect.objectContaining({ iova: '0xfffe0000', length: '0x1000', prot: 'rw', origin: 't.jsonl:6' }),
    ]);
  });
});

describe('identity, exit bits and firmware findings', () => {
  it('hashes the inputs with SHA-256, is reproducible and validates against its schema', () => {
    const lines = ['{"op":"dma","t":100,"bdf":"02:00.0","addr":"0x12340000","len":64,"access":"write"}'];
    const a = report('laptop', lines);
    const b = report('laptop', lines);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const text = [HEADER, ...lines].join('\n');
    expect(a.run.trace.sha256).toBe(createHash('sha256').update(text).digest('hex'));
    expect(a.run.platform.sha256).toBe(
      createHash('sha256').update(readFileSync('traces/platforms/laptop.platform.json')).digest('hex'),
    );
    expect(sha256Hex(new Uint8Array())).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(a.summary.exitCode).toBe(1);
    expect(parseReport(JSON.parse(JSON.stringify(a)))).toEqual({ ok: true, report: a });
  });

  it('counts firmware findings by severity and sets exit bits 4 and 8', () => {
    const f = (severity: Finding['severity']): Finding => ({
      severity,
      code: 'x',
      message: 'm',
      offset: null,
    });
    const r = report('laptop', [], [f('warning'), f('error'), f('info'), f('warning')]);
    expect(r.summary.firmware).toEqual({ error: 1, warning: 2, info: 1 });
    expect(r.summary.exitCode).toBe(4 | 8);
    expect(report('laptop', []).summary).toMatchObject({ firmware: null, exitCode: 0, clusters: 0 });
  });
});
