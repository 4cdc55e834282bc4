// The SharedArrayBuffer ring across real threads. Node cannot run TypeScript in a worker, so the test
// transpiles spsc-ring.ts (which imports nothing) with TypeScript's transpileModule into a temporary
// .mjs beside a small worker script. Record i carries words (i·8 + k) mod 2^32 for k = 0..7, so the
// consumer checks every word of every record against that formula, in order. The wait/notify tests
// drive one end from this thread and watch the ring's shared counters (ringState): deterministic,
// whatever the scheduling, because each step waits for the counter that proves the previous one.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRing, RingConsumer, RingProducer, ringState, type RingState } from './spsc-ring';

const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
import { RingConsumer, RingProducer } from './spsc-ring.mjs';
const { role, sab, count, publishEvery, batch, pollMs, polls } = workerData;
if (role === 'produce') {
  const p = new RingProducer(sab, { publishEvery, pollMs, polls });
  const rw = p.recordWords, words = p.words;
  for (let i = 0; i < count; i++) {
    const at = p.claim();
    for (let k = 0; k < rw; k++) words[at + k] = (i * rw + k) >>> 0;
    p.commit();
  }
  p.close();
  parentPort.postMessage({ produced: count });
} else if (role === 'produce-batch') {
  const p = new RingProducer(sab, { publishEvery });
  const rw = p.recordWords, src = new Uint32Array(batch * rw);
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    for (let j = 0; j < n * rw; j++) src[j] = (i * rw + j) >>> 0;
    p.write(src, 0, n);
  }
  p.close();
  parentPort.postMessage({ produced: count });
} else if (role === 'consume') {
  const c = new RingConsumer(sab);
  const rw = c.recordWords, words = c.words;
  let i = 0, firstBad = -1, n;
  while ((n = c.acquire()) > 0) {
    for (let j = 0; j < n; j++, i++) {
      const at = c.slot(j);
      for (let k = 0; k < rw; k++) if (words[at + k] !== ((i * rw + k) >>> 0) && firstBad < 0) firstBad = i;
    }
    c.release(n);
  }
  parentPort.postMessage({ consumed: i, firstBad });
} else if (role === 'consume-batch') {
  const c = new RingConsumer(sab);
  const rw = c.recordWords, dst = new Uint32Array(batch * rw);
  let i = 0, firstBad = -1, n;
  while ((n = c.read(dst, 0, batch)) > 0) {
    for (let j = 0; j < n * rw; j++) if (dst[j] !== ((i * rw + j) >>> 0) && firstBad < 0) firstBad = i + Math.floor(j / rw);
    i += n;
  }
  parentPort.postMessage({ consumed: i, firstBad });
}
`;

let dir: string;
const workers: Worker[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iommu-lab-ring-'));
  const source = await readFile(new URL('./spsc-ring.ts', import.meta.url), 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  await writeFile(join(dir, 'spsc-ring.mjs'), js);
  await writeFile(join(dir, 'worker.mjs'), WORKER);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
  await rm(dir, { recursive: true, force: true });
});

interface Result {
  produced?: number;
  consumed?: number;
  firstBad?: number;
}

/** Runs one role in a worker thread; resolves with its message. */
function run(role: string, sab: SharedArrayBuffer, extra: Record<string, number> = {}): Promise<Result> {
  const w = new Worker(join(dir, 'worker.mjs'), { workerData: { role, sab, ...extra } });
  workers.push(w);
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker ${role} exited (${code}) without a result`)));
  });
}

