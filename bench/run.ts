// `npm run bench`: prints the lab's figures on this machine. Benchmarks are not tests: nothing here
// asserts a timing. Built to out/bench/run.js by vite.bench.config.ts (Node 20 runs no TypeScript),
// with the replay player's worker entries beside it (out/bench/replay-*.js).
// Environment: IOMMU_LAB_BENCH_TLPS (default 50 000 000) sizes the replay trace;
// IOMMU_LAB_BENCH_100M=1 adds the 100 M-record peak-RSS check (slow: a 3 GiB trace);
// IOMMU_LAB_BENCH_ONLY=fault-table runs only the fault table's benches (=fault-table-ui: only its
// Chromium part, with IOMMU_LAB_BENCH_UI=1); =replay runs only the end-to-end replay and =engine only the engine alone (for profiling:
// `node --cpu-prof --cpu-prof-dir=.prof out/bench/run.js` writes one profile per thread).
import { cpus, totalmem } from 'node:os';
import { steadyJit } from '../src/host/steady-jit';
import { benchTrace, runReplayBench, type ReplayBenchResult } from './replay.bench';
import { runEngineBench, type EngineBenchResult } from './engine.bench';
import { runRingBench } from './ring.bench';
import { runTranslateBench } from './translate.bench';
import { printUiFirstViewBench } from './ui-first-view';
import { printFaultTableBench } from './fault-table.bench';

steadyJit();
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `IOMMU Lab benchmarks — ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
const only = process.env.IOMMU_LAB_BENCH_ONLY;
if (only === 'fault-table' || only === 'fault-table-ui') {
  console.log('');
  console.log('Fault table:');
  await printFaultTableBench(console.log, process.env.IOMMU_LAB_BENCH_UI === '1', only === 'fault-table');
  process.exit(0);
}

/** records of the trace the engine-alone figure replays from memory (decoded first, not timed: 128 MB) */
const ENGINE_TLPS = 4_000_000;
function showEngine(e: EngineBenchResult): void {
  console.log(
    `  engine alone (one thread, the first ${(e.tlps / 1e6).toFixed(0)} M TLPs decoded into memory first): ` +
      `${(e.perSecond / 1e6).toFixed(1)} M TLP/s, ${((e.seconds * 1e9) / e.tlps).toFixed(1)} ns a TLP`,
  );
}

if (only === 'engine') {
  showEngine(
    await runEngineBench(
      await benchTrace(Number(process.env.IOMMU_LAB_BENCH_TLPS ?? 50_000_000)),
      ENGINE_TLPS,
    ),
  );
  process.exit(0);
}
if (only === 'replay') {
  const tlps = Number(process.env.IOMMU_LAB_BENCH_TLPS ?? 50_000_000);
  const r = await runReplayBench(tlps, { log: console.log, seeks: 0 });
  console.log(
    `  end to end: ${(r.perSecond / 1e6).toFixed(1)} M TLP/s (${r.tlps} TLPs in ${r.playSeconds.toFixed(2)} s), ` +
      `peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  showEngine(await runEngineBench(r.path, ENGINE_TLPS));
  process.exit(0);
}

console.log('');
console.log('VT-d translation, one thread:');
for (const { name, perSecond, iotlbHitRate } of runTranslateBench()) {
  const rate = iotlbHitRate === undefined ? '' : `  (IOTLB hit rate ${(iotlbHitRate * 100).toFixed(1)}%)`;
  console.log(`  ${name.padEnd(12)} ${(perSecond / 1e6).toFixed(2).padStart(7)} M translations/s${rate}`);
}

console.log('');
console.log(
  'SharedArrayBuffer ring between two worker threads, 32-byte TLP records (the ceiling of the player):',
);
const ring = await runRingBench();
for (const { name, perSecond } of ring) {
  console.log(`  ${name.padEnd(72)} ${(perSecond / 1e6).toFixed(1).padStart(7)} M records/s`);
}
// the player's way in: the decoder write()s runs of records, the engine reads them in place
const ceiling = ring[0]!.perSecond;

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
const show = (r: ReplayBenchResult): void => {
  if (r.generatedIn !== null)
    console.log(`  generated in ${r.generatedIn.toFixed(1)} s (${mib(r.fileBytes)})`);
  console.log(
    `  end to end: ${(r.perSecond / 1e6).toFixed(1)} M TLP/s (${r.tlps} TLPs in ${r.playSeconds.toFixed(2)} s; ` +
      `${((100 * r.perSecond) / ceiling).toFixed(0)} % of the bare ring's ${(ceiling / 1e6).toFixed(1)} M records/s); ` +
      `open ${(r.openSeconds * 1000).toFixed(0)} ms`,
  );
  console.log(`  found ${r.faults} faults, ${r.hazards} hazards (as the generator announced)`);
  const s = [...r.seeksMs].sort((a, b) => a - b);
  if (s.length) {
    console.log(
      `  seek to ${s.length} random times: median ${s[s.length >> 1]!.toFixed(0)} ms, max ${s.at(-1)!.toFixed(0)} ms`,
    );
  }
  console.log(`  peak RSS of the process so far: ${mib(r.maxRssBytes)}`);
};

console.log('');
const tlps = Number(process.env.IOMMU_LAB_BENCH_TLPS ?? 50_000_000);
console.log('Native trace replay from the file: decoder worker → ring → engine worker:');
const replayed = await runReplayBench(tlps, { log: console.log });
show(replayed);
// this VM's speed swings from run to run: two more plays (no seeks), and the median of the three
const more = [await runReplayBench(tlps, { seeks: 0 }), await runReplayBench(tlps, { seeks: 0 })];
const rates = [replayed, ...more].map((r) => r.perSecond / 1e6);
console.log(
  `  end to end, three plays: ${rates.map((x) => x.toFixed(1)).join(', ')} M TLP/s; ` +
    `median ${[...rates].sort((a, b) => a - b)[1]!.toFixed(1)}`,
);
if (process.env.IOMMU_LAB_BENCH_100M === '1') {
  console.log('');
  console.log('100 M-record trace (peak RSS check):');
  show(await runReplayBench(100_000_000, { log: console.log, seeks: 3 }));
} else {
  console.log('  (IOMMU_LAB_BENCH_100M=1 also replays a 100 M-record trace for the peak-RSS check)');
}
// after the peak-RSS figures: its records, decoded into memory, would raise the process's high-water mark
showEngine(await runEngineBench(replayed.path, ENGINE_TLPS));
if (process.env.IOMMU_LAB_BENCH_UI === '1') {
  console.log('');
  console.log('First view of a ~1 GiB native trace in Chromium (iommu-lab serve):');
  await printUiFirstViewBench(console.log);
} else {
  console.log('  (IOMMU_LAB_BENCH_UI=1 also times the first view of a ~1 GiB trace in Chromium)');
}

console.log('');
console.log('Fault table: ten million rows in the query module (src/query), then scrolling it in Chromium:');
await printFaultTableBench(console.log, process.env.IOMMU_LAB_BENCH_UI === '1');
