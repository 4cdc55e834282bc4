// The firmware decoders against a decoder no one here wrote: ACPICA's iasl. iasl compiles its own
// DMAR and IVRS templates (iasl -T, then iasl), disassembles the binaries (iasl -d), and every field our
// decoders report must carry the value iasl printed at the same offset. The same holds for tables
// built here to cover every DMAR structure and IVRS block and entry kind, and for the real tables in
// the reference samples. An older iasl stops at subtable types it does not know (20200925 knows neither
// DMAR SATC/SIDP nor IVHD 40h): fields past that point are not compared, the rest must all match.
// Skipped only when iasl is missing outside CI; in CI (CI=true) a missing iasl is a failure
// (scripts/setup.sh installs acpica-tools).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as B from '../src/firmware/acpi-table-builder';
import { compareFields } from '../src/firmware/compare-fields';
import { decodeDmar } from '../src/firmware/dmar';
import type { TableField } from '../src/firmware/fields';
import { dslFieldLines, readDsl } from '../src/firmware/iasl-dsl';
import { decodeIvrs } from '../src/firmware/ivrs';

const probe = spawnSync('iasl', ['-v'], { encoding: 'utf8' });
const HAVE_IASL = probe.status === 0;
const IN_CI = process.env.CI === 'true';
const SAMPLES = fileURLToPath(new URL('../../shared/reference/samples', import.meta.url));

/** Field names whose iasl spelling has been stable across versions: compared by name too. */
const STABLE_NAMES = new Set([
  'Signature',
  'Table Length',
  'Revision',
  'Checksum',
  'Oem ID',
  'Oem Table ID',
  'Register Base Address',
  'Base Address',
  'End Address (limit)',
  'PCI Segment Number',
  'Device Scope Type',
  'Entry Length',
  'Enumeration ID',
  'PCI Bus Number',
  'PCI Path',
  'Entry Type',
  'Device ID',
  'Start Address',
  'Memory Length',
  'Proximity Domain',
]);

