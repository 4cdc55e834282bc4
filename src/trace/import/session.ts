// An import session: the streaming driver around the line importers. Contract:
// - feed text in chunks of any size (pushText, with the number of input bytes the chunk stands for, for
//   progress) or line by line (pushLine); call end() once. Memory stays bounded: records go to the
//   onRecord callback, the session keeps only counts and the first `keepBadLines` bad lines.
// - Without a kind, the first `detectLines` lines are buffered, detectFormat() picks the importer, and
//   they are replayed; an undetectable text is read with the text importer (it recognises every log
//   family) and the detection stays 'unknown'.
// - A bad line is reported with its file and line number, counted and skipped; nothing aborts the import.
// - onProgress is called each time another `progressEveryBytes` bytes were consumed, and at end().
import { AnalyzerCsvImporter } from './analyzer-csv';
import { detectFormat, type Detection } from './detect';
import { TextLogImporter } from './text-log';
import type { BadLine, FaultSource, ImportKind, ImportRecord, LineImporter, RecordType, Sink } from './types';
import { clip } from './values';

export interface ImportCounts {
  lines: number;
  bytes: number;
  records: Record<RecordType, number>;
  faultsBySource: Record<FaultSource, number>;
  bad: number;
  ignored: number;
}

export interface ImportProgress {
  bytes: number;
  totalBytes: number | null;
  lines: number;
  records: number;
  bad: number;
}

export interface SessionOptions {
  /** the file name used in bad-line reports */
  file: string;
  /** skip detection */
  kind?: ImportKind;
  /** analyzer-csv preset id (default: the detected one, else 'generic') */
  preset?: string;
  totalBytes?: number | null;
  onRecord?: (r: ImportRecord) => void;
  onProgress?: (p: ImportProgress) => void;
  progressEveryBytes?: number;
  keepBadLines?: number;
  detectLines?: number;
}

export interface ImportSummary {
  file: string;
  kind: ImportKind;
  detection: Detection;
  counts: ImportCounts;
  /** the first `keepBadLines` bad lines */
  badLines: BadLine[];
}

/** Longest line text held while waiting for its newline (longer lines are bad lines anyway). */
const MAX_PENDING = 1 << 18;

export function createImporter(kind: ImportKind, preset?: string): LineImporter {
  return kind === 'analyzer-csv' ? new AnalyzerCsvImporter(preset ?? 'generic') : new TextLogImporter();
}

export class ImportSession {
  readonly counts: ImportCounts = {
    lines: 0,
    bytes: 0,
    records: { fault: 0, hint: 0, event: 0, translation: 0, tlp: 0, info: 0 },
    faultsBySource: { intel: 0, amd: 0, smmu: 0 },
    bad: 0,
    ignored: 0,
  };
  readonly badLines: BadLine[] = [];
  private importer: LineImporter | null = null;
  private kindValue: ImportKind | null;
  private detection: Detection | null;
  private buffer: string[] = [];
  private partialLine = '';
  private skipping = false;
  private nextProgress: number;
  private ended = false;
  private readonly sink: Sink;

  constructor(private readonly opts: SessionOptions) {
    this.kindValue = opts.kind ?? null;
    this.detection = opts.kind ? { kind: opts.kind, confidence: 1, reason: 'given by the caller' } : null;
    this.nextProgress = opts.progressEveryBytes ?? 1 << 20;
    if (opts.kind) this.importer = createImporter(opts.kind, opts.preset);
    this.sink = {
      record: (r) => {
        this.counts.records[r.type]++;
        if (r.type === 'fault') this.counts.faultsBySource[r.source]++;
        opts.onRecord?.(r);
      },
      bad: (line, reason, raw) => {
        this.counts.bad++;
        if (this.badLines.length < (opts.keepBadLines ?? 1000))
          this.badLines.push({ file: opts.file, line, reason, text: clip(raw) });
      },
      ignored: () => {
        this.counts.ignored++;
      },
    };
  }

  get kind(): ImportKind | null {
    return this.kindValue;
  }

  /** Feeds a chunk of text; `bytes` is how many input bytes it came from (for progress). */
  pushText(chunk: string, bytes = chunk.length): void {
    let text = chunk;
    if (this.skipping) {
      // the rest of an over-long line already reported: drop it up to its end
      const nl = text.indexOf('\n');
      if (nl < 0) text = '';
      else {
        text = text.slice(nl + 1);
        this.skipping = false;
      }
    }
    const parts = (this.partialLine + text).split('\n');
    this.partialLine = parts.pop()!;
    for (const p of parts) this.pushLine(p);
    if (this.partialLine.length > MAX_PENDING) {
      // a line without end in sight: hand the importer its head (it reports the line as too long)
      this.pushLine(this.partialLine.slice(0, MAX_PENDING));
      this.partialLine = '';
      this.skipping = true;
    }
    this.consumed(bytes);
  }

  /** Feeds one physical line (without its "\n"). */
  pushLine(line: string, bytes = 0): void {
    this.counts.lines++;
    if (this.importer === null) {
      this.buffer.push(line);
      if (this.buffer.length >= (this.opts.detectLines ?? 200)) this.startDetected();
    } else this.importer.line(line, this.counts.lines, this.sink);
    if (bytes) this.consumed(bytes);
  }

  end(): ImportSummary {
    if (!this.ended) {
      this.ended = true;
      if (this.partialLine !== '') {
        const last = this.partialLine;
        this.partialLine = '';
        this.pushLine(last);
      }
      if (this.importer === null) this.startDetected();
      this.importer!.end(this.sink);
      this.progress();
    }
    return {
      file: this.opts.file,
      kind: this.kindValue!,
      detection: this.detection!,
      counts: this.counts,
      badLines: this.badLines,
    };
  }

  private startDetected(): void {
    const d = detectFormat(this.buffer);
    this.detection = d;
    this.kindValue = d.kind === 'unknown' ? 'kernel-log' : d.kind;
    this.importer = createImporter(this.kindValue, this.opts.preset ?? d.preset);
    const first = this.counts.lines - this.buffer.length;
    this.buffer.forEach((l, i) => this.importer!.line(l, first + i + 1, this.sink));
    this.buffer = [];
  }

  private consumed(bytes: number): void {
    this.counts.bytes += bytes;
    if (this.counts.bytes >= this.nextProgress) {
      const step = this.opts.progressEveryBytes ?? 1 << 20;
      while (this.nextProgress <= this.counts.bytes) this.nextProgress += step;
      this.progress();
    }
  }

  private progress(): void {
    const r = this.counts.records;
    this.opts.onProgress?.({
      bytes: this.counts.bytes,
      totalBytes: this.opts.totalBytes ?? null,
      lines: this.counts.lines,
      records: r.fault + r.hint + r.event + r.translation + r.tlp + r.info,
      bad: this.counts.bad,
    });
  }
}

/** Imports a whole text at once (tests, small inputs): the summary and every record in order. */
export function importText(
  text: string,
  opts: Omit<SessionOptions, 'file' | 'onRecord'> & { file?: string } = {},
): ImportSummary & { records: ImportRecord[] } {
  const records: ImportRecord[] = [];
  const s = new ImportSession({ ...opts, file: opts.file ?? 'input', onRecord: (r) => records.push(r) });
  s.pushText(text);
  return { ...s.end(), records };
}
