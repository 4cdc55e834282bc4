// Format detection from content, never from the file name. Contract:
// - detectFormat(firstLines) looks at up to the first 200 lines and returns the ImportKind with a
//   confidence in [0, 1] and a one-line reason naming what it counted. Text kinds are told apart by
//   their envelopes and recognised records (QEMU "pid@epoch:vtd_…" lines, ftrace "comm-pid [cpu] …"
//   columns or a "# tracer:" header, kernel log timestamps/tags); a CSV is an analyzer export when one of
//   its first lines maps a preset's required columns. 'unknown' (confidence 0) when nothing matches.
// - detectBinary(head) looks at the first bytes: gzip (decompress, then detect), zstd (Node 20 cannot
//   decompress it; a Keysight/Agilent .pad capture is named when its header shows through), a raw
//   Keysight/Agilent N5305A/N5306A .pad capture ("AGT_MODULE_" header string, cyrozap/
//   agilent-pcie-analyzer-re), other binary data (NUL bytes), or text.
import { parse } from 'csv-parse/browser/esm/sync';
import { ANALYZER_PRESETS, mapHeader } from './analyzer-csv';
import { ClockState, cleanLine, parseEnvelope } from './kernel-prefix';
import { recogniseLine } from './text-log';
import type { ImportKind } from './types';

export interface Detection {
  kind: ImportKind | 'unknown';
  confidence: number;
  reason: string;
  /** analyzer-csv: the preset whose columns matched */
  preset?: string;
}

const KERNEL_TAG = /^(?:DMAR|DMAR-IR|AMD-Vi|iommu|arm-smmu|arm-smmu-v3|pci|pcieport|\[Firmware Bug\])\b/;

function csvPreset(line: string): string | null {
  const delim = [',', '\t', ';'].find((d) => line.split(d).length >= 3);
  if (!delim) return null;
  let row: string[];
  try {
    row =
      (
        parse(line, {
          delimiter: delim,
          relax_column_count: true,
          relax_quotes: true,
          bom: true,
        }) as string[][]
      )[0] ?? [];
  } catch {
    return null;
  }
  for (const p of Object.values(ANALYZER_PRESETS)) if (mapHeader(row, p)) return p.id;
  return null;
}

export function detectFormat(firstLines: string[]): Detection {
  const lines = firstLines.slice(0, 200);
  let qemu = 0;
  let ftrace = 0;
  let kernel = 0;
  let nonEmpty = 0;
  const clock = new ClockState();
  for (const raw of lines) {
    const text = cleanLine(raw);
    if (text === '') continue;
    nonEmpty++;
    if (nonEmpty <= 20) {
      const preset = csvPreset(text);
      if (preset) {
        return {
          kind: 'analyzer-csv',
          confidence: 0.95,
          reason: `CSV header maps the "${preset}" preset`,
          preset,
        };
      }
    }
    if (/^# tracer: /.test(text)) ftrace += 5;
    const env = parseEnvelope(text, clock);
    const known = recogniseLine(env.body, env) !== null;
    const first = env.layers[0];
    if (first === 'qemu-log') qemu += env.event?.startsWith('vtd_') ? 2 : 1;
    else if (first === 'ftrace') ftrace += known ? 2 : 1;
    else if (/^vtd_[a-z_]{1,60} /.test(env.body) || env.layers.includes('qemu-stderr')) qemu += known ? 2 : 1;
    else if (env.stamped || KERNEL_TAG.test(env.body)) kernel += known ? 2 : 1;
    else if (known) kernel += 1;
  }
  const scores: Array<[ImportKind, number]> = [
    ['qemu-trace', qemu],
    ['ftrace', ftrace],
    ['kernel-log', kernel],
  ];
  scores.sort((a, b) => b[1] - a[1]);
  const [kind, best] = scores[0]!;
  if (best === 0)
    return {
      kind: 'unknown',
      confidence: 0,
      reason: `none of ${nonEmpty} lines looks like a log, trace or CSV export`,
    };
  const total = qemu + ftrace + kernel;
  const confidence = Math.round(Math.min(1, (best / total) * Math.min(1, best / 10)) * 100) / 100;
  return {
    kind,
    confidence,
    reason: `scores over ${nonEmpty} lines: kernel-log ${kernel}, ftrace ${ftrace}, qemu-trace ${qemu}`,
  };
}

export type BinaryKind = 'gzip' | 'zstd' | 'keysight-pad' | 'binary' | 'text';

export interface BinaryDetection {
  kind: BinaryKind;
  note: string;
  /** text: how to decode it (a UTF-16 byte-order mark, else UTF-8) */
  encoding?: 'utf-8' | 'utf-16le' | 'utf-16be';
}

function ascii(bytes: Uint8Array, max = 512): string {
  let s = '';
  for (const b of bytes.subarray(0, max)) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return s;
}

export function detectBinary(head: Uint8Array): BinaryDetection {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)
    return { kind: 'gzip', note: 'gzip-compressed' };
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    const pad = ascii(head).includes('AGT_MODULE_');
    return {
      kind: 'zstd',
      note: pad
        ? 'zstd-compressed Keysight/Agilent PCIe analyzer .pad capture (header "AGT_MODULE_…" visible)'
        : 'zstd-compressed data',
    };
  }
  if (head.length >= 13 && ascii(head.subarray(0, 64)).slice(2).startsWith('AGT_MODULE_')) {
    const name = ascii(head.subarray(2, 2 + ((head[0]! << 8) | head[1]!)), 64);
    return { kind: 'keysight-pad', note: `Keysight/Agilent PCIe analyzer .pad capture (${name})` };
  }
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe)
    return { kind: 'text', note: 'UTF-16LE text', encoding: 'utf-16le' };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff)
    return { kind: 'text', note: 'UTF-16BE text', encoding: 'utf-16be' };
  const probe = head.subarray(0, 4096);
  if (probe.includes(0)) return { kind: 'binary', note: 'binary data (NUL bytes)' };
  return { kind: 'text', note: 'text', encoding: 'utf-8' };
}
