// Bench: the first view of a large native trace in the lab's renderer (`iommu-lab serve`, Debian's
// Chromium through playwright-core, as the e2e tests run it). A ~1 GiB generated trace (33.5 M TLP
// records; IOMMU_LAB_BENCH_UI_TLPS overrides) is written once to the temp directory and reused while its
// generator parameters match. Prints the time from starting `serve` to its URL (the host opens the
// trace: header, index, workers), and from navigation to the first view: the platform's devices, the
// timeline's density and the player with the trace's event total shown. Asserts nothing. Needs
// `npm run build` (out/cli, out/renderer) and /usr/bin/chromium (CHROMIUM_PATH overrides).
import { existsSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeTraceFile } from '../src/host/trace-file';
import { TraceGenerator } from '../src/trace/gen/index';
import { launchBrowser, serve } from '../test/e2e/browser';

export interface UiFirstViewResult {
  tlps: number;
  fileBytes: number;
  /** seconds to generate the trace, or null when an earlier one was reused */
  generatedIn: number | null;
  /** ms from spawning `serve` to its URL (the trace opened) */
  serveMs: number;
  /** ms from navigation to the first view, first load then reloads */
  firstViewMs: number[];
}

function options(tlps: number) {
  return {
    seed: 3,
    tlps,
    devices: 4,
    pasids: 0,
    workingSet: 256,
    faultRate: 0.001,
    tbitMix: 0,
    staleUnmaps: 10,
    controlEvents: 1000,
  };
}

async function traceFor(tlps: number): Promise<{ path: string; generatedIn: number | null; bytes: number }> {
  const o = options(tlps);
  const path = join(tmpdir(), `iommu-lab-bench-ui-${tlps}-seed${o.seed}.iotrace`);
  try {
    const f = await NativeTraceFile.open(path);
    const g = f.header?.capture.generator;
    await f.close();
    if (g && f.problems.length === 0 && JSON.stringify(g.parameters) === JSON.stringify(o))
      return { path, generatedIn: null, bytes: f.size };
  } catch {
    // absent or unreadable: generate it
  }
  const t0 = performance.now();
  const gen = new TraceGenerator(o);
  const fh = await open(path, 'w');
  let bytes = 0;
  try {
    for (const piece of gen.pieces()) {
      await fh.write(piece);
      bytes += piece.byteLength;
    }
  } catch (e) {
    await fh.close();
    await rm(path, { force: true });
    throw e;
  }
  await fh.close();
  return { path, generatedIn: (performance.now() - t0) / 1000, bytes };
}

export async function runUiFirstViewBench(
  tlps = Number(process.env['IOMMU_LAB_BENCH_UI_TLPS'] ?? 33_554_432),
  reloads = 3,
): Promise<UiFirstViewResult | string> {
  if (!existsSync('out/cli/index.js') || !existsSync('out/renderer/index.html'))
    return 'skipped: run `npm run build` first (serve needs out/cli and out/renderer)';
  const trace = await traceFor(tlps);
  const t0 = performance.now();
  const served = await serve([trace.path]);
  const serveMs = performance.now() - t0;
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const firstViewMs: number[] = [];
    for (let i = 0; i <= reloads; i++) {
      const start = performance.now();
      await page.goto(served.url, { waitUntil: 'commit' });
      // the devices heading, the timeline's TLP bars and the player's event total
      await Promise.all([
        page.locator('#devices-h', { hasText: /\d+ devices/ }).waitFor({ timeout: 60_000 }),
        page.locator('[data-testid="timeline"] rect.tlp').first().waitFor({ timeout: 60_000 }),
        page
          .locator('span', { has: page.getByTestId('player-events'), hasText: /\/[1-9]\d* events/ })
          .waitFor({ timeout: 60_000 }),
      ]);
      firstViewMs.push(performance.now() - start);
    }
    return { tlps, fileBytes: trace.bytes, generatedIn: trace.generatedIn, serveMs, firstViewMs };
  } finally {
    await browser.close();
    await served.stop();
  }
}

/** Prints the bench's figures. */
export async function printUiFirstViewBench(log: (s: string) => void): Promise<void> {
  const r = await runUiFirstViewBench();
  if (typeof r === 'string') {
    log(`  ${r}`);
    return;
  }
  const mib = (r.fileBytes / 2 ** 20).toFixed(0);
  if (r.generatedIn !== null) log(`  generated in ${r.generatedIn.toFixed(1)} s (${mib} MiB)`);
  const [first, ...again] = r.firstViewMs;
  const sorted = [...again].sort((a, b) => a - b);
  log(
    `  ${r.tlps} TLPs, ${mib} MiB: serve opened the trace in ${r.serveMs.toFixed(0)} ms; navigation to the ` +
      `first view (devices, timeline, player totals) ${first!.toFixed(0)} ms` +
      (sorted.length ? `, reloads median ${sorted[sorted.length >> 1]!.toFixed(0)} ms` : ''),
  );
}
