// Property and fuzz tests: any byte string (random, or a real table with bytes flipped, cut or
// appended) gives a result or located findings, never an exception or a hang; every finding that
// names a table offset points inside the input; the text readers and the whole pipeline survive any
// text. fast-check shrinks a failure to its smallest input.
import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeAcpiHeader } from './acpi-header';
import * as B from './acpi-table-builder';
import { readAcpidump } from './acpidump-text';
import { buildPlatformReport } from './build-platform';
import { detectInput } from './detect';
import { decodeDmar } from './dmar';
import type { Finding } from './findings';
import { readDsl } from './iasl-dsl';
import { decodeIvrs } from './ivrs';
import { readKernelLog } from './kernel-log';
import { lintDmar } from './lint-dmar';
import { lintIvrs } from './lint-ivrs';
import { readLspci } from './lspci';
import { decodeMcfg } from './mcfg';
import { summarize } from './summary';

const SAMPLES = fileURLToPath(new URL('../../../shared/reference/samples', import.meta.url));
const sample = (p: string) =>
  existsSync(`${SAMPLES}/${p}`) ? new Uint8Array(readFileSync(`${SAMPLES}/${p}`)) : null;

const validDmar = B.dmar({
  structures: [
    B.drhd({ base: 0xfed90000n, scopes: [B.scope({ type: 1, bus: 0, path: [[2, 0]] })] }),
    B.drhd({
      base: 0xfed91000n,
      flags: 1,
      scopes: [B.scope({ type: 3, bus: 0, path: [[0x1e, 7]], enumerationId: 2 })],
    }),
    B.rmrr({ base: 0x7b800000n, end: 0x7fffffffn, scopes: [B.scope({ type: 1, bus: 0, path: [[2, 0]] })] }),
    B.andd({ deviceNumber: 1, name: '\\_SB.I2C0' }),
    B.satc({ flags: 1, scopes: [B.scope({ type: 1, bus: 0, path: [[2, 0]] })] }),
  ],
});
const validIvrs = B.ivrs({
  blocks: [
    B.ivhd({
      type: 0x40,
      devid: 2,
      base: 0xfeb80000n,
      entries: [
        B.dev4(3, 8),
        B.dev4(4, 0xfffe),
        B.alias(0x43, 0xff00, 0, 0xa5),
        B.dev4(4, 0xffff),
        B.special(0x21, 0xa0, 1),
        B.hidEntry({ devid: 0xa5, hid: 'AMDI0020', uidFormat: 2, uid: '\\_SB.FUR0' }),
      ],
    }),
    B.ivmd({ type: 0x21, flags: 7, devid: 0xa0, start: 0x9d000000n, length: 0x1000n }),
  ],
});
const seeds = [
  validDmar,
  validIvrs,
  sample('matched/lenovo-thinkpad-x1-carbon-gen9/dmar.dat'),
  sample('acpi/ivrs-surface-laptop-4-amd.acpixtract.dat'),
].filter((x): x is Uint8Array => x !== null);

function located(fs: Finding[], length: number): void {
  for (const f of fs) {
    expect(['error', 'warning', 'info']).toContain(f.severity);
    expect(f.code).toMatch(/^[a-z0-9-]+$/);
    expect(f.message.length).toBeGreaterThan(10);
    if (f.offset !== null) {
      expect(Number.isInteger(f.offset)).toBe(true);
      expect(f.offset).toBeGreaterThanOrEqual(0);
      expect(f.offset).toBeLessThanOrEqual(length);
    }
  }
}

function decodeAll(bytes: Uint8Array): void {
  const h = decodeAcpiHeader(bytes, 'TEST');
  located(h.findings, bytes.length);
  const d = decodeDmar(bytes);
  located(d.findings, bytes.length);
  if (d.table) located(lintDmar({ table: d.table }), bytes.length);
  const i = decodeIvrs(bytes);
  located(i.findings, bytes.length);
  if (i.table) located(lintIvrs({ table: i.table }), bytes.length);
  located(decodeMcfg(bytes).findings, bytes.length);
}

