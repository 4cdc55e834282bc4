// `iommu-lab replay TRACE [--platform FILE] [--json]`: replays a trace through the engine and prints
// a summary (text, or JSON per docs/replay-json.md). Text traces (JSON lines) replay in this thread;
// native traces (recognised by their magic) through the worker player (src/host/replay: a decoder
// worker and an engine worker joined by a SharedArrayBuffer ring), or in this thread with
// --compare-profiles. Both call the same Replay, so a trace gives the same summary in either format.
// With --progress, or when stderr is a terminal, a native replay prints a progress line at most once
// a second on stderr, and a last one with the final counts (progressLine). Exit code: see exit-codes.ts.
import { basename, relative } from 'node:path';
import { buildLab } from '../engine/lab';
import {
  faultBdf,
  Replay,
  type DmaRequest,
  type Fault,
  type RejectedControl,
  type ReplayEvent,
} from '../engine/replay';
import type { Platform } from '../engine/platform/index';
import type { FaultProfile } from '../engine/vtd/translate';
import { faultRow, hazardRow, runSummary, type RunSummary } from '../report/summary';
import type { FaultRow, HazardRow, ReplayStats } from '../shared/api';
import { loadWorkspace } from '../host/inputs';
import type { AgreementReport } from '../host/replay/agreement';
import { isNativeTrace, openNativeInput } from '../host/replay/native-input';
import {
  outcomeText,
  replayNativeInThread,
  replayNativeWorkers,
  type ProfileComparison,
} from '../host/replay/native-replay';
import { FilterError, parseFilter } from '../query/filter';
import type { FaultQuery } from '../query/query';
import { ReplayRows } from '../host/replay/fault-store';
import { tableRows } from '../host/replay/table-rows';
import { EXIT } from './exit-codes';
import { replayReport, writeReport } from './report-command';

const shown = (p: string | null): string => (p ? relative(process.cwd(), p) || p : '-');

export interface ReplayOptions {
  platform?: string;
  /** 'hardware' (default): stale IOTLB entries translate until invalidated; 'strict': never */
  iotlb?: 'hardware' | 'strict';
  /** fault-semantics profile; default: qemu-7.2 for QEMU captures, vtd-spec otherwise */
  profile?: FaultProfile;
  /** replay under both profiles and list the requests whose outcome differs */
  compareProfiles?: boolean;
  /** write a fault report (.html, .json, .csv, .pdf) */
  report?: string;
  /** firmware inputs whose findings go in the report */
  firmware?: string[];
  json?: boolean;
  maxFaults?: number;
  /** progress lines on stderr for native traces (default: when stderr is a terminal) */
  progress?: boolean;
  /** list only the fault and hazard rows matching this filter (docs/filter.md) */
  filter?: string;
}

/** What either path hands the printer. */
interface ReplayReport {
  native: boolean;
  summary: RunSummary;
  trace: string;
  platformFile: string | null;
  profileNote: string;
  rejected: RejectedControl[];
  /** bad lines of a text trace ({file, line, message}), damage in a native one ({file, offset, length, message}) */
  errors: ({ file: string; message: string } & Record<string, unknown>)[];
  faultRows: readonly FaultRow[];
  hazardRows: readonly HazardRow[];
  comparison: ProfileComparison | null;
  agreement: AgreementReport | null;
  /** --filter: the expression and how many faults and hazards match it */
  filter?: { expression: string; faults: number; hazards: number };
}

export async function replayCommand(
  trace: string,
  opts: ReplayOptions,
  out: (s: string) => void,
  err: (s: string) => void = (s) => void process.stderr.write(s + '\n'),
): Promise<number> {
  if (opts.filter !== undefined) {
    try {
      parseFilter(opts.filter);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      err(`iommu-lab replay: --filter: ${e.message}`);
      return EXIT.FATAL;
    }
  }
  const native = await isNativeTrace(trace);
  const run = native ? await replayNative(trace, opts, err) : await replayText(trace, opts);
  print(run, opts, out);
  const s = run.summary;
  let code =
    (s.faults ? EXIT.FAULTS : 0) | (s.hazards ? EXIT.HAZARDS : 0) | (run.errors.length ? EXIT.ERRORS : 0);
  if (opts.report) {
    // The report replays the trace again (a native one streamed in this thread, not through the
    // workers): each cluster's page walk is taken when its first fault happens.
    const report = await replayReport(trace, {
      platform: opts.platform,
      profile: s.profile as FaultProfile,
      iotlb: opts.iotlb,
      firmware: opts.firmware,
    });
    const rc = await writeReport(report, opts.report, (x) => void process.stderr.write(`${x}\n`));
    if (rc) return rc;
    code |= report.summary.exitCode; // firmware warnings (4) and errors (8)
  }
  return code;
}

