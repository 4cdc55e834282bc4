// Fault reports on the command line (docs/report.md):
//   replayReport()   loads a trace (text, or native streamed from the file), its platform (with what-if
//                    edits) and optional firmware inputs and builds the report (src/report/report-model.ts)
//   writeReport()    writes it as .html, .json, .csv or .pdf (PDF: Debian's Chromium, headless
//                    --print-to-pdf; without Chromium a one-line explanation and EXIT.FATAL)
//   diffCommand()    `iommu-lab diff A.json B.json`: new, fixed and changed clusters
//   whatIfCommand()  `iommu-lab what-if TRACE --set …`: replays the original and the edited inputs and
//                    prints their diff
// Exit codes: README "Exit codes". Unreadable or invalid inputs throw (the CLI prints one line, 64).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadPlatform, type Platform } from '../engine/platform/index';
import type { FaultProfile } from '../engine/vtd/translate';
import { buildPlatformReport, type FirmwareInput } from '../firmware/index';
import { decodeInput, InputError } from '../host/inputs';
import { isNativeTrace, openNativeInput } from '../host/replay/native-input';
import { hashFile, nativeReportPass } from '../host/replay/native-report';
import { LAB_VERSION } from '../host/session';
import { reportCsv } from '../report/csv';
import { diffReports, diffText, type ReportDiff } from '../report/diff';
import { reportHtml } from '../report/html';
import { parseReport, runReport, sha256Hex, type Report } from '../report/report-model';
import { applyEdits, parseSet, WhatIfError, type WhatIfEdit } from '../report/what-if';
import { EXIT } from './exit-codes';

export interface ReportRunOptions {
  /** platform description (default: the one the trace names) */
  platform?: string;
  /** fault-semantics profile; default: qemu-7.2 for QEMU captures, vtd-spec otherwise */
  profile?: FaultProfile;
  iotlb?: 'hardware' | 'strict';
  /** `iommu-lab platform` inputs (ACPI tables, lspci, kernel logs): their findings go in the report */
  firmware?: string[];
  /** what-if edits (src/report/what-if.ts) */
  set?: string[];
  /** an RFC 6902 JSON Patch file applied to the platform description */
  patch?: string;
}

const shown = (p: string): string => relative(process.cwd(), p) || p;

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new InputError([{ file: path, where: 'open', message: (e as NodeJS.ErrnoException).message }]);
  }
}

function parseJson(path: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new InputError([{ file: path, where: 'line 1', message: `not JSON: ${(e as Error).message}` }]);
  }
}

/** The platform a report runs on, with the what-if edits applied (and the events they add). */
async function editedPlatform(
  platformName: string,
  platformBytes: Uint8Array,
  platform: Platform,
  opts: ReportRunOptions,
): Promise<{ platform: Platform; edits: string[]; events: ReturnType<typeof applyEdits>['events'] }> {
  const sets = opts.set ?? [];
  if (!sets.length && !opts.patch) return { platform, edits: [], events: [] };
  try {
    const parsed: WhatIfEdit[] = sets.map(parseSet);
    let patch: { name: string; operations: unknown } | undefined;
    if (opts.patch) {
      const bytes = await readBytes(opts.patch);
      patch = {
        name: `${opts.patch} (sha256 ${sha256Hex(bytes).slice(0, 16)})`,
        operations: parseJson(opts.patch, bytes),
      };
    }
    const edited = applyEdits(parseJson(platformName, platformBytes), parsed, patch);
    const loaded = loadPlatform(edited.platform);
    if (!loaded.ok) {
      throw new InputError(
        loaded.errors.map((e) => ({ file: `${platformName} (edited)`, where: e.path, message: e.message })),
      );
    }
    return { platform: loaded.value, edits: edited.applied, events: edited.events };
  } catch (e) {
    if (e instanceof WhatIfError) throw new Error(`what-if: ${e.message}`, { cause: e });
    throw e;
  }
}

async function firmwareFindingsOf(opts: ReportRunOptions) {
  if (!opts.firmware?.length) return undefined;
  const inputs: FirmwareInput[] = [];
  for (const file of opts.firmware) inputs.push({ file, bytes: await readBytes(file) });
  return buildPlatformReport(inputs).findings;
}

