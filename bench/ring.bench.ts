// Bench: the bare ceiling of the SharedArrayBuffer SPSC ring (src/engine/ring/spsc-ring.ts) between
// two worker threads, in 32-byte records (8 uint32 words) per second. The producer sends a prepared
// block of 4096 distinct records over and over (so making records costs nothing); the consumer reads
// the first and last word of every record, in place (acquire/slot/release) or copied out (read), so
// every record's cache line crosses from one core to the other, and folds them into a checksum that is
// compared with the one computed here: the work cannot be optimised away, and a ring that loses,
// repeats or reorders records fails the bench. (Summing all 8 words instead measures the consumer:
// about 60 M/s here.) Ring: 16 384 slots (512 KiB, within one core's L2). Three ways in:
//   batch   producer write() of 256-record batches (copied run by run), consumer in place
//   record  producer claim() + 8 word stores + commit() per record, consumer in place
//   copy    producer write(), consumer read() of 256-record batches into its own array
// Both threads start together on a shared flag once loaded: start-up is not timed.
//
// Node cannot start a worker on TypeScript, so runRingBench first bundles this very file with Vite's
// build() (SSR, node20) into a temporary .mjs and starts both workers on it; a worker runs its role
// when workerData.ringBenchRole is set. The source is import.meta.url while this module runs as
// TypeScript (vitest, a TS runner), else bench/ring.bench.ts under the working directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createRing, RingConsumer, RingProducer } from '../src/engine/ring/spsc-ring';

const RECORD_WORDS = 8;
const BLOCK = 4096;
const BATCH = 256;
const RING_CAPACITY = 16384;

type Mode = 'batch' | 'record' | 'copy';

interface RoleData {
  ringBenchRole: 'produce' | 'consume';
  mode: Mode;
  sab: SharedArrayBuffer;
  start: SharedArrayBuffer;
  /** a multiple of BLOCK */
  records: number;
}

/** BLOCK records whose words are all different: word k of record i is i·8 + k. */
function makeBlock(): Uint32Array {
  const b = new Uint32Array(BLOCK * RECORD_WORDS);
  for (let j = 0; j < b.length; j++) b[j] = j;
  return b;
}

/** The checksum the consumer must report: the wrapping sum of the first and last word of each record. */
function expectedChecksum(records: number): number {
  const block = makeBlock();
  let blockSum = 0;
  for (let i = 0; i < BLOCK; i++) blockSum = (blockSum + block[i * 8]! + block[i * 8 + 7]!) | 0;
  let sum = 0;
  for (let b = 0; b < records / BLOCK; b++) sum = (sum + blockSum) | 0;
  return sum;
}

function waitForStart(start: SharedArrayBuffer): void {
  const flag = new Int32Array(start);
  Atomics.add(flag, 1, 1); // one more thread ready
  Atomics.wait(flag, 0, 0);
}

function produce(d: RoleData): void {
  const p = new RingProducer(d.sab);
  const block = makeBlock();
  const words = p.words;
  waitForStart(d.start);
  if (d.mode === 'record') {
    for (let i = 0; i < d.records; i++) {
      const at = p.claim();
      const from = (i & (BLOCK - 1)) * RECORD_WORDS;
      for (let k = 0; k < RECORD_WORDS; k++) words[at + k] = block[from + k]!;
      p.commit();
    }
  } else {
    for (let i = 0; i < d.records; i += BATCH) p.write(block, (i & (BLOCK - 1)) * RECORD_WORDS, BATCH);
  }
  p.close();
  parentPort!.postMessage({ done: true });
}