async function replayText(trace: string, opts: ReplayOptions): Promise<ReplayReport> {
  const ws = await loadWorkspace([trace], opts.platform);
  if (!ws.trace) throw new Error(`${trace}: not a trace`);
  if (!ws.platform) {
    throw new Error(`${trace}: no platform: the trace names none, give one with --platform FILE`);
  }
  const auto: FaultProfile = ws.trace.header.source === 'qemu' ? 'qemu-7.2' : 'vtd-spec';
  const profile = opts.profile ?? auto;
  const replay = new Replay(buildLab(ws.platform), {
    iotlbMode: opts.iotlb,
    profile,
    keepOutcomes: opts.compareProfiles,
  });
  for (const e of ws.trace.events) replay.apply(e);
  const comparison = opts.compareProfiles
    ? compareProfiles(
        ws.platform,
        ws.trace.events,
        replay,
        profile === 'vtd-spec' ? 'qemu-7.2' : 'vtd-spec',
        opts,
      )
    : null;
  const errors = ws.trace.errors;
  const maxFaults = opts.maxFaults ?? 20;
  return {
    native: false,
    summary: runSummary(replay, ws.trace.events.length, errors.length),
    trace: ws.traceFile ?? trace,
    platformFile: ws.platformFile,
    profileNote: opts.profile
      ? ''
      : ` (default for ${auto === 'qemu-7.2' ? 'QEMU captures' : 'hardware traces'})`,
    rejected: replay.rejected,
    errors: errors.map((e) => ({ ...e })),
    faultRows: replay.faults.slice(0, maxFaults).map(faultRow),
    hazardRows: replay.hazards.slice(0, maxFaults).map(hazardRow),
    comparison,
    agreement: null,
    ...(opts.filter !== undefined ? filtered(new ReplayRows().sync(replay), opts.filter, maxFaults) : {}),
  };
}

