// `npm run bench`: prints the lab's figures on this machine. Benchmarks are not tests: nothing here
// asserts a timing. Built to out/bench/run.js by vite.bench.config.ts (Node 20 runs no TypeScript).
import { cpus, totalmem } from 'node:os';
import { runRingBench } from './ring.bench';
import { runTranslateBench } from './translate.bench';

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `IOMMU Lab benchmarks — ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
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
for (const { name, perSecond } of await runRingBench()) {
  console.log(`  ${name.padEnd(72)} ${(perSecond / 1e6).toFixed(1).padStart(7)} M records/s`);
}
