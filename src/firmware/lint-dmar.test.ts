// lint-dmar: each check fires on a table built with exactly that defect, with the right offset, and a
// clean table (the ThinkPad's, with its lspci and e820 map) raises nothing.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as B from './acpi-table-builder';
import { decodeDmar } from './dmar';
import { lintDmar } from './lint-dmar';
import { readKernelLog } from './kernel-log';
import { readLspci } from './lspci';
import { bdfText, PciTopology, type PciFunctionInfo } from './pci-topology';

const SAMPLES = fileURLToPath(new URL('../../../shared/reference/samples', import.meta.url));
const THINKPAD = `${SAMPLES}/matched/lenovo-thinkpad-x1-carbon-gen9`;

function fn(
  bus: number,
  dev: number,
  f: number,
  o: { bridge?: [number, number]; cls?: number } = {},
): PciFunctionInfo {
  return {
    segment: 0,
    bus,
    dev,
    fn: f,
    bdf: bdfText(0, bus, dev, f),
    isBridge: o.bridge !== undefined,
    secondary: o.bridge?.[0] ?? null,
    subordinate: o.bridge?.[1] ?? null,
    classCode: o.cls ?? (o.bridge ? 0x060400 : 0x028000),
  };
}

// 00:02.0 IGD, 00:14.0 xHCI, 00:1c.0 root port -> 01:00.0, 00:1d.0 root port -> 02:00.0 (behind it 02:00.0)
const topo = new PciTopology([
  fn(0, 2, 0, { cls: 0x030000 }),
  fn(0, 0x14, 0, { cls: 0x0c0330 }),
  fn(0, 0x1c, 0, { bridge: [1, 1] }),
  fn(1, 0, 0),
  fn(0, 0x1d, 0, { bridge: [2, 2] }),
  fn(2, 0, 0),
]);
const ep = (bus: number, ...path: [number, number][]) => B.scope({ type: 1, bus, path });
const br = (bus: number, ...path: [number, number][]) => B.scope({ type: 2, bus, path });
const ioapic = B.scope({ type: 3, bus: 0, path: [[0x1e, 7]], enumerationId: 2 });

function lint(structures: Uint8Array[], extra: { haw?: number; flags?: number; e820?: string } = {}) {
  const d = decodeDmar(B.dmar({ structures, haw: extra.haw, flags: extra.flags }));
  const e820 = extra.e820 ? readKernelLog(extra.e820).hints.e820 : null;
  return [...d.findings, ...lintDmar({ table: d.table!, topology: topo, e820 })];
}
const codes = (fs: { code: string }[]) => fs.map((f) => f.code);

