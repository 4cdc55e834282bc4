// Bench: the fault table. In Node (always): ten million synthetic fault rows in the query module's
// columnar store (src/query), timed to fill, filter, sort (by address, time, device) and extend a cached
// index as rows arrive. In Chromium (IOMMU_LAB_BENCH_UI=1, slow: a generated trace of about ten million
// faults is written once to the temp directory and replayed by `iommu-lab serve`): frame times while
// the fault table is scrolled programmatically, from requestAnimationFrame deltas (p50, p95, max).
// Asserts nothing. The Chromium part needs `npm run build` and /usr/bin/chromium (CHROMIUM_PATH).
import { existsSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeTraceFile } from '../src/host/trace-file';
import { FaultColumns } from '../src/query/fault-columns';
import { FaultQuery } from '../src/query/query';
import { TraceGenerator } from '../src/trace/gen/index';
import { launchBrowser, serve } from '../test/e2e/browser';

const ms = (t0: number): number => performance.now() - t0;

/** Node: the query module on `rows` synthetic rows. */
export function runFaultQueryBench(rows = 10_000_000): { name: string; ms: number; result: string }[] {
  const out: { name: string; ms: number; result: string }[] = [];
  const store = new FaultColumns(1 << 16);
  let x = 1;
  const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  let t0 = performance.now();
  const f = {
    time: 0,
    requesterId: 0,
    pasid: null as number | null,
    write: false,
    pageAddr: 0,
    reason: 5,
    stage: 'second-level',
    recording: 'recorded' as const,
    classes: [] as string[],
  };
  for (let i = 0; i < rows; i++) {
    const r = rnd();
    f.time = i * 20 + (r & 15);
    f.requesterId = (r >>> 4) & 7;
    f.pasid = r & 0x100 ? null : (r >>> 9) & 3;
    f.write = (r & 0x800) !== 0;
    f.pageAddr = 0x20_0000_0000 + ((rnd() >>> 8) & 0xffff) * 4096;
    f.reason = r & 0x1000 ? 0x101 : f.write ? 5 : 6;
    store.appendFault(f);
  }
  out.push({ name: `fill ${rows / 1e6} M rows`, ms: ms(t0), result: `${store.length} rows` });
  const q = new FaultQuery(store);
  const spec = (filter: string, key?: 'address' | 'time' | 'bdf', descending = false) => ({
    filter,
    sort: key ? { key, descending } : undefined,
    offset: 0,
    limit: 100,
  });
  const time = (name: string, s: ReturnType<typeof spec>): void => {
    t0 = performance.now();
    const r = q.run(s);
    out.push({ name, ms: ms(t0), result: `${r.total} rows` });
  };
  time('filter rid == 00:00.1 && reason == 0x05', spec('rid == 00:00.1 && reason == 0x05'));
  time('  the same again (cached)', spec('rid == 00:00.1 && reason == 0x05'));
  time('filter time >= 50ms && time < 150ms', spec('time >= 50ms && time < 150ms'));
  time('filter + sort by address', spec('reason == 0x05 || reason == 0x06', 'address'));
  time('sort every row by address', spec('', 'address'));
  time('sort every row by time, descending', spec('', 'time', true));
  time('sort every row by device', spec('', 'bdf'));
  for (let i = 0; i < 100_000; i++) {
    f.time = (rows + i) * 20;
    f.pageAddr = 0x20_0000_0000 + (i & 0xffff) * 4096;
    store.appendFault(f);
  }
  time('+100 k rows: extend the address index', spec('', 'address'));
  time('+100 k rows: extend the filtered index', spec('rid == 00:00.1 && reason == 0x05'));
  return out;
}

function uiTraceOptions(tlps: number) {
  return {
    seed: 11,
    tlps,
    devices: 4,
    pasids: 0,
    workingSet: 256,
    faultRate: 0.5,
    tbitMix: 0,
    staleUnmaps: 0,
    controlEvents: 0,
  };
}

