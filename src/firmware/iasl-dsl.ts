// Reader for iasl disassembly text (.dsl, `iasl -d`), the form ACPI tables most often take in bug
// reports, and for iasl's data-table source form (`iasl -T`, .asl). One text may hold several tables (a
// whole `iasl -d` dump); each is split out by its Signature line. Per table the bytes come from:
//   1. the "Raw Table Data: Length N (0xN)" hex block when present (iasl prints it after the fields;
//      it holds every byte, including subtables this iasl version could not decode), else
//   2. the field lines "[HHHh DDDD LLL]  Name : Value" (ByteLength decimal, or hex with 'h' since
//      iasl 20240322): each value is written at its offset, little-endian, else
//   3. field lines without offsets ("[LLLL]  Name : Value" templates, or "Name : Value" when a poster
//      cut the offset column): values are laid out in order, each as wide as its byte length or, when
//      none is given, as its digits say (iasl prints UINT8 as 2 hex digits, UINT16 as 4, UINT32 as 8,
//      UINT64 as 16; strings quoted; byte lists space- or comma-separated).
// Bit-field decode lines (no offset, value 0 or 1) and comments are skipped. Every problem names the
// 1-based line. Pure.
import { finding, type Finding } from './findings';

export interface DslField {
  line: number;
  offset: number | null;
  length: number | null;
  name: string;
  value: string;
}

export interface DslTable {
  signature: string;
  bytes: Uint8Array;
  /** where the bytes came from */
  source: 'raw-data' | 'field-offsets' | 'field-order';
  /** 1-based line of the table's Signature field */
  line: number;
  fields: DslField[];
  findings: Finding[];
}

const OFFSET_LINE = /^\s*\[([0-9A-Fa-f]{3,5})h\s+(\d{4,5})\s+(\d{1,3}|[0-9A-Fa-f]{3}h)\]\s*(.+?)\s+:\s?(.*)$/;
const TEMPLATE_LINE = /^\s*\[(\d{4})\]\s*(.+?)\s+:\s?(.*)$/;
const BARE_LINE = /^\s+([A-Za-z][^:]*?)\s+:\s?(.*)$/;
const RAW_HEAD = /^\s*Raw Table Data:\s*Length\s+(\d+)\s*\(0x([0-9A-Fa-f]+)\)/;
const RAW_LINE = /^\s*([0-9A-Fa-f]{4,8}):\s((?:[0-9A-Fa-f]{2} ?){1,16})/;

/** True when the text looks like iasl output or source for a data table. */
export function looksLikeDsl(text: string): boolean {
  return /^\s*(?:\[[0-9A-Fa-f]{3,5}h\s+\d{4,5}\s+[0-9A-Fa-f]{1,3}h?\]|\[\d{4}\])\s*Signature\s*:\s*"/m.test(
    text,
  );
}