async function replayNative(
  trace: string,
  opts: ReplayOptions,
  err: (s: string) => void,
): Promise<ReplayReport> {
  const input = await openNativeInput(trace, opts.platform);
  const profile = opts.profile ?? input.autoProfile;
  const maxFaults = opts.maxFaults ?? 20;
  const o = {
    profile,
    iotlbMode: opts.iotlb ?? 'hardware',
    maxFaults,
    label: basename(trace),
  };
  const showProgress = opts.progress ?? process.stderr.isTTY === true;
  let run;
  let comparison: ProfileComparison | null = null;
  if (opts.compareProfiles) {
    const r = await replayNativeInThread(input, o, profile === 'vtd-spec' ? 'qemu-7.2' : 'vtd-spec');
    run = r;
    comparison = r.comparison;
  } else {
    const progress = showProgress ? progressLine(input.records, err) : null;
    run = await replayNativeWorkers(input, o, progress?.update);
    progress?.done(run.result.summary);
  }
  const seen = new Set<string>();
  const errors: ReplayReport['errors'] = [];
  for (const p of [...input.problems, ...run.result.problems]) {
    const key = `${p.offset}:${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({ file: trace, offset: p.offset, length: p.length, message: p.message });
  }
  const summary: RunSummary = { ...run.result.summary, badLines: errors.length };
  return {
    native: true,
    summary,
    trace,
    platformFile: input.platformFile,
    profileNote: opts.profile
      ? ''
      : ` (default for ${profile === 'qemu-7.2' ? 'QEMU captures' : 'hardware traces'})`,
    rejected: run.result.rejected,
    errors,
    faultRows: run.faultRows.slice(0, maxFaults),
    hazardRows: run.hazardRows.slice(0, maxFaults),
    comparison,
    agreement: run.result.agreement,
    ...(opts.filter !== undefined ? filtered(run.table, opts.filter, maxFaults) : {}),
  };
}

/** --filter: the first `max` faults and hazards matching the filter (already checked), and how many match. */
function filtered(
  table: FaultQuery,
  expression: string,
  max: number,
): Pick<ReplayReport, 'faultRows' | 'hazardRows' | 'filter'> {
  const { faultRows, hazardRows, faults, hazards } = tableRows(table, max, expression);
  return { faultRows, hazardRows, filter: { expression, faults, hazards } };
}

/** A count as the progress line shows it: exact below a million, else in millions. */
const progressCount = (n: number): string => (n < 1e6 ? String(n) : `${(n / 1e6).toFixed(1)} M`);

export interface ProgressPrinter {
  /** takes the player's stats; prints at most once a second */
  update: (s: ReplayStats) => void;
  /** prints the last line, with the run's final counts */
  done: (s: { tlps: number; faults: number; hazards: number }) => void;
}

/**
 * The progress line of a native replay, on `err` (stderr: stdout may carry --json):
 * `replay: 42% 2.1 M of 5.0 M TLPs, 17 faults, 0 hazards, 14.0 M TLP/s` at most once a second while
 * the replay runs, and once at the end with the final counts (100 % unless damage cost records).
 * `now` is the clock in ms (performance.now; tests give their own).
 */
export function progressLine(
  records: number,
  err: (s: string) => void,
  now: () => number = () => performance.now(),
): ProgressPrinter {
  const t0 = now();
  let last = t0;
  let finished = false;
  const line = (t: number, s: { tlps: number; faults: number; hazards?: number }): void => {
    const pct = records ? Math.min(100, Math.floor((100 * s.tlps) / records)) : 100;
    const rate = t > t0 ? s.tlps / ((t - t0) / 1000) / 1e6 : 0;
    err(
      `replay: ${pct}% ${progressCount(s.tlps)} of ${progressCount(records)} TLPs, ` +
        `${s.faults} faults, ${s.hazards ?? 0} hazards, ${rate.toFixed(1)} M TLP/s`,
    );
  };
  return {
    update: (s) => {
      const t = now();
      if (finished || s.status === 'done' || t - last < 1000) return;
      last = t;
      line(t, s);
    },
    done: (s) => {
      if (finished) return;
      finished = true;
      line(now(), s);
    },
  };
}

function print(r: ReplayReport, opts: ReplayOptions, out: (s: string) => void): void {
  const summary = r.summary;
  const maxFaults = opts.maxFaults ?? 20;
  if (opts.json) {
    out(
      JSON.stringify(
        {
          ...summary,
          trace: r.trace,
          platformFile: r.platformFile,
          rejected: r.rejected,
          errors: r.errors,
          ...(r.filter ? { filter: r.filter } : {}),
          faultRows: r.faultRows,
          hazardRows: r.hazardRows,
          ...(r.comparison ? { comparison: r.comparison } : {}),
          ...(r.agreement ? { agreement: r.agreement } : {}),
        },
        null,
        2,
      ),
    );
    return;
  }
  out(`profile   ${summary.profile}${r.profileNote}`);
  out(`platform  ${summary.platform} (${shown(r.platformFile)}): ${summary.devices.length} devices`);
  out(
    `trace     ${r.trace}: ${summary.events} events, ${summary.tlps} DMA requests, ${r.errors.length} ${r.native ? 'damaged parts' : 'bad lines'} skipped`,
  );
  for (const e of r.errors.slice(0, 10)) {
    out(`  ${e.file}:${'line' in e ? String(e.line) : `offset ${String(e.offset)}`}: ${e.message}`);
  }
  if (r.errors.length > 10) out(`  … ${r.errors.length - 10} more`);
  for (const x of r.rejected.slice(0, 10)) out(`  ${x.origin}: ${x.op} → ${x.errno}: ${x.message}`);
  const rec = Object.entries(summary.recording)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  out(`faults    ${summary.faults}${rec ? ` (${rec})` : ''}`);
  out(`hazards   ${summary.hazards}`);
  if (r.filter) {
    out(
      `filter    ${r.filter.expression}: ${r.filter.faults} of ${summary.faults} faults, ` +
        `${r.filter.hazards} of ${summary.hazards} hazards match`,
    );
  }
  out('');
  const w = Math.max(...summary.devices.map((d) => d.name.length), 6);
  const row = (c: string[]): string =>
    `  ${c[0]!.padEnd(12)}  ${c[1]!.padEnd(w)}  ${c[2]!.padStart(5)}  ${c[3]!.padEnd(9)}  ${c[4]!.padEnd(14)}  ${c[5]!.padStart(8)}  ${c[6]!.padStart(7)}`;
  out(row(['device', 'name', 'group', 'domain', 'driver', 'tlps', 'faults']));
  for (const d of summary.devices) {
    out(
      row([d.bdf, d.name, String(d.group), d.domainType, d.driver ?? '-', String(d.tlps), String(d.faults)]),
    );
  }
  if (r.faultRows.length) {
    out('');
    const shownFaults = r.filter ? r.filter.faults : summary.faults;
    const matching = r.filter ? 'matching faults' : 'faults';
    out(shownFaults > maxFaults ? `first ${maxFaults} ${matching}:` : `${matching}:`);
    for (const f of r.faultRows.slice(0, maxFaults)) {
      const notes = [f.recording !== 'recorded' ? f.recording : '', ...f.classes].filter(Boolean).join(', ');
      out(`  [${(f.time / 1e9).toFixed(6).padStart(12)}] ${f.dmesg}${notes ? `  (${notes})` : ''}`);
    }
  }
  if (r.hazardRows.length) {
    out('');
    out(r.filter ? 'matching hazards:' : 'hazards:');
    for (const h of r.hazardRows.slice(0, maxFaults)) {
      out(
        `  [${(h.time / 1e9).toFixed(6).padStart(12)}] use-after-unmap (stale IOTLB): ${h.bdf} ${h.access} ${h.address} succeeded ${h.age} ns after ${h.unmapOrigin} unmapped it; the IOTLB was not invalidated yet`,
      );
    }
  }
  const comparison = r.comparison;
  if (comparison) {
    out('');
    out(
      `compared with ${comparison.profiles[1]}: ${comparison.differing} of ${comparison.requests} requests end differently`,
    );
    for (const x of comparison.rows) {
      out(
        `  [${(x.time / 1e9).toFixed(6).padStart(12)}] ${x.bdf} ${x.access} ${x.address}: ${comparison.profiles[0]} ${x.outcomes[0]}, ${comparison.profiles[1]} ${x.outcomes[1]}`,
      );
    }
  }
  const a = r.agreement;
  if (a) {
    out('');
    out(
      `observed  ${a.observed} faults in the trace: ${a.agree} agree, ${a.reasonDiffers} with another reason, ` +
        `${a.modelNoFault} the model did not raise, ${a.notComparable} not comparable (window ${a.windowNs / 1e6} ms)`,
    );
    out(
      `model     ${a.modelFaults} faults: ${a.reported} reported, ${a.unreported} not in the log, ` +
        `${a.notLogged} not expected in a log (compressed, suppressed or lab-only)`,
    );
    for (const d of a.disagreements.slice(0, maxFaults)) {
      const model =
        d.modelReason === null ? 'no model fault' : `model reason 0x${d.modelReason.toString(16)}`;
      out(
        `  [${(d.time / 1e9).toFixed(6).padStart(12)}] ${d.verdict}: ${d.source} ${d.bdf ?? '?'} ${d.address ?? '-'} reason 0x${d.observedReason.toString(16)} (${d.observedText}); ${model}`,
      );
    }
    for (const u of a.unreportedRows.slice(0, maxFaults)) {
      out(
        `  [${(u.time / 1e9).toFixed(6).padStart(12)}] unreported: ${u.bdf} ${u.address} model reason 0x${u.reason.toString(16)}`,
      );
    }
  }
}

/** Replays the same events under another profile and lists the DMA requests whose outcome differs. */
function compareProfiles(
  platform: Platform,
  events: ReplayEvent[],
  first: Replay,
  other: FaultProfile,
  opts: ReplayOptions,
): ProfileComparison {
  const second = new Replay(buildLab(platform), {
    iotlbMode: opts.iotlb,
    profile: other,
    keepOutcomes: true,
  });
  for (const e of events) second.apply(e);
  const dmas = events.filter((e): e is DmaRequest => e.kind === 'dma');
  const rows: ProfileComparison['rows'] = [];
  let differing = 0;
  for (let i = 0; i < dmas.length; i++) {
    const a = first.outcomes[i]!;
    const b = second.outcomes[i]!;
    if (a === b) continue;
    differing++;
    if (rows.length >= (opts.maxFaults ?? 20)) continue;
    const d = dmas[i]!;
    rows.push({
      index: i,
      time: d.time,
      bdf: faultBdf({ requesterId: d.requesterId } as Fault),
      address: `0x${d.addr.toString(16)}`,
      access: d.atomic ? 'atomic' : d.write ? 'write' : 'read',
      outcomes: [outcomeText(a), outcomeText(b)],
    });
  }
  return { profiles: [first.profile, other], requests: dmas.length, differing, rows };
}