async function uiTrace(tlps: number): Promise<{ path: string; generatedIn: number | null }> {
  const o = uiTraceOptions(tlps);
  const path = join(tmpdir(), `iommu-lab-bench-faults-${tlps}-seed${o.seed}.iotrace`);
  try {
    const file = await NativeTraceFile.open(path);
    const g = file.header?.capture.generator;
    await file.close();
    if (g && file.problems.length === 0 && JSON.stringify(g.parameters) === JSON.stringify(o))
      return { path, generatedIn: null };
  } catch {
    // absent or unreadable: generate it
  }
  const t0 = performance.now();
  const fh = await open(path, 'w');
  try {
    for (const piece of new TraceGenerator(o).pieces()) await fh.write(piece);
  } catch (e) {
    await fh.close();
    await rm(path, { force: true });
    throw e;
  }
  await fh.close();
  return { path, generatedIn: ms(t0) / 1000 };
}

/**
 * Runs in the page: scrolls the fault grid every frame for `frames` frames. Returns the frame deltas
 * (requestAnimationFrame to requestAnimationFrame), the main thread's long tasks (> 50 ms, from a
 * PerformanceObserver) while it scrolled, and per frame the time from the grid's scroll event to the
 * next requestAnimationFrame callback: the table's own synchronous update (its scroll handler and the
 * Svelte flush it causes; page answers from the host land in tasks of their own, counted as long tasks
 * when they are long), and how many shown rows were still placeholders when the frame was painted.
 */
const SCROLL_SCRIPT = (mode: 'steady' | 'jump', frames: number): string => `
new Promise((resolve) => {
  const grid = document.querySelector('[data-testid="fault-grid"]');
  const max = grid.scrollHeight - grid.clientHeight;
  const deltas = [];
  const updates = [];
  const longTasks = [];
  let blank = 0;
  const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) longTasks.push(e.duration); });
  try { obs.observe({ type: 'longtask', buffered: false }); } catch {}
  let scrolledAt = -1;
  const onScroll = () => { if (scrolledAt < 0) scrolledAt = performance.now(); };
  window.addEventListener('scroll', onScroll, true);
  let last = performance.now();
  let n = 0;
  let seed = 7;
  function frame(now) {
    if (scrolledAt >= 0) updates.push(performance.now() - scrolledAt);
    scrolledAt = -1;
    deltas.push(now - last);
    last = now;
    if (n > 2) for (const r of grid.querySelectorAll('[data-testid="fault-row"]')) if (r.childElementCount === 1 && !r.querySelector('[data-testid="fault-row-skipped"]')) blank++;
    if (${JSON.stringify(mode)} === 'steady') grid.scrollTop = Math.min(max, grid.scrollTop + 3 * grid.clientHeight);
    else { seed = (seed * 1103515245 + 12345) % 2147483648; grid.scrollTop = (seed / 2147483648) * max; }
    if (++n < ${frames}) requestAnimationFrame(frame);
    else setTimeout(() => {
      obs.disconnect();
      window.removeEventListener('scroll', onScroll, true);
      resolve({ deltas: deltas.slice(2), updates: updates.slice(2), longTasks, blank });
    }, 100);
  }
  requestAnimationFrame(frame);
})`;

export interface FrameFigures {
  mode: string;
  p50: number;
  p95: number;
  max: number;
  count: number;
  /** frames longer than 17 ms (a 60 Hz frame missed) */
  dropped: number;
  longTasks: number;
  longTaskMs: number;
  /** the table's synchronous update per frame (scroll event to the next rAF), ms */
  updateP50: number;
  updateP95: number;
  updateMax: number;
  /** placeholder rows seen at frame time, summed over the frames */
  blankRows: number;
}

export interface FaultTableUiResult {
  rows: number;
  generatedIn: number | null;
  replaySeconds: number;
  frames: FrameFigures[];
}

const pct = (d: number[], p: number): number =>
  d.length ? d[Math.min(d.length - 1, Math.floor(p * d.length))]! : 0;

