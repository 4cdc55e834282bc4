// Fault reports in the session (docs/report.md; the API in src/shared/views/reports.ts): the report of
// the run loaded now, built over the whole trace exactly as `iommu-lab replay TRACE --report x.json`
// builds it (same inputs, names, hashes and profile, so the same report), whatever time the player
// shows; exported as HTML, PDF, JSON or CSV (the bytes the CLI writes); compared with report files
// (src/report/diff.ts); and re-run with what-if edits (src/report/what-if.ts) and compared with the
// original.
// A text trace is re-read from its file or the bytes the renderer sent and replayed in this thread
// (runReport); a native trace streams through nativeReportPass, as in the CLI. The current report is
// built once per set of files. PDF needs a PdfMaker, given by the host's owner: Electron's printToPDF
// (src/main/pdf.ts) or headless Chromium (`serve`, src/cli/chromium-pdf.ts); without one, ENOSYS.
import { readFile } from 'node:fs/promises';
import { basename, dirname, relative, resolve } from 'node:path';
import { version } from '../../package.json';
import { loadPlatform, type Platform } from '../engine/platform/index';
import type { ControlStep } from '../engine/replay';
import type { FaultProfile } from '../engine/vtd/translate';
import { reportCsv } from '../report/csv';
import { diffReports, type ReportDiff } from '../report/diff';
import { reportHtml } from '../report/html';
import { parseReport, runReport, sha256Hex, type Report } from '../report/report-model';
import { applyEdits, parseSet, WhatIfError } from '../report/what-if';
import { ApiError, type ExportedFile } from '../shared/api';
import type { ReportDiffView, ReportRunSummary, WhatIfView } from '../shared/views/reports';
import { decodeInput, type LoadedInput } from './inputs';
import { openNativeInput } from './replay/native-input';
import { hashFile, nativeReportPass } from './replay/native-report';

/** Prints a report's HTML (laid out for print) to PDF bytes. */
export type PdfMaker = (html: string) => Promise<Uint8Array>;

/** A file the API names: a path on this machine, or bytes the renderer sent. */
export type FileRef = { path: string } | { name: string; bytes: Uint8Array };

/** Where an opened input's bytes are: its path, or the bytes the renderer sent. */
type Source = { name: string; path: string } | { name: string; bytes: Uint8Array };

/** What the session has loaded now, as a report needs it. */
export interface SessionRunState {
  /** changes whenever the files change (the session's player generation) */
  generation: number;
  /** the platform the session replays on, its JSON and the name the session gives it */
  platformJson: Record<string, unknown> | null;
  platformName: string;
  /** the user opened the platform (a native trace then replays on it rather than on its own) */
  platformOpened: boolean;
  /** the native trace being played (a file), or null for a text trace */
  nativePath: string | null;
}

const enc = new TextEncoder();

/** The name a report gives a file opened by path: relative to the working directory, as the CLI does. */
const shown = (s: Source): string => ('path' in s ? relative(process.cwd(), s.path) || s.path : s.name);

async function sourceBytes(s: Source): Promise<Uint8Array> {
  if (!('path' in s)) return s.bytes;
  try {
    return new Uint8Array(await readFile(s.path));
  } catch (e) {
    throw new ApiError('ENOENT', `${s.path}: ${(e as Error).message}`);
  }
}

function parseJsonBytes(name: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ApiError('EINVAL', `${name}: not JSON: ${(e as Error).message}`);
  }
}

async function fileBytes(f: FileRef): Promise<{ name: string; bytes: Uint8Array }> {
  if ('bytes' in f) return { name: basename(f.name), bytes: f.bytes };
  return { name: f.path, bytes: await sourceBytes({ name: f.path, path: f.path }) };
}

function runSummary(r: Report): ReportRunSummary {
  const s = r.summary;
  return {
    faults: s.faults,
    hazards: s.hazards,
    clusters: s.clusters,
    hints: s.hints,
    exitCode: s.exitCode,
    edits: r.run.options.edits,
  };
}