describe.skipIf(!HAVE_IASL && !IN_CI)('decoders agree with iasl -d', () => {
  it('has iasl (acpica-tools) installed', () => {
    expect(HAVE_IASL, 'iasl is missing: install acpica-tools (scripts/setup.sh does)').toBe(true);
  });
  if (!HAVE_IASL) return;

  const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-iasl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const iasl = (...args: string[]) =>
    execFileSync('iasl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  /** Disassembles `name` (already in dir) and returns the .dsl text. */
  function disassemble(name: string): string {
    iasl('-d', name);
    return readFileSync(join(dir, name.replace(/\.[^.]+$/, '.dsl')), 'utf8');
  }

  /** Every field must match; fields iasl did not print must lie past the point where it stopped. */
  function expectAgreement(fields: TableField[], dsl: string, what: string): number {
    const cmp = compareFields(fields, dslFieldLines(dsl));
    expect(cmp.mismatches, `${what}: values differ from iasl`).toEqual([]);
    expect(
      cmp.nameMismatches.filter((m) => STABLE_NAMES.has(m.ours)),
      `${what}: field names differ from iasl`,
    ).toEqual([]);
    const stopped = /\*\*\*\* Unknown|\[Unknown Subtable Type\]/.test(dsl);
    const printed = dslFieldLines(dsl);
    const lastPrinted = Math.max(...printed.map((f) => f.offset! + (f.length ?? 1)));
    if (!stopped)
      expect(
        cmp.unchecked.map((f) => `${f.name}@0x${f.offset.toString(16)}`),
        `${what}: not printed by iasl`,
      ).toEqual([]);
    else
      expect(
        cmp.unchecked.every((f) => f.offset >= lastPrinted - 8),
        `${what}: unchecked fields before iasl stopped`,
      ).toBe(true);
    // the disassembly's raw data is the binary, and our dsl reader gives it back
    return cmp.checked;
  }

  for (const sig of ['DMAR', 'IVRS'] as const)
    it(`compiles iasl's ${sig} template and decodes it as iasl does`, () => {
      iasl('-T', sig);
      const asl = `${sig.toLowerCase()}.asl`;
      expect(readdirSync(dir)).toContain(asl);
      iasl(asl);
      const aml = join(dir, `${sig.toLowerCase()}.aml`);
      const bytes = new Uint8Array(readFileSync(aml));
      // our reader of the template source lays the fields out as iasl's compiler does
      const [fromSource] = readDsl(readFileSync(join(dir, asl), 'utf8'));
      expect(fromSource!.bytes.length).toBe(bytes.length);
      const dsl = disassemble(`${sig.toLowerCase()}.aml`);
      const decoded = sig === 'DMAR' ? decodeDmar(bytes) : decodeIvrs(bytes);
      expect(decoded.findings.filter((f) => f.code.startsWith('acpi-'))).toEqual([]);
      const checked = expectAgreement(decoded.table!.fields, dsl, `${sig} template`);
      expect(checked).toBe(decoded.table!.fields.length);
      const [back] = readDsl(dsl);
      expect(Array.from(back!.bytes)).toEqual(Array.from(bytes));
    });

  const scope = (type: number, bus: number, path: [number, number][], enumerationId = 0) =>
    B.scope({ type, bus, path, enumerationId });
  const builtDmar = B.dmar({
    haw: 0x2e,
    flags: 0x07,
    structures: [
      B.drhd({
        base: 0xfed90000n,
        segment: 0,
        scopes: [
          scope(1, 0, [[2, 0]]),
          scope(2, 0, [
            [0x1c, 4],
            [0, 0],
          ]),
        ],
      }),
      B.drhd({
        base: 0xfed91000n,
        flags: 1,
        scopes: [scope(3, 0xf0, [[0x1f, 0]], 2), scope(4, 0, [[0x1e, 6]], 0), scope(5, 0, [[0x15, 1]], 1)],
      }),
      B.rmrr({
        base: 0x7b800000n,
        end: 0x7fffffffn,
        scopes: [scope(1, 0, [[2, 0]]), scope(1, 0, [[0x14, 0]])],
      }),
      B.atsr({ flags: 0, segment: 0, scopes: [scope(2, 0, [[0x1c, 0]])] }),
      B.rhsa({ base: 0xfed90000n, proximityDomain: 1 }),
      B.andd({ deviceNumber: 1, name: '\\_SB.PC00.I2C1' }),
      B.satc({ flags: 1, scopes: [scope(1, 0, [[2, 0]])] }),
      B.sidp({ scopes: [B.scope({ type: 1, bus: 0, path: [[2, 0]], flags: 0x1f })] }),
    ],
  });
  it('decodes a DMAR with every structure and scope type as iasl does', () => {
    writeFileSync(join(dir, 'built-dmar.dat'), builtDmar);
    const dsl = disassemble('built-dmar.dat');
    const d = decodeDmar(builtDmar);
    expect(d.findings).toEqual([]);
    expect(expectAgreement(d.table!.fields, dsl, 'built DMAR')).toBeGreaterThan(60);
  });

  const builtIvrs = B.ivrs({
    ivinfo: 0x00203041,
    blocks: [
      B.ivhd({
        type: 0x10,
        flags: 0xb0,
        devid: 0x0002,
        base: 0xfeb80000n,
        attributes: 0x80048f6e,
        entries: [
          B.dev4(0x03, 0x0008),
          B.dev4(0x04, 0xfffe),
          B.alias(0x43, 0xff00, 0, 0x00a5),
          B.dev4(0x04, 0xffff),
          B.dev4(0x02, 0x00a0, 0xd7),
          B.alias(0x42, 0x0300, 0, 0x0208),
          B.dev8(0x46, 0x0400, 0, 0x80000000),
          B.dev8(0x47, 0x0500, 0, 0x00000001),
          B.dev4(0x04, 0x05ff),
          B.special(0x21, 0x00a0, 1, 0xd7),
          B.special(0x00, 0x00a0, 2),
          B.dev4(0x00, 0),
        ],
      }),
      B.ivhd({
        type: 0x11,
        flags: 0xb0,
        devid: 0x0002,
        base: 0xfeb80000n,
        attributes: 0x40200,
        efr: 0x206d73ef22254aden,
        entries: [B.dev4(0x01, 0)],
      }),
      B.ivmd({ type: 0x20, flags: 0x08, start: 0x9d000000n, length: 0x100000n }),
      B.ivmd({ type: 0x21, flags: 0x07, devid: 0x00a0, start: 0x9e000000n, length: 0x1000n }),
      B.ivmd({ type: 0x22, flags: 0x07, devid: 0x0100, aux: 0x01ff, start: 0x9f000000n, length: 0x2000n }),
      B.ivhd({
        type: 0x40,
        flags: 0xb0,
        devid: 0x0002,
        base: 0xfeb80000n,
        efr: 0x206d73ef22254aden,
        entries: [
          B.dev4(0x01, 0),
          B.hidEntry({ devid: 0x00a5, setting: 0x40, hid: 'AMDI0020', uidFormat: 2, uid: '\\_SB.FUR0' }),
        ],
      }),
    ],
  });
  it('decodes an IVRS with 10h, 11h and 40h IVHDs, every entry kind and all IVMD types as iasl does', () => {
    writeFileSync(join(dir, 'built-ivrs.dat'), builtIvrs);
    const dsl = disassemble('built-ivrs.dat');
    const d = decodeIvrs(builtIvrs);
    expect(d.findings).toEqual([]);
    expect(expectAgreement(d.table!.fields, dsl, 'built IVRS')).toBeGreaterThan(60);
  });

  const samples: string[] = existsSync(SAMPLES)
    ? [
        'matched/lenovo-thinkpad-x1-carbon-gen9/dmar.dat',
        'acpi/dmar-dell-latitude-e7470.dat',
        'acpi/dmar-fujitsu-p2520la.dat',
        'acpi/dmar-google-ecclesia-ami-server.sysfs.bin',
        'acpi/dmar-surface-book-2.acpixtract.dat',
        'acpi/dmar-surface-laptop-studio-1.acpixtract.dat',
        'acpi/dmar-surface-pro-10-business-satc-type6.acpixtract.dat',
        'acpi/ivrs-surface-laptop-3-amd.acpixtract.dat',
        'acpi/ivrs-surface-laptop-4-amd.acpixtract.dat',
      ]
    : [];
  for (const s of samples)
    it(`decodes the real table ${s} as this iasl does`, () => {
      const bytes = new Uint8Array(readFileSync(join(SAMPLES, s)));
      const name = `sample-${s.replace(/[^a-z0-9.]+/gi, '-')}`.replace(/\.(bin|dat)$/, '.dat');
      writeFileSync(join(dir, name), bytes);
      const dsl = disassemble(name);
      const d = s.includes('ivrs') ? decodeIvrs(bytes) : decodeDmar(bytes);
      expect(d.findings.filter((f) => f.severity === 'error')).toEqual([]);
      expect(expectAgreement(d.table!.fields, dsl, s)).toBeGreaterThan(20);
    });
});
