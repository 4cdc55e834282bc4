// ACPI IVRS (I/O Virtualization Reporting Structure) decoder, AMD IOMMU specification (48882) section
// 5, as Linux reads it (drivers/iommu/amd/init.c): the ACPI header (checksum verified), IVinfo (u32 at
// 36) and 8 reserved bytes, then blocks from offset 48, each u8 type, u8 flags, u16 length:
//   IVHD 10h   u16 IOMMU device id, u16 capability offset, u64 MMIO base, u16 PCI segment, u16 IOMMU
//              info, u32 IOMMU feature reporting; device entries from byte 24
//   IVHD 11h/40h  the same with u32 IOMMU attributes, u64 EFR image, u64 EFR2; entries from byte 40
//   IVMD 20h (all devices), 21h (one device), 22h (a device range): u16 device id, u16 auxiliary data
//        (last device id of a 22h range), u16 PCI segment, 6 reserved, u64 start, u64 length
// IVHD device entries (ivhd_entry_length: types below 80h are 4 << (type >> 6) bytes, F0h is 22 + UID
// length): 00h pad, 01h all, 02h select, 03h range start, 04h range end (4 bytes: type, u16 device id,
// u8 DTE setting); 40h pad, 42h alias select and 43h alias range start (byte 4 reserved, u16 source
// device id), 46h extended select and 47h extended range start (u32 extended data), 48h special device
// (u8 handle, u16 source device id, u8 variety: 1 IOAPIC, 2 HPET) (8 bytes); F0h ACPI HID device (HID
// and CID 8 bytes each, u8 UID format 0 none / 1 integer / 2 string, u8 UID length, UID). Linux uses
// only the IVHDs of the highest type it finds for the first IOMMU (get_highest_supported_ivhd_type).
// Problems are findings with byte offsets; unknown block types are skipped by their length.
import { decodeAcpiHeader, type AcpiHeader } from './acpi-header';
import { ByteReader } from './bytes';
import { FieldLog, pushAcpiHeaderFields, type TableField } from './fields';
import { finding, type Finding } from './findings';

export const IVRS_HEADER_SIZE = 48;

export type IvhdEntryKind =
  | 'pad4'
  | 'all'
  | 'select'
  | 'range-start'
  | 'range-end'
  | 'pad8'
  | 'alias-select'
  | 'alias-range-start'
  | 'ext-select'
  | 'ext-range-start'
  | 'special'
  | 'acpi-hid'
  | 'reserved';

const ENTRY_KINDS: Record<number, IvhdEntryKind> = {
  0x00: 'pad4',
  0x01: 'all',
  0x02: 'select',
  0x03: 'range-start',
  0x04: 'range-end',
  0x40: 'pad8',
  0x42: 'alias-select',
  0x43: 'alias-range-start',
  0x46: 'ext-select',
  0x47: 'ext-range-start',
  0x48: 'special',
  0xf0: 'acpi-hid',
};

export interface IvhdEntry {
  offset: number;
  typeCode: number;
  kind: IvhdEntryKind;
  length: number;
  devid: number;
  /** DTE setting byte (INITPASS, EINTPASS, NMIPASS, SYSMGT, LINT0PASS, LINT1PASS) */
  setting: number;
  /** alias entries: the requester id the devices use */
  aliasTo?: number;
  /** extended entries: the extended data (bit 31 ATS disabled) */
  ext?: number;
  /** special device: IOAPIC id or HPET number */
  handle?: number;
  /** special device: the PCI requester id of the IOAPIC/HPET */
  source?: number;
  /** special device: 1 IOAPIC, 2 HPET */
  variety?: number;
  hid?: string;
  cid?: string;
  uidFormat?: number;
  uidLength?: number;
  uid?: string;
}

export interface Ivhd {
  kind: 'ivhd';
  offset: number;
  typeCode: number;
  flags: number;
  length: number;
  /** the IOMMU's own PCI requester id */
  devid: number;
  capOffset: number;
  base: bigint;
  segment: number;
  info: number;
  /** 10h: IOMMU feature reporting; 11h/40h: IOMMU attributes */
  attributes: number;
  efr: bigint | null;
  efr2: bigint | null;
  entries: IvhdEntry[];
  /** true for the blocks Linux uses (those of the highest supported IVHD type) */
  used: boolean;
}

export interface Ivmd {
  kind: 'ivmd';
  offset: number;
  typeCode: number;
  flags: number;
  length: number;
  devid: number;
  aux: number;
  segment: number;
  start: bigint;
  rangeLength: bigint;
}

export interface IvrsUnknownBlock {
  kind: 'unknown';
  offset: number;
  typeCode: number;
  length: number;
}

