// Fault reports in a real browser and on paper: the HTML report of the laptop sample opened in Debian's
// Chromium (screenshots in test-results/e2e/) loads nothing from anywhere, and its PDF (Chromium
// --print-to-pdf) renders with pdftoppm (poppler-utils, installed by scripts/setup.sh) to A4 pages.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { diffReports } from '../../src/report/diff';
import { reportHtml } from '../../src/report/html';
import { replayReport, writeReport } from '../../src/cli/report-command';
import type { Report } from '../../src/report/report-model';
import { ARTIFACTS, launchBrowser } from './browser';

const TRACE = 'traces/laptop-demo.trace.jsonl';
let browser: Browser;
let report: Report;

beforeAll(async () => {
  report = await replayReport(TRACE);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function open(
  html: string,
  shot: string,
): Promise<{ requests: string[]; text: string; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => {
    if (!/^(data|about):/.test(r.url())) requests.push(r.url());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  // a load the Content-Security-Policy blocks makes no request but logs a violation: count those too
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) requests.push(`blocked: ${m.text()}`);
  });
  await page.setContent(html, { waitUntil: 'load' });
  await page.screenshot({ path: `${ARTIFACTS}/${shot}`, fullPage: true });
  const text = (await page.textContent('body')) ?? '';
  await page.close();
  return { requests, text, errors };
}

describe('the HTML report in Chromium', () => {
  it('shows the clusters, hints, charts and page walks and makes no network request', async () => {
    const html = reportHtml(report);
    const { requests, text, errors } = await open(html, 'report-laptop.png');
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    expect(text).toContain('IOMMU fault report: Laptop (Tiger Lake-UP3 class)');
    expect(text).toContain('Missing RMRR');
    expect(text).toContain('Stale IOTLB (use after unmap)');
    expect(text).toContain(
      'DMAR: [DMA Read NO_PASID] Request device [00:14.0] fault addr 0x3e300000 [fault reason 0x06] PTE Read access is not set',
    );
    // charts: timeline, faults per device, and one address-space strip per faulting device (3 known devices)
    const page = await browser.newPage();
    await page.setContent(html);
    expect(await page.locator('svg[aria-label="Fault timeline"]').count()).toBe(1);
    expect(await page.locator('svg[aria-label="Faults per device"] rect').count()).toBe(4);
    expect(await page.locator('svg[aria-label^="Address space of"]').count()).toBe(3);
    expect(await page.locator('section.cluster').count()).toBe(4);
    await page.close();
  });

  it('shows a what-if comparison: the RMRR fix removes the xHCI cluster', async () => {
    const edited = await replayReport(TRACE, { set: ['rmrr.add=0x3e2e0000-0x3e35ffff@00:14.0'] });
    const { requests, text } = await open(
      reportHtml(edited, { diff: diffReports(report, edited) }),
      'report-what-if.png',
    );
    expect(requests).toEqual([]);
    expect(text).toContain('Compared with the original');
    expect(text).toMatch(
      /Fixed\s*0000:00:14\.0 0x06 PTE Read access is not set 0x3e300000–0x3e30ffff: 2 faults/,
    );
  });
});

describe('the PDF report', () => {
  it('prints with Chromium and renders with pdftoppm to A4 pages that are not blank', async () => {
    const pdf = `${ARTIFACTS}/report-laptop.pdf`;
    const lines: string[] = [];
    expect(await writeReport(report, pdf, (s) => lines.push(s))).toBe(0);
    expect(lines).toEqual([]);
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    const info = execFileSync('pdfinfo', [pdf]).toString();
    const pages = Number(/Pages:\s+(\d+)/.exec(info)![1]);
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(pages).toBeLessThanOrEqual(10);
    expect(info).toMatch(/Page size:\s+59[45](\.\d+)? x 84[12](\.\d+)? pts \(A4\)/);

    for (const f of readdirSync(ARTIFACTS).filter((n) => n.startsWith('report-page-')))
      rmSync(`${ARTIFACTS}/${f}`);
    execFileSync('pdftoppm', ['-r', '60', '-png', pdf, `${ARTIFACTS}/report-page`]);
    expect(readdirSync(ARTIFACTS).filter((n) => /^report-page-\d+\.png$/.test(n))).toHaveLength(pages);
    // page 1 in grey at 30 dpi: a raw PGM, A4 is 248 × 351 pixels; some of it is ink
    const pgm = execFileSync('pdftoppm', ['-r', '30', '-gray', '-f', '1', '-l', '1', pdf]);
    const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 40).toString('latin1'))!;
    const [w, h] = [Number(header[1]), Number(header[2])];
    expect([w, h]).toEqual([248, 351]);
    const pixels = pgm.subarray(header[0].length);
    const ink = pixels.filter((v) => v < 128).length / pixels.length;
    expect(ink).toBeGreaterThan(0.01);
    expect(ink).toBeLessThan(0.5);
  });
});
