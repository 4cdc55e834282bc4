// `iommu-lab platform` (src/cli/platform-command.ts): exit codes and the --json contract keys
// (docs/platform-json.md), on files written to a temporary directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { platformCommand } from '../cli/platform-command';
import * as B from './acpi-table-builder';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-platform-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array | string) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
async function run(files: string[], json = false) {
  const lines: string[] = [];
  const code = await platformCommand(files, { json }, (s) => lines.push(s));
  return { code, text: lines.join('\n') };
}
const ep = (d: number) => B.scope({ type: 1, bus: 0, path: [[d, 0]] });
const ioapic = B.scope({ type: 3, bus: 0, path: [[0x1e, 7]], enumerationId: 2 });
const units = [
  B.drhd({ base: 0xfed90000n, scopes: [ep(2)] }),
  B.drhd({ base: 0xfed91000n, flags: 1, scopes: [ioapic] }),
];

describe('iommu-lab platform', () => {
  const clean = file('clean.bin', B.dmar({ structures: units }));
  const warn = file(
    'warn.bin',
    B.dmar({ structures: [...units, B.rmrr({ base: 0x1800n, end: 0x2fffn, scopes: [ep(2)] })] }),
  );
  const err = file(
    'err.bin',
    B.dmar({ structures: [...units, B.rmrr({ base: 0x2000n, end: 0xfffn, scopes: [ep(2)] })] }),
  );
  const both = file(
    'both.bin',
    B.dmar({
      structures: [
        ...units,
        B.rmrr({ base: 0x2000n, end: 0xfffn, scopes: [ep(2)] }),
        B.rmrr({ base: 0x10800n, end: 0x10fffn, scopes: [ep(2)] }),
      ],
    }),
  );

  it('exits 0 on a clean table, 4 with warnings, 8 with errors, 12 with both', async () => {
    expect((await run([clean])).code).toBe(0);
    expect((await run([warn])).code).toBe(4);
    expect((await run([err])).code).toBe(8);
    expect((await run([both])).code).toBe(12);
  });

  it('exits 64 when a file cannot be read or is nothing it knows', async () => {
    const missing = await run([join(dir, 'nope.bin')]);
    expect(missing.code).toBe(64);
    expect(missing.text).toContain('nope.bin');
    expect((await run([file('notes.txt', 'shopping list\n')])).code).toBe(64);
    expect((await run([])).code).toBe(64);
  });

  it('prints the documented JSON', async () => {
    const { text } = await run([warn], true);
    const j = JSON.parse(text);
    expect(j.format).toBe('iommu-lab/platform-report');
    expect(Object.keys(j)).toEqual([
      'format',
      'version',
      'inputs',
      'tables',
      'units',
      'reservedRegions',
      'findings',
      'platform',
    ]);
    expect(j.units[0]).toMatchObject({
      kind: 'drhd',
      segment: 0,
      base: '0xfed90000',
      flags: 0,
      includeAll: false,
    });
    expect(j.units[0].scope[0]).toMatchObject({ type: 'endpoint', bdf: '0000:00:02.0' });
    expect(j.reservedRegions[0]).toMatchObject({ kind: 'rmrr', start: '0x1800', end: '0x2fff' });
    expect(j.findings[0]).toMatchObject({
      severity: 'warning',
      code: 'dmar-rmrr-unaligned',
      offset: 0x60 + 8,
    });
  });

  it('prints a readable summary', async () => {
    const { text } = await run([warn]);
    expect(text).toContain('Remapping units (2)');
    expect(text).toContain('RMRR 0  0x1800-0x2fff');
    expect(text).toContain('warning  dmar-rmrr-unaligned');
  });
});
