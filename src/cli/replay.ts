// `iommu-lab replay TRACE [--platform FILE] [--json]`: replays a trace through the engine and prints
// a summary (text, or JSON per docs/replay-json.md). Exit code: see exit-codes.ts.
import { relative } from 'node:path';
import { buildLab } from '../engine/lab';
import { faultBdf, Replay, type DmaRequest, type Fault, type ReplayEvent } from '../engine/replay';
import type { Platform } from '../engine/platform/index';
import type { FaultProfile } from '../engine/vtd/translate';
import { faultRow, hazardRow, runSummary } from '../report/summary';
import { loadWorkspace } from '../host/inputs';
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
}

export async function replayCommand(
  trace: string,
  opts: ReplayOptions,
  out: (s: string) => void,
): Promise<number> {
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
  const summary = runSummary(replay, ws.trace.events.length, errors.length);
  const maxFaults = opts.maxFaults ?? 20;

  if (opts.json) {
    out(
      JSON.stringify(
        {
          ...summary,
          trace: ws.traceFile,
          platformFile: ws.platformFile,
          rejected: replay.rejected,
          errors,
          faultRows: replay.faults.slice(0, maxFaults).map(faultRow),
          hazardRows: replay.hazards.slice(0, maxFaults).map(hazardRow),
          ...(comparison ? { comparison } : {}),
        },
        null,
        2,
      ),
    );
  } else {
    out(
      `profile   ${profile}${opts.profile ? '' : ` (default for ${auto === 'qemu-7.2' ? 'QEMU captures' : 'hardware traces'})`}`,
    );
    out(`platform  ${summary.platform} (${shown(ws.platformFile)}): ${summary.devices.length} devices`);
    out(
      `trace     ${ws.traceFile}: ${summary.events} events, ${summary.tlps} DMA requests, ${errors.length} bad lines skipped`,
    );
    for (const e of errors.slice(0, 10)) out(`  ${e.file}:${e.line}: ${e.message}`);
    if (errors.length > 10) out(`  … ${errors.length - 10} more bad lines`);
    for (const r of replay.rejected.slice(0, 10)) out(`  ${r.origin}: ${r.op} → ${r.errno}: ${r.message}`);
    const rec = Object.entries(summary.recording)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    out(`faults    ${summary.faults}${rec ? ` (${rec})` : ''}`);
    out(`hazards   ${summary.hazards}`);
    out('');
    const w = Math.max(...summary.devices.map((d) => d.name.length), 6);
    const row = (c: string[]): string =>
      `  ${c[0]!.padEnd(12)}  ${c[1]!.padEnd(w)}  ${c[2]!.padStart(5)}  ${c[3]!.padEnd(9)}  ${c[4]!.padEnd(14)}  ${c[5]!.padStart(8)}  ${c[6]!.padStart(7)}`;
    out(row(['device', 'name', 'group', 'domain', 'driver', 'tlps', 'faults']));
    for (const d of summary.devices) {
      out(
        row([
          d.bdf,
          d.name,
          String(d.group),
          d.domainType,
          d.driver ?? '-',
          String(d.tlps),
          String(d.faults),
        ]),
      );
    }
    if (replay.faults.length) {
      out('');
      out(replay.faults.length > maxFaults ? `first ${maxFaults} faults:` : 'faults:');
      for (const f of replay.faults.slice(0, maxFaults)) {
        const row = faultRow(f);
        const notes = [row.recording !== 'recorded' ? row.recording : '', ...row.classes]
          .filter(Boolean)
          .join(', ');
        out(`  [${(f.time / 1e9).toFixed(6).padStart(12)}] ${row.dmesg}${notes ? `  (${notes})` : ''}`);
      }
    }
    if (replay.hazards.length) {
      out('');
      out('hazards:');
      for (const h of replay.hazards.slice(0, maxFaults).map(hazardRow)) {
        out(
          `  [${(h.time / 1e9).toFixed(6).padStart(12)}] use-after-unmap (stale IOTLB): ${h.bdf} ${h.access} ${h.address} succeeded ${h.age} ns after ${h.unmapOrigin} unmapped it; the IOTLB was not invalidated yet`,
        );
      }
    }
    if (comparison) {
      out('');
      out(
        `compared with ${comparison.profiles[1]}: ${comparison.differing} of ${comparison.requests} requests end differently`,
      );
      for (const r of comparison.rows) {
        out(
          `  [${(r.time / 1e9).toFixed(6).padStart(12)}] ${r.bdf} ${r.access} ${r.address}: ${comparison.profiles[0]} ${r.outcomes[0]}, ${comparison.profiles[1]} ${r.outcomes[1]}`,
        );
      }
    }
  }
  let code =
    (summary.faults ? EXIT.FAULTS : 0) |
    (summary.hazards ? EXIT.HAZARDS : 0) |
    (errors.length ? EXIT.ERRORS : 0);
  if (opts.report) {
    // The report replays the trace again: each cluster's page walk is taken when its first fault happens.
    const report = await replayReport(trace, {
      platform: opts.platform,
      profile,
      iotlb: opts.iotlb,
      firmware: opts.firmware,
    });
    const rc = await writeReport(report, opts.report, (s) => void process.stderr.write(`${s}\n`));
    if (rc) return rc;
    code |= report.summary.exitCode; // firmware warnings (4) and errors (8)
  }
  return code;
}

export interface ProfileComparison {
  profiles: [FaultProfile, FaultProfile];
  requests: number;
  differing: number;
  /** the first differing requests */
  rows: {
    index: number;
    time: number;
    bdf: string;
    address: string;
    access: string;
    outcomes: [string, string];
  }[];
}

const outcomeText = (reason: number): string =>
  reason === 0 ? 'translated' : `fault 0x${reason.toString(16).padStart(2, '0')}`;

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