export type IvrsBlock = Ivhd | Ivmd | IvrsUnknownBlock;

export interface IvrsTable {
  signature: 'IVRS';
  header: AcpiHeader;
  ivinfo: number;
  blocks: IvrsBlock[];
  /** the IVHD type Linux uses (get_highest_supported_ivhd_type), null when there is none */
  targetType: number | null;
  fields: TableField[];
  decodedLength: number;
}

export const IVMD_FLAGS = { UNITY: 0x01, IR: 0x02, IW: 0x04, EXCL: 0x08 } as const;

/** Decodes an IVRS table. Never throws. */
export function decodeIvrs(bytes: Uint8Array): { table: IvrsTable | null; findings: Finding[] } {
  const head = decodeAcpiHeader(bytes, 'IVRS', 'error');
  const findings: Finding[] = [...head.findings];
  if (!head.header) return { table: null, findings };
  const at = (offset: number) => ({ offset, table: 'IVRS' });
  const header = head.header;
  if (header.signature !== 'IVRS')
    findings.push(
      finding('error', 'acpi-signature', `the table signature is "${header.signature}", not "IVRS"`, at(0)),
    );
  const r = new ByteReader(bytes);
  const end = head.end;
  const fields = new FieldLog();
  pushAcpiHeaderFields(fields, header);
  if (!r.has(36, 12) || end < IVRS_HEADER_SIZE) {
    findings.push(
      finding(
        'error',
        'ivrs-header-truncated',
        `the IVRS table ends at byte ${Math.min(end, bytes.length)}, before the end of its 48-byte header (IVinfo and reserved bytes); the table is cut off`,
        at(Math.min(end, bytes.length)),
      ),
    );
    return { table: null, findings };
  }
  const ivinfo = r.u32(36);
  fields.push(36, 4, 'Virtualization Info', ivinfo);
  fields.push(40, 8, 'Reserved', r.u64(40));
  const blocks: IvrsBlock[] = [];
  let off = IVRS_HEADER_SIZE;
  while (off < end) {
    if (off + 4 > end) {
      findings.push(
        finding(
          'error',
          'ivrs-block-truncated',
          `${end - off} stray byte(s) at the end of the table, too few for a block header; the table Length is wrong or the last block is cut off`,
          at(off),
        ),
      );
      break;
    }
    const typeCode = r.u8(off);
    const flags = r.u8(off + 1);
    const length = r.u16(off + 2);
    if (length === 0) {
      findings.push(
        finding(
          'error',
          'ivrs-block-zero-length',
          `block type ${hex(typeCode)} with length 0: Linux steps through IVRS blocks by their length and would loop here forever at boot (init_iommu_all, init_memory_definitions); set the block's Length`,
          at(off + 2),
        ),
      );
      break;
    }
    const bEnd = off + length;
    if (bEnd > end)
      findings.push(
        finding(
          'error',
          'ivrs-block-past-end',
          `block type ${hex(typeCode)} of ${length} bytes at 0x${off.toString(16)} runs ${bEnd - end} byte(s) past the end of the table; Linux reads past the table (WARN_ON(p != end)). Fix the block or table Length`,
          at(off + 2),
        ),
      );
    const limit = Math.min(bEnd, end);
    fields.push(off, 1, 'Subtable Type', typeCode);
    fields.push(off + 1, 1, 'Flags', flags);
    fields.push(off + 2, 2, 'Length', length);
    if (typeCode === 0x10 || typeCode === 0x11 || typeCode === 0x40) {
      const hsize = typeCode === 0x10 ? 24 : 40;
      if (limit - off < hsize) {
        findings.push(
          finding(
            'error',
            'ivrs-ivhd-too-short',
            `IVHD type ${hex(typeCode)} at 0x${off.toString(16)} is ${limit - off} bytes, shorter than its ${hsize}-byte header`,
            at(off + 2),
          ),
        );
      } else {
        fields.push(off + 4, 2, 'DeviceId', r.u16(off + 4));
        fields.push(off + 6, 2, 'Capability Offset', r.u16(off + 6));
        fields.push(off + 8, 8, 'Base Address', r.u64(off + 8));
        fields.push(off + 16, 2, 'PCI Segment Group', r.u16(off + 16));
        fields.push(off + 18, 2, 'Virtualization Info', r.u16(off + 18));
        fields.push(off + 20, 4, typeCode === 0x10 ? 'Feature Reporting' : 'Attributes', r.u32(off + 20));
        if (hsize === 40) {
          fields.push(off + 24, 8, 'EFR Register Image', r.u64(off + 24));
          fields.push(off + 32, 8, 'EFR Register Image 2', r.u64(off + 32));
        }
        const entries = decodeEntries(r, off + hsize, limit, typeCode, off, fields, findings);
        blocks.push({
          kind: 'ivhd',
          offset: off,
          typeCode,
          flags,
          length,
          devid: r.u16(off + 4),
          capOffset: r.u16(off + 6),
          base: r.u64(off + 8),
          segment: r.u16(off + 16),
          info: r.u16(off + 18),
          attributes: r.u32(off + 20),
          efr: hsize === 40 ? r.u64(off + 24) : null,
          efr2: hsize === 40 ? r.u64(off + 32) : null,
          entries,
          used: false,
        });
      }
    } else if (typeCode >= 0x20 && typeCode <= 0x22) {
      if (limit - off < 32)
        findings.push(
          finding(
            'error',
            'ivrs-ivmd-too-short',
            `IVMD type ${hex(typeCode)} at 0x${off.toString(16)} is ${limit - off} bytes; an IVMD is 32`,
            at(off + 2),
          ),
        );
      else {
        fields.push(off + 4, 2, 'DeviceId', r.u16(off + 4));
        fields.push(off + 6, 2, 'Auxiliary Data', r.u16(off + 6));
        fields.push(off + 8, 2, 'PCI Segment Group', r.u16(off + 8));
        fields.push(off + 10, 6, 'Reserved', Array.from(r.slice(off + 10, 6)));
        fields.push(off + 16, 8, 'Start Address', r.u64(off + 16));
        fields.push(off + 24, 8, 'Memory Length', r.u64(off + 24));
        blocks.push({
          kind: 'ivmd',
          offset: off,
          typeCode,
          flags,
          length,
          devid: r.u16(off + 4),
          aux: r.u16(off + 6),
          segment: r.u16(off + 8),
          start: r.u64(off + 16),
          rangeLength: r.u64(off + 24),
        });
        if (length !== 32)
          findings.push(
            finding(
              'warning',
              'ivrs-ivmd-length',
              `IVMD at 0x${off.toString(16)} has length ${length}; an IVMD is 32 bytes`,
              at(off + 2),
            ),
          );
      }
    } else {
      findings.push(
        finding(
          'info',
          'ivrs-unknown-block',
          `block type ${hex(typeCode)} (${length} bytes) is not an IVHD (10h, 11h, 40h) or IVMD (20h-22h); skipped by its length, as Linux does`,
          at(off),
        ),
      );
      blocks.push({ kind: 'unknown', offset: off, typeCode, length });
    }
    if (bEnd > end) break;
    off = bEnd;
  }
  const targetType = highestIvhdType(r, end);
  for (const b of blocks) if (b.kind === 'ivhd' && b.typeCode === targetType) b.used = true;
  return {
    table: {
      signature: 'IVRS',
      header,
      ivinfo,
      blocks,
      targetType,
      fields: fields.fields,
      decodedLength: end,
    },
    findings,
  };
}

