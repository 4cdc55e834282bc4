// `iommu-lab import FILE [--from KIND[:PRESET]] [--json] [-o OUT]`: reads a kernel log, ftrace output,
// QEMU vtd_* trace or PCIe analyzer CSV export (gzip or not) and reports what it found: observed
// faults, platform hints, iommu events, QEMU translations, TLPs, and the bad lines it skipped. With
// --json it prints one JSON object (docs/import-json.md). With -o OUT it also writes a native trace
// (docs/trace-format.md, "Importing"): TLPs and translations as records, ftrace map/unmap as
// dma_map/dma_unmap control events, observed faults as observed_fault events, and the platform given
// with --platform, else one built from the file's own lines when they hold enough (else none, said so);
// what cannot be carried is counted by reason. An IOMMU Lab text trace (JSON lines) given with -o is
// converted to a native trace with the same events. A Keysight/Agilent .pad capture (raw or zstd) is
// read as a container (src/trace/import/agilent-pad.ts) and its symbol data framed into TLPs, DLLPs and
// ordered sets (agilent-pad-packets.ts); -o writes its upstream memory requests as TLP records.
// Exit codes (README "Exit codes"): 1 faults found, 8 bad lines skipped, 64 could not run.
import { createReadStream } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { Decompress } from 'fzstd';
import { basename } from 'node:path';
import { buildPlatformReport } from '../firmware/index';
import { LAB_VERSION } from '../host/session';
import {
  convertJsonlTrace,
  ImportConverter,
  SyncTraceWriter,
  type ConversionCounts,
} from '../host/replay/write-native';
import { TRACE_JSONL_FORMAT } from '../trace/trace-jsonl';
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
import {
  PAD_TLP_DECODING_NOTE,
  PadReader,
  type PadReaderOptions,
  type PadSummary,
} from '../trace/import/agilent-pad';
import {
  PadPacketDecoder,
  type PadMemoryRequest,
  type PadPacketSummary,
} from '../trace/import/agilent-pad-packets';
import { detectBinary } from '../trace/import/index';
import { EXIT } from './exit-codes';