/**
 * Replays a trace (with what-if edits, when given) and builds its report. A text trace (JSON lines)
 * is read whole and replayed in this thread; a native trace (by its magic) streams through
 * nativeReportPass (src/host/replay/native-report.ts), also in this thread: the worker player cannot
 * give the walks at each cluster's first fault nor the final lab state (its engine, EngineCore, folds
 * faults out in batches and sends counts and the fault table's rows only).
 */
export async function replayReport(trace: string, opts: ReportRunOptions = {}): Promise<Report> {
  if (await isNativeTrace(trace)) return replayNativeReport(trace, opts);
  const traceBytes = await readBytes(trace);
  const input = decodeInput(trace, traceBytes, dirname(resolve(trace)));
  if (input.kind !== 'trace') throw new Error(`${trace}: not a trace`);
  const platformPath = opts.platform ?? input.platformPath;
  if (!platformPath)
    throw new Error(`${trace}: no platform: the trace names none, give one with --platform FILE`);
  const platformBytes = await readBytes(platformPath);
  const platformInput = decodeInput(platformPath, platformBytes, null);
  if (platformInput.kind !== 'platform') throw new Error(`${platformPath}: not a platform description`);
  const { platform, edits, events } = await editedPlatform(
    platformPath,
    platformBytes,
    platformInput.platform,
    opts,
  );
  const parsed = input.trace;
  const profile = opts.profile ?? (parsed.header.source === 'qemu' ? 'qemu-7.2' : 'vtd-spec');
  const { report } = runReport(platform, [...events, ...parsed.events], {
    traceBytes,
    platformBytes,
    traceName: trace,
    platformName: shown(platformPath),
    options: { profile, iotlb: opts.iotlb, edits },
    labVersion: LAB_VERSION,
    firmwareFindings: await firmwareFindingsOf(opts),
    events: parsed.events.length,
    errors: parsed.errors,
  });
  return report;
}

/**
 * The report of a native trace. Its platform is --platform's file, else the one embedded in its header
 * (named "TRACE (embedded platform)" and hashed as its JSON text).
 */
async function replayNativeReport(trace: string, opts: ReportRunOptions): Promise<Report> {
  const input = await openNativeInput(trace, opts.platform);
  const platformBytes = opts.platform
    ? await readBytes(opts.platform)
    : new TextEncoder().encode(JSON.stringify(input.platformJson));
  const platformName = opts.platform ? shown(opts.platform) : `${trace} (embedded platform)`;
  const { platform, edits, events } = await editedPlatform(platformName, platformBytes, input.platform, opts);
  const options = { profile: opts.profile ?? input.autoProfile, iotlb: opts.iotlb, edits };
  const pass = await nativeReportPass(input, platform, options, events, basename(trace));
  return pass.run.report({
    traceBytes: await hashFile(trace),
    platformBytes,
    traceName: trace,
    platformName,
    options,
    labVersion: LAB_VERSION,
    firmwareFindings: await firmwareFindingsOf(opts),
    events: pass.events,
    errors: pass.errors,
  });
}

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(file, args, { timeout: timeoutMs }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stderr: String(stderr) });
    });
  });
}

/** Prints HTML to PDF with headless Chromium. Returns null on success, else why it failed. */
export async function htmlToPdf(html: string, outPath: string, chromium = CHROMIUM): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'iommu-lab-pdf-'));
  try {
    const page = join(dir, 'report.html');
    await writeFile(page, html);
    const target = resolve(outPath);
    const { code, stderr } = await run(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--no-pdf-header-footer',
        `--print-to-pdf=${target}`,
        pathToFileURL(page).href,
      ],
      120_000,
    );
    if (!existsSync(target)) {
      const last = stderr.trim().split('\n').pop() ?? '';
      return `Chromium exited with ${code} and wrote no PDF${last ? `: ${last}` : ''}`;
    }
    return null;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export type ReportFormat = 'html' | 'json' | 'csv' | 'pdf';

export function reportFormatOf(path: string): ReportFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.html' || ext === '.htm') return 'html';
  if (ext === '.json' || ext === '.csv' || ext === '.pdf') return ext.slice(1) as ReportFormat;
  return null;
}