export async function runFaultTableUiBench(
  tlps = Number(process.env['IOMMU_LAB_BENCH_UI_FAULT_TLPS'] ?? 20_000_000),
): Promise<FaultTableUiResult | string> {
  if (!existsSync('out/cli/index.js') || !existsSync('out/renderer/index.html'))
    return 'skipped: run `npm run build` first (serve needs out/cli and out/renderer)';
  const trace = await uiTrace(tlps);
  const served = await serve([trace.path]);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    await page.goto(served.url);
    const t0 = performance.now();
    await page.getByRole('button', { name: 'Play' }).click();
    await page
      .getByTestId('replay-status')
      .filter({ hasText: /^done$/ })
      .waitFor({ timeout: 30 * 60_000 });
    const replaySeconds = ms(t0) / 1000;
    await page.locator('[data-testid="fault-row"] .c-addr').first().waitFor();
    const rows = Number(await page.getByTestId('fault-count').textContent());
    const frames: FrameFigures[] = [];
    // IOMMU_LAB_BENCH_TRACE=file.json: a Chromium performance trace of the scrolling (chrome://tracing)
    const tracePath = process.env['IOMMU_LAB_BENCH_TRACE'];
    if (tracePath) await browser.startTracing(page, { path: tracePath, screenshots: false });
    for (const mode of ['steady', 'jump'] as const) {
      const r = (await page.evaluate(SCROLL_SCRIPT(mode, 300))) as {
        deltas: number[];
        updates: number[];
        longTasks: number[];
        blank: number;
      };
      const d = r.deltas.sort((a, b) => a - b);
      const u = r.updates.sort((a, b) => a - b);
      frames.push({
        mode,
        p50: pct(d, 0.5),
        p95: pct(d, 0.95),
        max: d[d.length - 1]!,
        count: d.length,
        dropped: d.filter((x) => x > 17).length,
        longTasks: r.longTasks.length,
        longTaskMs: r.longTasks.reduce((a, b) => a + b, 0),
        updateP50: pct(u, 0.5),
        updateP95: pct(u, 0.95),
        updateMax: u[u.length - 1] ?? 0,
        blankRows: r.blank,
      });
    }
    if (tracePath) await browser.stopTracing();
    return { rows, generatedIn: trace.generatedIn, replaySeconds, frames };
  } finally {
    await browser.close();
    await served.stop();
  }
}

/** Prints the Node figures, and the Chromium ones when `ui`. */
export async function printFaultTableBench(
  log: (s: string) => void,
  ui: boolean,
  node = true,
): Promise<void> {
  if (node)
    for (const r of runFaultQueryBench())
      log(`  ${r.name.padEnd(44)} ${r.ms.toFixed(0).padStart(6)} ms  (${r.result})`);
  if (!ui) {
    log('  (IOMMU_LAB_BENCH_UI=1 also times frames while scrolling a ~10 M-row fault table in Chromium)');
    return;
  }
  const r = await runFaultTableUiBench();
  if (typeof r === 'string') {
    log(`  ${r}`);
    return;
  }
  if (r.generatedIn !== null) log(`  generated the trace in ${r.generatedIn.toFixed(1)} s`);
  log(`  ${r.rows} rows in the table after replaying for ${r.replaySeconds.toFixed(1)} s in serve`);
  for (const f of r.frames) {
    log(
      `  scrolling (${f.mode === 'steady' ? '3 screens a frame' : 'a random place each frame'}): frame ` +
        `p50 ${f.p50.toFixed(1)} ms, p95 ${f.p95.toFixed(1)} ms, max ${f.max.toFixed(1)} ms (${f.count} frames)`,
    );
    log(
      `    ${f.dropped} frames > 17 ms; ${f.longTasks} long tasks (${f.longTaskMs.toFixed(0)} ms); table update ` +
        `per frame p50 ${f.updateP50.toFixed(1)} ms, p95 ${f.updateP95.toFixed(1)} ms, max ${f.updateMax.toFixed(1)} ms; ` +
        `${f.blankRows} placeholder rows seen`,
    );
  }
}
