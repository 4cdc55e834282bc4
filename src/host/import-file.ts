// Reads a capture file from disk and streams it through an ImportSession (src/trace/import). Contract:
// - the kind is detected from the content (first bytes, then first lines), never from the file name;
// - gzip is decompressed on the fly (node:zlib); UTF-16 text with a byte-order mark is decoded as such;
// - zstd (Node 20 has no zstd decompressor), Keysight/Agilent .pad captures (recognised, not parsed)
//   and other binary files are refused with an ImportFileError that says what the file is;
// - progress is reported in bytes of the file as stored (compressed bytes for .gz);
// - a stream error part-way (a truncated .gz) becomes a bad line and the import ends with what it read;
// - opts.signal aborts between chunks: importFile rejects with the signal's reason (an AbortError).
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import {
  ImportSession,
  detectBinary,
  type BinaryDetection,
  type ImportKind,
  type ImportProgress,
  type ImportRecord,
  type ImportSummary,
} from '../trace/import/index';

export class ImportFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ImportFileError';
  }
}

export interface ImportFileOptions {
  kind?: ImportKind;
  preset?: string;
  onRecord?: (r: ImportRecord) => void;
  onProgress?: (p: ImportProgress) => void;
  progressEveryBytes?: number;
  keepBadLines?: number;
  /** the name used in bad-line reports (default: the path as given) */
  label?: string;
  /** stops the import between chunks; importFile then rejects with the signal's reason */
  signal?: AbortSignal;
}

export interface ImportFileResult extends ImportSummary {
  binary: BinaryDetection;
  compressed: 'gzip' | null;
}

async function head(path: string): Promise<{ bytes: Uint8Array; size: number }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new ImportFileError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new ImportFileError(path, 'is a directory');
    const buf = new Uint8Array(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return { bytes: buf.subarray(0, bytesRead), size: st.size };
  } finally {
    await fh.close();
  }
}

/** Imports one file; records stream to opts.onRecord, the summary comes back at the end. */
export async function importFile(path: string, opts: ImportFileOptions = {}): Promise<ImportFileResult> {
  opts.signal?.throwIfAborted();
  const { bytes, size } = await head(path);
  let binary = detectBinary(bytes);
  let compressed: 'gzip' | null = null;
  if (binary.kind === 'gzip') {
    compressed = 'gzip';
    binary = await gunzipHead(path);
  }
  if (binary.kind === 'zstd') {
    throw new ImportFileError(
      path,
      `${binary.note}: this Node has no zstd decompressor; decompress it first (zstd -d)` +
        (binary.note.includes('.pad') ? ', though .pad captures are recognised, not parsed' : ''),
    );
  }
  if (binary.kind === 'keysight-pad') {
    throw new ImportFileError(
      path,
      `${binary.note}: recognised but not parsed (its 8b/10b symbol records are not decoded to TLPs); export the trace as CSV instead (docs/import-analyzer.md)`,
    );
  }
  if (binary.kind === 'binary')
    throw new ImportFileError(path, `${binary.note}: not a text log, trace or CSV export`);

  const session = new ImportSession({
    file: opts.label ?? path,
    kind: opts.kind,
    preset: opts.preset,
    totalBytes: size,
    onRecord: opts.onRecord,
    onProgress: opts.onProgress,
    progressEveryBytes: opts.progressEveryBytes,
    keepBadLines: opts.keepBadLines,
  });
  const file = createReadStream(path);
  let rawBytes = 0;
  let reported = 0;
  file.on('data', (c) => {
    rawBytes += c.length;
  });
  const stream = compressed ? file.pipe(createGunzip()) : file;
  if (compressed) file.on('error', (e) => stream.destroy(e));
  const decoder = new TextDecoder(binary.encoding ?? 'utf-8', { fatal: false });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      opts.signal?.throwIfAborted();
      const text = decoder.decode(chunk, { stream: true });
      const delta = compressed ? rawBytes - reported : chunk.length;
      reported += delta;
      session.pushText(text, delta);
    }
    session.pushText(decoder.decode(), 0);
  } catch (e) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (session.counts.lines === 0 && !compressed)
      throw new ImportFileError(path, `cannot read: ${(e as Error).message}`);
    session.end();
    session.badLines.push({
      file: opts.label ?? path,
      line: session.counts.lines + 1,
      reason: `${compressed ? 'gzip stream' : 'read'} error, import stopped here: ${(e as Error).message}`,
      text: '',
    });
    session.counts.bad++;
  } finally {
    file.destroy();
  }
  return { ...session.end(), binary, compressed };
}

async function gunzipHead(path: string): Promise<BinaryDetection> {
  const gz = createReadStream(path).pipe(createGunzip());
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of gz as AsyncIterable<Buffer>) {
      parts.push(chunk);
      n += chunk.length;
      if (n >= 4096) break;
    }
  } catch {
    // a corrupt stream is reported by the import itself
  } finally {
    gz.destroy();
  }
  const d = detectBinary(new Uint8Array(Buffer.concat(parts).subarray(0, 4096)));
  return d.kind === 'gzip' ? { kind: 'binary', note: 'gzip inside gzip' } : d;
}
