// `iommu-lab import FILE [--from KIND[:PRESET]] [--json] [-o OUT]`: reads a kernel log, ftrace output,
// QEMU vtd_* trace or PCIe analyzer CSV export (gzip or not) and reports what it found: observed
// faults, platform hints, iommu events, QEMU translations, TLPs, and the bad lines it skipped. With
// --json it prints one JSON object (docs/import-json.md). -o (writing a native trace) is accepted and
// refused with exit 64 until the native trace format lands.
// Exit codes (README "Exit codes"): 1 faults found, 8 bad lines skipped, 64 could not run.
import {
  IMPORT_KINDS,
  type ImportedEvent,
  type ImportKind,
  type ImportRecord,
  type ObservedFault,
  type PlatformHint,
  type QemuTranslation,
  type TlpRecord,
} from '../trace/import/index';
import { ImportFileError, importFile } from '../host/import-file';
import { EXIT } from './exit-codes';

export interface ImportCommandOptions {
  /** importer: kernel-log, ftrace, qemu-trace, analyzer-csv[:preset] (aliases: dmesg, journal, syslog,
   * kernel, trace, qemu, csv, analyzer); default: detected from the content */
  from?: string;
  json?: boolean;
  /** native trace to write: not available yet (exit 64) */
  output?: string;
  /** events, translations and TLPs listed (default 100) */
  maxEvents?: number;
}

export const IMPORT_JSON_VERSION = 1;
const MAX_FAULTS = 100_000;
const MAX_HINTS = 10_000;

const ALIASES: Record<string, ImportKind> = {
  dmesg: 'kernel-log',
  journal: 'kernel-log',
  journalctl: 'kernel-log',
  syslog: 'kernel-log',
  kernel: 'kernel-log',
  kmsg: 'kernel-log',
  trace: 'ftrace',
  qemu: 'qemu-trace',
  csv: 'analyzer-csv',
  analyzer: 'analyzer-csv',
};

function parseFrom(from: string): { kind: ImportKind; preset?: string } | string {
  const [k, preset] = from.split(':', 2) as [string, string | undefined];
  const kind = (IMPORT_KINDS as readonly string[]).includes(k) ? (k as ImportKind) : ALIASES[k];
  if (!kind)
    return `--from: unknown kind "${k}" (known: ${IMPORT_KINDS.join(', ')}; aliases: ${Object.keys(ALIASES).join(', ')})`;
  if (preset !== undefined && kind !== 'analyzer-csv')
    return `--from: only analyzer-csv takes a preset ("${from}")`;
  return { kind, preset };
}

function faultJson(f: ObservedFault): Record<string, unknown> {
  return {
    source: f.source,
    bdf: f.bdf,
    pasid: f.pasid,
    access: f.access,
    address: f.address,
    reason: f.reason,
    reasonText: f.reasonText,
    time: f.time,
    clock: f.clock,
    timeRaw: f.timeRaw,
    line: f.line,
    format: f.format,
    origin: f.origin,
    segment: f.segment,
    sid: f.sid,
    truncated: f.truncated,
    detail: f.detail,
  };
}

function strip<T extends ImportRecord>(r: T): Omit<T, 'raw' | 'type'> {
  const { raw: _raw, type: _type, ...rest } = r;
  return rest;
}

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

