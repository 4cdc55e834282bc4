// Telling inputs apart by their first bytes: native traces, JSON, firmware tables, captures.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as B from '../firmware/acpi-table-builder';
import { sniff } from './file-sniff';

const enc = (s: string) => new TextEncoder().encode(s);

describe('sniff', () => {
  it('knows the native magic, JSON and gzip', () => {
    expect(sniff(new Uint8Array([0x89, 0x49, 0x4f, 0x4d, 0x4d, 0x55, 0x0d, 0x0a, 0]), false).kind).toBe(
      'native',
    );
    expect(sniff(enc('# a comment\n{"format":"iommu-lab/platform"}\n'), true).kind).toBe('json');
    expect(sniff(new Uint8Array([0x1f, 0x8b, 8, 0]), false)).toEqual({ kind: 'capture', importKind: null });
  });

  it('takes ACPI tables and lspci output for firmware', () => {
    const dmar = B.dmar({ structures: [B.drhd({ flags: 1, base: 0xfed90000n })] });
    expect(sniff(dmar, true)).toEqual({ kind: 'firmware', what: 'acpi-binary' });
    expect(sniff(enc('00:14.0 USB controller: Intel Corporation xHCI Host Controller\n'), true)).toEqual({
      kind: 'firmware',
      what: 'lspci',
    });
  });

  it('takes a kernel log with DMAR faults for a capture to import', () => {
    const log = readFileSync('test/fixtures/files/dmesg-dmar-faults.log');
    expect(sniff(new Uint8Array(log), true)).toEqual({ kind: 'capture', importKind: 'kernel-log' });
  });

  it('refuses binary data and text it cannot place', () => {
    expect(sniff(new Uint8Array([1, 2, 0, 3, 4, 5, 6, 7, 8]), true).kind).toBe('unknown');
    const s = sniff(enc('shopping list\neggs\nmilk\n'), true);
    expect(s.kind).toBe('unknown');
  });
});
