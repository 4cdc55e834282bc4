// Native traces through `iommu-lab replay` and the worker player (decoder worker → SharedArrayBuffer
// ring → engine worker). Known answers: a generated trace's fault and hazard counts come from the
// generator's construction (capture.generator.expected); a text trace converted to a native one must
// replay to the same summary; the state after step/seek equals an in-thread replay of the events up
// to that point.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes';
import { genCommand } from '../src/cli/gen-command';
import { importCommand } from '../src/cli/import-command';
import { replayCommand, type ReplayOptions } from '../src/cli/replay';
import { EngineCore } from '../src/host/replay/engine-core';
import { chunkItems } from '../src/host/replay/chunk-items';
import { openNativeInput } from '../src/host/replay/native-input';
import { WorkerPlayer } from '../src/host/replay/worker-player';
import { readNativeTrace } from '../src/host/trace-file';
import { TLP_RECORD_WORDS, tlpTime, type NativeTraceHeader } from '../src/trace/native/index';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-native-replay-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function replayJson(trace: string, o: ReplayOptions = {}) {
  const lines: string[] = [];
  const code = await replayCommand(
    trace,
    { json: true, ...o },
    (s) => lines.push(s),
    () => undefined,
  );
  return { code, j: JSON.parse(lines.join('\n')) };
}

async function gen(name: string, args: Record<string, string | number>): Promise<string> {
  const out = join(dir, name);
  const code = await genCommand({ seed: 1, tlps: 1000, ...args, output: out }, () => undefined);
  expect(code).toBe(EXIT.OK);
  return out;
}

async function headerOf(path: string): Promise<NativeTraceHeader> {
  for await (const it of readNativeTrace(path)) if (it.kind === 'header') return it.header;
  throw new Error('no header');
}

/** The counts after every event at or before `time`, replayed in this thread. */
async function countsAt(
  path: string,
  time: number,
): Promise<{ tlps: number; faults: number; hazards: number }> {
  const h = await headerOf(path);
  const core = new EngineCore(h.platform!);
  outer: for await (const it of readNativeTrace(path)) {
    if (it.kind !== 'chunk') continue;
    const c = it.chunk;
    const { items, before } = chunkItems(c, 'x', c.offset);
    let r = 0;
    for (let i = 0; i <= items.length; i++) {
      const until = i < items.length ? before[i]! : c.recordCount;
      for (; r < until; r++) {
        if (tlpTime(c.records, r * TLP_RECORD_WORDS) > time) break outer;
        core.tlp(c.records, r * TLP_RECORD_WORDS);
      }
      if (i < items.length) {
        const item = items[i]!;
        if (item.kind !== 'chunk' && item.time > time) break outer;
        core.item(item);
      }
    }
  }
  core.fold();
  return { tlps: core.replay.tlps, faults: core.agg.faults, hazards: core.agg.hazards };
}

describe('a generated trace replays to the counts known by construction', () => {
  it('faults, hazards and TLPs as the header announces, with PASIDs, T bits, stale unmaps and churn', async () => {
    const path = await gen('mixed.iotrace', {
      seed: 11,
      tlps: 60_000,
      devices: 3,
      pasids: 3,
      faultRate: 0.01,
      tbitMix: 0.01,
      staleUnmaps: 12,
      controlEvents: 80,
    });
    const x = (await headerOf(path)).capture.generator!.expected;
    expect(x.hazards).toBe(12);
    const { code, j } = await replayJson(path);
    expect(j).toMatchObject({
      tlps: 60_000,
      faults: x.faults,
      hazards: x.hazards,
      rejectedControl: 0,
      badLines: 0,
    });
    expect(j.events).toBe(60_000 + x.controls);
    expect(j.faultRows).toHaveLength(20);
    expect(j.hazardRows).toHaveLength(12);
    expect(code).toBe(EXIT.FAULTS | EXIT.HAZARDS);
  });

  it('unmaps that fill a DMA-FQ flush queue are flushed at once: those late writes fault', async () => {
    // one device, 600 stale sequences in 10 000 TLPs: the 256th and 512th unmaps flush the queue
    const path = await gen('fq.iotrace', {
      seed: 4,
      tlps: 10_000,
      devices: 1,
      staleUnmaps: 600,
      faultRate: 0,
    });
    const x = (await headerOf(path)).capture.generator!.expected;
    expect(x).toMatchObject({ faults: 2, hazards: 598 });
    const { j } = await replayJson(path);
    expect([j.faults, j.hazards]).toEqual([2, 598]);
    // with strict IOTLB invalidation every late write faults
    const strict = await replayJson(path, { iotlb: 'strict' });
    expect([strict.j.faults, strict.j.hazards]).toEqual([600, 0]);
  });

  it('the in-thread path (--compare-profiles) gives the same counts', async () => {
    const path = await gen('cmp.iotrace', { seed: 3, tlps: 5000, faultRate: 0.02, staleUnmaps: 3 });
    const a = await replayJson(path);
    const b = await replayJson(path, { compareProfiles: true });
    expect(b.j.faults).toBe(a.j.faults);
    expect(b.j.hazards).toBe(a.j.hazards);
    expect(b.j.devices).toEqual(a.j.devices);
    expect(b.j.comparison).toMatchObject({ profiles: ['vtd-spec', 'qemu-7.2'], requests: 5000 });
  });
});

