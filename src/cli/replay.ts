// `iommu-lab replay TRACE [--platform FILE] [--json]`: replays a trace through the engine and prints
// a summary (text, or JSON per docs/replay-json.md). Exit code: see exit-codes.ts.
import { relative } from 'node:path';
import { buildLab } from '../engine/lab';
import { Replay } from '../engine/replay';
import { faultRow, hazardRow, runSummary } from '../report/summary';
import { loadWorkspace } from '../host/inputs';
import { EXIT } from './exit-codes';

const shown = (p: string | null): string => (p ? relative(process.cwd(), p) || p : '-');

export interface ReplayOptions {
  platform?: string;
  /** 'hardware' (default): stale IOTLB entries translate until invalidated; 'strict': never */
  iotlb?: 'hardware' | 'strict';
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
  const replay = new Replay(buildLab(ws.platform), { iotlbMode: opts.iotlb });
  for (const e of ws.trace.events) replay.apply(e);
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
        },
        null,
        2,
      ),
    );
  } else {
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
  }
  return (
    (summary.faults ? EXIT.FAULTS : 0) |
    (summary.hazards ? EXIT.HAZARDS : 0) |
    (errors.length ? EXIT.ERRORS : 0)
  );
}
