// PCIe analyzer exports in CSV (or TSV / semicolon) as TlpRecords. Contract:
// - A preset maps header names to TLP fields (data, below; docs/import-analyzer.md says how to add one).
//   Header names are compared after normalisation: lower case, with spaces, "_", "-", ".", "(", ")"
//   and "/" removed. The first line that maps every required field (requester id, type, address) is
//   the header; lines before it are skipped as preamble.
// - Rows are parsed with csv-parse (its browser-safe synchronous build), one record per physical line;
//   a quoted field that spans lines is rejoined (at most 16 lines). A row whose fields do not parse is a
//   counted bad line naming the column; the import goes on.
// - Only presets substantiated by a documented column layout ship. No public export of a vendor tool
//   (Teledyne LeCroy PETracer/Summit, Keysight/Agilent, Viavi Xgig) could be found, so the one built-in
//   preset is 'generic', this lab's own documented layout; Keysight/Agilent's native .pad capture is
//   read as it is (agilent-pad.ts, framed into packets by agilent-pad-packets.ts), no export needed.
// - Field values: requester id as "bb:dd.f", "ssss:bb:dd.f" or a 16-bit hex number ("0x0a00", "0a00");
//   type as the PCIe mnemonic (MRd, MRd32, MRd64, MRdLk, MWr, MWr32, MWr64, FetchAdd, Swap, CAS, Cpl,
//   CplD, CplLk, CplDLk, Msg, MsgD, IORd, IOWr, CfgRd0…); address hex ("0x" optional); length in bytes
//   (or DW when the preset says so); PASID hex with 0x or decimal, empty or "-" for none; T bit
//   1/0/true/false/yes/no; AT 0/1/2 or untranslated/translation request/translated; time in the unit the
//   preset gives for its column.
import { parse } from 'csv-parse/browser/esm/sync';
import type { Detail, LineImporter, Sink, TlpRecord } from './types';
import { bdfOfRid, decNum, hexAddr, hexNum, pciName } from './values';

export type TlpField =
  'time' | 'requesterId' | 'type' | 'address' | 'length' | 'pasid' | 'tbit' | 'at' | 'tag' | 'direction';

export interface AnalyzerColumn {
  /** header names that carry this field (any spelling; normalised before comparing) */
  names: string[];
  /** time: unit of the value; length: 'bytes' or 'dw' */
  unit?: 'ps' | 'ns' | 'us' | 'ms' | 's' | 'bytes' | 'dw';
}

export interface AnalyzerPreset {
  id: string;
  vendor: string;
  /** where the layout comes from (a manual page, a real export…) */
  source: string;
  columns: Partial<Record<TlpField, AnalyzerColumn[]>>;
}

const REQUIRED: TlpField[] = ['requesterId', 'type', 'address'];

export const ANALYZER_PRESETS: Record<string, AnalyzerPreset> = {
  generic: {
    id: 'generic',
    vendor: 'IOMMU Lab',
    source: 'docs/import-analyzer.md (this lab’s own layout)',
    columns: {
      time: [
        { names: ['time_ns', 'timestamp_ns'], unit: 'ns' },
        { names: ['time_us', 'timestamp_us'], unit: 'us' },
        { names: ['time_s', 'timestamp_s', 'time'], unit: 's' },
        { names: ['time_ps'], unit: 'ps' },
      ],
      requesterId: [{ names: ['requester_id', 'requester', 'rid', 'bdf'] }],
      type: [{ names: ['type', 'tlp_type', 'tlp'] }],
      address: [{ names: ['address', 'addr'] }],
      length: [
        { names: ['length', 'length_bytes', 'bytes'], unit: 'bytes' },
        { names: ['length_dw', 'dw'], unit: 'dw' },
      ],
      pasid: [{ names: ['pasid'] }],
      tbit: [{ names: ['t', 'tbit', 't_bit'] }],
      at: [{ names: ['at'] }],
      tag: [{ names: ['tag'] }],
      direction: [{ names: ['direction', 'dir', 'link'] }],
    },
  },
};

export const normaliseHeader = (h: string): string => h.toLowerCase().replace(/[\s_\-.()/]+/g, '');