/**
 * Writes the report in the format its extension names. Returns 0 when written, EXIT.FATAL (after one
 * line through `out`) when it cannot be: an unknown extension, no Chromium for PDF, a write error.
 * `out` gets nothing on success (pass a stderr writer when stdout carries JSON).
 */
export async function writeReport(
  report: Report,
  outPath: string,
  out: (s: string) => void,
  extra: { diff?: ReportDiff; chromium?: string } = {},
): Promise<number> {
  const format = reportFormatOf(outPath);
  const chromium = extra.chromium ?? CHROMIUM;
  try {
    switch (format) {
      case 'json':
        await writeFile(outPath, `${JSON.stringify(report, null, 2)}\n`);
        return EXIT.OK;
      case 'csv':
        await writeFile(outPath, reportCsv(report));
        return EXIT.OK;
      case 'html':
        await writeFile(outPath, reportHtml(report, { diff: extra.diff }));
        return EXIT.OK;
      case 'pdf': {
        if (!existsSync(chromium)) {
          out(
            `iommu-lab: ${outPath}: PDF needs Chromium (${chromium}, Debian package chromium); write .html and print it instead`,
          );
          return EXIT.FATAL;
        }
        const why = await htmlToPdf(reportHtml(report, { diff: extra.diff, print: true }), outPath, chromium);
        if (why) {
          out(`iommu-lab: ${outPath}: ${why}`);
          return EXIT.FATAL;
        }
        return EXIT.OK;
      }
      default:
        out(`iommu-lab: --report ${outPath}: unknown format: use .html, .json, .csv or .pdf`);
        return EXIT.FATAL;
    }
  } catch (e) {
    out(`iommu-lab: ${outPath}: ${(e as Error).message}`);
    return EXIT.FATAL;
  }
}

async function readReport(path: string): Promise<Report> {
  const json = parseJson(path, await readBytes(path));
  const r = parseReport(json);
  if (!r.ok) throw new InputError([{ file: path, where: 'report', message: r.message }]);
  return r.report;
}

/**
 * `iommu-lab diff A.json B.json [--json]`: exit 0 when B has no new or changed cluster, 1 when it has
 * (fixed clusters alone are 0), 64 when a file is not a report.
 */
export async function diffCommand(
  a: string,
  b: string,
  opts: { json?: boolean },
  out: (s: string) => void,
): Promise<number> {
  const d = diffReports(await readReport(a), await readReport(b));
  if (opts.json) out(JSON.stringify(d, null, 2));
  else for (const l of diffText(d, [a, b])) out(l);
  return d.counts.new || d.counts.changed ? EXIT.FAULTS : EXIT.OK;
}

export interface WhatIfOptions {
  platform?: string;
  /** --set edits, in order */
  set: string[];
  /** RFC 6902 JSON Patch file for the platform description */
  patch?: string;
  /** write the edited run's report (with the diff, in HTML) here */
  report?: string;
  json?: boolean;
  profile?: FaultProfile;
  iotlb?: 'hardware' | 'strict';
}

/**
 * `iommu-lab what-if TRACE --set … [--patch FILE] [--report FILE]`: replays the trace as it is and with
 * the edits, prints the diff (original → what-if). Exit code: the edited run's bitmask (README).
 */
export async function whatIfCommand(
  trace: string,
  opts: WhatIfOptions,
  out: (s: string) => void,
): Promise<number> {
  if (!opts.set.length && !opts.patch)
    throw new Error('what-if: give at least one --set KEY=VALUE or --patch FILE');
  const base = { platform: opts.platform, profile: opts.profile, iotlb: opts.iotlb };
  const original = await replayReport(trace, base);
  const edited = await replayReport(trace, { ...base, set: opts.set, patch: opts.patch });
  const d = diffReports(original, edited);
  if (opts.json) out(JSON.stringify(d, null, 2));
  else for (const l of diffText(d, ['original', 'what-if'])) out(l);
  if (opts.report) {
    const rc = await writeReport(edited, opts.report, out, { diff: d });
    if (rc) return rc;
  }
  return edited.summary.exitCode;
}