describe('a text trace and its native conversion replay alike', () => {
  it('same summary, fault rows and hazard rows (but for where events came from)', async () => {
    const out = join(dir, 'laptop.iotrace');
    const lines: string[] = [];
    const code = await importCommand('traces/laptop-demo.trace.jsonl', { output: out }, (s) => lines.push(s));
    expect(code).toBe(EXIT.OK);
    expect(lines.join('\n')).toMatch(/18 TLP records, 13 control events/);
    const text = await replayJson('traces/laptop-demo.trace.jsonl');
    const native = await replayJson(out);
    const strip = (j: Record<string, unknown>) => {
      const { trace: _t, platformFile: _p, hazardRows, ...rest } = j;
      const rows = (hazardRows as Record<string, unknown>[]).map(({ unmapOrigin: _u, ...h }) => h);
      return { ...rest, hazardRows: rows };
    };
    expect(strip(native.j)).toEqual(strip(text.j));
    expect(native.code).toBe(text.code);
    expect(native.j.hazardRows[0].unmapOrigin).toBe('laptop.iotrace chunk 0 event 9');
  });
});

describe('the worker player', () => {
  it('steps, seeks back and forth, plays to the end, and reports the same state as a straight replay', async () => {
    const path = await gen('player.iotrace', {
      seed: 5,
      tlps: 30_000,
      faultRate: 0.01,
      staleUnmaps: 6,
      controlEvents: 20,
    });
    const input = await openNativeInput(path);
    const stats: number[] = [];
    const player = await WorkerPlayer.open(input, {
      checkpointEvery: 4096,
      onStats: (s) => stats.push(s.tlps),
    });
    try {
      expect(player.stats()).toMatchObject({ status: 'ready', eventsApplied: 0, tlps: 0 });
      player.step(5);
      await expect.poll(() => player.stats().eventsApplied).toBe(5);
      expect(player.stats().status).toBe('paused');
      const end = await player.run();
      const x = (await headerOf(path)).capture.generator!.expected;
      expect(end.summary).toMatchObject({ tlps: 30_000, faults: x.faults, hazards: x.hazards });
      expect(player.stats().status).toBe('done');
      /** the fault table's rows of the state shown: faults, hazards, and rows a far seek skipped (gaps) */
      const tableCounts = (): { faults: number; hazards: number; gaps: number } => {
        const t = player.table();
        const gaps = player.tableRows.missing(t.visible);
        const faults = t.query.matching('fault', t.visible).length - gaps; // gap rows are not hazards
        return { faults, hazards: t.query.matching('hazard', t.visible).length, gaps };
      };
      expect(tableCounts()).toEqual({ faults: x.faults, hazards: x.hazards, gaps: 0 });
      for (const t of [input.endTime / 2, input.endTime / 5, input.endTime * 0.9, 0, input.endTime / 3]) {
        const s = await player.seek(Math.floor(t));
        const want = await countsAt(path, Math.floor(t));
        expect({ tlps: s.tlps, faults: s.faults, hazards: s.hazards }).toEqual(want);
        const rows = tableCounts();
        expect(rows.faults + rows.hazards + rows.gaps).toBe(want.faults + want.hazards);
        expect(rows.faults).toBeLessThanOrEqual(want.faults);
        expect(rows.hazards).toBeLessThanOrEqual(want.hazards);
      }
      const again = await player.run();
      expect(again.summary.faults).toBe(x.faults);
      expect(stats.length).toBeGreaterThan(0);
    } finally {
      await player.dispose();
    }
  });

  it('plays paced at a speed and pauses', { timeout: 30_000 }, async () => {
    const path = await gen('paced.iotrace', { seed: 6, tlps: 2000 });
    const input = await openNativeInput(path);
    const player = await WorkerPlayer.open(input);
    try {
      // TLPs run from 4 µs to about 50 µs of trace time: at 10^-5 of real time, from 0.4 s to 5 s
      player.play(1e-5);
      await expect.poll(() => player.stats().tlps).toBeGreaterThan(0);
      player.pause();
      await expect.poll(() => player.stats().status).toBe('paused');
      const at = player.stats().tlps;
      expect(at).toBeLessThan(2000);
      player.setSpeed(0);
      player.play();
      const r = await player.finished();
      expect(r.summary.tlps).toBe(2000);
    } finally {
      await player.dispose();
    }
  });
});