/** The platform a report runs on, with the what-if edits applied (and the control events they add). */
function editedPlatform(
  name: string,
  json: unknown,
  platform: Platform,
  set: readonly string[],
  patch?: { name: string; operations: unknown },
): { platform: Platform; edits: string[]; events: ControlStep[] } {
  if (!set.length && !patch) return { platform, edits: [], events: [] };
  try {
    const edited = applyEdits(json, set.map(parseSet), patch);
    const loaded = loadPlatform(edited.platform);
    if (!loaded.ok) {
      const problems = loaded.errors.map((e) => `${name} (edited): ${e.path}: ${e.message}`);
      throw new ApiError('EINVAL', `what-if: ${problems.join('; ')}`);
    }
    return { platform: loaded.value, edits: edited.applied, events: edited.events };
  } catch (e) {
    if (e instanceof WhatIfError) throw new ApiError('EINVAL', `what-if: ${e.message}`);
    throw e;
  }
}

interface Edits {
  set: readonly string[];
  patch?: { name: string; operations: unknown };
}

export class SessionReports {
  /** the platform last opened, with the JSON object the session got from it (to know it is still in use) */
  private platformSource: { source: Source; json: Record<string, unknown> } | null = null;
  /** the trace last opened: a text trace (re-read for a report) or a native one */
  private traceSource: { kind: 'text' | 'native'; source: Source } | null = null;
  private current: { generation: number; report: Promise<Report> } | null = null;

  constructor(
    private readonly state: () => SessionRunState,
    private readonly pdf?: PdfMaker,
  ) {}

  /** Tells where an input the session accepted came from: its path (`name`) or the bytes sent. */
  noteInput(input: LoadedInput, bytes?: Uint8Array): void {
    const source: Source = bytes ? { name: input.name, bytes } : { name: input.name, path: input.name };
    if (input.kind === 'platform') this.platformSource = { source, json: input.json };
    else if (input.kind === 'trace') this.traceSource = { kind: 'text', source };
    // an uploaded native trace is streamed from the temporary file the session wrote
    else this.traceSource = { kind: 'native', source: { name: input.name, path: input.path ?? input.name } };
  }

  /** The report of the run loaded now (built once per set of files). */
  currentReport(): Promise<Report> {
    const st = this.state();
    if (this.current?.generation !== st.generation) {
      const report = this.build(st, { set: [] });
      this.current = { generation: st.generation, report };
      report.catch(() => {
        if (this.current?.report === report) this.current = null; // ask again after a failure
      });
    }
    return this.current!.report;
  }

  /** The current run's report, in the bytes `iommu-lab replay TRACE --report x.EXT` writes (writeReport). */
  async exportReport(format: 'html' | 'pdf' | 'json' | 'csv'): Promise<ExportedFile> {
    const report = await this.currentReport();
    if (format === 'json')
      return {
        name: 'iommu-lab-report.json',
        mime: 'application/json',
        bytes: enc.encode(`${JSON.stringify(report, null, 2)}\n`),
      };
    if (format === 'csv')
      return { name: 'iommu-lab-report.csv', mime: 'text/csv', bytes: enc.encode(reportCsv(report)) };
    if (format === 'html')
      return { name: 'iommu-lab-report.html', mime: 'text/html', bytes: enc.encode(reportHtml(report)) };
    if (!this.pdf)
      throw new ApiError(
        'ENOSYS',
        'PDF export needs Electron or Chromium, and this host has neither: export HTML and print it instead',
      );
    const bytes = await this.pdf(reportHtml(report, { print: true }));
    return { name: 'iommu-lab-report.pdf', mime: 'application/pdf', bytes };
  }

  async reportDiff(p: { a: 'current' | FileRef; b: 'current' | FileRef }): Promise<ReportDiffView> {
    const [a, b] = await Promise.all([this.side(p.a), this.side(p.b)]);
    return view(diffReports(a, b));
  }

  async whatIf(p: { set: string[]; patch?: FileRef }): Promise<WhatIfView> {
    // parse the edits first: a bad one is refused before anything is replayed
    for (const s of p.set) {
      try {
        parseSet(s);
      } catch (e) {
        if (e instanceof WhatIfError) throw new ApiError('EINVAL', `what-if: ${e.message}`);
        throw e;
      }
    }
    let patch: Edits['patch'];
    if (p.patch) {
      const f = await fileBytes(p.patch);
      patch = {
        name: `${f.name} (sha256 ${sha256Hex(f.bytes).slice(0, 16)})`,
        operations: parseJsonBytes(f.name, f.bytes),
      };
    }
    const original = await this.currentReport();
    const edited = await this.build(this.state(), { set: p.set, patch });
    return {
      edits: edited.run.options.edits,
      diff: view(diffReports(original, edited)),
      original: runSummary(original),
      edited: runSummary(edited),
    };
  }