describe('lintDmar', () => {
  const good = [
    B.drhd({ base: 0xfed90000n, scopes: [ep(0, [2, 0])] }),
    B.drhd({ base: 0xfed91000n, flags: 1, scopes: [ioapic] }),
    B.rmrr({ base: 0x7b800000n, end: 0x7fffffffn, scopes: [ep(0, [2, 0])] }),
  ];

  it('finds nothing in a well-formed table', () => {
    expect(lint(good, { e820: 'BIOS-e820: [mem 0x000000007b000000-0x000000007fffffff] reserved' })).toEqual(
      [],
    );
  });

  it('flags an RMRR that ends before it starts, at its End Address', () => {
    const f = lint([good[0]!, good[1]!, B.rmrr({ base: 0x2000n, end: 0xfffn, scopes: [ep(0, [2, 0])] })]);
    expect(f).toMatchObject([{ code: 'dmar-rmrr-end-before-start', severity: 'error', offset: 0x60 + 16 }]);
    expect(f[0]!.message).toContain(
      '[Firmware Bug]: Your BIOS is broken; bad RMRR [0x0000000000002000-0x0000000000000fff]',
    );
  });

  it('flags an unaligned RMRR', () => {
    const f = lint([good[0]!, good[1]!, B.rmrr({ base: 0x1800n, end: 0x2fffn, scopes: [ep(0, [2, 0])] })]);
    expect(f).toMatchObject([{ code: 'dmar-rmrr-unaligned', severity: 'warning', offset: 0x60 + 8 }]);
  });

  it('flags an RMRR outside firmware-reserved e820 memory, and accepts ACPI NVS and adjacent entries', () => {
    const e820 = [
      'BIOS-e820: [mem 0x0000000000000000-0x000000007b7fffff] usable',
      'BIOS-e820: [mem 0x000000007b800000-0x000000007dffffff] reserved',
      'BIOS-e820: [mem 0x000000007e000000-0x000000007fffffff] ACPI NVS',
    ].join('\n');
    expect(lint(good, { e820 })).toEqual([]);
    // the kernel's walk (__e820__mapped_all with type 0) returns the type of the entry that completes
    // the coverage: usable-then-reserved passes, reserved-then-usable and uncovered tails do not
    const passes = B.rmrr({ base: 0x7b000000n, end: 0x7bffffffn, scopes: [ep(0, [2, 0])] });
    expect(lint([good[0]!, good[1]!, passes], { e820 })).toEqual([]);
    const usableLast = B.rmrr({ base: 0x7b700000n, end: 0x7b8fffffn, scopes: [ep(0, [2, 0])] });
    const e820b = [
      'BIOS-e820: [mem 0x000000007b000000-0x000000007b7fffff] reserved',
      'BIOS-e820: [mem 0x000000007b800000-0x000000007fffffff] usable',
    ].join('\n');
    const f = lint([good[0]!, good[1]!, usableLast], { e820: e820b });
    expect(f).toMatchObject([{ code: 'dmar-rmrr-not-reserved', offset: 0x60 + 8 }]);
    expect(f[0]!.message).toContain(
      'No firmware reserved region can cover this RMRR [0x000000007b700000-0x000000007b8fffff], contact BIOS vendor for fixes',
    );
    const tail = B.rmrr({ base: 0x7f000000n, end: 0x80ffffffn, scopes: [ep(0, [2, 0])] });
    expect(lint([good[0]!, good[1]!, tail], { e820 })[0]!.message).toContain('does not cover all of it');
  });

  it('flags overlapping RMRRs', () => {
    const f = lint([...good, B.rmrr({ base: 0x7f000000n, end: 0x80ffffffn, scopes: [ep(0, [0x14, 0])] })]);
    expect(codes(f)).toEqual(['dmar-rmrr-overlap']);
  });

  it('flags a scope naming an absent device, and one behind an absent bridge', () => {
    const f = lint([
      B.drhd({ base: 0xfed90000n, scopes: [ep(0, [2, 1]), ep(0, [0x1b, 0], [0, 0])] }),
      good[1]!,
    ]);
    expect(codes(f)).toEqual(['dmar-scope-absent', 'dmar-scope-absent']);
    expect(f[0]!.message).toContain('00:02.1');
    expect(f[1]!.message).toContain('bridge 0000:00:1b.0 (hop 0) is not present');
  });

  it('resolves multi-hop paths and flags the one-hop path that needs the kernel workaround', () => {
    const f = lint([
      B.drhd({ base: 0xfed90000n, scopes: [br(0, [0x1c, 0]), ep(0, [0x1d, 0], [0, 0])] }),
      good[1]!,
      B.rmrr({ base: 0x10000n, end: 0x1ffffn, scopes: [ep(2, [0, 0])] }),
    ]);
    expect(codes(f)).toEqual(['dmar-scope-broken-path']);
    expect(f[0]!.message).toContain(
      '[Firmware Bug]: RMRR entry for device 02:00.0 is broken - applying workaround',
    );
  });

  it('flags a scope whose type does not match the device', () => {
    const f = lint([B.drhd({ base: 0xfed90000n, scopes: [ep(0, [0x1c, 0]), br(0, [0x14, 0])] }), good[1]!]);
    expect(codes(f)).toEqual(['dmar-scope-type-mismatch', 'dmar-scope-type-mismatch']);
    expect(f[0]!.message).toContain('Device scope type does not match for 0000:00:1c.0');
  });

  it('flags a zero DRHD base, a misplaced and a second INCLUDE_PCI_ALL unit, and a duplicate unit', () => {
    const f = lint([
      B.drhd({ base: 0xfed91000n, flags: 1, scopes: [ioapic] }),
      B.drhd({ base: 0n, scopes: [ep(0, [2, 0])] }),
      B.drhd({ base: 0xfed92000n, flags: 1 }),
      B.drhd({ base: 0xfed91000n, flags: 1 }),
    ]);
    expect(codes(f).sort()).toEqual(
      [
        'dmar-drhd-duplicate',
        'dmar-drhd-zero-base',
        'dmar-include-all-duplicate',
        'dmar-include-all-not-last',
      ].sort(),
    );
    expect(f.find((x) => x.code === 'dmar-drhd-zero-base')!).toMatchObject({
      offset: 0x48 + 8,
      severity: 'error',
    });
    expect(f.find((x) => x.code === 'dmar-drhd-zero-base')!.message).toContain(
      '[Firmware Bug]: Your BIOS is broken; DMAR reported at address 0!',
    );
  });

  it('flags a bad checksum, a bad host address width and a missing DRHD', () => {
    const t = B.dmar({ haw: 8, flags: 0, structures: [B.rhsa({ base: 0xfed90000n })] });
    t[9] = (t[9]! + 1) & 0xff;
    const d = decodeDmar(t);
    const f = [...d.findings, ...lintDmar({ table: d.table! })];
    expect(codes(f)).toEqual(['acpi-checksum', 'dmar-haw-invalid', 'dmar-no-drhd', 'dmar-rhsa-no-drhd']);
    expect(f[0]!.message).toMatch(
      /Incorrect checksum in table \[DMAR\] - 0x[0-9A-F]{2}, should be 0x[0-9A-F]{2}/,
    );
    expect(f[0]!.offset).toBe(9);
  });

  it('reports unknown structure types and skips them by length; a zero-length structure stops the walk', () => {
    const d = decodeDmar(
      B.dmar({ structures: [B.rawStructure(9, [1, 2, 3, 4]), good[0]!, B.rawStructure(1, [], 0), good[1]!] }),
    );
    expect(codes(d.findings)).toEqual(['dmar-unknown-type', 'dmar-struct-zero-length']);
    expect(d.table!.structures.map((s) => s.kind)).toEqual(['unknown', 'drhd']);
  });

  it('flags a structure running past the table end and an ANDD name without NUL', () => {
    const d = decodeDmar(
      B.dmar({
        structures: [
          good[0]!,
          B.andd({ deviceNumber: 1, name: '\\_SB.I2C0', terminate: false }),
          B.rmrr({ base: 0n, end: 0xfffn, length: 200 }),
        ],
      }),
    );
    expect(codes(d.findings)).toContain('dmar-struct-past-end');
    const l = lintDmar({ table: d.table! });
    expect(codes(l)).toContain('dmar-andd-unterminated');
    expect(codes(l)).toContain('dmar-andd-no-scope');
  });

  it('flags zero-length and overrunning device scope entries', () => {
    const d = decodeDmar(
      B.dmar({
        structures: [
          B.drhd({ base: 0xfed90000n, scopes: [B.scope({ type: 1, bus: 0, path: [[2, 0]], length: 0 })] }),
        ],
      }),
    );
    expect(codes(d.findings)).toEqual(['dmar-scope-length']);
  });
});

describe.skipIf(!existsSync(THINKPAD))('lintDmar on the ThinkPad X1 Carbon Gen 9', () => {
  it('finds nothing wrong with its table, lspci and e820 map', () => {
    const d = decodeDmar(new Uint8Array(readFileSync(`${THINKPAD}/dmar.dat`)));
    const topology = new PciTopology(readLspci(readFileSync(`${THINKPAD}/lspci.txt`, 'utf8')).functions);
    const { hints } = readKernelLog(readFileSync(`${THINKPAD}/dmesg.txt`, 'utf8'));
    expect(hints.e820).toHaveLength(13);
    expect(lintDmar({ table: d.table!, topology, e820: hints.e820 })).toEqual([]);
  });
});
