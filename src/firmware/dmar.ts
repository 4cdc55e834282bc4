// ACPI DMAR (DMA Remapping Reporting) table decoder, Intel VT-d spec chapter 8, as the bytes come from
// /sys/firmware/acpi/tables/DMAR or acpixtract: the ACPI header (checksum verified), host address width
// (stored as width - 1), flags (bit 0 INTR_REMAP, bit 1 X2APIC_OPT_OUT, bit 2 DMA_CTRL_PLATFORM_OPT_IN),
// then remapping structures from offset 48, each u16 type, u16 length:
//   0 DRHD  u8 flags (bit 0 INCLUDE_PCI_ALL), u8 size, u16 segment, u64 register base, device scopes
//   1 RMRR  u16 reserved, u16 segment, u64 base, u64 end (inclusive limit), device scopes
//   2 ATSR  u8 flags (bit 0 ALL_PORTS), u8 reserved, u16 segment, device scopes
//   3 RHSA  u32 reserved, u64 register base, u32 proximity domain
//   4 ANDD  3 reserved bytes, u8 ACPI device number, NUL-terminated ACPI object name
//   5 SATC  u8 flags (bit 0 ATC_REQUIRED), u8 reserved, u16 segment, device scopes
//   6 SIDP  u16 reserved, u16 segment, device scopes (SoC integrated device properties)
// The walk follows the kernel's dmar_walk_remapping_entries: a zero-length structure stops it ("Invalid
// 0-length structure"), one that passes the table end is an error ("[Firmware Bug]: Record passes table
// end"), and types 7 and up are reported and skipped by their length, never fatal. Every structural
// problem is a finding with its byte offset; decoding goes on wherever the lengths allow. Semantic
// checks (RMRR sanity, scopes against the PCI hierarchy, e820) are in lint-dmar.ts.
import { decodeAcpiHeader, type AcpiHeader } from './acpi-header';
import { ByteReader, hex64 } from './bytes';
import { decodeScopes, type DmarDeviceScope } from './dmar-scope';
import { FieldLog, pushAcpiHeaderFields, type TableField } from './fields';
import { finding, type Finding } from './findings';

export const DMAR_HEADER_SIZE = 48;

export const DMAR_TYPE_NAMES: Record<number, string> = {
  0: 'DRHD',
  1: 'RMRR',
  2: 'ATSR',
  3: 'RHSA',
  4: 'ANDD',
  5: 'SATC',
  6: 'SIDP',
};

/** Minimum structure lengths (header and fixed fields, before device scopes or the name). */
const MIN_LENGTH: Record<number, number> = { 0: 16, 1: 24, 2: 8, 3: 20, 4: 8, 5: 8, 6: 8 };

interface StructureBase {
  /** offset of the structure in the table */
  offset: number;
  typeCode: number;
  length: number;
}

export interface Drhd extends StructureBase {
  kind: 'drhd';
  flags: number;
  includeAll: boolean;
  /** register set size: 2^size 4 KiB pages (VT-d 3.x; reserved, 0, before) */
  size: number;
  segment: number;
  base: bigint;
  scopes: DmarDeviceScope[];
}

export interface Rmrr extends StructureBase {
  kind: 'rmrr';
  reserved: number;
  segment: number;
  base: bigint;
  /** inclusive limit, as in the table */
  end: bigint;
  scopes: DmarDeviceScope[];
}

export interface Atsr extends StructureBase {
  kind: 'atsr';
  flags: number;
  allPorts: boolean;
  segment: number;
  scopes: DmarDeviceScope[];
}

export interface Rhsa extends StructureBase {
  kind: 'rhsa';
  reserved: number;
  base: bigint;
  proximityDomain: number;
}

export interface Andd extends StructureBase {
  kind: 'andd';
  deviceNumber: number;
  /** the object name up to its NUL (or the whole field when there is none) */
  name: string;
  nameTerminated: boolean;
}

export interface Satc extends StructureBase {
  kind: 'satc';
  flags: number;
  atcRequired: boolean;
  segment: number;
  scopes: DmarDeviceScope[];
}

export interface Sidp extends StructureBase {
  kind: 'sidp';
  reserved: number;
  segment: number;
  scopes: DmarDeviceScope[];
}

export interface UnknownStructure extends StructureBase {
  kind: 'unknown';
}

export type DmarStructure = Drhd | Rmrr | Atsr | Rhsa | Andd | Satc | Sidp | UnknownStructure;

export interface DmarTable {
  signature: 'DMAR';
  header: AcpiHeader;
  /** the raw field: host address width - 1 */
  hostAddressWidthField: number;
  /** host address width in bits (field + 1), as Linux prints "DMAR: Host address width N" */
  hostAddressWidth: number;
  flags: number;
  structures: DmarStructure[];
  /** every field read, with offsets (for comparison with iasl -d) */
  fields: TableField[];
  /** bytes decoded: min(Length, bytes given) */
  decodedLength: number;
}