/** Reads every table in an iasl disassembly or data-table source. */
export function readDsl(text: string, file?: string): DslTable[] {
  const lines = text.split(/\r?\n/);
  const sections: { start: number; end: number }[] = [];
  lines.forEach((l, i) => {
    if (
      /\bSignature\s*:\s*"/.test(l) &&
      (OFFSET_LINE.test(l) || TEMPLATE_LINE.test(l) || BARE_LINE.test(l))
    ) {
      if (sections.length > 0) {
        const last = sections[sections.length - 1]!;
        last.end = Math.min(last.end, i);
      }
      sections.push({ start: i, end: lines.length });
    } else if (
      sections.length > 0 &&
      sections[sections.length - 1]!.end === lines.length &&
      (/^\s*DefinitionBlock\s*\(/.test(l) ||
        /^\s*\*\s*(?:Intel ACPI Component Architecture|Disassembly of )/.test(l))
    )
      // the next table of a whole-dump disassembly (AML, or another data table's banner) ends this one
      sections[sections.length - 1]!.end = i;
  });
  return sections.map((s) => readSection(lines, s.start, s.end, file));
}

function readSection(lines: string[], start: number, end: number, file?: string): DslTable {
  const findings: Finding[] = [];
  const fields: DslField[] = [];
  let raw: Uint8Array | null = null;
  let rawLength = 0;
  let inRaw = false;
  let rawLine = 0;
  let rawFilled = 0;
  for (let i = start; i < end; i++) {
    const l = lines[i]!;
    const lineNo = i + 1;
    const rh = RAW_HEAD.exec(l);
    if (rh) {
      rawLength = parseInt(rh[1]!, 10);
      raw = new Uint8Array(rawLength);
      inRaw = true;
      rawLine = lineNo;
      continue;
    }
    if (inRaw) {
      const m = RAW_LINE.exec(l);
      if (m) {
        const off = parseInt(m[1]!, 16);
        const bytes = m[2]!.trim().split(/\s+/);
        bytes.forEach((b, k) => {
          if (off + k < raw!.length) {
            raw![off + k] = parseInt(b, 16);
            rawFilled = Math.max(rawFilled, off + k + 1);
          } else
            findings.push(
              finding(
                'error',
                'dsl-raw-overflow',
                `raw table data byte at 0x${(off + k).toString(16)} is past the stated length ${rawLength}; ignored`,
                { file, line: lineNo },
              ),
            );
        });
        continue;
      }
      if (l.trim() === '') continue;
      inRaw = false;
    }
    const f = parseFieldLine(l, lineNo);
    if (f) fields.push(f);
  }
  const sigField = fields.find((f) => /^Signature$/i.test(f.name));
  const signature = sigField ? (/"([^"]*)"/.exec(sigField.value)?.[1] ?? '????').slice(0, 4) : '????';
  const line = start + 1;
  if (raw && rawFilled > 0) {
    if (rawFilled < rawLength)
      findings.push(
        finding(
          'error',
          'dsl-raw-incomplete',
          `"Raw Table Data" announces ${rawLength} bytes but the hex lines stop at ${rawFilled}; the paste is cut off`,
          { file, line: rawLine, offset: rawFilled, table: signature },
        ),
      );
    return {
      signature,
      bytes: raw.subarray(0, Math.max(rawFilled, 0)),
      source: 'raw-data',
      line,
      fields,
      findings,
    };
  }
  const withOffsets = fields.filter((f) => f.offset !== null);
  if (
    withOffsets.length > 0 &&
    withOffsets.length >= fields.filter((f) => f.value.trim().length > 1).length / 2
  ) {
    const bytes = rebuildAtOffsets(withOffsets, findings, file, signature);
    return { signature, bytes, source: 'field-offsets', line, fields, findings };
  }
  const bytes = rebuildInOrder(fields, findings, file, signature);
  return { signature, bytes, source: 'field-order', line, fields, findings };
}

export function parseFieldLine(l: string, lineNo: number): DslField | null {
  if (l.length > 2000) return null; // no iasl field line is this long; keeps the regexes linear
  let m = OFFSET_LINE.exec(l);
  if (m) {
    const lenText = m[3]!;
    const length = lenText.endsWith('h') ? parseInt(lenText.slice(0, -1), 16) : parseInt(lenText, 10);
    return { line: lineNo, offset: parseInt(m[1]!, 16), length, name: m[4]!.trim(), value: m[5]!.trimEnd() };
  }
  m = TEMPLATE_LINE.exec(l);
  if (m)
    return {
      line: lineNo,
      offset: null,
      length: parseInt(m[1]!, 10),
      name: m[2]!.trim(),
      value: m[3]!.trimEnd(),
    };
  if (/^\s*(?:\/?\*|\/\/)/.test(l) || /Raw Table Data/.test(l)) return null;
  m = BARE_LINE.exec(l);
  if (m) {
    const value = m[2]!.trim();
    // bit-field decode lines ("  Coherent : 1") have a single-digit value; real fields have 2+ digits
    if (/^[01]$/.test(value)) return null;
    return { line: lineNo, offset: null, length: null, name: m[1]!.trim(), value: m[2]!.trimEnd() };
  }
  return null;
}

