// Bench: a generated native trace replayed from its file through the worker player (decoder worker →
// SharedArrayBuffer ring → engine worker → Replay.applyTlpWords), end to end: TLPs per second from
// play to the end of the trace, the process's peak RSS (process.resourceUsage().maxRSS: this thread and
// both workers), and the latency of seeks to seeded random times once the trace has played (each seek
// rebuilds the model from a checkpoint, src/host/replay/engine-core.ts). Measures, asserts nothing
// but the fault and hazard counts the generator announced (a wrong replay is not a benchmark).
//
// The trace (50 M TLPs by default; IOMMU_LAB_BENCH_TLPS overrides) is generated once into the temp
// directory and reused while its generator parameters match. IOMMU_LAB_BENCH_100M=1 also generates
// and replays a 100 M-record trace (3 GiB on disk, a few minutes) for the peak-RSS check.
import { open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openNativeInput } from '../src/host/replay/native-input';
import { WorkerPlayer } from '../src/host/replay/worker-player';
import { NativeTraceFile } from '../src/host/trace-file';
import { Prng } from '../src/trace/gen/prng';
import { TraceGenerator, type GenExpected, type GenOptions } from '../src/trace/gen/index';

export interface ReplayBenchResult {
  /** the trace file replayed */
  path: string;
  tlps: number;
  /** seconds to generate the trace, or null when an earlier one was reused */
  generatedIn: number | null;
  fileBytes: number;
  /** seconds from opening the file (header, index) to the workers being ready */
  openSeconds: number;
  /** seconds from play to the end of the trace */
  playSeconds: number;
  perSecond: number;
  faults: number;
  hazards: number;
  maxRssBytes: number;
  seeksMs: number[];
}

/** Every generator parameter, so that a trace on disk can be recognised by its header alone. */
export function benchTraceOptions(tlps: number): Required<Omit<GenOptions, 'platform' | 'recordsPerChunk'>> {
  return {
    seed: 1,
    tlps,
    devices: 4,
    pasids: 0,
    workingSet: 256,
    faultRate: 0.001,
    tbitMix: 0,
    staleUnmaps: 100,
    controlEvents: 1000,
  };
}

/** The bench's trace of `tlps` TLPs: its path, generated first when absent. */
export async function benchTrace(tlps: number): Promise<string> {
  return (await traceFor(benchTraceOptions(tlps))).path;
}

/** The trace file for these options: reused when its header says it was generated with them. */
async function traceFor(
  o: ReturnType<typeof benchTraceOptions>,
): Promise<{ path: string; generatedIn: number | null; expected: GenExpected }> {
  const path = join(tmpdir(), `iommu-lab-bench-${o.tlps}-seed${o.seed}.iotrace`);
  try {
    const f = await NativeTraceFile.open(path);
    const g = f.header?.capture.generator;
    await f.close();
    if (g && f.problems.length === 0 && JSON.stringify(g.parameters) === JSON.stringify(o)) {
      return { path, generatedIn: null, expected: g.expected };
    }
  } catch {
    // absent or unreadable: generate it
  }
  const t0 = performance.now();
  const gen = new TraceGenerator(o);
  const fh = await open(path, 'w');
  try {
    for (const piece of gen.pieces()) await fh.write(piece);
  } catch (e) {
    await fh.close();
    await rm(path, { force: true });
    throw e;
  }
  await fh.close();
  return { path, generatedIn: (performance.now() - t0) / 1000, expected: gen.expected };
}

export async function runReplayBench(
  tlps: number,
  options: { seeks?: number; log?: (s: string) => void } = {},
): Promise<ReplayBenchResult> {
  const log = options.log ?? (() => undefined);
  log(`  trace: ${tlps / 1e6} M TLPs (generated once into ${tmpdir()}, reused after)…`);
  const { path, generatedIn, expected: x } = await traceFor(benchTraceOptions(tlps));
  const t0 = performance.now();
  const input = await openNativeInput(path);
  const player = await WorkerPlayer.open(input, { snapshotsPerSecond: 2 });
  const t1 = performance.now();
  try {
    const result = await player.run();
    const t2 = performance.now();
    if (result.summary.faults !== x.faults || result.summary.hazards !== x.hazards) {
      throw new Error(
        `replay bench: ${result.summary.faults} faults and ${result.summary.hazards} hazards, expected ${x.faults} and ${x.hazards}`,
      );
    }
    const seeksMs: number[] = [];
    const rng = new Prng(42);
    for (let i = 0; i < (options.seeks ?? 10); i++) {
      const t = rng.below(Math.max(1, input.endTime));
      const s0 = performance.now();
      await player.seek(t);
      seeksMs.push(performance.now() - s0);
    }
    return {
      path,
      tlps: result.summary.tlps,
      generatedIn,
      fileBytes: (await stat(path)).size,
      openSeconds: (t1 - t0) / 1000,
      playSeconds: (t2 - t1) / 1000,
      perSecond: result.summary.tlps / ((t2 - t1) / 1000),
      faults: result.summary.faults,
      hazards: result.summary.hazards,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      seeksMs,
    };
  } finally {
    await player.dispose();
  }
}