  private async side(s: 'current' | FileRef): Promise<Report> {
    if (s === 'current') return this.currentReport();
    const f = await fileBytes(s);
    const r = parseReport(parseJsonBytes(f.name, f.bytes));
    if (!r.ok) throw new ApiError('EINVAL', `${f.name}: ${r.message}`);
    return r.report;
  }

  /** The platform in use: the file opened, or (embedded in a native trace) its JSON text. */
  private async platformBytes(st: SessionRunState): Promise<{ name: string; bytes: Uint8Array }> {
    const p = this.platformSource;
    if (p && p.json === st.platformJson) return { name: shown(p.source), bytes: await sourceBytes(p.source) };
    if (!st.platformJson) throw new ApiError('ENOENT', 'no platform loaded: open a platform or a trace');
    return { name: st.platformName, bytes: enc.encode(JSON.stringify(st.platformJson)) };
  }

  private async build(st: SessionRunState, edits: Edits): Promise<Report> {
    const t = this.traceSource;
    if (!t) throw new ApiError('ENOENT', 'no trace loaded: open a trace to report on');
    if (t.kind === 'native' && st.nativePath) return this.buildNative(st.nativePath, t.source, st, edits);
    if (t.kind !== 'text' || st.nativePath) throw new ApiError('EBUSY', 'the files changed; ask again');
    const traceBytes = await sourceBytes(t.source);
    const dir = 'path' in t.source ? dirname(resolve(t.source.path)) : null;
    const input = decodeInput(t.source.name, traceBytes, dir);
    if (input.kind !== 'trace') throw new ApiError('EINVAL', `${t.source.name}: not a trace`);
    const plat = await this.platformBytes(st);
    const json = parseJsonBytes(plat.name, plat.bytes);
    const loaded = loadPlatform(json);
    if (!loaded.ok) throw new ApiError('EINVAL', `${plat.name}: ${loaded.errors[0]?.message ?? 'invalid'}`);
    const {
      platform,
      edits: applied,
      events,
    } = editedPlatform(plat.name, json, loaded.value, edits.set, edits.patch);
    const profile: FaultProfile = input.trace.header.source === 'qemu' ? 'qemu-7.2' : 'vtd-spec';
    return runReport(platform, [...events, ...input.trace.events], {
      traceBytes,
      platformBytes: plat.bytes,
      traceName: t.source.name,
      platformName: plat.name,
      options: { profile, edits: applied },
      labVersion: version,
      events: input.trace.events.length,
      errors: input.trace.errors,
    }).report;
  }

  private async buildNative(
    path: string,
    source: Source,
    st: SessionRunState,
    edits: Edits,
  ): Promise<Report> {
    const override =
      st.platformOpened && st.platformJson ? { json: st.platformJson, name: st.platformName } : undefined;
    const input = await openNativeInput(path, undefined, override);
    const plat = override
      ? await this.platformBytes(st)
      : {
          name: `${source.name} (embedded platform)`,
          bytes: enc.encode(JSON.stringify(input.platformJson)),
        };
    const {
      platform,
      edits: applied,
      events,
    } = editedPlatform(
      plat.name,
      override ? parseJsonBytes(plat.name, plat.bytes) : input.platformJson,
      input.platform,
      edits.set,
      edits.patch,
    );
    const options = { profile: input.autoProfile, edits: applied };
    const pass = await nativeReportPass(input, platform, options, events, basename(source.name));
    return pass.run.report({
      traceBytes: await hashFile(path),
      platformBytes: plat.bytes,
      traceName: source.name,
      platformName: plat.name,
      options,
      labVersion: version,
      events: pass.events,
      errors: pass.errors,
    });
  }
}

/** The diff as the API carries it (the same fields; the type check keeps them in step). */
function view(d: ReportDiff): ReportDiffView {
  return d;
}
