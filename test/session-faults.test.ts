// The fault table behind the UI (queryFaults, faultClusters) over every fault and hazard of a replay:
// native traces through the worker player, text traces in the host thread. Known answers: generated
// traces whose fault and hazard counts the generator announces, built so that one kind of fault has
// one reason (never-mapped pages: 0x05 for writes, 0x06 for reads; T=1 requests from a TDI that is not
// in RUN: 0x101), and the laptop sample (5 faults, 1 use-after-unmap hazard).
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { genCommand } from '../src/cli/gen-command';
import { Session } from '../src/host/session';
import { ApiError, parseCall, type EventName, type EventPayloads, type ReplayStats } from '../src/shared/api';
import { faultPageRow, PAGE_KIND_HAZARD } from '../src/shared/views/faults';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-faults-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function generate(
  name: string,
  o: { faultRate?: number; tbitMix?: number; staleUnmaps?: number; tlps?: number },
): Promise<{ path: string; faults: number; hazards: number }> {
  const path = join(dir, name);
  let json = '';
  await genCommand({ seed: 5, tlps: o.tlps ?? 100_000, ...o, output: path, json: true }, (s) => (json += s));
  const x = (JSON.parse(json) as { expected: { faults: number; hazards: number } }).expected;
  return { path, faults: x.faults, hazards: x.hazards };
}

async function played(path: string): Promise<{ s: Session; last: () => ReplayStats | undefined }> {
  let last: ReplayStats | undefined;
  const s = new Session('web', <E extends EventName>(event: E, payload: EventPayloads[E]) => {
    if (event === 'stats') last = payload as ReplayStats;
  });
  await s.openPath(path);
  await s.handlers.replayControl({ action: 'play' });
  await expect.poll(() => last?.status, { timeout: 30_000 }).toBe('done');
  return { s, last: () => last };
}