export interface DmarDecode {
  table: DmarTable | null;
  findings: Finding[];
}

export const DMAR_FLAG_NAMES = ['INTR_REMAP', 'X2APIC_OPT_OUT', 'DMA_CTRL_PLATFORM_OPT_IN'] as const;

export function flagNames(flags: number, names: readonly string[]): string[] {
  const out: string[] = [];
  names.forEach((n, i) => {
    if (flags & (1 << i)) out.push(n);
  });
  return out;
}

/** Decodes a DMAR table. Never throws: problems are findings with byte offsets. */
export function decodeDmar(bytes: Uint8Array): DmarDecode {
  const head = decodeAcpiHeader(bytes, 'DMAR', 'warning');
  const findings: Finding[] = [...head.findings];
  const at = (offset: number) => ({ offset, table: 'DMAR' });
  if (!head.header) return { table: null, findings };
  const header = head.header;
  if (header.signature !== 'DMAR')
    findings.push(
      finding(
        'error',
        'acpi-signature',
        `the table signature is "${header.signature}", not "DMAR"; this is not a DMA remapping table`,
        at(0),
      ),
    );
  const r = new ByteReader(bytes);
  const end = head.end;
  const fields = new FieldLog();
  pushAcpiHeaderFields(fields, header);
  if (!r.has(36, 12) || end < DMAR_HEADER_SIZE) {
    findings.push(
      finding(
        'error',
        'dmar-header-truncated',
        `the DMAR table ends at byte ${Math.min(end, bytes.length)}, before the end of its 48-byte header (host address width, flags, reserved); the table is cut off`,
        at(Math.min(end, bytes.length)),
      ),
    );
    return { table: null, findings };
  }
  const hawField = r.u8(36);
  const flags = r.u8(37);
  fields.push(36, 1, 'Host Address Width', hawField);
  fields.push(37, 1, 'Flags', flags);
  fields.push(38, 10, 'Reserved', Array.from(r.slice(38, 10)));
  const structures: DmarStructure[] = [];
  let off = DMAR_HEADER_SIZE;
  while (off < end) {
    if (off + 4 > end) {
      findings.push(
        finding(
          'error',
          'dmar-struct-truncated',
          `${end - off} stray byte(s) at the end of the table, too few for a remapping structure header (type, length); the table Length is wrong or the last structure is cut off`,
          at(off),
        ),
      );
      break;
    }
    const typeCode = r.u16(off);
    const length = r.u16(off + 2);
    const name = DMAR_TYPE_NAMES[typeCode] ?? `type ${typeCode}`;
    if (length === 0) {
      findings.push(
        finding(
          'error',
          'dmar-struct-zero-length',
          `${name} structure with length 0: Linux stops walking the table here ("[Firmware Bug]: Invalid 0-length structure"), so every structure after it is ignored; set the structure's Length`,
          at(off + 2),
        ),
      );
      break;
    }
    const sEnd = off + length;
    if (sEnd > end) {
      findings.push(
        finding(
          'error',
          'dmar-struct-past-end',
          `${name} structure of ${length} bytes at 0x${off.toString(16)} runs ${sEnd - end} byte(s) past the end of the table: Linux prints "[Firmware Bug]: Record passes table end" and rejects the whole DMAR table (no DMA remapping); fix the structure's Length or the table Length`,
          at(off + 2),
        ),
      );
    }
    const limit = Math.min(sEnd, end);
    fields.push(off, 2, 'Subtable Type', typeCode);
    fields.push(off + 2, 2, 'Length', length);
    const min = MIN_LENGTH[typeCode];
    if (min === undefined) {
      findings.push(
        finding(
          'info',
          'dmar-unknown-type',
          `remapping structure type ${typeCode} (${length} bytes) is not one this decoder knows (0-6); Linux skips it too ("Unknown DMAR structure type ${typeCode}")`,
          at(off),
        ),
      );
      structures.push({ kind: 'unknown', offset: off, typeCode, length });
      if (sEnd > end) break;
      off = sEnd;
      continue;
    }
    if (limit - off < min) {
      findings.push(
        finding(
          'error',
          'dmar-struct-too-short',
          `${name} structure is ${Math.min(length, limit - off)} bytes, shorter than its ${min}-byte fixed part; its fields cannot be read, fix its Length`,
          at(off + 2),
        ),
      );
      if (sEnd > end) break;
      off = sEnd;
      continue;
    }
    const base = { offset: off, typeCode, length };
    const owner = `${name} at 0x${off.toString(16)}`;
    const scopesFrom = (start: number) => {
      const d = decodeScopes(r, start, limit, owner, fields);
      findings.push(...d.findings);
      return d.scopes;
    };
    switch (typeCode) {
      case 0: {
        const f = r.u8(off + 4);
        fields.push(off + 4, 1, 'Flags', f);
        fields.push(off + 5, 1, 'Size', r.u8(off + 5));
        fields.push(off + 6, 2, 'PCI Segment Number', r.u16(off + 6));
        fields.push(off + 8, 8, 'Register Base Address', r.u64(off + 8));
        structures.push({
          ...base,
          kind: 'drhd',
          flags: f,
          includeAll: (f & 1) !== 0,
          size: r.u8(off + 5),
          segment: r.u16(off + 6),
          base: r.u64(off + 8),
          scopes: scopesFrom(off + 16),
        });
        break;
      }
      case 1:
        fields.push(off + 4, 2, 'Reserved', r.u16(off + 4));
        fields.push(off + 6, 2, 'PCI Segment Number', r.u16(off + 6));
        fields.push(off + 8, 8, 'Base Address', r.u64(off + 8));
        fields.push(off + 16, 8, 'End Address (limit)', r.u64(off + 16));
        structures.push({
          ...base,
          kind: 'rmrr',
          reserved: r.u16(off + 4),
          segment: r.u16(off + 6),
          base: r.u64(off + 8),
          end: r.u64(off + 16),
          scopes: scopesFrom(off + 24),
        });
        break;
      case 2: {
        const f = r.u8(off + 4);
        fields.push(off + 4, 1, 'Flags', f);
        fields.push(off + 5, 1, 'Reserved', r.u8(off + 5));
        fields.push(off + 6, 2, 'PCI Segment Number', r.u16(off + 6));
        structures.push({
          ...base,
          kind: 'atsr',
          flags: f,
          allPorts: (f & 1) !== 0,
          segment: r.u16(off + 6),
          scopes: scopesFrom(off + 8),
        });
        break;
      }
      case 3:
        fields.push(off + 4, 4, 'Reserved', r.u32(off + 4));
        fields.push(off + 8, 8, 'Base Address', r.u64(off + 8));
        fields.push(off + 16, 4, 'Proximity Domain', r.u32(off + 16));
        structures.push({
          ...base,
          kind: 'rhsa',
          reserved: r.u32(off + 4),
          base: r.u64(off + 8),
          proximityDomain: r.u32(off + 16),
        });
        if (limit > off + 20)
          findings.push(
            finding(
              'info',
              'dmar-rhsa-extra',
              `RHSA at 0x${off.toString(16)} is ${length} bytes; the structure is 20, the rest is ignored`,
              at(off + 20),
            ),
          );
        break;
      case 4: {
        fields.push(off + 4, 3, 'Reserved', Array.from(r.slice(off + 4, 3)));
        fields.push(off + 7, 1, 'Device Number', r.u8(off + 7));
        const raw = r.ascii(off + 8, limit - (off + 8));
        const nul = raw.indexOf('\0');
        const nameText = nul >= 0 ? raw.slice(0, nul) : raw;
        fields.push(off + 8, limit - (off + 8), 'Device Name', nameText);
        structures.push({
          ...base,
          kind: 'andd',
          deviceNumber: r.u8(off + 7),
          name: nameText,
          nameTerminated: nul >= 0,
        });
        break;
      }
      case 5: {
        const f = r.u8(off + 4);
        fields.push(off + 4, 1, 'Flags', f);
        fields.push(off + 5, 1, 'Reserved', r.u8(off + 5));
        fields.push(off + 6, 2, 'PCI Segment Number', r.u16(off + 6));
        structures.push({
          ...base,
          kind: 'satc',
          flags: f,
          atcRequired: (f & 1) !== 0,
          segment: r.u16(off + 6),
          scopes: scopesFrom(off + 8),
        });
        break;
      }
      case 6:
        fields.push(off + 4, 2, 'Reserved', r.u16(off + 4));
        fields.push(off + 6, 2, 'PCI Segment Number', r.u16(off + 6));
        structures.push({
          ...base,
          kind: 'sidp',
          reserved: r.u16(off + 4),
          segment: r.u16(off + 6),
          scopes: scopesFrom(off + 8),
        });
        break;
    }
    if (sEnd > end) break;
    off = sEnd;
  }
  return {
    table: {
      signature: 'DMAR',
      header,
      hostAddressWidthField: hawField,
      hostAddressWidth: hawField + 1,
      flags,
      structures,
      fields: fields.fields,
      decodedLength: end,
    },
    findings,
  };
}

/** "DRHD 0xfed90000", "RMRR 0x9c000000-0xa07fffff": a short label for messages. */
export function structureLabel(s: DmarStructure): string {
  switch (s.kind) {
    case 'drhd':
      return `DRHD ${hex64(s.base)}`;
    case 'rmrr':
      return `RMRR [${hex64(s.base)}-${hex64(s.end)}]`;
    case 'rhsa':
      return `RHSA ${hex64(s.base)}`;
    case 'andd':
      return `ANDD ${s.deviceNumber} "${s.name}"`;
    case 'unknown':
      return `structure type ${s.typeCode}`;
    default:
      return `${s.kind.toUpperCase()} segment ${s.segment}`;
  }
}
