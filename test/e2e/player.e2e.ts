// The player and the timeline in Chromium: a generated native trace played to the end with the Space
// shortcut shows the counts `iommu-lab replay --json` gives for the same file (TLPs, faults, hazards);
// a click on the timeline seeks, '.' steps, N selects the next fault, and the timeline seeks from the
// keyboard (End, Enter). Screenshots: timeline.png, player.png.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser, serve, type Served } from './browser';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-e2e-player-'));
const trace = join(dir, 'player.iotrace');
let reference: { tlps: number; faults: number; hazards: number; events: number };
let served: Served;
let browser: Browser;
let page: Page;

function cli(args: string[]): string {
  const r = spawnSync(process.execPath, ['bin/iommu-lab.js', ...args], { encoding: 'utf8' });
  if (r.error || r.stdout === '') throw new Error(`iommu-lab ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  cli([
    'gen',
    ...['--seed', '11', '--tlps', '200k', '--fault-rate', '0.005', '--stale-unmaps', '3'],
    ...['--control-events', '40', '-o', trace],
  ]);
  reference = JSON.parse(cli(['replay', trace, '--json'])) as typeof reference;
  served = await serve([trace]);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
});
afterAll(async () => {
  await browser?.close();
  await served?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const text = (id: string) => () => page.getByTestId(id).textContent();

/** The events count once it stops changing (a seek shows its progress on the way, status 'paused'). */
async function settledEvents(): Promise<number> {
  let before = '';
  await expect
    .poll(async () => {
      const now = await text('player-events')();
      const same = now === before;
      before = now ?? '';
      if (!same) await page.waitForTimeout(400);
      return same;
    })
    .toBe(true);
  return Number(before);
}

describe('player and timeline', () => {
  it('plays a generated trace to the end and shows the counts of replay --json', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(served.url);
    expect(reference.faults).toBeGreaterThan(0);
    expect(reference.hazards).toBe(3);
    await expect.poll(text('replay-status')).toBe('ready');
    await expect.poll(() => page.getByTestId('timeline').isVisible()).toBe(true);
    expect(await page.getByRole('slider', { name: /Timeline/ }).count()).toBe(1);
    await expect.poll(text('player-tlps')).toBe('0');

    await page.keyboard.press('Space');
    await expect.poll(text('replay-status')).toBe('done');
    await expect.poll(text('player-tlps')).toBe(String(reference.tlps));
    expect(await text('player-faults')()).toBe(String(reference.faults));
    expect(await text('player-hazards')()).toBe(String(reference.hazards));
    expect(await text('player-events')()).toBe(String(reference.events));
    await expect.poll(text('timeline-faults')).toBe(String(reference.faults));
    expect(await text('progress')()).toBe('100 %');
    // every control event is a marker once played
    await expect
      .poll(() => page.locator('section.timeline .legend').textContent())
      .toContain(`control events: ${reference.events - reference.tlps}`);

    await page.getByRole('region', { name: 'Timeline' }).screenshot({ path: `${ARTIFACTS}/timeline.png` });
    const bar = (await page.getByRole('toolbar', { name: 'Player' }).boundingBox())!;
    const counters = (await page.getByRole('group', { name: 'Live counters' }).boundingBox())!;
    await page.screenshot({
      path: `${ARTIFACTS}/player.png`,
      clip: { x: 0, y: bar.y, width: 1400, height: counters.y + counters.height - bar.y },
    });
    expect(errors).toEqual([]);
  });

  it('seeks by a click on the timeline, steps with ".", and selects the next fault with N', async () => {
    const endTime = await text('player-time')();
    const slider = page.getByTestId('timeline');
    const box = (await slider.boundingBox())!;
    await slider.click({ position: { x: box.width * 0.25, y: box.height / 2 } });
    await expect.poll(text('timeline-time')).not.toBe(endTime);
    await expect.poll(text('replay-status')).toBe('paused');
    const events = await settledEvents();
    const faultsAtQuarter = Number(await text('player-faults')());
    expect(faultsAtQuarter).toBeLessThan(reference.faults);
    expect(Number(await text('player-tlps')())).toBeLessThan(reference.tlps);
    await expect.poll(text('timeline-faults')).toBe(String(faultsAtQuarter));

    await page.keyboard.press('.');
    await expect.poll(async () => Number(await text('player-events')())).toBe(events + 1);

    await page.keyboard.press('n');
    await expect.poll(text('selected-fault')).toMatch(/^fault 1 of \d+ selected \(at .+\)$/);
    await page.keyboard.press('n');
    await expect.poll(text('selected-fault')).toMatch(/^fault 2 of \d+ selected/);

    // the keyboard: End moves the seek cursor to the end, Enter seeks there
    await slider.focus();
    await page.keyboard.press('End');
    await expect.poll(text('timeline-pending')).toContain('seek to');
    await page.keyboard.press('Enter');
    await expect.poll(text('player-faults')).toBe(String(reference.faults));
    expect(await text('player-tlps')()).toBe(String(reference.tlps));
    expect(await text('timeline-time')()).toBe(endTime);
  });
});
