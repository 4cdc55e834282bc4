// The IVRS decoder against real tables (Surface Laptop 3 and 4, AMD) and their iasl disassembly, the
// acpidump text of the same table, and the Linux rules it mirrors: which IVHD type is used, which
// devices each IOMMU translates, and the unity maps of IVMDs.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as B from './acpi-table-builder';
import { readAcpidump } from './acpidump-text';
import { compareFields } from './compare-fields';
import { dslFieldLines } from './iasl-dsl';
import { decodeIvrs } from './ivrs';
import { aliasOf, covers, ivhdCoverage, unityMaps } from './ivrs-devices';
import { lintIvrs } from './lint-ivrs';
import { readKernelLog } from './kernel-log';

const SAMPLES = fileURLToPath(new URL('../../../shared/reference/samples', import.meta.url));
const HAVE = existsSync(SAMPLES);
// Without the samples the suites below are skipped; their bodies still run to register tests.
const bin = (p: string) => (HAVE ? new Uint8Array(readFileSync(`${SAMPLES}/${p}`)) : new Uint8Array(0));
const text = (p: string) => (HAVE ? readFileSync(`${SAMPLES}/${p}`, 'utf8') : '');
const dslFields = dslFieldLines;
const codes = (fs: { code: string }[]) => fs.map((f) => f.code);

describe.skipIf(!HAVE)('IVRS decoder: Surface Laptop 4 (AMD)', () => {
  const { table, findings } = decodeIvrs(bin('acpi/ivrs-surface-laptop-4-amd.acpixtract.dat'));

  it('reads the header, IVinfo and three IVHDs for one IOMMU; Linux uses the 40h one', () => {
    expect(findings).toEqual([]);
    expect(table!.header).toMatchObject({
      length: 0x147,
      revision: 2,
      checksumValid: true,
      oemTableId: 'AmdTable',
    });
    expect(table!.ivinfo).toBe(0x00203043);
    expect(table!.blocks.map((b) => [b.kind, b.typeCode, b.offset])).toEqual([
      ['ivhd', 0x10, 0x30],
      ['ivhd', 0x11, 0x78],
      ['ivhd', 0x40, 0xd0],
    ]);
    expect(table!.targetType).toBe(0x40);
    const ivhd40 = table!.blocks[2]!;
    if (ivhd40.kind !== 'ivhd') throw new Error();
    expect(ivhd40).toMatchObject({ used: true, devid: 0x0002, base: 0xfdf00000n, efr: 0x206d73ef22254aden });
    expect(ivhd40.entries.map((e) => e.kind)).toEqual([
      'range-start',
      'range-end',
      'alias-range-start',
      'range-end',
      'pad4',
      'special',
      'special',
      'special',
      'acpi-hid',
    ]);
    expect(ivhd40.entries[5]).toMatchObject({ handle: 0, source: 0xa0, variety: 2 });
    expect(ivhd40.entries[6]).toMatchObject({ handle: 0x21, source: 0xa0, variety: 1, setting: 0xd7 });
    expect(ivhd40.entries[8]).toMatchObject({
      devid: 0xa5,
      setting: 0x40,
      hid: 'AMDI0022',
      cid: '',
      uidFormat: 2,
      uid: '\\_SB.FUR0',
      length: 31,
    });
  });

  it('knows which devices the IOMMU translates and their aliases', () => {
    const [c] = ivhdCoverage(table!);
    expect(c!.id).toBe('ivhd0');
    expect(covers(c!, 0x0008)).toBe(true); // 00:01.0
    expect(covers(c!, 0x0002)).toBe(false); // the IOMMU itself
    expect(covers(c!, 0x0400)).toBe(true); // 04:00.0
    expect(aliasOf(c!, 0xff10)).toBe(0x00a5); // ff:02.0 uses 00:14.5's requester id
  });

  it('agrees with iasl 20200925 on every field it decoded (it stops at type 40h)', () => {
    const cmp = compareFields(
      table!.fields,
      dslFields(text('acpi/iasl-disasm/ivrs-surface-laptop-4-amd.acpixtract.dsl')),
    );
    expect(cmp.mismatches).toEqual([]);
    expect(cmp.nameMismatches).toEqual([]);
    expect(cmp.checked).toBeGreaterThan(90);
    expect(cmp.unchecked.every((f) => f.offset >= 0xd4)).toBe(true);
  });

  it('reads the same bytes from the acpidump text', () => {
    const [t] = readAcpidump(text('acpi/acpidump-text-ivrs-surface-laptop-4-amd.txt'));
    expect(t!.signature).toBe('IVRS');
    expect(Array.from(t!.bytes)).toEqual(Array.from(bin('acpi/ivrs-surface-laptop-4-amd.acpixtract.dat')));
  });

  it('lints clean apart from the superseded blocks', () => {
    expect(codes(lintIvrs({ table: table! }))).toEqual(['ivrs-ivhd-superseded']);
  });
});

describe.skipIf(!HAVE)('IVRS decoder: Surface Laptop 3 (AMD)', () => {
  it('agrees with iasl 20190816 and uses the 11h IVHD', () => {
    const { table, findings } = decodeIvrs(bin('acpi/ivrs-surface-laptop-3-amd.acpixtract.dat'));
    expect(findings).toEqual([]);
    expect(table!.targetType).toBe(0x11);
    const cmp = compareFields(
      table!.fields,
      dslFields(text('acpi/ivrs-surface-laptop-3-amd-iasl20190816.dsl')),
    );
    expect(cmp.mismatches).toEqual([]);
    expect(cmp.nameMismatches).toEqual([]);
  });
});

