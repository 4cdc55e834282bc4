// The first vertical slice in a real browser: the renderer, served by `iommu-lab serve`, lists the
// sample's devices and, after playing the trace, its faults and hazards (5 and 1, by construction of
// the sample).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser, serve, type Served } from './browser';

let served: Served;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  served = await serve(['traces/laptop-demo.trace.jsonl']);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
});
afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

describe('lab in Chromium through the web host', () => {
  it('is cross-origin isolated, lists the devices and counts the faults after playing', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(served.url);
    expect(await page.evaluate('crossOriginIsolated')).toBe(true);

    const rows = page.getByTestId('device-row');
    await expect.poll(() => rows.count()).toBe(12);
    expect(await rows.nth(1).textContent()).toContain('0000:00:02.0');
    await expect.poll(() => page.getByTestId('fault-count').textContent()).toBe('0');
    expect(await page.getByTestId('profile').textContent()).toBe('profile: vtd-spec');

    await page.getByRole('button', { name: 'Play' }).click();
    await expect.poll(() => page.getByTestId('replay-status').textContent()).toBe('done');
    // the fault table lists the 5 faults and the use-after-unmap hazard
    await expect.poll(() => page.getByTestId('fault-count').textContent()).toBe('6');
    await expect.poll(() => page.getByTestId('fault-row').count()).toBe(6);
    expect(await page.getByTestId('fault-row').filter({ hasText: 'hazard' }).count()).toBe(1);
    expect(await page.getByTestId('fault-row').nth(5).textContent()).toContain(
      'DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0xfff01000 [fault reason 0x05]',
    );
    await page.screenshot({ path: `${ARTIFACTS}/slice-after-play.png`, fullPage: true });
    expect(errors).toEqual([]);
  });

  it('cross-checks a QEMU capture in a view of its own', async () => {
    // the hand-written miniature capture of test/crosscheck.test.ts, whose every answer agrees
    await page
      .getByLabel('Guest console log')
      .setInputFiles('test/fixtures/crosscheck/mini-guest-console.log');
    await page.getByLabel('QEMU trace').setInputFiles('test/fixtures/crosscheck/mini-qemu-trace.log');
    await page.getByRole('button', { name: 'Cross-check' }).click();
    await expect
      .poll(() => page.getByTestId('crosscheck-agreement').textContent())
      .toMatch(/^\s*(\d+)\/\1 agree \(100\.00 %\), 0 disagree/);
    await page.getByTestId('crosscheck-result').screenshot({ path: `${ARTIFACTS}/crosscheck-view.png` });
  });

  it('refuses the page without the token', async () => {
    const bare = served.url.replace(/[0-9a-f]+\/$/, '');
    const res = await page.goto(bare);
    expect(res?.status()).toBe(403);
  });
});
