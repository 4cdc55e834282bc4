// Imports a capture (kernel log, ftrace output, QEMU vtd_* trace, analyzer CSV; gzip or not) into a
// native trace the session can play: the rules of `iommu-lab import -o` (docs/trace-format.md,
// "Importing"; src/host/replay/write-native.ts). The platform embedded is the one given (the session's),
// else one built from the capture itself when it is small and holds a DMAR unit, else none (the
// session then waits for a platform). Contract:
// - progress(doneBytes, totalBytes) is called as the file is read (bytes as stored);
// - `signal` aborts between chunks: the partial trace is deleted and the promise rejects with the
//   signal's reason; nothing outside `outPath` is touched;
// - an unreadable or unsupported file rejects with ImportFileError (src/host/import-file.ts).
import { readFile, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { buildPlatformReport } from '../firmware/index';
import type { ImportKind, ImportRecord, ImportSummary } from '../trace/import/index';
import { importFile } from './import-file';
import { ImportConverter, SyncTraceWriter, type ConversionCounts } from './replay/write-native';

/** Captures up to this size are also read whole to try building a platform from their lines. */
const BUILD_PLATFORM_MAX_BYTES = 8 * 2 ** 20;

const CLOCKS: Record<ImportKind, string> = {
  'kernel-log': 'boot',
  ftrace: 'trace',
  'qemu-trace': 'epoch',
  'analyzer-csv': 'capture',
};

export interface CaptureOptions {
  /** the name shown and written into the trace (default: the path's base name) */
  label?: string;
  /** the importer, when already known (else detected from the content) */
  kind?: ImportKind;
  /** the platform to embed; null: build one from the capture when it can */
  platform: { json: Record<string, unknown>; name: string } | null;
  labVersion: string;
  signal?: AbortSignal;
  progress?: (done: number, total: number) => void;
}

export interface CaptureImport {
  outPath: string;
  kind: ImportKind;
  summary: ImportSummary;
  conversion: ConversionCounts;
  /** the platform embedded in the trace, or null */
  platform: { json: Record<string, unknown>; name: string } | null;
}

/** The importer kind a record comes from, when it shows (the session detects it before the first). */
function kindOf(r: ImportRecord): ImportKind | null {
  if (r.type === 'translation') return 'qemu-trace';
  if (r.type === 'tlp') return r.origin === 'analyzer' ? 'analyzer-csv' : 'kernel-log';
  if (r.type === 'event') return r.origin === 'ftrace' ? 'ftrace' : 'kernel-log';
  if (r.type === 'fault' && r.origin === 'qemu') return 'qemu-trace';
  return null;
}

async function ownPlatform(path: string, label: string): Promise<CaptureImport['platform']> {
  if ((await stat(path)).size > BUILD_PLATFORM_MAX_BYTES) return null;
  const report = buildPlatformReport([{ file: label, bytes: new Uint8Array(await readFile(path)) }]);
  if (!report.platform || (report.platform.iommus?.length ?? 0) === 0) return null;
  return { json: report.platform as unknown as Record<string, unknown>, name: `built from ${label}` };
}

export async function importCapture(
  path: string,
  outPath: string,
  opts: CaptureOptions,
): Promise<CaptureImport> {
  const label = opts.label ?? basename(path);
  const platform = opts.platform ?? (await ownPlatform(path, label));
  let writer: SyncTraceWriter | null = null;
  let converter: ImportConverter | null = null;
  let failure: Error | null = null;
  const start = (k: ImportKind): ImportConverter => {
    writer = new SyncTraceWriter(outPath, {
      format: 'iommu-lab/trace',
      version: 1,
      platform: platform?.json ?? null,
      capture: {
        description: `imported from ${label} (${k})`,
        tool: `${k === 'qemu-trace' ? 'qemu vtd trace' : k}, imported by iommu-lab ${opts.labVersion}`,
        source: label,
      },
      timeBase: { unit: 'ns', clock: CLOCKS[k] },
    });
    return (converter = new ImportConverter(writer, k, null));
  };
  try {
    const summary = await importFile(path, {
      kind: opts.kind,
      label,
      signal: opts.signal,
      progressEveryBytes: 256 * 1024,
      onProgress: (p) => opts.progress?.(p.bytes, p.totalBytes ?? p.bytes),
      onRecord: (r) => {
        if (failure) return;
        try {
          (converter ?? start(opts.kind ?? kindOf(r) ?? 'kernel-log')).record(r);
        } catch (e) {
          // a record the native format refuses (out of range) is skipped; anything else stops the import
          if (!(e instanceof RangeError)) failure = e as Error;
        }
      },
    });
    if (failure) throw failure;
    const conv = converter ?? start(summary.kind);
    (writer as SyncTraceWriter | null)?.close();
    return { outPath, kind: summary.kind, summary, conversion: conv.counts, platform };
  } catch (e) {
    try {
      (writer as SyncTraceWriter | null)?.abort();
    } catch {
      // already closed
    }
    await rm(outPath, { force: true });
    throw e;
  }
}