describe('observed faults', () => {
  it('lists where the model and the log agree, by requester, page and time', async () => {
    // the laptop sample as a native trace, with observed faults added: the xHCI read at 4100 (agree),
    // the NVMe write at 7500 printed with another reason, a fault on a page the model never faulted,
    // and none for the absent requester at 8000 or the Wi-Fi write at 20 ms (unreported)
    const out = join(dir, 'observed.iotrace');
    const jsonl = await readFile('traces/laptop-demo.trace.jsonl', 'utf8');
    writeFileSync(
      join(dir, 'laptop-demo.trace.jsonl'),
      jsonl.replace('"platforms/', '"' + process.cwd() + '/traces/platforms/'),
    );
    expect(await importCommand(join(dir, 'laptop-demo.trace.jsonl'), { output: out }, () => undefined)).toBe(
      EXIT.OK,
    );
    const { NativeTraceWriter } = await import('../src/host/trace-file');
    const h = await headerOf(out);
    const withObserved = join(dir, 'observed2.iotrace');
    const w = await NativeTraceWriter.create(withObserved, h);
    const observed = (t: number, bdf: string, address: string, reason: number, access: 'read' | 'write') => ({
      time: t,
      event: {
        op: 'observed_fault' as const,
        source: 'intel' as const,
        origin: 'linux' as const,
        format: 'dmar-2021',
        segment: 0,
        bdf,
        sid: null,
        pasid: null,
        access,
        address,
        reason,
        reasonText: 'test',
      },
    });
    const adds = [
      observed(4101, '0000:00:14.0', '0x3e300000', 6, 'read'),
      observed(7501, '0000:02:00.0', '0xfffe0000', 6, 'write'),
      observed(9000, '0000:02:00.0', '0x12345000', 5, 'write'),
    ];
    for await (const it of readNativeTrace(out)) {
      if (it.kind !== 'chunk') continue;
      const c = it.chunk;
      let r = 0;
      const flushTo = async (t: number) => {
        while (adds.length && adds[0]!.time <= t) {
          const a = adds.shift()!;
          await w.control(a.time, a.event);
        }
      };
      let ci = 0;
      for (; r <= c.recordCount; r++) {
        while (ci < c.controls.length && c.controls[ci]!.before === r) {
          await flushTo(c.controls[ci]!.time - 1);
          await w.control(c.controls[ci]!.time, c.controls[ci]!.event);
          ci++;
        }
        if (r < c.recordCount) {
          const t = tlpTime(c.records, r * 8);
          await flushTo(t - 1);
          await w.tlpWords(c.records, r * 8, 1);
        }
      }
      await flushTo(Infinity);
    }
    await w.close();
    const { j } = await replayJson(withObserved);
    expect(j.faults).toBe(5);
    expect(j.agreement).toMatchObject({
      observed: 3,
      agree: 1,
      reasonDiffers: 1,
      modelNoFault: 1,
      notComparable: 0,
      modelFaults: 5,
      // both xHCI reads (the second compressed into the first's record) and the NVMe write
      reported: 3,
      notLogged: 0,
      // the absent requester's write and the late Wi-Fi write were recorded and nobody printed them
      unreported: 2,
    });
    expect(j.agreement.disagreements.map((d: { verdict: string }) => d.verdict)).toEqual([
      'reason-differs',
      'model-no-fault',
    ]);
    expect(j.agreement.disagreements[0]).toMatchObject({ observedReason: 6, modelReason: 5 });
  });
});