/** A valid table with bytes changed, removed or added. */
const mutated = fc
  .record({
    seed: fc.constantFrom(...seeds),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    cut: fc.option(fc.nat()),
    tail: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ seed, edits, cut, tail }) => {
    const b = Uint8Array.from(seed);
    for (const [at, v] of edits) b[at % b.length] = v;
    const kept = cut === null ? b : b.subarray(0, cut % (b.length + 1));
    return Uint8Array.from([...kept, ...tail]);
  });

describe('decoders never throw and locate every finding', () => {
  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (b) => decodeAll(b)),
      { numRuns: 400 },
    );
  });

  it('on random bytes behind a DMAR or IVRS signature and a plausible length', () => {
    const headed = fc
      .tuple(fc.constantFrom('DMAR', 'IVRS'), fc.uint8Array({ minLength: 0, maxLength: 400 }))
      .map(([sig, body]) => {
        const b = Uint8Array.from([...Array.from(sig, (c) => c.charCodeAt(0)), 0, 0, 0, 0, ...body]);
        new DataView(b.buffer).setUint32(4, b.length, true);
        return b;
      });
    fc.assert(
      fc.property(headed, (b) => decodeAll(b)),
      { numRuns: 600 },
    );
  });

  it('on real and built tables with bytes flipped, cut or appended', () => {
    fc.assert(
      fc.property(mutated, (b) => decodeAll(b)),
      { numRuns: 1500 },
    );
  });

  it(
    'does not hang on a table of maximal entry counts (one alias range per 8 bytes)',
    { timeout: 60_000 },
    () => {
      const entries: Uint8Array[] = [];
      for (let i = 0; i < 4000; i++) entries.push(B.alias(0x43, 0, 0, 1), B.dev4(4, 0xffff));
      const big = B.ivrs({
        blocks: [B.ivhd({ type: 0x10, devid: 2, base: 0xfeb80000n, entries: entries.slice(0, 7000) })],
      });
      const r = buildPlatformReport([{ file: 'big.bin', bytes: big }]);
      expect(r.units).toHaveLength(1);
    },
  );
});

describe('text readers and the pipeline never throw', () => {
  const texty = fc.oneof(
    fc.string({ maxLength: 400 }),
    fc
      .array(
        fc.oneof(
          fc.constantFrom(
            '[030h 0048   2]                Subtable Type : 0000 [Hardware Unit Definition]',
            '[0004]                       Table Length : 0000008C',
            '  Signature : "DMAR"',
            'Raw Table Data: Length 48 (0x30)',
            '    0000: 44 4D 41 52 30 00 00 00 01 00 49 4E 54 45 4C 20  // DMAR',
            'DMAR @ 0x0000000000000000',
            '00:1c.0 PCI bridge [0604]: Intel Corporation Device [8086:a0b8] (rev 20)',
            '\tBus: primary=00, secondary=08, subordinate=07, sec-latency=0',
            '\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00',
            '-[0000:00]-+-00.0  Intel Corporation Device',
            '           +-1c.0-[08]----00.0  Device',
            '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009efff] usable',
            '[    0.722269] pci 0000:00:07.2: Adding to iommu group 0',
            'DMAR: RMRR base: 0x0000009c000000 end: 0x000000a07fffff',
          ),
          fc.string({ maxLength: 80 }),
        ),
        { maxLength: 30 },
      )
      .map((ls) => ls.join('\n')),
  );

  it('on any text', () => {
    fc.assert(
      fc.property(texty, (t) => {
        located(
          readDsl(t).flatMap((x) => x.findings),
          1 << 20,
        );
        located(
          readAcpidump(t).flatMap((x) => x.findings),
          1 << 20,
        );
        located(readLspci(t).findings, 1 << 20);
        located(readKernelLog(t).findings, 1 << 20);
        detectInput(new TextEncoder().encode(t));
      }),
      { numRuns: 500 },
    );
  });

  it('builds a report from any mix of inputs', () => {
    const inputs = fc.array(
      fc.oneof(
        mutated.map((b) => ({ file: 'table.bin', bytes: b })),
        texty.map((t) => ({ file: 'text.txt', bytes: new TextEncoder().encode(t) })),
      ),
      { minLength: 1, maxLength: 4 },
    );
    fc.assert(
      fc.property(inputs, (ins) => {
        const r = buildPlatformReport(ins);
        expect(typeof summarize(r)).toBe('string');
        JSON.stringify(r);
      }),
      { numRuns: 300 },
    );
  });
});
