// Fault reports in the app, in Chromium through the web host, on the laptop sample (faults known by
// construction, docs/report.md): a what-if from the UI adding the xHCI's missing RMRR lists exactly its
// cluster as fixed; two report files written by the CLI compare in the Compare panel with the counts
// `iommu-lab diff --json` prints for the same files; the exported HTML report is the CLI's, byte for
// byte, and loads nothing; the PDF export prints. Screenshots: what-if.png, compare.png.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser, serve, type Served } from './browser';

const TRACE = 'traces/laptop-demo.trace.jsonl';
const XHCI = '0000:00:14.0/nopasid/0x06/0x3e300000';
const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-e2e-compare-'));
const A = join(dir, 'A.json');
const B = join(dir, 'B.json');
const ORIGINAL = join(dir, 'original.json');
const HTML = join(dir, 'cli.html');

let served: Served;
let browser: Browser;
let page: Page;

/** Runs the built CLI; returns its exit code and stdout. */
function cli(...args: string[]): { code: number; stdout: string } {
  const r = spawnSync(process.execPath, ['bin/iommu-lab.js', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout };
}

beforeAll(async () => {
  // A: the xHCI's RMRR fixed; B: strict IOTLB invalidation (the Wi-Fi card's stale write now faults)
  // and the NVMe drive on an identity domain (its permission fault goes). A → B: the xHCI cluster is
  // new, the NVMe one fixed, the Wi-Fi one changed, the unknown requester's unchanged.
  expect(cli('what-if', TRACE, '--set', 'rmrr.add=0x3e2e0000-0x3e35ffff@00:14.0', '--report', A).code).toBe(
    3,
  );
  expect(
    cli('what-if', TRACE, '--iotlb', 'strict', '--set', 'device.02:00.0.domain=identity', '--report', B).code,
  ).toBe(1);
  expect(cli('replay', TRACE, '--report', ORIGINAL).code).toBe(3);
  expect(cli('replay', TRACE, '--report', HTML).code).toBe(3);
  served = await serve([TRACE]);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  await page.goto(served.url);
  // the trace is loaded once its report can be exported
  await page.getByRole('button', { name: 'Export HTML report', disabled: false }).waitFor();
});
afterAll(async () => {
  await browser?.close();
  await served?.stop();
  await rm(dir, { recursive: true, force: true });
});

const counts = async (panel: Locator): Promise<Record<string, number>> => {
  const out: Record<string, number> = {};
  for (const k of ['new', 'fixed', 'changed', 'unchanged'])
    out[k] = Number(await panel.getByTestId(`diff-count-${k}`).locator('.n').textContent());
  return out;
};

const rows = (panel: Locator): Promise<string[]> =>
  panel
    .getByTestId('diff-row')
    .evaluateAll((trs) =>
      trs.map((tr) => `${tr.getAttribute('data-status')} ${tr.getAttribute('data-cluster')}`),
    );

describe('what-if in the app', () => {
  it('adding the missing xHCI RMRR removes exactly its cluster', async () => {
    const panel = page.getByRole('region', { name: 'What if…' });
    const form = panel.getByRole('form', { name: 'Add an RMRR' });
    await form.getByRole('textbox', { name: 'base' }).fill('0x3e2e0000');
    await form.getByRole('textbox', { name: 'end' }).fill('0x3e35ffff');
    await form.getByRole('combobox', { name: 'RMRR devices' }).fill('00:14.0');
    await form.getByRole('button', { name: 'Add RMRR edit' }).click();
    await expect
      .poll(() => panel.getByTestId('whatif-edit').allTextContents())
      .toEqual([expect.stringContaining('--set rmrr.add=0x3e2e0000-0x3e35ffff@00:14.0')]);

    await panel.getByRole('button', { name: 'Run what-if' }).click();
    await expect.poll(() => rows(panel)).toEqual([`fixed ${XHCI}`]);
    expect(await counts(panel)).toEqual({ new: 0, fixed: 1, changed: 0, unchanged: 3 });
    expect(await panel.getByTestId('whatif-effect').textContent()).toBe(
      'This edit removes cluster 0000:00:14.0 reason 0x06 at 0x3e300000–0x3e30ffff (Missing RMRR).',
    );
    expect(await panel.getByTestId('whatif-summary').textContent()).toBe(
      'Original: 5 faults in 4 clusters, 1 hazard → what-if: 3 faults in 3 clusters, 1 hazard (exit code 3).',
    );
    await panel.screenshot({ path: `${ARTIFACTS}/what-if.png` });
  });

  it('names a bad edit', async () => {
    const panel = page.getByRole('region', { name: 'What if…' });
    await panel.getByRole('textbox', { name: 'Edit (KEY=VALUE, as --set)' }).fill('rmrr.add=0x1000@00:14.0');
    await panel.getByRole('button', { name: 'Add edit', exact: true }).click();
    await panel.getByRole('button', { name: 'Run what-if' }).click();
    await expect
      .poll(() => panel.getByRole('alert').textContent())
      .toBe('what-if: --set rmrr.add=0x1000@00:14.0: expected rmrr.add=BASE-END@BDF[,BDF…]');
    await panel.getByRole('button', { name: 'Remove edit rmrr.add=0x1000@00:14.0' }).click();
    expect(await panel.getByTestId('whatif-edit').count()).toBe(1);
  });
});

describe('comparing reports in the app', () => {
  it('shows the counts `iommu-lab diff --json` prints for the same two files', async () => {
    const expected = JSON.parse(cli('diff', '--json', A, B).stdout) as {
      counts: Record<string, number>;
      new: { id: string }[];
      fixed: { id: string }[];
      changed: { b: { id: string } }[];
    };
    expect(expected.counts).toEqual({ new: 1, fixed: 1, changed: 1, unchanged: 1 });

    const panel = page.getByRole('region', { name: 'Compare two reports' });
    await panel.getByLabel('Report A (JSON)').setInputFiles(A);
    await panel.getByLabel('Report B (JSON)').setInputFiles(B);
    await panel.getByRole('button', { name: 'Compare' }).click();
    await expect.poll(() => rows(panel)).toHaveLength(3);
    expect(await counts(panel)).toEqual(expected.counts);
    expect(await rows(panel)).toEqual([
      ...expected.new.map((c) => `new ${c.id}`),
      ...expected.fixed.map((c) => `fixed ${c.id}`),
      ...expected.changed.map((c) => `changed ${c.b.id}`),
    ]);
    expect(await panel.getByRole('table', { name: 'Clusters compared' }).getByRole('row').count()).toBe(4);
    expect(await panel.getByTestId('diff-row').nth(2).textContent()).toContain('count 1 → 2');
    await panel.screenshot({ path: `${ARTIFACTS}/compare.png` });
  });

  it('compares the current run with its CLI report: nothing differs', async () => {
    const panel = page.getByRole('region', { name: 'Compare two reports' });
    await panel.getByRole('radio', { name: 'current run' }).first().check();
    await panel.getByLabel('Report B (JSON)').setInputFiles(ORIGINAL);
    await panel.getByRole('button', { name: 'Compare' }).click();
    await expect.poll(() => counts(panel)).toEqual({ new: 0, fixed: 0, changed: 0, unchanged: 4 });
    expect(await panel.getByTestId('diff-row').count()).toBe(0);
    expect(await panel.getByTestId('diff-run-a').textContent()).toBe(
      `${TRACE} on traces/platforms/laptop.platform.json: 5 faults in 4 clusters, 1 hazard`,
    );
  });
});

describe('exporting the report from the app', () => {
  it('downloads the HTML report: the CLI’s, self-contained, loading nothing', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export HTML report' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('iommu-lab-report.html');
    const saved = join(dir, 'ui.html');
    await download.saveAs(saved);
    const html = readFileSync(saved, 'utf8');
    expect(html).toBe(readFileSync(HTML, 'utf8'));
    expect(html).toContain(`content="default-src 'none'`);
    expect(html).not.toMatch(/<script|\ssrc=|href="https?:/i);

    const view = await browser.newPage();
    const requests: string[] = [];
    view.on('request', (r) => {
      if (!/^(data|about):/.test(r.url())) requests.push(r.url());
    });
    await view.setContent(html, { waitUntil: 'load' });
    expect(await view.locator('section.cluster').count()).toBe(4);
    expect(requests).toEqual([]);
    await view.close();
  });

  it('downloads the PDF report, printed by Chromium', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: 'Export PDF report' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('iommu-lab-report.pdf');
    const saved = join(dir, 'ui.pdf');
    await download.saveAs(saved);
    expect(readFileSync(saved).subarray(0, 5).toString()).toBe('%PDF-');
  }, 90_000);
});