const hex = (n: number) => `${n.toString(16).padStart(2, '0')}h`;

/**
 * get_highest_supported_ivhd_type: walk the blocks while their type is at most 40h; the last type
 * seen among those with the first block's device id wins.
 */
function highestIvhdType(r: ByteReader, end: number): number | null {
  let off = IVRS_HEADER_SIZE;
  if (!r.has(off, 6) || off >= end) return null;
  const devid = r.u16(off + 4);
  let last = r.u8(off);
  while (off < end && r.has(off, 6) && r.u8(off) <= 0x40) {
    if (r.u16(off + 4) === devid) last = r.u8(off);
    const len = r.u16(off + 2);
    if (len === 0) break;
    off += len;
  }
  return last === 0x10 || last === 0x11 || last === 0x40 ? last : null;
}

function decodeEntries(
  r: ByteReader,
  start: number,
  end: number,
  ivhdType: number,
  ivhdOffset: number,
  fields: FieldLog,
  findings: Finding[],
): IvhdEntry[] {
  const at = (offset: number) => ({ offset, table: 'IVRS' });
  const out: IvhdEntry[] = [];
  let p = start;
  while (p < end) {
    const typeCode = r.u8(p);
    let length: number;
    if (typeCode < 0x80) length = 4 << (typeCode >> 6);
    else if (typeCode === 0xf0) {
      if (p + 22 > end) {
        findings.push(
          finding(
            'error',
            'ivhd-entry-truncated',
            `ACPI HID device entry at 0x${p.toString(16)} needs 22 bytes before its UID but the IVHD ends after ${end - p}; fix the IVHD Length`,
            at(p),
          ),
        );
        break;
      }
      length = 22 + r.u8(p + 21);
    } else {
      findings.push(
        finding(
          'error',
          'ivhd-entry-unknown',
          `device entry type ${hex(typeCode)} at 0x${p.toString(16)} is not defined and its length cannot be known: Linux's ivhd_entry_length() returns 0 for it and the boot loops forever on this entry; iasl reads it as 4 bytes. Remove it or use a defined type. The rest of this IVHD is not decoded`,
          at(p),
        ),
      );
      break;
    }
    if (p + length > end) {
      findings.push(
        finding(
          'error',
          'ivhd-entry-truncated',
          `device entry type ${hex(typeCode)} at 0x${p.toString(16)} is ${length} bytes but the IVHD at 0x${ivhdOffset.toString(16)} ends after ${end - p}: the entries do not fill the IVHD exactly (Linux WARN_ON(p != end)); fix the IVHD Length`,
          at(p),
        ),
      );
      break;
    }
    const kind: IvhdEntryKind = ENTRY_KINDS[typeCode] ?? 'reserved';
    const e: IvhdEntry = { offset: p, typeCode, kind, length, devid: r.u16(p + 1), setting: r.u8(p + 3) };
    fields.push(p, 1, 'Entry Type', typeCode);
    fields.push(p + 1, 2, 'Device ID', e.devid);
    fields.push(p + 3, 1, 'Data Setting', e.setting);
    if (length === 8) {
      if (typeCode === 0x42 || typeCode === 0x43) {
        e.aliasTo = r.u16(p + 5);
        fields.push(p + 4, 1, 'Reserved', r.u8(p + 4));
        fields.push(p + 5, 2, 'Source Used Device ID', e.aliasTo);
        fields.push(p + 7, 1, 'Reserved', r.u8(p + 7));
      } else if (typeCode === 0x48) {
        e.handle = r.u8(p + 4);
        e.source = r.u16(p + 5);
        e.variety = r.u8(p + 7);
        fields.push(p + 4, 1, 'Handle', e.handle);
        fields.push(p + 5, 2, 'Source Used Device ID', e.source);
        fields.push(p + 7, 1, 'Variety', e.variety);
      } else {
        e.ext = r.u32(p + 4);
        fields.push(p + 4, 4, 'Extended Data', e.ext);
      }
    }
    if (typeCode === 0xf0) {
      e.hid = idText(r, p + 4);
      e.cid = idText(r, p + 12);
      e.uidFormat = r.u8(p + 20);
      e.uidLength = r.u8(p + 21);
      const uidBytes = r.slice(p + 22, e.uidLength);
      if (e.uidFormat === 1) {
        let v = 0n;
        for (let i = uidBytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(uidBytes[i]!);
        e.uid = v.toString(10);
      } else e.uid = String.fromCharCode(...uidBytes).replace(/\0+$/, '');
      fields.push(p + 4, 8, 'ACPI HID', r.ascii(p + 4, 8));
      fields.push(p + 12, 8, 'ACPI CID', r.ascii(p + 12, 8));
      fields.push(p + 20, 1, 'UID Format', e.uidFormat);
      fields.push(p + 21, 1, 'UID Length', e.uidLength);
      if (e.uidLength > 0) fields.push(p + 22, e.uidLength, 'UID', Array.from(uidBytes));
      if (ivhdType !== 0x40)
        findings.push(
          finding(
            'warning',
            'ivhd-hid-in-legacy-ivhd',
            `ACPI HID device entry in an IVHD of type ${hex(ivhdType)}: only type 40h IVHDs may carry them; Linux prints "[Firmware Bug]: Invalid IVHD device type 0xf0" and skips it`,
            at(p),
          ),
        );
    }
    if (kind === 'reserved')
      findings.push(
        finding(
          'warning',
          'ivhd-entry-reserved',
          `device entry type ${hex(typeCode)} at 0x${p.toString(16)} is reserved; Linux skips it by its ${length}-byte length`,
          at(p),
        ),
      );
    out.push(e);
    p += length;
  }
  return out;
}

/** HID/CID as text when printable ASCII (e.g. "AMDI0020"), else the 32-bit EISA id integer in hex. */
function idText(r: ByteReader, off: number): string {
  const s = r.ascii(off, 8);
  const t = s.replace(/\0+$/, '');
  if (t.length > 0 && /^[\x20-\x7e]+$/.test(t)) return t;
  if (t.length === 0) return '';
  return `0x${r.u64(off).toString(16)}`;
}

/** "0000:00:14.0" for a segment and 16-bit device id. */
export function devidBdf(segment: number, devid: number): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(segment, 4)}:${h(devid >> 8, 2)}:${h((devid >> 3) & 0x1f, 2)}.${devid & 7}`;
}