interface Mapped {
  field: TlpField;
  index: number;
  unit: AnalyzerColumn['unit'];
  header: string;
}

/** Maps a header row; null when a required field has no column. */
export function mapHeader(header: string[], preset: AnalyzerPreset): Mapped[] | null {
  const norm = header.map(normaliseHeader);
  const out: Mapped[] = [];
  for (const [field, cols] of Object.entries(preset.columns) as Array<[TlpField, AnalyzerColumn[]]>) {
    let found: Mapped | null = null;
    for (const c of cols) {
      for (const n of c.names) {
        const i = norm.indexOf(normaliseHeader(n));
        if (i >= 0) {
          found = { field, index: i, unit: c.unit, header: header[i]! };
          break;
        }
      }
      if (found) break;
    }
    if (found) out.push(found);
  }
  return REQUIRED.every((f) => out.some((m) => m.field === f)) ? out : null;
}

const TYPES: Array<[RegExp, TlpRecord['access'], string]> = [
  [/^mrd(?:32|64)?$/, 'read', 'MRd'],
  [/^mrdlk(?:32|64)?$/, 'read', 'MRdLk'],
  [/^mwr(?:32|64)?$/, 'write', 'MWr'],
  [/^fetchadd(?:32|64)?$/, 'atomic', 'FetchAdd'],
  [/^swap(?:32|64)?$/, 'atomic', 'Swap'],
  [/^cas(?:32|64)?$/, 'atomic', 'CAS'],
  [/^cpl(?:d)?(?:lk)?$/, 'completion', ''],
  [/^msg(?:d)?$/, 'message', ''],
];

function tlpType(text: string): { access: TlpRecord['access']; name: string } {
  const t = text
    .trim()
    .replace(/[\s_-]/g, '')
    .toLowerCase();
  for (const [re, access, name] of TYPES) if (re.test(t)) return { access, name: name || text.trim() };
  return { access: 'other', name: text.trim() };
}

function requester(text: string): number | null {
  const t = text.trim();
  const p = pciName(t);
  if (p) return p.rid;
  const v = hexNum(t);
  return v !== null && v <= 0xffff ? v : null;
}

const TIME_DIVISOR = { ps: 1e12, ns: 1e9, us: 1e6, ms: 1e3, s: 1 } as const;

function detectDelimiter(line: string): string {
  const counts = [',', '\t', ';'].map((d) => [d, line.split(d).length - 1] as const);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0]![1] > 0 ? counts[0]![0] : ',';
}

export class AnalyzerCsvImporter implements LineImporter {
  private map: Mapped[] | null = null;
  private delimiter = ',';
  private held: { text: string; line: number; joins: number } | null = null;
  readonly preset: AnalyzerPreset;

  constructor(preset: AnalyzerPreset | string = 'generic') {
    const p = typeof preset === 'string' ? ANALYZER_PRESETS[preset] : preset;
    if (!p)
      throw new Error(
        `unknown analyzer preset "${String(preset)}" (known: ${Object.keys(ANALYZER_PRESETS).join(', ')})`,
      );
    this.preset = p;
  }

