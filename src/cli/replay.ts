// `iommu-lab replay TRACE [--platform FILE] [--json]`: replays a trace through the engine and prints
// a summary (text, or JSON per docs/replay-json.md). Exit code: see exit-codes.ts.
import { relative } from 'node:path';
import { Replay } from '../engine/replay';
import { faultRow, runSummary } from '../report/summary';
import { loadWorkspace } from '../host/inputs';
import { EXIT } from './exit-codes';

const shown = (p: string | null): string => (p ? relative(process.cwd(), p) || p : '-');

export interface ReplayOptions {
  platform?: string;
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
  const replay = new Replay(ws.platform);
  for (const e of ws.trace.events) replay.apply(e);
  const errors = ws.trace.errors;
  const summary = runSummary(ws.platform, replay, ws.trace.events.length, errors.length);
  const maxFaults = opts.maxFaults ?? 20;

  if (opts.json) {
    out(
      JSON.stringify(
        {
          ...summary,
          trace: ws.traceFile,
          platformFile: ws.platformFile,
          rejectedControlEvents: replay.rejectedControl,
          errors,
          faultRows: replay.faults.slice(0, maxFaults).map(faultRow),
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
    if (replay.rejectedControl)
      out(`  ${replay.rejectedControl} map/unmap events named devices the platform lacks`);
    out(`faults    ${summary.faults}`);
    out('');
    const w = Math.max(...summary.devices.map((d) => d.name.length), 6);
    out(
      `  ${'device'.padEnd(12)}  ${'name'.padEnd(w)}  ${'domain'.padEnd(8)}  ${'tlps'.padStart(8)}  ${'faults'.padStart(7)}`,
    );
    for (const d of summary.devices) {
      out(
        `  ${d.bdf.padEnd(12)}  ${d.name.padEnd(w)}  ${d.domainType.padEnd(8)}  ${String(d.tlps).padStart(8)}  ${String(d.faults).padStart(7)}`,
      );
    }
    if (replay.faults.length) {
      out('');
      out(replay.faults.length > maxFaults ? `first ${maxFaults} faults:` : 'faults:');
      for (const f of replay.faults.slice(0, maxFaults)) {
        out(`  [${(f.time / 1e9).toFixed(6).padStart(12)}] ${faultRow(f).dmesg}`);
      }
    }
  }
  return (summary.faults ? EXIT.FAULTS : 0) | (errors.length ? EXIT.ERRORS : 0);
}
