// Files in a real browser through `iommu-lab serve`: a kernel log dropped on the window (a drop event
// with a DataTransfer built in the page) is imported and listed; the recent list (kept in a temporary
// config folder the test seeds) reopens a platform, drops a file that has gone with an error naming it,
// and starts a long import (a 45 MB kernel log written to the temp folder) whose progress bar's Cancel
// stops it, leaving the opened files and the replay as they were.
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser, serve, type Served } from './browser';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-files-e2e-'));
const PLATFORM = resolve('traces/platforms/laptop.platform.json');
const LOG = 'test/fixtures/files/dmesg-dmar-faults.log';
const BIG = join(dir, 'big-dmesg.log');
const GONE = join(dir, 'gone.platform.json');

let served: Served;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** A kernel log of `n` DMAR fault lines (about 150 bytes each). */
async function bigLog(path: string, n: number): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = (20 + i / 10_000).toFixed(6).padStart(12);
    const addr = (0xfff01000 + (i % 4096) * 4096).toString(16);
    lines.push(
      `[${t}] DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0x${addr} [fault reason 0x05] PTE Write access is not set`,
    );
  }
  await writeFile(path, lines.join('\n') + '\n');
}

beforeAll(async () => {
  const config = join(dir, 'config');
  process.env['IOMMU_LAB_CONFIG_DIR'] = config;
  await bigLog(BIG, 300_000);
  const recent = [
    { path: PLATFORM, kind: 'platform', openedAt: 3 },
    { path: BIG, kind: 'kernel-log', openedAt: 2 },
    { path: GONE, kind: 'platform', openedAt: 1 },
  ];
  await mkdir(config, { recursive: true });
  await writeFile(join(config, 'recent.json'), JSON.stringify(recent));
  served = await serve([]);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(served.url);
});
afterAll(async () => {
  await browser?.close();
  await served?.stop();
  delete process.env['IOMMU_LAB_CONFIG_DIR'];
  await rm(dir, { recursive: true, force: true });
});

const chips = (): Promise<string[]> => page.getByLabel('Opened files').locator('.chip').allTextContents();

async function reopen(path: string): Promise<void> {
  const recent = page.locator('details.recent');
  if ((await recent.getAttribute('open')) === null)
    await page.getByLabel('Recent files', { exact: true }).click();
  await page.getByRole('button', { name: `Reopen ${path}` }).click();
}

describe('opening files', () => {
  it('reopens a platform from the recent list', async () => {
    await page.getByLabel('Recent files', { exact: true }).click();
    await expect.poll(() => page.getByTestId('recent-file').count()).toBe(3);
    await page.getByRole('button', { name: `Reopen ${PLATFORM}` }).click();
    await expect.poll(() => page.getByTestId('device-row').count()).toBe(12);
    expect(await chips()).toEqual(['platform: laptop.platform.json']);
  });

  it('imports a kernel log dropped on the window and lists it', async () => {
    const text = await readFile(LOG, 'utf8');
    // (a script string: the node tsconfig has no DOM types)
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([${JSON.stringify(text)}], 'dmesg-dmar-faults.log', { type: 'text/plain' }));
      const app = document.querySelector('[role=application]');
      for (const type of ['dragover', 'drop'])
        app.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);
    await expect.poll(chips).toEqual(['platform: laptop.platform.json', 'kernel-log: dmesg-dmar-faults.log']);
    const chip = page.getByLabel('Opened files').locator('.chip').nth(1);
    expect(await chip.getAttribute('title')).toMatch(/^dmesg-dmar-faults\.log\n15 lines: 3 observed faults/);
    await expect.poll(() => page.getByTestId('replay-status').textContent()).toBe('ready');
    // dropped bytes have no path: the recent list is unchanged
    await page.getByLabel('Recent files', { exact: true }).click();
    await expect.poll(() => page.getByTestId('recent-file').count()).toBe(3);
    await page.getByLabel('Recent files', { exact: true }).click();
  });

  it('reopens the platform again without listing it twice', async () => {
    await reopen(PLATFORM);
    await expect.poll(chips).toEqual(['kernel-log: dmesg-dmar-faults.log', 'platform: laptop.platform.json']);
    await expect.poll(() => page.getByTestId('device-row').count()).toBe(12);
  });

  it('drops a recent file that has gone, saying which', async () => {
    await reopen(GONE);
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe(`${GONE}: no such file (removed from the recent files)`);
    await page.getByLabel('Recent files', { exact: true }).click();
    await expect
      .poll(() => page.getByTestId('recent-file').allTextContents())
      .toEqual(['laptop.platform.json platform', 'big-dmesg.log kernel-log']);
    await page.getByLabel('Recent files', { exact: true }).click();
  });

  it('shows a long import’s progress and cancels it, leaving the session as it was', async () => {
    const before = {
      chips: await chips(),
      status: await page.getByTestId('replay-status').textContent(),
      faults: await page.getByTestId('fault-count').textContent(),
    };
    await reopen(BIG);
    const bar = page.getByTestId('task-progress');
    await expect.poll(() => bar.count()).toBe(1);
    expect(await bar.getAttribute('aria-label')).toBe('importing big-dmesg.log');
    await expect
      .poll(() => bar.locator('progress').evaluate((p) => (p as unknown as { value: number }).value))
      .toBeGreaterThan(0);
    await page.screenshot({ path: `${ARTIFACTS}/files.png` });
    await page.getByRole('button', { name: 'Cancel importing big-dmesg.log' }).click();
    await expect.poll(() => bar.count()).toBe(0);
    // a cancelled import is not an error (the alert, if any, is the earlier one about the missing file)
    expect(await page.getByRole('alert').allTextContents()).not.toContainEqual(
      expect.stringMatching(/cancel/),
    );
    expect(await chips()).toEqual(before.chips);
    expect(await page.getByTestId('replay-status').textContent()).toBe(before.status);
    expect(await page.getByTestId('fault-count').textContent()).toBe(before.faults);
    expect(pageErrors).toEqual([]);
  });
});