export async function importCommand(
  file: string,
  opts: ImportCommandOptions,
  out: (s: string) => void,
  err: (s: string) => void = (s) => void process.stderr.write(s + '\n'),
): Promise<number> {
  if (opts.output !== undefined) {
    err(
      `iommu-lab import: -o ${opts.output}: writing native traces lands with the native trace format; ` +
        'it is not available yet, so nothing was imported or written (use --json to see what the file holds)',
    );
    return EXIT.FATAL;
  }
  let kind: ImportKind | undefined;
  let preset: string | undefined;
  if (opts.from !== undefined) {
    const f = parseFrom(opts.from);
    if (typeof f === 'string') {
      err(`iommu-lab import: ${f}`);
      return EXIT.FATAL;
    }
    kind = f.kind;
    preset = f.preset;
  }
  const maxEvents = opts.maxEvents ?? 100;
  const faults: ObservedFault[] = [];
  const hints: PlatformHint[] = [];
  const events: ImportedEvent[] = [];
  const translations: QemuTranslation[] = [];
  const tlps: TlpRecord[] = [];
  const tty = !opts.json && process.stderr.isTTY === true;
  let result;
  try {
    result = await importFile(file, {
      kind,
      preset,
      onRecord: (r) => {
        if (r.type === 'fault') {
          if (faults.length < MAX_FAULTS) faults.push(r);
        } else if (r.type === 'hint') {
          if (hints.length < MAX_HINTS) hints.push(r);
        } else if (r.type === 'event') {
          if (events.length < maxEvents) events.push(r);
        } else if (r.type === 'translation') {
          if (translations.length < maxEvents) translations.push(r);
        } else if (r.type === 'tlp') {
          if (tlps.length < maxEvents) tlps.push(r);
        }
      },
      onProgress: tty
        ? (p) => {
            const pct = p.totalBytes ? ` ${Math.floor((100 * p.bytes) / p.totalBytes)}%` : '';
            process.stderr.write(`\rimporting${pct}: ${p.lines} lines, ${p.records} records, ${p.bad} bad`);
          }
        : undefined,
    });
  } catch (e) {
    if (tty) process.stderr.write('\n');
    if (e instanceof ImportFileError) {
      err(`iommu-lab import: ${e.message}`);
      return EXIT.FATAL;
    }
    throw e;
  }
  if (tty) process.stderr.write('\n');
  const c = result.counts;
  let code: number = EXIT.OK;
  if (c.records.fault > 0) code |= EXIT.FAULTS;
  if (c.bad > 0) code |= EXIT.ERRORS;

  if (opts.json) {
    out(
      JSON.stringify(
        {
          importVersion: IMPORT_JSON_VERSION,
          file,
          kind: result.kind,
          detection: result.detection,
          compressed: result.compressed,
          counts: c,
          badLines: result.badLines.slice(0, 20),
          faults: faults.map(faultJson),
          hints: hints.map(strip),
          events: events.map(strip),
          translations: translations.map(strip),
          tlps: tlps.map(strip),
        },
        null,
        2,
      ),
    );
    return code;
  }

  const d = result.detection;
  out(`file      ${file}${result.compressed ? ' (gzip)' : ''}`);
  out(
    `kind      ${result.kind} (${opts.from ? 'given' : `detected, confidence ${d.confidence}: ${d.reason}`})`,
  );
  const r = c.records;
  out(
    `read      ${c.lines} lines: ${r.fault} faults (intel ${c.faultsBySource.intel}, amd ${c.faultsBySource.amd}, ` +
      `smmu ${c.faultsBySource.smmu}), ${r.hint} hints, ${r.event} events, ${r.translation} translations, ` +
      `${r.tlp} TLPs, ${r.info} info, ${c.ignored} lines not recognised, ${c.bad} bad lines skipped`,
  );
  for (const b of result.badLines.slice(0, 10)) out(`  ${b.file}:${b.line}: ${b.reason}`);
  if (c.bad > 10) out(`  … ${c.bad - 10} more bad lines`);
  if (faults.length) {
    out('');
    out(faults.length > 20 ? `first 20 of ${r.fault} faults:` : 'faults:');
    for (const f of faults.slice(0, 20)) {
      const t = f.timeRaw ?? '-';
      out(
        `  line ${f.line} [${t}] ${f.source} ${f.bdf ?? `sid ${f.sid ?? '?'}`} ${f.access} ` +
          `${f.address ?? '-'}${f.pasid !== null ? ` pasid ${f.pasid}` : ''} reason ${hex2(f.reason)} ${f.reasonText}`,
      );
    }
  }
  if (hints.length) {
    const byKind = new Map<string, number>();
    for (const h of hints) byKind.set(h.kind, (byKind.get(h.kind) ?? 0) + 1);
    out('');
    out(`hints     ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const h of hints.filter(
      (x) => x.kind === 'rmrr' || x.kind === 'firmware-bug' || x.kind === 'ineligible',
    ))
      out(`  line ${h.line}: ${h.kind} ${JSON.stringify(h.fields)}`);
  }
  return code;
}