export interface ImportCommandOptions {
  /** importer: kernel-log, ftrace, qemu-trace, analyzer-csv[:preset] (aliases: dmesg, journal, syslog,
   * kernel, trace, qemu, csv, analyzer); default: detected from the content */
  from?: string;
  json?: boolean;
  /** native trace to write */
  output?: string;
  /** with -o: the platform to embed (default: built from the file when it can be) */
  platform?: string;
  /** with -o: the device (BDF) ftrace map/unmap events that name none belong to */
  device?: string;
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
  if (opts.output !== undefined && (await isTextTrace(file))) return convertTextTrace(file, opts, out, err);
  const pad = await padContainer(file);
  if (pad) return padCommand(file, pad, opts, out, err);
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
  let native: NativeOutput | null = null;
  if (opts.output !== undefined) {
    try {
      native = await startNative(file, opts.output, kind, opts);
    } catch (e) {
      err(`iommu-lab import: -o ${opts.output}: ${(e as Error).message}`);
      return EXIT.FATAL;
    }
  }
  let result;
  try {
    result = await importFile(file, {
      kind,
      preset,
      onRecord: (r) => {
        native?.record(r);
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
    native?.abort();
    if (tty) process.stderr.write('\n');
    if (e instanceof ImportFileError) {
      err(`iommu-lab import: ${e.message}`);
      return EXIT.FATAL;
    }
    throw e;
  }
  if (tty) process.stderr.write('\n');
  let written: WrittenTrace | null;
  try {
    written = native ? native.close() : null;
  } catch (e) {
    err(`iommu-lab import: -o ${opts.output}: ${(e as Error).message}`);
    return EXIT.FATAL;
  }
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
          ...(written ? { output: written } : {}),
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
  if (written) printWritten(written, out);
  return code;
}

/** What `-o` wrote, for the JSON output's `output` field and the text summary. */
interface WrittenTrace {
  file: string;
  bytes: number;
  chunks: number;
  tlps: number;
  controls: number;
  observedFaults: number;
  driverBinds: number;
  reordered: number;
  notMapped: Record<string, number>;
  /** where the embedded platform comes from, or why there is none */
  platform: string;
  platformEmbedded: boolean;
}

interface NativeOutput {
  record(r: ImportRecord): void;
  close(): WrittenTrace;
  abort(): void;
}

const CLOCKS: Record<ImportKind, string> = {
  'kernel-log': 'boot',
  ftrace: 'trace',
  'qemu-trace': 'epoch',
  'analyzer-csv': 'capture',
};

/** Reads the platform for -o: the given file, else one built from the capture itself when it can be. */
async function platformFor(
  file: string,
  opts: ImportCommandOptions,
): Promise<{ json: Record<string, unknown> | null; note: string }> {
  if (opts.platform !== undefined) {
    try {
      return {
        json: JSON.parse(await readFile(opts.platform, 'utf8')) as Record<string, unknown>,
        note: `given: ${opts.platform}`,
      };
    } catch (e) {
      throw new Error(`--platform ${opts.platform}: ${(e as Error).message}`, { cause: e });
    }
  }
  const size = (await stat(file)).size;
  if (size <= 64 * 2 ** 20) {
    const report = buildPlatformReport([{ file, bytes: new Uint8Array(await readFile(file)) }]);
    // a platform worth embedding has a DMA remapping unit (lspci alone gives functions, no IOMMU)
    if (report.platform && (report.platform.iommus?.length ?? 0) > 0) {
      return {
        json: report.platform as unknown as Record<string, unknown>,
        note: `built from ${basename(file)}`,
      };
    }
  }
  return {
    json: null,
    note:
      'none: building one needs the PCI hierarchy (lspci -vvv) and the DMAR table, which this file does not hold; ' +
      'build one with `iommu-lab platform` and give it with --platform FILE (here or to replay)',
  };
}

async function startNative(
  file: string,
  output: string,
  kind: ImportKind | undefined,
  opts: ImportCommandOptions,
): Promise<NativeOutput> {
  const platform = await platformFor(file, opts);
  const k: ImportKind = kind ?? 'kernel-log';
  const st: { writer: SyncTraceWriter | null; converter: ImportConverter | null } = {
    writer: null,
    converter: null,
  };
  let failure: string | null = null;
  let refused = 0;
  // The kind is known once the session has detected it: the writer starts at the first record.
  const start = (r: ImportRecord | null): ImportConverter => {
    const detected = kind ?? (r && guessKind(r)) ?? k;
    const writer = new SyncTraceWriter(output, {
      format: 'iommu-lab/trace',
      version: 1,
      platform: platform.json,
      capture: {
        description: `imported from ${basename(file)} (${detected})`,
        tool: `${detected === 'qemu-trace' ? 'qemu vtd trace' : detected}, imported by iommu-lab ${LAB_VERSION}`,
        source: basename(file),
      },
      timeBase: { unit: 'ns', clock: CLOCKS[detected] },
    });
    st.writer = writer;
    st.converter = new ImportConverter(writer, detected, opts.device ?? null);
    return st.converter;
  };
  return {
    record(r) {
      if (failure !== null) return;
      try {
        (st.converter ?? start(r)).record(r);
      } catch (e) {
        if (e instanceof RangeError) refused++;
        else failure = (e as Error).message;
      }
    },
    close() {
      const converter = st.converter ?? start(null);
      const totals = st.writer!.close();
      if (failure !== null) throw new Error(failure);
      const c: ConversionCounts = converter.counts;
      const notMapped = { ...c.notMapped };
      if (refused) notMapped['records the native format refuses (out of range)'] = refused;
      return {
        file: output,
        bytes: totals.bytes,
        chunks: totals.chunks,
        tlps: c.tlps,
        controls: c.controls,
        observedFaults: c.observedFaults,
        driverBinds: c.driverBinds,
        reordered: c.reordered,
        notMapped,
        platform: platform.note,
        platformEmbedded: platform.json !== null,
      };
    },
    abort() {
      try {
        st.writer?.abort();
      } catch {
        // already closed
      }
      void rm(output, { force: true });
    },
  };
}

/** The importer kind a record comes from, when it shows (the session detects it before the first). */
function guessKind(r: ImportRecord): ImportKind | null {
  if (r.type === 'translation') return 'qemu-trace';
  if (r.type === 'tlp') return r.origin === 'analyzer' ? 'analyzer-csv' : 'kernel-log';
  if (r.type === 'event') return r.origin === 'ftrace' ? 'ftrace' : 'kernel-log';
  if (r.type === 'fault' && r.origin === 'qemu') return 'qemu-trace';
  return null;
}

function printWritten(w: WrittenTrace, out: (s: string) => void): void {
  out('');
  out(
    `wrote     ${w.file}: ${w.tlps} TLP records, ${w.controls} control events (${w.driverBinds} driver binds added), ` +
      `${w.observedFaults} observed faults, ${w.bytes} bytes`,
  );
  out(`platform  ${w.platform}`);
  if (w.reordered)
    out(`          ${w.reordered} records went back in time and were moved up to the previous time`);
  const skipped = Object.entries(w.notMapped);
  if (skipped.length) {
    out('not carried:');
    for (const [why, n] of skipped) out(`  ${n} ${why}`);
  }
}

/** True when the file is an IOMMU Lab text trace (its first JSON line is the trace-jsonl header). */
async function isTextTrace(file: string): Promise<boolean> {
  let head: string;
  try {
    const fh = await open(file, 'r');
    try {
      const b = new Uint8Array(4096);
      const { bytesRead } = await fh.read(b, 0, b.length, 0);
      head = new TextDecoder().decode(b.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
  for (const line of head.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    try {
      return (JSON.parse(t) as { format?: unknown }).format === TRACE_JSONL_FORMAT;
    } catch {
      return false;
    }
  }
  return false;
}

async function convertTextTrace(
  file: string,
  opts: ImportCommandOptions,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let r;
  try {
    r = await convertJsonlTrace(
      file,
      opts.output!,
      opts.platform,
      `trace-jsonl, converted by iommu-lab ${LAB_VERSION}`,
    );
  } catch (e) {
    await rm(opts.output!, { force: true });
    err(`iommu-lab import: ${(e as Error).message}`);
    return EXIT.FATAL;
  }
  const w = {
    file: opts.output!,
    bytes: r.totals.bytes,
    chunks: r.totals.chunks,
    tlps: r.totals.records,
    controls: r.totals.controls,
    badLines: r.badLines,
    platform: r.platform,
  };
  if (opts.json)
    out(
      JSON.stringify({ importVersion: IMPORT_JSON_VERSION, file, kind: 'trace-jsonl', output: w }, null, 2),
    );
  else {
    out(`file      ${file} (IOMMU Lab text trace)`);
    out(`wrote     ${w.file}: ${w.tlps} TLP records, ${w.controls} control events, ${w.bytes} bytes`);
    out(`platform  embedded from ${w.platform}`);
    if (w.badLines) out(`          ${w.badLines} bad lines skipped (iommu-lab replay ${file} lists them)`);
  }
  return w.badLines ? EXIT.ERRORS : EXIT.OK;
}

/**
 * Whether the file is a Keysight/Agilent .pad capture, raw or zstd-compressed (by content: the raw
 * header's "AGT_MODULE_" string, or that of the first decompressed bytes of a zstd file).
 */
async function padContainer(file: string): Promise<'raw' | 'zstd' | null> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return null; // importFile reports it
  }
  try {
    const head = new Uint8Array(4096);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const d = detectBinary(head.subarray(0, bytesRead));
    if (d.kind === 'keysight-pad') return 'raw';
    if (d.kind !== 'zstd') return null;
    const plain: Uint8Array[] = [];
    try {
      new Decompress((c) => void plain.push(c)).push(head.subarray(0, bytesRead));
    } catch {
      return null; // not decodable from its head: importFile refuses it as zstd
    }
    const first = plain.length ? Buffer.concat(plain) : new Uint8Array(0);
    return detectBinary(new Uint8Array(first)).kind === 'keysight-pad' ? 'zstd' : null;
  } finally {
    await fh.close();
  }
}

/** Reads a .pad capture (zstd decompressed on the fly with fzstd) through PadReader. */
export async function readPadFile(
  file: string,
  container: 'raw' | 'zstd',
  options: PadReaderOptions = {},
): Promise<PadSummary & { compressedBytes: number }> {
  const reader = new PadReader(options);
  let compressedBytes = 0;
  const dec = container === 'zstd' ? new Decompress((c) => reader.push(c)) : null;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      const b = chunk as Buffer;
      const piece = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      compressedBytes += piece.length;
      if (dec) dec.push(piece);
      else reader.push(piece);
    }
    dec?.push(new Uint8Array(0), true);
  } catch (e) {
    const s = reader.end();
    s.problems.push({
      offset: s.bytes,
      message: `${dec ? 'zstd stream' : 'read'} error, reading stopped here: ${(e as Error).message}`,
    });
    return { ...s, compressedBytes };
  }
  return { ...reader.end(), compressedBytes };
}

/**
 * `iommu-lab import X.pad[.zst]`: lists what the capture holds and the packets its symbol data frames
 * into (docs/import-json.md, "Keysight/Agilent .pad captures"); with -o, writes the upstream memory
 * requests as a native trace. Exit 8 when the container is damaged or symbols could not be framed
 * (problems), else 0; 64 when -o cannot be written.
 */
async function padCommand(
  file: string,
  container: 'raw' | 'zstd',
  opts: ImportCommandOptions,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let native: PadNative | null = null;
  if (opts.output !== undefined) {
    try {
      native = await startPadNative(file, opts);
    } catch (e) {
      err(`iommu-lab import: -o ${opts.output}: ${(e as Error).message}`);
      return EXIT.FATAL;
    }
  }
  const decoder = new PadPacketDecoder({
    keepPackets: opts.maxEvents ?? 20,
    onMemoryRequest: native ? (r) => native.request(r) : undefined,
  });
  let t0: number | null = null;
  let s;
  try {
    s = await readPadFile(file, container, {
      onRecordData: (r) => {
        t0 ??= r.timeNs;
        native?.time0(t0);
        decoder.record(r);
      },
    });
  } catch (e) {
    native?.abort();
    throw e;
  }
  const packets = decoder.summary();
  let written: WrittenTrace | null = null;
  if (native) {
    try {
      written = native.close(packets);
    } catch (e) {
      err(`iommu-lab import: -o ${opts.output}: ${(e as Error).message}`);
      return EXIT.FATAL;
    }
  }
  const code = s.problems.length || packets.problems.count ? EXIT.ERRORS : EXIT.OK;
  const h = s.header;
  if (opts.json) {
    out(
      JSON.stringify(
        {
          importVersion: IMPORT_JSON_VERSION,
          file,
          kind: 'keysight-pad',
          compressed: container === 'zstd' ? 'zstd' : null,
          bytes: s.bytes,
          header: h,
          records: s.records,
          timeSpanNs:
            s.records.firstNs !== null && s.records.lastNs !== null
              ? s.records.lastNs - s.records.firstNs
              : null,
          channels: s.channels,
          link: { ...s.link, electricalIdleLanes: `0x${s.link.electricalIdleLanes.toString(16)}` },
          data: s.data,
          tlpDecoding: { done: true, note: PAD_TLP_DECODING_NOTE },
          packets,
          problems: s.problems,
          ...(written ? { output: written } : {}),
        },
        null,
        2,
      ),
    );
    return code;
  }
  out(
    `file      ${file}${container === 'zstd' ? ' (zstd)' : ''}: Keysight/Agilent .pad capture, ${s.bytes} bytes`,
  );
  const list = (m: Record<string, number>): string =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-';
  if (h) {
    out(`module    ${h.moduleType}, port ${h.portId} ${h.rxOrTx}, format ${h.formatCode}, guid ${h.guid}`);
    const r = s.records;
    out(
      `records   ${r.count} of ${r.expected} (numbers ${r.firstNumber ?? '-'}–${r.lastNumber ?? '-'}), ` +
        `${r.firstNs ?? '-'}–${r.lastNs ?? '-'} ns` +
        (r.firstNs !== null && r.lastNs !== null ? ` (${r.lastNs - r.firstNs} ns)` : ''),
    );
    for (const c of s.channels)
      out(`  ${c.name} (${c.direction}): ${c.records} records, ${c.dataBytes} bytes of symbol data`);
    const l = s.link;
    out(
      `link      widths ${list(l.widths)}; speeds ${list(l.speeds)}; ${l.symbolErrors} symbol errors, ` +
        `${l.disparityErrors} disparity errors, ${l.scrambled} scrambled`,
    );
  }
  const t = packets.tlps;
  out(
    `TLPs      ${t.total} (${t.good} good, ${t.lcrcErrors} bad LCRC, ${t.nullified} nullified, ${t.malformed} malformed, ` +
      `${t.replayed} replayed): ${list(t.byType)}`,
  );
  out(`DLLPs     ${packets.dllps.total} (${packets.dllps.crcErrors} bad CRC): ${list(packets.dllps.byType)}`);
  out(`ordered   ${list(packets.orderedSets)}`);
  out(
    `memory    ${packets.memoryRequests.upstream} upstream requests (device DMA), ` +
      `${packets.memoryRequests.downstream} downstream (CPU to device)`,
  );
  for (const p of s.problems) out(`  offset ${p.offset}: ${p.message}`);
  if (packets.problems.count) {
    out(`problems  ${packets.problems.count} in the symbol data: ${list(packets.problems.byKind)}`);
    for (const p of packets.problems.first.slice(0, 10))
      out(`  record ${p.record} (${p.direction}) offset ${p.offset}: ${p.kind}: ${p.message}`);
  }
  if (written) printWritten(written, out);
  return code;
}

interface PadNative {
  /** the capture time that becomes 0 (the first record handed over) */
  time0(ns: number): void;
  request(r: PadMemoryRequest): void;
  close(packets: PadPacketSummary): WrittenTrace;
  abort(): void;
}

/** The native trace -o writes from a .pad capture: its upstream memory requests as TLP records. */
async function startPadNative(file: string, opts: ImportCommandOptions): Promise<PadNative> {
  const output = opts.output!;
  const platform =
    opts.platform !== undefined
      ? await platformFor(file, opts)
      : {
          json: null,
          note:
            'none: a PCIe capture holds no firmware tables; build one with `iommu-lab platform` and give it ' +
            'with --platform FILE (here or to replay)',
        };
  const writer = new SyncTraceWriter(output, {
    format: 'iommu-lab/trace',
    version: 1,
    platform: platform.json,
    capture: {
      description: `imported from ${basename(file)} (keysight-pad)`,
      tool: `keysight-pad, imported by iommu-lab ${LAB_VERSION}`,
      source: basename(file),
    },
    timeBase: { unit: 'ns', clock: 'capture' },
  });
  let t0 = 0;
  let last = 0;
  let tlps = 0;
  let reordered = 0;
  let refused = 0;
  return {
    time0(ns) {
      t0 = ns;
    },
    request(r) {
      let time = r.timeNs - t0;
      if (!Number.isSafeInteger(time) || time < last) {
        reordered++;
        time = last;
      }
      last = time;
      try {
        writer.tlp({
          time,
          requesterId: r.requesterId & 0xffff,
          segment: 0,
          pasid: r.pasid,
          tBit: r.tbit,
          at: r.at,
          access: r.access,
          exec: r.exec,
          priv: r.priv,
          addr: r.address,
          len: Math.min(Math.max(r.length, 1), 0xffffffff),
        });
        tlps++;
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        refused++;
      }
    },
    close(packets) {
      const totals = writer.close();
      const notMapped: Record<string, number> = { ...packets.notWritten };
      if (packets.dllps.total) notMapped['DLLPs (counted, never written)'] = packets.dllps.total;
      const os = Object.values(packets.orderedSets).reduce((a, b) => a + b, 0);
      if (os) notMapped['ordered sets (counted, never written)'] = os;
      if (refused) notMapped['records the native format refuses (out of range)'] = refused;
      return {
        file: output,
        bytes: totals.bytes,
        chunks: totals.chunks,
        tlps,
        controls: 0,
        observedFaults: 0,
        driverBinds: 0,
        reordered,
        notMapped,
        platform: platform.note,
        platformEmbedded: platform.json !== null,
      };
    },
    abort() {
      try {
        writer.abort();
      } catch {
        // already closed
      }
      void rm(output, { force: true });
    },
  };
}
