// The fault table's rows as CSV (the app's "Export fault rows CSV"): one line per fault or use-after-unmap
// hazard, in the order given, with a header, RFC 4180 quoting (csv-stringify) and CRLF line ends, as the
// cluster CSV of the report (csv.ts). Rows are encoded a block at a time, so ten million rows never
// make one string. Columns: `row` (position in the table), `kind` (fault, hazard), `index` (among
// faults, or among hazards), `time_ns`, `bdf`, `pasid`, `access`, `address`, `reason` (0x00 for a
// hazard), `reason_text`, `stage`, `recording`, `classes` (separated by `;`), `unmap_origin` and
// `unmap_time_ns` (hazards: the unmap that left the IOTLB entry stale), `dmesg`. Pure.
import { stringify } from 'csv-stringify/sync';
import type { FaultRow } from '../shared/api';

export const FAULT_ROW_CSV_COLUMNS = [
  'row',
  'kind',
  'index',
  'time_ns',
  'bdf',
  'pasid',
  'access',
  'address',
  'reason',
  'reason_text',
  'stage',
  'recording',
  'classes',
  'unmap_origin',
  'unmap_time_ns',
  'dmesg',
] as const;

const BLOCK = 16_384;

function cells(r: FaultRow): (string | number)[] {
  return [
    r.row ?? '',
    r.kind ?? 'fault',
    r.index,
    r.time,
    r.bdf,
    r.pasid ?? '',
    r.access,
    r.address,
    `0x${r.reason.toString(16).padStart(2, '0')}`,
    r.reasonText,
    r.stage,
    r.recording,
    r.classes.join(';'),
    r.hazard?.unmapOrigin ?? '',
    r.hazard?.unmapTime ?? '',
    r.dmesg,
  ];
}

/** The CSV of `count` rows, `rowAt(k)` giving the k-th, as UTF-8 bytes. */
export function faultRowsCsv(count: number, rowAt: (k: number) => FaultRow): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [
    enc.encode(stringify([[...FAULT_ROW_CSV_COLUMNS]], { record_delimiter: 'windows' })),
  ];
  for (let from = 0; from < count; from += BLOCK) {
    const block: (string | number)[][] = [];
    for (let k = from; k < Math.min(count, from + BLOCK); k++) block.push(cells(rowAt(k)));
    parts.push(enc.encode(stringify(block, { record_delimiter: 'windows' })));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
