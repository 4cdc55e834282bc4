// `iommu-lab crosscheck` end to end: a hand-written miniature capture (two domains sharing one IOVA, a
// provoked fault, fault-record compression) with hand-checked answers; the shipped QEMU capture (skipped only
// when ../shared/reference/samples/qemu-real-scalable is absent) reaching full agreement, its negative control
// collapsing, and its legacy-mode rendering; truncated, interleaved and swapped inputs giving clear errors and
// partial results. Files are read inside the tests, never in describe bodies.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { crosscheckCommand } from '../src/cli/crosscheck-command';
import { crosscheckTexts, type CrosscheckResult } from '../src/crosscheck/index';

const FIX = resolve(__dirname, 'fixtures/crosscheck');
const SAMPLE = resolve(__dirname, '../../shared/reference/samples/qemu-real-scalable');
const tmp = mkdtempSync(join(tmpdir(), 'crosscheck-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const miniGuest = (): string => readFileSync(join(FIX, 'mini-guest-console.log'), 'utf8');
const miniQemu = (): string => readFileSync(join(FIX, 'mini-qemu-trace.log'), 'utf8');

async function run(
  guest: string,
  qemu: string,
  opts: { profile?: string; shiftMaps?: number } = {},
): Promise<{ code: number; json: CrosscheckResult; text: string }> {
  let text = '';
  const code = await crosscheckCommand(guest, qemu, { ...opts, json: true }, (s) => (text += s));
  return { code, json: JSON.parse(text) as CrosscheckResult, text };
}

describe('crosscheck on a hand-written miniature capture', () => {
  it('attributes the shared IOVA to each domain and agrees with every answer', () => {
    const r = crosscheckTexts(miniGuest(), miniQemu());
    expect(r.profile).toBe('qemu-7.2');
    expect(r.platform.unit).toMatchObject({ mode: 'legacy', pageTable: 'second-level', levels: 3, haw: 39 });
    expect(r.platform.domains.map((d) => [d.domain, d.devices, d.maps, d.unmaps])).toEqual([
      ['0x3', ['0000:00:03.0'], 1, 1],
      ['0x4', ['0000:00:04.0'], 1, 0],
    ]);
    expect(r.alignment.markers).toHaveLength(1);
    expect(r.alignment.offset).toBeGreaterThan(1700000000.499);
    expect(r.alignment.offset).toBeLessThan(1700000000.501);
    expect({ t: r.translations, a: r.agree, d: r.disagree, u: r.unchecked }).toEqual({
      t: 4,
      a: 4,
      d: 0,
      u: 0,
    });
    expect(r.faults).toMatchObject({
      observed: 3,
      reproduced: 3,
      byReason: { '0x06': 2, '0x05': 1 },
      observedByReason: { '0x06': 2, '0x05': 1 },
    });
    // one record: the second fault is compressed while PPF is set; the guest drains; the third is recorded
    expect(r.recorded).toMatchObject({ observed: 2, model: 2, compressed: 1, suppressed: 1 });
    expect(r.recorded.records.map((x) => [x.model?.high, x.same])).toEqual([
      ['0x40ffff0600000018', true],
      ['0x40ffff0600000018', true],
    ]);
    expect(r.recorded.guestReports).toMatchObject({ observed: 1, model: 1, same: 1 });
    expect(r.complete).toBe(true);
    expect(r.issues).toEqual([]);
  });

  it('collapses when the guest maps are shifted by one page (negative control)', () => {
    const r = crosscheckTexts(miniGuest(), miniQemu(), { shiftMapsPages: 1 });
    expect(r.agree).toBe(0);
    expect(r.disagree).toBe(4);
    const d = r.disagreements[0]!;
    expect(d.request).toMatchObject({
      kind: 'translation',
      bdf: '0000:00:04.0',
      addr: '0xfffff040',
      access: 'read',
    });
    expect(d.qemu).toMatchObject({ result: 'translated', gpa: '0x11111000', domain: '0x4' });
    expect(d.lab).toMatchObject({ result: 'translated', pa: '0x11112040', domain: '0x4' });
    expect(d.guestEvents.map((g) => [g.line, g.op, g.domain])).toEqual([[21, 'map', '0x4']]);
  });

  it('prints the JSON through the CLI and exits 0 on full agreement', async () => {
    const { code, json } = await run(join(FIX, 'mini-guest-console.log'), join(FIX, 'mini-qemu-trace.log'));
    expect(code).toBe(0);
    expect(json).toMatchObject({ profile: 'qemu-7.2', translations: 4, agree: 4, disagree: 0 });
    expect(json.faults).toMatchObject({ observed: 3, reproduced: 3 });
    expect(json.recorded).toMatchObject({ observed: 2, model: 2 });
  });

  it('names the profile it used and refuses an unknown one', async () => {
    const g = join(FIX, 'mini-guest-console.log');
    const q = join(FIX, 'mini-qemu-trace.log');
    expect((await run(g, q, { profile: 'vtd-spec' })).json.profile).toBe('vtd-spec');
    let text = '';
    expect(await crosscheckCommand(g, q, { profile: 'qemu-9' }, (s) => (text += s))).toBe(64);
    expect(text).toMatch(/unknown profile "qemu-9"/);
  });

  it('reports a missing file and exits 64', async () => {
    let text = '';
    const code = await crosscheckCommand(
      join(tmp, 'nope.log'),
      join(FIX, 'mini-qemu-trace.log'),
      {},
      (s) => (text += s),
    );
    expect(code).toBe(64);
    expect(text).toMatch(/nope\.log: cannot open/);
  });
});

describe('crosscheck on truncated, interleaved and swapped inputs', () => {
  it('a console cut short: the requests after its end are unchecked, the rest still agrees', () => {
    const cut = miniGuest().split('\n').slice(0, 23).join('\n');
    const r = crosscheckTexts(cut, miniQemu());
    expect(r.complete).toBe(false);
    expect(r.issues.some((i) => i.level === 'error' && /truncated console/.test(i.message))).toBe(true);
    expect(r.unchecked + r.faults.unchecked).toBeGreaterThan(0);
    expect(r.disagree).toBe(0);
    expect(r.agree).toBeGreaterThan(0);
  });

  it('a QEMU trace cut short: the guest ops after its end are reported', () => {
    const cut = miniQemu().split('\n').slice(0, 11).join('\n');
    const r = crosscheckTexts(miniGuest(), cut);
    expect(r.complete).toBe(false);
    expect(r.issues.some((i) => /truncated trace/.test(i.message))).toBe(true);
  });

  it('a gzip trace that breaks off: a clear error, what was read is used, exit code 8', async () => {
    const gz = gzipSync(Buffer.from(miniQemu()));
    const file = join(tmp, 'cut.log.gz');
    writeFileSync(file, gz.subarray(0, gz.length - 40));
    const { code, json } = await run(join(FIX, 'mini-guest-console.log'), file);
    expect(code & 8).toBe(8);
    expect(json.complete).toBe(false);
    expect(json.issues.some((i) => i.source === 'qemu' && /gzip stream error/.test(i.message))).toBe(true);
    expect(json.agree).toBeGreaterThan(0);
  });

  it('a console holding two boots: an error naming the line, the first boot is checked', () => {
    const g = miniGuest();
    const r = crosscheckTexts(`${g}${g}`, miniQemu());
    const e = r.issues.find((i) => /more than one run or interleaved/.test(i.message));
    expect(e).toMatchObject({ level: 'error', source: 'guest', line: 28 });
    expect(r.complete).toBe(false);
    expect({ a: r.agree, d: r.disagree }).toEqual({ a: 4, d: 0 });
  });

  it('two QEMU traces interleaved: an error naming the line', () => {
    const lines = miniQemu().trimEnd().split('\n');
    const other = lines.map((l) => l.replace(/@1700000002\./, '@1690000002.'));
    const mixed = [...lines.slice(0, 14), other[13]!, ...lines.slice(14)].join('\n');
    const r = crosscheckTexts(miniGuest(), mixed);
    expect(r.issues.find((i) => /interleaved/.test(i.message))).toMatchObject({ source: 'qemu', line: 15 });
    expect(r.complete).toBe(false);
  });

  it('swapped arguments are named as such', () => {
    const r = crosscheckTexts(miniQemu(), miniGuest());
    expect(r.issues.filter((i) => /arguments swapped/.test(i.message)).map((i) => i.source)).toEqual([
      'guest',
      'qemu',
    ]);
    expect(r.complete).toBe(false);
  });
});

describe.skipIf(!existsSync(SAMPLE))('crosscheck on the shipped QEMU capture (qemu-real-scalable)', () => {
  const guest = (): string => join(SAMPLE, 'guest-console.log');
  const trace = (): string => join(SAMPLE, 'qemu-trace.log.gz');

  it('agrees with every translation and every fault', async () => {
    const { code, json } = await run(guest(), trace());
    expect(code).toBe(0);
    expect(json).toMatchObject({
      profile: 'qemu-7.2',
      complete: true,
      translations: 4557,
      agree: 4557,
      disagree: 0,
    });
    expect(json.faults).toMatchObject({
      observed: 1285,
      reproduced: 1285,
      byReason: { '0x06': 1028, '0x05': 257 },
    });
    expect(json.recorded).toMatchObject({ observed: 2, model: 2, compressed: 1283 });
    expect(json.recorded.records.every((r) => r.same)).toBe(true);
    expect(json.recorded.guestReports).toMatchObject({ observed: 2, model: 2, same: 2 });
    expect(json.platform.unit).toMatchObject({ mode: 'scalable', pageTable: 'second-level', levels: 3 });
    expect(json.attribution).toMatchObject({
      maps: 2138,
      unmaps: 928,
      unattributed: 0,
      conflicts: 0,
      refused: 0,
    });
    const byDomain = Object.fromEntries(json.platform.domains.map((d) => [d.domain, d.maps + d.unmaps]));
    expect(byDomain['0x3']! + byDomain['0x4']! + byDomain['0x5']!).toBe(2138 + 928);
    expect(json.disagreements).toEqual([]);
  });

  it('collapses when every guest map is shifted by one page (negative control)', async () => {
    const { code, json } = await run(guest(), trace(), { shiftMaps: 1 });
    expect(code & 1).toBe(1);
    expect(json.translations).toBe(4557);
    expect(json.agree).toBe(0);
    expect(json.disagreements).toHaveLength(10);
    expect(json.disagreements[0]!.guestEvents.length).toBeGreaterThan(0);
  });

  it('reaches the same agreement on the capture rendered as a legacy-mode run', () => {
    const g = readFileSync(guest(), 'utf8').replace(/\[DMA Read PASID 0x0\]/g, '[DMA Read NO_PASID]');
    const q = gunzipSync(readFileSync(trace()))
      .toString('utf8')
      .replace('scalable 1', 'scalable 0')
      .replace(/high 0x4000000680000018/g, 'high 0x40ffff0600000018');
    const r = crosscheckTexts(g, q);
    expect(r.platform.unit.mode).toBe('legacy');
    expect({ a: r.agree, d: r.disagree, f: r.faults.reproduced }).toEqual({ a: 4557, d: 0, f: 1285 });
    expect(r.recorded.records.map((x) => x.model?.high)).toEqual([
      '0x40ffff0600000018',
      '0x40ffff0600000018',
    ]);
  });

  it('aligns the clocks from the guest order alone when the NVMe markers are missing', () => {
    const g = readFileSync(guest(), 'utf8');
    const q = gunzipSync(readFileSync(trace()))
      .toString('utf8')
      .split('\n')
      .filter((l) => !l.includes(':pci_nvme_read '))
      .join('\n');
    const r = crosscheckTexts(g, q);
    expect(r.alignment.markers).toEqual([]);
    expect(r.alignment.method).toMatch(/map-invalidation vote/);
    expect({ a: r.agree, d: r.disagree, f: r.faults.reproduced }).toEqual({ a: 4557, d: 0, f: 1285 });
  });

  it('the VT-d spec profile gives the scalable-mode reasons, so the faults disagree with QEMU', () => {
    const g = readFileSync(guest(), 'utf8');
    const q = gunzipSync(readFileSync(trace())).toString('utf8');
    const r = crosscheckTexts(g, q, { profile: 'vtd-spec' });
    expect(r.profile).toBe('vtd-spec');
    expect(r.agree).toBe(4557);
    expect(r.faults.reproduced).toBe(0);
  });

  it('a console cut in the middle gives a partial result that still agrees where it can check', () => {
    const lines = readFileSync(guest(), 'utf8').split('\n');
    const q = gunzipSync(readFileSync(trace())).toString('utf8');
    const r = crosscheckTexts(lines.slice(0, 2000).join('\n'), q);
    expect(r.complete).toBe(false);
    expect(r.unchecked).toBeGreaterThan(0);
    expect(r.disagree).toBe(0);
    expect(r.agree + r.unchecked).toBe(4557);
  });
});