  line(text: string, no: number, sink: Sink): void {
    const t = text.endsWith('\r') ? text.slice(0, -1) : text;
    let rowText = t;
    let first = no;
    if (this.held) {
      rowText = `${this.held.text}\n${t}`;
      first = this.held.line;
    }
    if (rowText.trim() === '' && !this.held) {
      sink.ignored(no);
      return;
    }
    if (this.map === null && !this.held) this.delimiter = detectDelimiter(rowText);
    let rows: string[][];
    try {
      rows = parse(rowText, {
        delimiter: this.delimiter,
        relax_column_count: true,
        relax_quotes: true,
        bom: true,
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'CSV_QUOTE_NOT_CLOSED' && (this.held?.joins ?? 0) < 16) {
        this.held = { text: rowText, line: first, joins: (this.held?.joins ?? 0) + 1 };
        return;
      }
      this.held = null;
      sink.bad(first, `not a CSV row: ${(e as Error).message}`, rowText);
      return;
    }
    this.held = null;
    const row = rows[0] ?? [];
    if (this.map === null) {
      this.map = mapHeader(row, this.preset);
      sink.ignored(first);
      return;
    }
    this.row(row, first, rowText, sink);
  }

  end(sink: Sink): void {
    if (this.held) sink.bad(this.held.line, 'quoted field not closed at end of file', this.held.text);
    this.held = null;
    if (this.map === null)
      sink.bad(
        1,
        `no header row maps the ${this.preset.id} preset's required columns (${REQUIRED.join(', ')})`,
        '',
      );
  }

  private row(row: string[], line: number, raw: string, sink: Sink): void {
    const get = (f: TlpField): Mapped | undefined => this.map!.find((m) => m.field === f);
    const val = (m: Mapped | undefined): string => (m ? (row[m.index] ?? '').trim() : '');
    const fail = (m: Mapped, why: string): void => sink.bad(line, `column "${m.header}": ${why}`, raw);
    const ridM = get('requesterId')!;
    const rid = requester(val(ridM));
    if (rid === null) return fail(ridM, `not a requester id: "${val(ridM)}"`);
    const typeM = get('type')!;
    if (val(typeM) === '') return fail(typeM, 'empty TLP type');
    const ty = tlpType(val(typeM));
    const addrM = get('address')!;
    const addrText = val(addrM);
    const address = addrText === '' || addrText === '-' ? null : hexAddr(addrText);
    if (address === null && ty.access !== 'completion' && ty.access !== 'message')
      return fail(addrM, `not a hex address: "${addrText}"`);
    let time: number | null = null;
    let timeRaw: string | null = null;
    const timeM = get('time');
    if (timeM && val(timeM) !== '') {
      timeRaw = val(timeM);
      const n = Number(timeRaw.replace(/,/g, ''));
      if (!Number.isFinite(n)) return fail(timeM, `not a number: "${timeRaw}"`);
      time = n / TIME_DIVISOR[(timeM.unit ?? 's') as keyof typeof TIME_DIVISOR];
    }
    let length: number | null = null;
    const lenM = get('length');
    if (lenM && val(lenM) !== '') {
      const n = decNum(val(lenM));
      if (n === null) return fail(lenM, `not a length: "${val(lenM)}"`);
      length = lenM.unit === 'dw' ? n * 4 : n;
    }
    let pasid: number | null = null;
    const pasM = get('pasid');
    const pasText = val(pasM);
    if (pasM && pasText !== '' && pasText !== '-') {
      pasid = pasText.toLowerCase().startsWith('0x') ? hexNum(pasText) : decNum(pasText);
      if (pasid === null || pasid > 0xfffff) return fail(pasM, `not a PASID: "${pasText}"`);
    }
    let tbit: boolean | null = null;
    const tM = get('tbit');
    if (tM && val(tM) !== '') {
      const v = val(tM).toLowerCase();
      if (['1', 'true', 'yes', 'y'].includes(v)) tbit = true;
      else if (['0', 'false', 'no', 'n'].includes(v)) tbit = false;
      else return fail(tM, `not a T bit: "${val(tM)}"`);
    }
    let at: number | null = null;
    const atM = get('at');
    if (atM && val(atM) !== '') {
      const v = val(atM).toLowerCase();
      const named: Record<string, number> = { untranslated: 0, 'translation request': 1, translated: 2 };
      at = named[v] ?? (/^[0-2]$/.test(v) ? +v : null);
      if (at === null) return fail(atM, `not an AT value: "${val(atM)}"`);
    }
    const detail: Detail = { preset: this.preset.id };
    for (const f of ['tag', 'direction'] as const) {
      const m = get(f);
      if (m && val(m) !== '') detail[f] = val(m);
    }
    const rec: TlpRecord = {
      type: 'tlp',
      origin: 'analyzer',
      requesterId: rid,
      bdf: bdfOfRid(pciName(val(ridM))?.segment ?? null, rid),
      pasid,
      tbit,
      at,
      access: ty.access,
      tlpType: ty.name,
      address,
      length,
      detail,
      line,
      raw,
      time,
      clock: time === null ? null : 'capture',
      timeRaw,
    };
    sink.record(rec);
  }
}