describe('lintIvrs', () => {
  const ioapic = B.special(0x21, 0xa0, 1);
  const ivhd = (entries: Uint8Array[], o: Partial<Parameters<typeof B.ivhd>[0]> = {}) =>
    B.ivhd({ type: 0x10, devid: 0x0002, base: 0xfeb80000n, entries: [...entries, ioapic], ...o });
  const lint = (blocks: Uint8Array[], e820?: string) => {
    const d = decodeIvrs(B.ivrs({ blocks }));
    return [
      ...d.findings,
      ...lintIvrs({ table: d.table!, e820: e820 ? readKernelLog(e820).hints.e820 : null }),
    ];
  };

  it('finds nothing in a well-formed table', () => {
    expect(
      lint([
        ivhd([B.dev4(3, 0x0008), B.dev4(4, 0xfffe)]),
        B.ivmd({ type: 0x21, flags: 7, devid: 0xa0, start: 0x9d000000n, length: 0x1000n }),
      ]),
    ).toEqual([]);
  });

  it('flags a checksum mismatch as an error (Linux refuses the table)', () => {
    const t = B.ivrs({ blocks: [ivhd([B.dev4(1, 0)])] });
    t[9] = (t[9]! + 1) & 0xff;
    const f = decodeIvrs(t).findings;
    expect(f).toMatchObject([{ code: 'acpi-checksum', severity: 'error', offset: 9 }]);
  });

  it('flags conflicting, zero-length and unaligned IVMDs', () => {
    const f = lint([
      ivhd([B.dev4(1, 0)]),
      B.ivmd({ type: 0x21, flags: 7, devid: 0xa0, start: 0x9d000000n, length: 0x2000n }),
      B.ivmd({ type: 0x22, flags: 3, devid: 0x90, aux: 0xa8, start: 0x9d001000n, length: 0x1000n }),
      B.ivmd({ type: 0x20, flags: 1, start: 0n, length: 0n }),
      B.ivmd({ type: 0x21, flags: 1, devid: 0x10, start: 0x1800n, length: 0x1000n }),
    ]);
    expect(codes(f)).toEqual(['ivmd-zero-length', 'ivmd-unaligned', 'ivmd-conflict']);
    expect(f[2]!.message).toContain('with different flags');
  });

  it('flags IVMD ranges outside reserved e820 memory', () => {
    const e820 = 'BIOS-e820: [mem 0x0000000000000000-0x00000000bfffffff] usable';
    const f = lint(
      [
        ivhd([B.dev4(1, 0)]),
        B.ivmd({ type: 0x21, flags: 7, devid: 0xa0, start: 0x9d000000n, length: 0x1000n }),
      ],
      e820,
    );
    expect(codes(f)).toEqual(['ivmd-not-reserved']);
  });

  it('flags broken device ranges, a HID entry outside a 40h IVHD and an unknown entry type', () => {
    const f = lint([
      ivhd([
        B.dev4(4, 0x10),
        B.dev4(3, 0x20),
        B.dev4(3, 0x30),
        B.dev4(4, 0x28),
        B.hidEntry({ devid: 0xa5, hid: 'AMDI0020', uidFormat: 0 }),
      ]),
    ]);
    expect(codes(f)).toEqual([
      'ivhd-hid-in-legacy-ivhd',
      'ivhd-range-end-without-start',
      'ivhd-range-unterminated',
      'ivhd-range-reversed',
    ]);
    const g = lint([ivhd([B.dev4(1, 0), Uint8Array.of(0x90, 0, 0, 0)])]);
    expect(codes(g)).toEqual(['ivhd-entry-unknown', 'ivrs-no-ioapic']);
  });

  it('flags inconsistent EFR images when IVinfo says EFR is supported, and a missing IOAPIC', () => {
    const d = decodeIvrs(
      B.ivrs({
        ivinfo: 0x00203041,
        blocks: [
          B.ivhd({ type: 0x11, devid: 2, base: 0xfeb80000n, efr: 0x1n, entries: [B.dev4(1, 0)] }),
          B.ivhd({
            type: 0x11,
            devid: 0x4002,
            segment: 0,
            base: 0xfeb90000n,
            efr: 0x3n,
            entries: [B.dev4(1, 0)],
          }),
        ],
      }),
    );
    const f = lintIvrs({ table: d.table! });
    expect(codes(f)).toEqual(['ivhd-efr-inconsistent', 'ivrs-no-ioapic']);
    expect(f[0]!.message).toContain(
      '[Firmware Bug]: Found inconsistent EFR/EFR2 0x3,0x0 (global 0x1,0x0) on iommu1',
    );
  });

  it('computes unity maps the way init_unity_map_range does', () => {
    const d = decodeIvrs(
      B.ivrs({
        blocks: [
          ivhd([B.dev4(2, 0x10)]),
          B.ivmd({ type: 0x20, flags: 0x08, start: 0x1234n, length: 0x1001n }),
        ],
      }),
    );
    expect(unityMaps(d.table!)).toEqual([
      {
        segment: 0,
        devidStart: 0,
        devidEnd: 0x10, // last_bdf: select/range-end/alias/ext-select ids only, not special devices'
        addressStart: 0x2000n,
        addressEnd: 0x4000n,
        exclusion: true,
        read: true,
        write: true,
        offset: 0x30 + 36,
      },
    ]);
  });
});
