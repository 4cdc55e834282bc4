// The fault table in Chromium (src/renderer/src/components/FaultTable.svelte) on generated native
// traces, whose fault and hazard counts the generator announces: filter (and a filter's error, with its
// column), sort by a column header, select a row and move with the keyboard, coloring rules, clusters;
// then a trace of three million TLPs with 30 % faults (about 900 000 rows) scrolls, and the rows drawn
// are the rows at the scroll position (for the unsorted table of faults only, row i shows fault i);
// after a seek back and a seek far forward, the rows the seek skipped are filled in the background.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser, serve, type Served } from './browser';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-e2e-faults-'));
let browser: Browser;

function generate(name: string, args: string[]): { path: string; faults: number; hazards: number } {
  const path = join(dir, name);
  const out = execFileSync(process.execPath, ['bin/iommu-lab.js', 'gen', ...args, '-o', path, '--json'], {
    encoding: 'utf8',
  });
  const { expected } = JSON.parse(out) as { expected: { faults: number; hazards: number } };
  return { path, ...expected };
}

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(trace: string): Promise<{ served: Served; page: Page; errors: string[] }> {
  const served = await serve([trace]);
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(served.url);
  await page.getByRole('button', { name: 'Play' }).click();
  await expect.poll(() => page.getByTestId('replay-status').textContent(), { timeout: 60_000 }).toBe('done');
  return { served, page, errors };
}

const count = (page: Page): Promise<number> =>
  page
    .getByTestId('fault-count')
    .textContent()
    .then((t) => Number(t));