function consume(d: RoleData): void {
  const c = new RingConsumer(d.sab);
  const words = c.words;
  let sum = 0;
  let count = 0;
  let n: number;
  if (d.mode === 'copy') {
    const dst = new Uint32Array(BATCH * RECORD_WORDS);
    waitForStart(d.start);
    while ((n = c.read(dst, 0, BATCH)) > 0) {
      for (let j = 0; j < n * RECORD_WORDS; j += RECORD_WORDS) sum = (sum + dst[j]! + dst[j + 7]!) | 0;
      count += n;
    }
  } else {
    waitForStart(d.start);
    while ((n = c.acquire()) > 0) {
      for (let j = 0; j < n; j++) {
        const at = c.slot(j);
        sum = (sum + words[at]! + words[at + 7]!) | 0;
      }
      count += n;
      c.release(n);
    }
  }
  parentPort!.postMessage({ done: true, count, sum });
}

if (!isMainThread && (workerData as Partial<RoleData> | null)?.ringBenchRole) {
  const d = workerData as RoleData;
  if (d.ringBenchRole === 'produce') produce(d);
  else consume(d);
}

async function buildWorker(outDir: string): Promise<string> {
  const here = fileURLToPath(import.meta.url);
  const source = here.endsWith('.ts') ? here : resolve('bench/ring.bench.ts');
  const { build } = await import('vite');
  await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      ssr: source,
      outDir,
      emptyOutDir: false,
      target: 'node20',
      minify: false,
      rollupOptions: { output: { format: 'es', entryFileNames: 'ring-bench-worker.mjs' } },
    },
  });
  return join(outDir, 'ring-bench-worker.mjs');
}

function started(w: Worker): Promise<{ done: boolean; count?: number; sum?: number }> {
  return new Promise((res, rej) => {
    w.once('message', res);
    w.once('error', rej);
    w.once('exit', (code) => rej(new Error(`ring bench worker exited (${code}) early`)));
  });
}

async function measure(script: string, mode: Mode, records: number, checksum: number): Promise<number> {
  const sab = createRing(RING_CAPACITY, RECORD_WORDS);
  const start = new SharedArrayBuffer(8);
  const flag = new Int32Array(start);
  const data = { sab, start, records, mode };
  const producer = new Worker(script, { workerData: { ...data, ringBenchRole: 'produce' }, execArgv: [] });
  const consumer = new Worker(script, { workerData: { ...data, ringBenchRole: 'consume' }, execArgv: [] });
  try {
    const results = Promise.all([started(producer), started(consumer)]);
    while (Atomics.load(flag, 1) < 2) await new Promise((r) => setTimeout(r, 1));
    const t0 = performance.now();
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const [, c] = await results;
    const seconds = (performance.now() - t0) / 1000;
    if (c.count !== records || c.sum !== checksum) {
      throw new Error(`ring bench: consumer saw ${c.count} records, checksum ${c.sum}; expected ${checksum}`);
    }
    return records / seconds;
  } finally {
    await Promise.all([producer.terminate(), consumer.terminate()]);
  }
}

/** Records per second through the ring between two worker threads (best of `runs` for each way in). */
export async function runRingBench(
  options: { records?: number; runs?: number } = {},
): Promise<{ name: string; perSecond: number }[]> {
  const records = Math.ceil((options.records ?? 1 << 26) / BLOCK) * BLOCK;
  const runs = options.runs ?? 3;
  const checksum = expectedChecksum(records);
  const dir = await mkdtemp(join(tmpdir(), 'iommu-lab-ring-bench-'));
  try {
    const script = await buildWorker(dir);
    const out: { name: string; perSecond: number }[] = [];
    for (const [mode, name] of [
      ['batch', `ring: 32-byte records, write() ${BATCH} at a time → read in place (2 workers)`],
      ['record', 'ring: 32-byte records, claim()/commit() each → read in place (2 workers)'],
      ['copy', `ring: 32-byte records, write() → read() ${BATCH} at a time (2 workers)`],
    ] as const) {
      let best = 0;
      for (let r = 0; r < runs; r++) best = Math.max(best, await measure(script, mode, records, checksum));
      out.push({ name, perSecond: best });
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
