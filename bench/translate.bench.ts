// Throughput of the VT-d translation hot loop (src/engine/vtd/translate.ts), single thread.
// runTranslateBench() builds a realistic legacy-mode setup: 4 devices, each with its own 4-level second-level
// table (sl-pagetable.ts, 4 KiB pages only so every walk goes 4 levels) mapping 8192 scattered pages, context
// entries written with structures.ts. Request streams are pre-generated in typed arrays; each case runs for
// at least MIN_MS after a warm-up and reports translations per second:
//   iotlb-hit   hardware-mode caches, a working set of 1024 pages in the 4096-entry 4-way IOTLB;
//   walk-4lvl   IOTLB disabled, context cache on: 4 second-level entries read on every request;
//   walk-miss   a 16-entry IOTLB that misses on every request (lookup + 4-level walk + fill with eviction);
//   walk-full   no caches at all: root + context + 4 second-level entries read on every request;
//   mixed-1pct  hardware-mode caches, 32768 pages (IOTLB hits and misses) and 1% requests to unmapped pages.
// Timing uses Date.now() over ≥ 1 s runs (millisecond resolution is ample at that length).

import { PhysMem } from '../src/engine/mem/phys-mem';
import { VtdCaches } from '../src/engine/vtd/iotlb';
import { SlPageTable } from '../src/engine/vtd/sl-pagetable';
import { VtdTableBuilder, makeUnitRegs } from '../src/engine/vtd/structures';
import {
  VtdTranslator,
  createRequest,
  createResult,
  type TranslatorOptions,
} from '../src/engine/vtd/translate';

export interface BenchResult {
  name: string;
  perSecond: number;
  /** IOTLB hits / lookups during the timed runs (absent without caches). */
  iotlbHitRate?: number;
}

const MIN_MS = 1000;
const STREAM = 1 << 16;
const DEVICES = [0x0100, 0x0200, 0x0300, 0x0008];
const PAGES_PER_DEVICE = 8192;
const IOVA_BASE = 0x10_0000_0000; // 64 GiB: bits in every level's index

interface Setup {
  mem: PhysMem;
  builder: VtdTableBuilder;
}

function buildSetup(): Setup {
  const mem = new PhysMem();
  const builder = new VtdTableBuilder(mem, 'legacy');
  DEVICES.forEach((sid, d) => {
    const pt = new SlPageTable(mem, { levels: 4, superpages: { mib2: false, gib1: false } });
    // Scattered mappings: runs of 8 pages at strided IOVAs, PAs elsewhere.
    for (let i = 0; i < PAGES_PER_DEVICE; i += 8) {
      const iova = BigInt(IOVA_BASE) + BigInt(i) * 0x1000n * 3n;
      const pa = 0x2_0000_0000n + BigInt(d) * 0x1000_0000n + BigInt(i) * 0x1000n;
      const r = pt.map(iova, pa, 8n * 0x1000n, { read: true, write: true });
      if (!r.ok) throw new Error(`bench setup: ${r.reason}`);
    }
    builder.setContext(sid, { slptptr: pt.root, did: d + 1, aw: 2 });
  });
  return { mem, builder };
}

/** Address of mapped page k (0 ≤ k < PAGES_PER_DEVICE) as laid out by buildSetup. */
function mappedPage(k: number): number {
  const run = Math.floor(k / 8) * 8;
  return IOVA_BASE + run * 0x1000 * 3 + (k - run) * 0x1000;
}

interface Stream {
  sid: Uint16Array;
  hi: Uint32Array;
  lo: Uint32Array;
  access: Uint8Array;
}

function makeStream(pages: number, faultEvery: number, seed: number): Stream {
  let x = seed >>> 0 || 1;
  const rnd = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const s: Stream = {
    sid: new Uint16Array(STREAM),
    hi: new Uint32Array(STREAM),
    lo: new Uint32Array(STREAM),
    access: new Uint8Array(STREAM),
  };
  for (let i = 0; i < STREAM; i++) {
    const dev = Math.floor(rnd() * DEVICES.length);
    let addr = mappedPage(Math.floor(rnd() * (pages / DEVICES.length))) + Math.floor(rnd() * 4032);
    if (faultEvery > 0 && i % faultEvery === 0) addr += 0x1000 * 8; // the gap after a run: unmapped
    s.sid[i] = DEVICES[dev];
    s.hi[i] = Math.floor(addr / 2 ** 32);
    s.lo[i] = addr % 2 ** 32;
    s.access[i] = rnd() < 0.3 ? 1 : 0;
  }
  return s;
}

function run(name: string, setup: Setup, options: TranslatorOptions, stream: Stream): BenchResult {
  const regs = makeUnitRegs(setup.builder.rootTable, 'legacy');
  const tr = new VtdTranslator(setup.mem, regs, options);
  const req = createRequest({ len: 64 });
  const out = createResult();
  const { sid, hi, lo, access } = stream;
  const pass = (): number => {
    let faults = 0;
    for (let i = 0; i < STREAM; i++) {
      req.sid = sid[i];
      req.addrHi = hi[i];
      req.addrLo = lo[i];
      req.access = access[i];
      faults += tr.translate(req, out);
    }
    return faults;
  };
  for (let w = 0; w < 20; w++) pass();
  const tlb = options.caches?.iotlb;
  const hits0 = tlb?.hits ?? 0;
  const misses0 = tlb?.misses ?? 0;
  let n = 0;
  let sink = 0;
  const t0 = Date.now();
  let elapsed: number;
  do {
    sink += pass();
    n += STREAM;
    elapsed = Date.now() - t0;
  } while (elapsed < MIN_MS);
  if (sink < 0) throw new Error('unreachable');
  const result: BenchResult = { name, perSecond: Math.round((n / elapsed) * 1000) };
  if (tlb !== undefined && options.caches?.iotlbEnabled) {
    const hits = tlb.hits - hits0;
    result.iotlbHitRate = hits / (hits + tlb.misses - misses0);
  }
  return result;
}

/** Runs every case (or only the named ones) and returns translations per second for each. */
export function runTranslateBench(only?: readonly string[]): BenchResult[] {
  const setup = buildSetup();
  const all = DEVICES.length * PAGES_PER_DEVICE;
  const cases: [string, () => TranslatorOptions, () => Stream][] = [
    ['iotlb-hit', () => ({ caches: new VtdCaches({ mode: 'hardware' }) }), () => makeStream(1024, 0, 1)],
    ['walk-4lvl', () => ({ caches: new VtdCaches({ iotlb: false }) }), () => makeStream(all, 0, 2)],
    ['walk-miss', () => ({ caches: new VtdCaches({ iotlbEntries: 16 }) }), () => makeStream(all, 0, 3)],
    ['walk-full', () => ({ caches: null }), () => makeStream(all, 0, 5)],
    ['mixed-1pct', () => ({ caches: new VtdCaches({ mode: 'hardware' }) }), () => makeStream(all, 100, 4)],
  ];
  return cases
    .filter(([name]) => only === undefined || only.includes(name))
    .map(([name, options, stream]) => run(name, setup, options(), stream()));
}