async function filter(page: Page, text: string): Promise<void> {
  await page.getByLabel('Filter', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Apply' }).click();
}

/** the rows drawn: their aria-rowindex and the text of their first cell (the fault's index) */
async function drawn(grid: Locator): Promise<{ at: number; index: string }[]> {
  const rows = grid.locator('[data-testid="fault-row"]');
  const n = await rows.count();
  const out: { at: number; index: string }[] = [];
  for (let k = 0; k < n; k++) {
    const r = rows.nth(k);
    out.push({
      at: Number(await r.getAttribute('aria-rowindex')),
      index: ((await r.locator('[role="gridcell"]').first().textContent()) ?? '').trim(),
    });
  }
  return out;
}

const scrollTopOf = (grid: Locator): Promise<number> =>
  grid.evaluate((el: { scrollTop: number }) => el.scrollTop);

describe('the fault table', () => {
  it('filters, sorts, selects and moves with the keyboard', async () => {
    const gen = generate('small.iotrace', [
      '--seed',
      '7',
      '--tlps',
      '20000',
      '--fault-rate',
      '0.05',
      '--tbit-mix',
      '0.02',
      '--stale-unmaps',
      '2',
    ]);
    expect(gen.hazards).toBe(2);
    const { served, page, errors } = await open(gen.path);
    try {
      await expect.poll(() => count(page)).toBe(gen.faults + gen.hazards);
      const grid = page.getByRole('grid', { name: 'Faults and hazards' });
      expect(await grid.getAttribute('aria-rowcount')).toBe(String(gen.faults + gen.hazards + 1));

      await filter(page, 'hazard');
      await expect.poll(() => count(page)).toBe(2);
      await expect.poll(() => grid.locator('[data-testid="fault-row"]').count()).toBe(2);
      // each row's dmesg cell holds its own line (a page carries them joined: pageDmesg cuts them out)
      const dmesgCells = grid.locator('[data-testid="fault-row"] .c-dmesg');
      await expect.poll(() => dmesgCells.count()).toBe(2);
      const lines = await dmesgCells.allTextContents();
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        expect(line.split('iommu-lab:')).toHaveLength(2);
        expect(line).toMatch(
          /^iommu-lab: \[DMA (Read|Write)\] Request device \[[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\] addr 0x[0-9a-f]+: use after unmap: .+ unmapped it \d+ ns before, the IOTLB was not invalidated yet$/,
        );
      }
      await filter(page, 'fault');
      await expect.poll(() => count(page)).toBe(gen.faults);

      // a mistake: the error names the column, the table keeps its rows
      await filter(page, 'reason ==');
      await expect
        .poll(() => page.getByTestId('filter-error').textContent())
        .toContain('column 10: expected a number');
      expect(await count(page)).toBe(gen.faults);

      await filter(page, 'fault && reason == 0x101');
      await expect.poll(() => page.getByTestId('filter-error').count()).toBe(0);
      const tee = await count(page);
      expect(tee).toBeGreaterThan(0);
      expect(tee).toBeLessThan(gen.faults);
      await filter(page, 'fault && reason != 0x101');
      await expect.poll(() => count(page)).toBe(gen.faults - tee);

      // sort by address, descending on the second click
      await filter(page, '');
      await expect.poll(() => count(page)).toBe(gen.faults + gen.hazards);
      const header = grid.getByRole('columnheader', { name: /Address/ });
      expect(await header.getAttribute('aria-sort')).toBe('none');
      await header.getByRole('button').click();
      await expect.poll(() => header.getAttribute('aria-sort')).toBe('ascending');
      await header.getByRole('button').click();
      await expect.poll(() => header.getAttribute('aria-sort')).toBe('descending');
      const addressCells = grid.locator('[data-testid="fault-row"] .c-addr');
      await expect.poll(() => addressCells.count()).toBeGreaterThan(5);
      // the rows of the ascending order stay drawn until the descending page arrives: wait for it
      const descending = async (): Promise<boolean> => {
        const a = (await addressCells.allTextContents()).slice(0, 10).map((t) => BigInt(t.trim()));
        return a.length > 5 && a.every((v, i) => i === 0 || a[i - 1]! >= v);
      };
      await expect.poll(descending).toBe(true);
      await grid.getByRole('columnheader', { name: /#/ }).getByRole('button').click();
      await expect
        .poll(() => grid.getByRole('columnheader', { name: /#/ }).getAttribute('aria-sort'))
        .toBe('ascending');

      // select a row, then move with the keyboard
      const rows = grid.locator('[data-testid="fault-row"]');
      await rows.nth(2).click();
      await expect.poll(() => rows.nth(2).getAttribute('aria-selected')).toBe('true');
      await page.keyboard.press('ArrowDown');
      await expect.poll(() => grid.locator('[aria-selected="true"]').getAttribute('aria-rowindex')).toBe('5');
      await page.keyboard.press('PageDown');
      const afterPage = Number(await grid.locator('[aria-selected="true"]').getAttribute('aria-rowindex'));
      expect(afterPage).toBeGreaterThan(10);
      await page.keyboard.press('End');
      await expect
        .poll(() => grid.locator('[aria-selected="true"]').getAttribute('aria-rowindex'))
        .toBe(String(gen.faults + gen.hazards + 1));
      await page.keyboard.press('Home');
      await expect.poll(() => grid.locator('[aria-selected="true"]').getAttribute('aria-rowindex')).toBe('2');
      expect(await scrollTopOf(grid)).toBe(0);

      // a coloring rule (hazard rows by default) tints the hazards and is kept for the next visit
      await page.getByText(/^Coloring rules/).click();
      await page.getByRole('button', { name: 'Add a rule' }).click();
      await filter(page, 'hazard');
      await expect.poll(() => rows.first().getAttribute('style')).toContain('background');
      expect(await page.evaluate('localStorage.getItem("iommu-lab.fault-table.color-rules")')).toBe(
        '[{"filter":"hazard","color":"#f0a030"}]',
      );
      await filter(page, '');
      await rows.nth(1).click();
      await page.screenshot({ path: `${ARTIFACTS}/fault-table.png`, fullPage: true });

      // group into clusters: every fault is in one
      await page.getByLabel('Group into clusters').check();
      const clusterRows = page.getByTestId('cluster-row');
      await expect.poll(() => clusterRows.count()).toBeGreaterThan(0);
      const counts = await clusterRows.locator('td.num').allTextContents();
      expect(counts.reduce((n, c) => n + Number(c), 0)).toBe(gen.faults);
      await page.getByLabel('Group into clusters').uncheck();
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await served.stop();
    }
  });

  it('scrolls a table of about 900 000 rows, drawing the rows at the scroll position', async () => {
    const gen = generate('large.iotrace', ['--seed', '3', '--tlps', '3M', '--fault-rate', '0.3']);
    expect(gen.hazards).toBe(0);
    const { served, page, errors } = await open(gen.path);
    try {
      await expect.poll(() => count(page), { timeout: 30_000 }).toBe(gen.faults);
      const grid = page.getByRole('grid', { name: 'Faults and hazards' });
      const rowsAt = async (): Promise<{ at: number; index: string }[]> =>
        (await drawn(grid)).filter((r) => r.index !== '…');
      // with no filter and no hazards, the row at aria-rowindex i + 2 is fault i
      const consistent = async (): Promise<number> => {
        const rows = await rowsAt();
        for (const r of rows) expect(Number(r.index)).toBe(r.at - 2);
        return rows[0]?.at ?? -1;
      };
      await expect.poll(consistent).toBe(2);

      // half way down: the rows drawn are those half way through the table
      const max = await grid.evaluate(
        (el: { scrollHeight: number; clientHeight: number }) => el.scrollHeight - el.clientHeight,
      );
      await grid.evaluate(
        (el: { scrollTop: number }, v: number) => {
          el.scrollTop = v;
        },
        Math.round(max / 2),
      );
      await expect.poll(() => scrollTopOf(grid)).toBeGreaterThan(0);
      await expect.poll(async () => Math.abs((await consistent()) - gen.faults / 2)).toBeLessThan(100);

      // the mouse wheel scrolls on from there
      const before = await scrollTopOf(grid);
      await grid.hover();
      await page.mouse.wheel(0, 2400);
      await expect.poll(() => scrollTopOf(grid)).toBeGreaterThan(before);
      const mid = await consistent();
      expect(mid).toBeGreaterThan(gen.faults / 2 - 100);

      // End: the last fault, and the keyboard keeps it in view
      await grid.focus();
      await page.keyboard.press('End');
      await expect
        .poll(() => grid.locator('[aria-selected="true"]').getAttribute('aria-rowindex'))
        .toBe(String(gen.faults + 1));
      await expect
        .poll(async () =>
          (await rowsAt()).some((r) => r.at === gen.faults + 1 && Number(r.index) === gen.faults - 1),
        )
        .toBe(true);
      await page.keyboard.press('PageUp');
      await expect
        .poll(async () => Number(await grid.locator('[aria-selected="true"]').getAttribute('aria-rowindex')))
        .toBeLessThan(gen.faults + 1);
      await consistent();
      await grid.screenshot({ path: `${ARTIFACTS}/fault-table-large.png` });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await served.stop();
    }
  }, 180_000);

  it('fills the rows a far seek skipped (a backfill), then shows them', async () => {
    // six checkpoints (one every 2^18 TLPs): a seek back, then far forward, rebuilds from one
    const gen = generate('backfill.iotrace', ['--seed', '4', '--tlps', '1.6M', '--fault-rate', '0.02']);
    expect(gen.hazards).toBe(0);
    const { served, page, errors } = await open(gen.path);
    try {
      const slider = page.getByTestId('timeline');
      const box = (await slider.boundingBox())!;
      const faultsShown = async (): Promise<number> =>
        Number(await page.getByTestId('player-faults').textContent());
      await slider.click({ position: { x: box.width * 0.1, y: box.height / 2 } });
      await expect.poll(faultsShown).toBeLessThan(gen.faults / 5);
      await expect.poll(() => page.getByTestId('replay-status').textContent()).toBe('paused');
      const early = await faultsShown();
      await slider.click({ position: { x: box.width * 0.9, y: box.height / 2 } });
      await expect.poll(faultsShown).toBeGreaterThan(early * 3);
      // the table has as many rows as the state shown has faults (once both settle)
      await expect
        .poll(async () => (await count(page)) === (await faultsShown()), { timeout: 30_000 })
        .toBe(true);
      expect(await faultsShown()).toBeLessThan(gen.faults);
      // half way down the table: rows the seek skipped, filled (row i is fault i)
      const grid = page.getByRole('grid', { name: 'Faults and hazards' });
      const max = await grid.evaluate(
        (el: { scrollHeight: number; clientHeight: number }) => el.scrollHeight - el.clientHeight,
      );
      await grid.evaluate(
        (el: { scrollTop: number }, v: number) => {
          el.scrollTop = v;
        },
        Math.round(max / 2),
      );
      await expect
        .poll(
          async () => {
            const rows = (await drawn(grid)).filter((r) => r.index !== '…');
            return rows.length > 5 && rows.every((r) => Number(r.index) === r.at - 2);
          },
          { timeout: 60_000 },
        )
        .toBe(true);
      expect(await grid.getByTestId('fault-row-skipped').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await served.stop();
    }
  }, 180_000);
});
