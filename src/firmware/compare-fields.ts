// Compares the fields a decoder read (TableField: offset, size, value) with the field lines another
// decoder printed for the same bytes (iasl -d, parsed by iasl-dsl.ts). Both sides are turned into the
// little-endian bytes they stand for; a field matches when every byte the other side printed agrees,
// whatever the split (iasl prints a device scope's flags and reserved bytes as one u16 "Reserved",
// for example). Fields at the same offset and size are also checked by name, modulo the renames iasl
// made across versions. Used by the iasl comparison tests; pure.
import type { DslField } from './iasl-dsl';
import { fieldBytes } from './iasl-dsl';
import type { FieldValue, TableField } from './fields';

export interface FieldMismatch {
  offset: number;
  name: string;
  ours: string;
  theirs: string;
  /** the other decoder's field name at that offset */
  theirName: string;
}

export interface FieldComparison {
  /** our fields whose bytes the other side printed, all of them */
  checked: number;
  /** our fields the other side printed nothing for (it stopped decoding, or skipped them) */
  unchecked: TableField[];
  mismatches: FieldMismatch[];
  /** same offset and size, different name (not a known rename) */
  nameMismatches: { offset: number; ours: string; theirs: string }[];
}

export function valueBytes(value: FieldValue, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (typeof value === 'string') {
    for (let i = 0; i < Math.min(size, value.length); i++) out[i] = value.charCodeAt(i) & 0xff;
  } else if (Array.isArray(value)) {
    value.slice(0, size).forEach((b, i) => (out[i] = b & 0xff));
  } else {
    let v = BigInt(value);
    for (let i = 0; i < size; i++) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  return out;
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Pairs of names that mean the same field in different iasl versions (or here). */
const RENAMES: [string, string][] = [
  ['size', 'sizedecodedbelow'],
  ['deviceid', 'devid'],
  ['pcisegmentnumber', 'pcisegment'],
  ['efrregisterimage', 'efrimage'],
  ['efrregisterimage2', 'efrimage2'],
];

function sameName(a: string, b: string): boolean {
  const x = norm(a);
  const y = norm(b);
  if (x === y || x.startsWith(y) || y.startsWith(x)) return true;
  // fields that were reserved when an older iasl was written are printed as "Reserved"
  if (y === 'reserved') return true;
  return RENAMES.some(([p, q]) => (x === p && y === q) || (x === q && y === p));
}

export function compareFields(ours: readonly TableField[], theirs: readonly DslField[]): FieldComparison {
  const known = new Map<number, { byte: number; field: DslField }>();
  const byOffset = new Map<number, DslField>();
  for (const f of theirs) {
    if (f.offset === null) continue;
    byOffset.set(f.offset, f);
    const b = fieldBytes(f);
    if (!b) continue;
    b.forEach((byte, i) => known.set(f.offset! + i, { byte, field: f }));
  }
  const result: FieldComparison = { checked: 0, unchecked: [], mismatches: [], nameMismatches: [] };
  for (const f of ours) {
    const mine = valueBytes(f.value, f.size);
    let seen = 0;
    let bad: DslField | null = null;
    for (let i = 0; i < f.size; i++) {
      const k = known.get(f.offset + i);
      if (!k) continue;
      seen++;
      // iasl prints strings up to their NUL: a printed string shorter than the field pads with 0
      if (k.byte !== mine[i]) bad = k.field;
    }
    if (seen === 0) {
      result.unchecked.push(f);
      continue;
    }
    result.checked++;
    if (bad)
      result.mismatches.push({
        offset: f.offset,
        name: f.name,
        ours: typeof f.value === 'bigint' ? `0x${f.value.toString(16)}` : JSON.stringify(f.value),
        theirs: bad.value,
        theirName: bad.name,
      });
    const same = byOffset.get(f.offset);
    if (same && same.length === f.size && !sameName(f.name, same.name))
      result.nameMismatches.push({ offset: f.offset, ours: f.name, theirs: same.name });
  }
  return result;
}