/** Polls the ring's shared words until `ok` holds (a guard deadline fails the test instead of hanging). */
async function until(sab: SharedArrayBuffer, ok: (s: RingState) => boolean): Promise<RingState> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = ringState(sab);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`ring never reached the state: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const wordOf = (i: number, k: number) => (i * 8 + k) >>> 0;

describe('SPSC ring across two threads', () => {
  it('delivers every record in order, wrapping round a small ring thousands of times', async () => {
    // 200 003 records through 64 slots: ⌊200003 / 64⌋ = 3125 full turns
    const sab = createRing(64);
    const [p, c] = await Promise.all([run('produce', sab, { count: 200_003 }), run('consume', sab)]);
    expect(p).toEqual({ produced: 200_003 });
    expect(c).toEqual({ consumed: 200_003, firstBad: -1 });
    expect(ringState(sab)).toMatchObject({ written: 200_003, released: 200_003, closed: true });
  });

  it('delivers every record with a two-slot ring publishing each record (most waiting)', async () => {
    const sab = createRing(2);
    const [, c] = await Promise.all([
      run('produce', sab, { count: 20_001, publishEvery: 1 }),
      run('consume', sab),
    ]);
    expect(c).toEqual({ consumed: 20_001, firstBad: -1 });
  });

  it('copies batches in and out across the wrap (batches of 5 and 7 through 16 slots)', async () => {
    const sab = createRing(16);
    const [, c] = await Promise.all([
      run('produce-batch', sab, { count: 10_007, batch: 5 }),
      run('consume-batch', sab, { batch: 7 }),
    ]);
    expect(c).toEqual({ consumed: 10_007, firstBad: -1 });
  });

  it('makes the consumer wait on an empty ring until the producer publishes', async () => {
    const sab = createRing(8);
    const consumer = run('consume', sab);
    // the consumer finds the ring empty and goes to sleep: once
    await until(sab, (s) => s.consumerWaits === 1);
    const p = new RingProducer(sab, { publishEvery: 4 });
    const at = p.claim();
    for (let k = 0; k < 8; k++) p.words[at + k] = wordOf(0, k);
    p.commit(); // 1 of 4: not yet published
    expect(ringState(sab)).toMatchObject({ written: 0, consumerWoken: 0 });
    p.publish(); // publishes and notifies the sleeping consumer
    expect(ringState(sab)).toMatchObject({ written: 1, consumerWoken: 1 });
    // it takes the record, finds the ring empty again and sleeps a second time
    await until(sab, (s) => s.released === 1 && s.consumerWaits === 2);
    p.close(); // notifies it again: it drains nothing and ends
    expect(await consumer).toEqual({ consumed: 1, firstBad: -1 });
    expect(ringState(sab)).toMatchObject({ consumerWaits: 2, consumerWoken: 2, producerWaits: 0 });
  });

  it('makes the producer wait on a full ring until the consumer releases', async () => {
    const sab = createRing(4);
    const producer = run('produce', sab, { count: 6, publishEvery: 4 });
    // 4 slots: the producer fills them, publishes before sleeping, and sleeps on the 5th record
    const full = await until(sab, (s) => s.producerWaits === 1);
    expect(full).toMatchObject({ written: 4, released: 0, producerWaiting: true });
    const c = new RingConsumer(sab);
    expect(c.available()).toBe(4);
    for (let i = 0; i < 4; i++) {
      for (let k = 0; k < 8; k++) expect(c.words[c.slot(i) + k]).toBe(wordOf(i, k));
    }
    c.release(4); // frees the ring and notifies the producer
    expect(ringState(sab)).toMatchObject({ released: 4, producerWoken: 1 });
    expect(await producer).toEqual({ produced: 6 });
    // records 4 and 5 fit without waiting again; close() published them
    expect(ringState(sab)).toMatchObject({ written: 6, closed: true, producerWaits: 1 });
    expect(c.available()).toBe(2);
    expect([c.words[c.slot(0)], c.words[c.slot(1) + 7]]).toEqual([wordOf(4, 0), wordOf(5, 7)]);
    c.release(2);
    expect(c.acquire()).toBe(0); // closed and drained: returns at once
  });

  it('lets a napping producer find room by itself: the consumer never notifies it', async () => {
    const sab = createRing(4);
    // naps of 5 ms, up to 10 000 of them: the ring is freed long before they run out
    const producer = run('produce', sab, { count: 6, publishEvery: 4, pollMs: 5, polls: 10_000 });
    const full = await until(sab, (s) => s.written === 4);
    expect(full).toMatchObject({ released: 0, producerWaiting: false, producerWaits: 0 });
    new RingConsumer(sab).release(4); // the flag is down: no notify
    expect(await producer).toEqual({ produced: 6 });
    expect(ringState(sab)).toMatchObject({ written: 6, producerWaits: 0, producerWoken: 0 });
  });

  it('puts a producer to sleep once its naps are over, and the consumer wakes it', async () => {
    const sab = createRing(4);
    const producer = run('produce', sab, { count: 6, publishEvery: 4, pollMs: 1, polls: 3 });
    const asleep = await until(sab, (s) => s.producerWaits === 1);
    expect(asleep).toMatchObject({ written: 4, released: 0, producerWaiting: true });
    new RingConsumer(sab).release(4);
    expect(ringState(sab)).toMatchObject({ producerWoken: 1 });
    expect(await producer).toEqual({ produced: 6 });
  });

  it('calls onPublish just before records become visible, and write() can leave them for later', () => {
    const sab = createRing(32); // room for every record: nobody consumes here
    const visible = (): number => ringState(sab).written;
    const seen: number[] = [];
    const p = new RingProducer(sab, { publishEvery: 8, onPublish: () => seen.push(visible()) });
    const src = new Uint32Array(6 * 8);
    p.write(src, 0, 5, false);
    expect([visible(), seen]).toEqual([0, []]);
    p.write(src, 40, 1, false);
    p.publish(); // onPublish runs while the consumer still sees none of them
    expect([visible(), seen]).toEqual([6, [0]]);
    p.publish(); // nothing pending: no call
    p.write(src, 0, 3); // published at once
    expect([visible(), seen]).toEqual([9, [0, 6]]);
    p.write(src, 0, 6, false);
    expect([visible(), seen]).toEqual([9, [0, 6]]);
    p.write(src, 0, 3, false); // the 8th record since the last publication publishes the batch
    expect([visible(), seen]).toEqual([18, [0, 6, 9]]);
    p.close();
    expect([visible(), seen]).toEqual([18, [0, 6, 9]]);
  });

  it('refuses a capacity that is not a power of two', () => {
    expect(() => createRing(6)).toThrow(RangeError);
    expect(() => createRing(1)).toThrow(RangeError);
  });
});
