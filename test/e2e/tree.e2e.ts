// The platform tree in Chromium through the web host, on the TEE-IO sample and its assignment trace
// (test/fixtures/tee-io-assign.trace.jsonl): one scalable unit with groups 0..2 at boot, keyboard
// navigation (roving tabindex, Left collapses, Right expands then enters, Enter selects, type-ahead),
// a device picked in the address map revealed in the tree, and after playing the trace the NIC's
// group owned by user space on a nested domain with PASID 1 attached and its TDISP interface running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser, serve, type Served } from './browser';

let served: Served;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  served = await serve(['test/fixtures/tee-io-assign.trace.jsonl']);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
});
afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

const focusedKey = () => page.locator(':focus').getAttribute('data-key');

describe('platform tree', () => {
  it('shows units and groups, is keyboard-navigable, and follows the replay', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(served.url);

    const tree = page.getByRole('tree', { name: /Platform tree/ });
    await expect.poll(() => tree.getByRole('treeitem').count()).toBeGreaterThan(0);
    const unit = tree.getByRole('treeitem', { name: /^dmar0, scalable mode/ });
    expect(await unit.getAttribute('aria-level')).toBe('1');
    expect(await unit.getAttribute('aria-expanded')).toBe('true');
    const groups = tree.locator('[aria-level="2"]');
    expect(await groups.count()).toBe(3);
    expect(await groups.nth(2).getAttribute('aria-label')).toBe('Group 2, dma domain, owner none, 1 device');
    // the group's reason describes it
    await expect
      .poll(() => tree.getByRole('treeitem', { name: /^Group 2,/ }).getAttribute('aria-describedby'))
      .toBe('tree-reason-2');
    expect(await page.locator('#tree-reason-2').textContent()).toBe(
      '16:00.0 is alone: ACS (SV|RR|CR|UF) isolates its path to the root from 15:01.0 up',
    );
    // one tab stop: the first node
    expect(await tree.locator('[tabindex="0"]').count()).toBe(1);
    expect(await unit.getAttribute('tabindex')).toBe('0');

    // keyboard: focus the unit, down to group 0, collapse, expand, enter, select the host bridge
    await unit.focus();
    await page.keyboard.press('ArrowDown');
    expect(await focusedKey()).toBe('g:0');
    const group0 = tree.getByRole('treeitem', { name: /^Group 0,/ });
    await page.keyboard.press('ArrowLeft');
    expect(await group0.getAttribute('aria-expanded')).toBe('false');
    expect(await tree.locator('[data-key="d:0000:00:00.0"]').count()).toBe(0);
    await page.keyboard.press('ArrowRight');
    expect(await group0.getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('ArrowRight');
    expect(await focusedKey()).toBe('d:0000:00:00.0');
    await page.keyboard.press('Enter');
    const host = tree.locator('[data-key="d:0000:00:00.0"]');
    expect(await host.getAttribute('aria-selected')).toBe('true');
    expect(await host.getAttribute('tabindex')).toBe('0');
    expect(await tree.locator('[aria-selected="true"]').count()).toBe(1);
    // its reserved regions, listed once selected
    expect(
      await page.getByRole('list', { name: 'Reserved regions of 0000:00:00.0' }).textContent(),
    ).toContain('0xfee00000–0xfeefffff');
    // Left goes to the parent (a device without PASIDs has nothing to collapse), Home to the first node
    await page.keyboard.press('ArrowLeft');
    expect(await focusedKey()).toBe('g:0');
    await page.keyboard.press('Home');
    expect(await focusedKey()).toBe('u:dmar0');

    // type-ahead: a letter moves to the next visible node whose name starts with it, the same letter
    // again to the one after; a word (after a pause) to the node it starts (a device's name)
    await page.keyboard.press('g');
    expect(await focusedKey()).toBe('g:0');
    await page.keyboard.press('g');
    expect(await focusedKey()).toBe('g:1');
    await page.waitForTimeout(600);
    await page.keyboard.type('conn');
    expect(await focusedKey()).toBe('d:0000:16:00.0');
    // a device selected elsewhere (the address map's picker) is revealed: its collapsed group expands
    await page.keyboard.press('ArrowLeft'); // to group 2
    await page.keyboard.press('ArrowLeft'); // collapsed
    const group2 = tree.getByRole('treeitem', { name: /^Group 2,/ });
    expect(await group2.getAttribute('aria-expanded')).toBe('false');
    await page.getByTestId('amap-device').selectOption('0000:16:00.0');
    await expect.poll(() => group2.getAttribute('aria-expanded')).toBe('true');
    expect(await tree.locator('[data-key="d:0000:16:00.0"]').getAttribute('aria-selected')).toBe('true');
    await unit.focus();
    await page.keyboard.press('Home');
    expect(await focusedKey()).toBe('u:dmar0');

    // play the trace: the NIC is the user's, on a nested domain, PASID 1 attached, TDISP running
    await page.getByRole('button', { name: 'Play' }).click();
    await expect.poll(() => page.getByTestId('replay-status').textContent()).toBe('done');
    const nic = tree.locator('[data-key="d:0000:16:00.0"]');
    await expect
      .poll(() => nic.getAttribute('aria-label'))
      .toBe(
        '0000:16:00.0 ConnectX-7 (TDISP-capable) PF0, nested domain, owner user, 1 reserved region, TDISP RUN, 1 PASID, 1 fault',
      );
    expect(await nic.getAttribute('aria-expanded')).toBe('true');
    await expect
      .poll(() => tree.getByRole('treeitem', { name: /^Group 2,/ }).getAttribute('aria-label'))
      .toBe('Group 2, nested domain, owner user, 1 device');

    // back into the tree (one tab stop, where the focus was); End reaches the PASID; Space selects it
    await tree.locator('[tabindex="0"]').focus();
    expect(await focusedKey()).toBe('u:dmar0');
    await page.keyboard.press('End');
    expect(await focusedKey()).toBe('p:0000:16:00.0:1');
    await page.keyboard.press(' ');
    const pasid = tree.getByRole('treeitem', { name: 'PASID 1 of 0000:16:00.0, unmanaged domain' });
    expect(await pasid.getAttribute('aria-selected')).toBe('true');
    expect(await pasid.getAttribute('aria-level')).toBe('4');
    expect(await host.getAttribute('aria-selected')).toBe('false');
    await page.keyboard.press('ArrowUp');
    expect(await focusedKey()).toBe('d:0000:16:00.0');

    await page
      .getByRole('region', { name: /TEE-IO host/ })
      .screenshot({ path: `${ARTIFACTS}/platform-tree.png` });
    expect(errors).toEqual([]);
  });
});