describe('the fault table of a native trace', () => {
  it('counts what the generator built, filter by filter', async () => {
    const gen = await generate('mixed.iotrace', { faultRate: 0.01, tbitMix: 0.01, staleUnmaps: 3 });
    expect(gen.hazards).toBe(3);
    const { s } = await played(gen.path);
    // handlers may throw before returning a promise: call them inside an async function
    const call = async (p: Parameters<typeof s.handlers.queryFaults>[0]) => s.handlers.queryFaults(p);
    const count = async (filter: string): Promise<number> =>
      (await s.handlers.queryFaults({ offset: 0, limit: 0, filter })).total;
    try {
      const all = await s.handlers.queryFaults({ offset: 0, limit: 3 });
      expect(all.total).toBe(gen.faults + gen.hazards);
      expect(all.all).toBe(gen.faults + gen.hazards);
      expect(await count('fault')).toBe(gen.faults);
      expect(await count('hazard')).toBe(3);
      // the two kinds of fault the generator makes, told apart by their addresses and reasons
      const unmapped = await count('fault && addr >= 0x2000000000 && addr < 0x2010000000');
      const tee = await count('reason == 0x101');
      expect(unmapped).toBeGreaterThan(0);
      expect(tee).toBeGreaterThan(0);
      expect(unmapped + tee).toBe(gen.faults);
      expect(await count('reason == 0x05 || reason == 0x06')).toBe(unmapped);
      expect(await count('read && reason == 0x05')).toBe(0);
      expect(await count('t == 1')).toBe(tee);
      expect(await count('t == 1 && stage == tee-io && recording == not-recorded')).toBe(tee);
      // every requester's faults add up
      const devices = (await s.handlers.platformSummary({}))!.devices.filter((d) => d.faults > 0);
      let sum = 0;
      for (const d of devices) sum += await count(`fault && rid == ${d.bdf}`);
      expect(sum).toBe(gen.faults);

      const byAddress = await s.handlers.queryFaults({
        offset: 0,
        limit: 200,
        filter: 'fault',
        sort: { key: 'address', descending: true },
      });
      const addrs = byAddress.rows.map((r) => BigInt(r.address));
      for (let i = 1; i < addrs.length; i++) expect(addrs[i - 1]! >= addrs[i]!).toBe(true);
      const colored = await s.handlers.queryFaults({
        offset: 0,
        limit: 10_000,
        colorRules: ['hazard', 'reason == 0x101'],
      });
      for (const r of colored.rows)
        expect(r.colorRule).toBe(r.kind === 'hazard' ? 0 : r.reason === 0x101 ? 1 : -1);
      // the columns shape (the UI's fault table): the same page, field by field, filtered and sorted
      const spec = {
        offset: 1,
        limit: 10_000,
        filter: 'hazard || reason == 0x101',
        sort: { key: 'address' as const, descending: true },
        colorRules: ['hazard', 'reason == 0x101'],
      };
      const asRows = await s.handlers.queryFaults(spec);
      const asColumns = await s.handlers.queryFaults({ ...spec, shape: 'columns' });
      expect(asColumns.total).toBe(asRows.total);
      expect(asColumns.all).toBe(asRows.all);
      expect(asColumns.rows).toEqual([]);
      const c = asColumns.columns!;
      expect(c.length).toBe(asRows.rows.length);
      expect(c.length).toBeGreaterThan(10);
      expect(c.time).toBeInstanceOf(Float64Array);
      expect([...c.kind].filter((k) => k === PAGE_KIND_HAZARD).length).toBeGreaterThan(0);
      for (let k = 0; k < c.length; k++) {
        const want = asRows.rows[k]!;
        const got = { ...faultPageRow(c, k), colorRule: c.colorRule[k] };
        for (const key of Object.keys(want) as (keyof typeof want)[])
          expect(got[key], `row ${k} ${key}`).toEqual(want[key]);
        expect(Object.keys(got).filter((key) => !(key in want))).toEqual([]);
      }
      expect(() => parseCall('queryFaults', { offset: 0, limit: 1, shape: 'columns' })).not.toThrow();
      expect(() => parseCall('queryFaults', { offset: 0, limit: 1, shape: 'objects' })).toThrow(
        /queryFaults: invalid params at shape/,
      );
      const hz = (await s.handlers.queryFaults({ offset: 0, limit: 10, filter: 'hazard' })).rows;
      expect(hz.map((r) => [r.kind, r.index])).toEqual([
        ['hazard', 0],
        ['hazard', 1],
        ['hazard', 2],
      ]);
      // each use-after-unmap sequence happens at one trace time: the unmap is 0 ns old
      expect(hz.map((r) => r.hazard!.age)).toEqual([0, 0, 0]);

      await expect(call({ offset: 0, limit: 1, filter: 'reason == 0x05 &&' })).rejects.toThrow(
        /^queryFaults: filter: column 18: expected a field/,
      );
      await expect(call({ offset: 0, limit: 1, colorRules: ['rid == 1'] })).rejects.toMatchObject({
        code: 'EINVAL',
        message: expect.stringMatching(/^queryFaults: color rule 1: column 8/),
      });

      const clusters = await s.handlers.faultClusters({});
      expect(clusters.reduce((n, c) => n + c.count, 0)).toBe(gen.faults);
      const teeClusters = await s.handlers.faultClusters({ filter: 'reason == 0x101' });
      expect(teeClusters.reduce((n, c) => n + c.count, 0)).toBe(tee);
      expect(new Set(teeClusters.map((c) => c.hint.rule))).toEqual(new Set(['tbit-mismatch']));
      await expect((async () => s.handlers.faultClusters({ filter: '(' }))()).rejects.toBeInstanceOf(
        ApiError,
      );

      // a seek back: the table shows the rows up to then, and grows again as the replay goes on
      const end = (await s.handlers.replayStats({})).endTime;
      const back = await s.handlers.replayControl({ action: 'seek', time: end / 2 });
      const half = await s.handlers.queryFaults({ offset: 0, limit: 10_000, filter: 'fault' });
      expect(half.total).toBe(back.faults);
      expect(half.total).toBeLessThan(gen.faults);
      expect(Math.max(...half.rows.map((r) => r.time))).toBeLessThanOrEqual(end / 2);
      await s.handlers.replayControl({ action: 'play' });
      await expect.poll(() => count('fault'), { timeout: 30_000 }).toBe(gen.faults);
      expect(await count('reason == 0x101')).toBe(tee);
    } finally {
      s.dispose();
    }
  });

  it('lists exactly the announced faults by reason for one kind of fault', async () => {
    const tbit = await generate('tbit.iotrace', { faultRate: 0, tbitMix: 0.02, tlps: 50_000 });
    const { s } = await played(tbit.path);
    try {
      expect(tbit.faults).toBeGreaterThan(0);
      expect((await s.handlers.queryFaults({ offset: 0, limit: 0, filter: 'reason == 0x101' })).total).toBe(
        tbit.faults,
      );
      expect((await s.handlers.queryFaults({ offset: 0, limit: 0, filter: 'reason != 0x101' })).total).toBe(
        0,
      );
    } finally {
      s.dispose();
    }
  });
});

describe('the fault table of a text trace', () => {
  it('holds the laptop sample’s 5 faults and its hazard', async () => {
    const { s } = await played('traces/laptop-demo.trace.jsonl');
    try {
      const all = await s.handlers.queryFaults({ offset: 0, limit: 100 });
      expect(all.total).toBe(6);
      expect(all.rows.filter((r) => r.kind === 'hazard')).toHaveLength(1);
      const rows = await s.handlers.queryFaults({ offset: 0, limit: 10, filter: 'rid == 01:00.0 && write' });
      expect(rows.rows.map((r) => r.dmesg)).toContain(
        'DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0xfff01000 [fault reason 0x05] PTE Write access is not set',
      );
      const times = (await s.handlers.queryFaults({ offset: 0, limit: 100, sort: { key: 'time' } })).rows.map(
        (r) => r.time,
      );
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect((await s.handlers.faultClusters({})).reduce((n, c) => n + c.count, 0)).toBe(5);
    } finally {
      s.dispose();
    }
  });
});