/** The bytes a field's value stands for, little-endian, `length` long when the length is known. */
export function fieldBytes(f: DslField): Uint8Array | null {
  const v = f.value.trim();
  const str = /^"((?:[^"\\]|\\.)*)"/.exec(v);
  if (str) {
    const text = str[1]!;
    const n = f.length ?? text.length;
    const out = new Uint8Array(n);
    for (let i = 0; i < Math.min(n, text.length); i++) out[i] = text.charCodeAt(i) & 0xff;
    return out;
  }
  // byte lists: "02,00" (PCI path) or "00 00 00 …" (reserved arrays)
  const list = /^([0-9A-Fa-f]{2})((?:[ ,][0-9A-Fa-f]{2})+)(?:\s|$)/.exec(v);
  if (list && (v.includes(',') || f.length === null || f.length > 1)) {
    const items = (list[1]! + list[2]!).split(/[ ,]/).filter((x) => x !== '');
    if (f.length === null || items.length === f.length || v.includes(',')) {
      const out = new Uint8Array(f.length ?? items.length);
      items.forEach((b, i) => {
        if (i < out.length) out[i] = parseInt(b, 16);
      });
      return out;
    }
  }
  const num = /^([0-9A-Fa-f]+)(?:\s|$)/.exec(v);
  if (!num) return null;
  const digits = num[1]!;
  const n = f.length ?? Math.ceil(digits.length / 2);
  if (n > 64) return null;
  let value = BigInt(`0x${digits}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

function rebuildAtOffsets(
  fields: DslField[],
  findings: Finding[],
  file: string | undefined,
  table: string,
): Uint8Array {
  let size = 0;
  for (const f of fields) size = Math.max(size, f.offset! + (f.length ?? 0));
  const lengthField = fields.find((f) => f.offset === 4 && /Length/i.test(f.name));
  const declared = lengthField ? Number(bigintOf(fieldBytes(lengthField))) : size;
  const out = new Uint8Array(Math.max(size, 0));
  for (const f of fields) {
    const b = fieldBytes(f);
    if (!b) {
      findings.push(
        finding(
          'error',
          'dsl-field-unreadable',
          `cannot read the value of "${f.name}" ("${f.value}"); its bytes are left 0`,
          {
            file,
            line: f.line,
            offset: f.offset,
            table,
          },
        ),
      );
      continue;
    }
    out.set(b.subarray(0, Math.max(0, out.length - f.offset!)), f.offset!);
  }
  findings.push(
    finding(
      'info',
      'dsl-rebuilt',
      `no "Raw Table Data" block: the ${table} bytes were rebuilt from the ${fields.length} field lines at their offsets`,
      { file, line: fields[0]?.line, table },
    ),
  );
  if (declared > size)
    findings.push(
      finding(
        'info',
        'dsl-incomplete',
        `the table is ${declared} bytes but the field lines cover only ${size}; iasl stopped decoding (an unknown subtable type, or an older iasl), and without the "Raw Table Data" block the rest is missing. Decode the binary table, or paste the raw data`,
        { file, line: fields[fields.length - 1]?.line, offset: size, table },
      ),
    );
  return out;
}

function rebuildInOrder(
  fields: DslField[],
  findings: Finding[],
  file: string | undefined,
  table: string,
): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (const f of fields) {
    const b = fieldBytes(f);
    if (!b) {
      findings.push(
        finding(
          'error',
          'dsl-field-unreadable',
          `cannot read the value of "${f.name}" ("${f.value}") and, without offsets, cannot tell its size: the bytes after it would be misplaced, so the table stops here`,
          {
            file,
            line: f.line,
            offset: size,
            table,
          },
        ),
      );
      break;
    }
    chunks.push(b);
    size += b.length;
  }
  const out = new Uint8Array(size);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  findings.push(
    finding(
      'info',
      'dsl-rebuilt-in-order',
      `the field lines carry no offsets (a data-table template, or the offset column was cut): the ${table} bytes were rebuilt in field order, each field as wide as its printed value`,
      { file, line: fields[0]?.line, table },
    ),
  );
  return out;
}

function bigintOf(b: Uint8Array | null): bigint {
  if (!b) return 0n;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** Every field line of a disassembly that carries an offset, in order. */
export function dslFieldLines(text: string): DslField[] {
  const out: DslField[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    const f = parseFieldLine(l, i + 1);
    if (f && f.offset !== null) out.push(f);
  });
  return out;
}
