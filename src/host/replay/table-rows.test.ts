// tableRows (table-rows.ts): the fault and hazard rows `iommu-lab replay` lists for a native trace,
// read back from the fault table, must be the rows the text path builds from a Replay's own Fault and
// Hazard objects (src/cli/replay.ts replayText: faultRow/hazardRow of src/report/summary.ts). Expected
// rows: a generated trace's events (its TLP records as DMA requests, its control events) applied one by
// one to a plain Replay, as replayText applies a text trace's events; counts and filtered lists are
// worked out from those Fault and Hazard objects. The tables: those the CLI's native paths fill
// (EngineCore → RowSink → WorkerRows, in this thread and through the workers) and the text path's
// --filter table (ReplayRows).
import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLab } from '../../engine/lab';
import { Replay, type Fault, type Hazard } from '../../engine/replay';
import { FaultColumns } from '../../query/fault-columns';
import { FilterError } from '../../query/filter';
import { FaultQuery } from '../../query/query';
import { dmaOfTlpWords } from '../../report/report-model';
import { faultRow, hazardRow } from '../../report/summary';
import { TraceGenerator } from '../../trace/gen/index';
import { TLP_RECORD_WORDS } from '../../trace/native/index';
import { readNativeTrace } from '../trace-file';
import { chunkItems } from './chunk-items';
import { ReplayRows } from './fault-store';
import { openNativeInput, type NativeInput } from './native-input';
import { replayNativeInThread, replayNativeWorkers } from './native-replay';
import { tableRows } from './table-rows';

const LABEL = 'gen.iotrace';
const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-table-rows-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

let input: NativeInput;
/** the plain Replay of the trace's events, as the text path replays */
let replay: Replay;

beforeAll(async () => {
  const gen = new TraceGenerator({
    seed: 21,
    tlps: 20_000,
    devices: 3,
    pasids: 3,
    faultRate: 0.01,
    tbitMix: 0.01,
    staleUnmaps: 6,
    controlEvents: 40,
  });
  const path = join(dir, LABEL);
  // each piece is written before the next is asked for (the generator may reuse its buffers)
  const fd = openSync(path, 'w');
  for (const piece of gen.pieces()) writeSync(fd, piece);
  closeSync(fd);
  expect(gen.expected).toMatchObject({ faults: 409, hazards: 6 });
  input = await openNativeInput(path);
  replay = new Replay(buildLab(input.platform), { profile: input.autoProfile, iotlbMode: 'hardware' });
  for await (const it of readNativeTrace(path)) {
    if (it.kind !== 'chunk') continue;
    const c = it.chunk;
    const { items, before } = chunkItems(c, LABEL, c.offset);
    let r = 0;
    for (let i = 0; i <= items.length; i++) {
      const until = i < items.length ? before[i]! : c.recordCount;
      for (; r < until; r++) replay.apply(dmaOfTlpWords(c.records, r * TLP_RECORD_WORDS));
      const item = items[i];
      if (item?.kind !== 'control') continue;
      // as EngineCore.item: an event without its own `t` takes the trace time
      const event = item.event.t === undefined ? { ...item.event, t: item.time } : item.event;
      replay.apply({ kind: 'control', time: item.time, origin: item.origin, event });
    }
  }
}, 60_000);

const options = () => ({ profile: input.autoProfile, iotlbMode: 'hardware' as const, label: LABEL });

describe('tableRows', () => {
  it('the trace has what the rows must carry: PASID faults, T-bit faults, hazards', () => {
    expect(replay.faults.length).toBeGreaterThan(50);
    expect(replay.faults.some((f) => f.pasid !== null)).toBe(true);
    expect(replay.faults.some((f) => f.reason > 0xff)).toBe(true);
    expect(replay.hazards.length).toBeGreaterThan(0);
  });

  it("gives, from the native paths' tables, the rows the text path builds from the Replay", async () => {
    const faults = replay.faults.map(faultRow);
    const hazards = replay.hazards.map(hazardRow);
    const inThread = await replayNativeInThread(input, { ...options(), maxFaults: Infinity });
    expect(inThread.faultRows).toEqual(faults);
    expect(inThread.hazardRows).toEqual(hazards);
    // key order too: the CLI's JSON output is the same text
    expect(JSON.stringify(inThread.faultRows)).toBe(JSON.stringify(faults));
    expect(JSON.stringify(inThread.hazardRows)).toBe(JSON.stringify(hazards));
    expect(tableRows(inThread.table, Infinity)).toEqual({
      faultRows: faults,
      hazardRows: hazards,
      faults: faults.length,
      hazards: hazards.length,
    });
    const workers = await replayNativeWorkers(input, { ...options(), maxFaults: 20 });
    expect(workers.faultRows).toEqual(faults.slice(0, 20));
    expect(workers.hazardRows).toEqual(hazards.slice(0, 20));
    expect(tableRows(workers.table, Infinity).faultRows).toEqual(faults);
  }, 60_000);

  it("gives the same from the text path's table (ReplayRows)", () => {
    const t = tableRows(new ReplayRows().sync(replay), Infinity);
    expect(t.faultRows).toEqual(replay.faults.map(faultRow));
    expect(t.hazardRows).toEqual(replay.hazards.map(hazardRow));
  });

  it('lists the first `max` rows and counts them all; a filter lists and counts the matching ones', async () => {
    const { table } = await replayNativeInThread(input, { ...options(), maxFaults: 1 });
    const f = replay.faults;
    const h = replay.hazards;
    expect(tableRows(table, 3)).toEqual({
      faultRows: f.slice(0, 3).map(faultRow),
      hazardRows: h.slice(0, 3).map(hazardRow),
      faults: f.length,
      hazards: h.length,
    });
    expect(tableRows(table, 0)).toEqual({
      faultRows: [],
      hazardRows: [],
      faults: f.length,
      hazards: h.length,
    });
    // PASID: only requests that carry one (hazards are recorded without)
    const pasid = f.filter((x) => x.pasid !== null);
    expect(tableRows(table, 4, 'pasid')).toEqual({
      faultRows: pasid.slice(0, 4).map(faultRow),
      hazardRows: [],
      faults: pasid.length,
      hazards: 0,
    });
    // writes: faults and hazards alike
    const wf = f.filter((x) => x.write);
    const wh = h.filter((x) => x.write);
    expect(tableRows(table, 2, 'write')).toEqual({
      faultRows: wf.slice(0, 2).map(faultRow),
      hazardRows: wh.slice(0, 2).map(hazardRow),
      faults: wf.length,
      hazards: wh.length,
    });
    // T=1 requests of a TDI not in RUN (lab reason 0x101)
    const tee = f.filter((x) => x.reason === 0x101);
    expect(tee.length).toBeGreaterThan(0);
    const t = tableRows(table, 100, 'reason == 0x101');
    expect(t.faultRows).toEqual(tee.slice(0, 100).map(faultRow));
    expect(t.faults).toBe(tee.length);
    expect(() => tableRows(table, 1, 'reason ==')).toThrow(FilterError);
  }, 60_000);

  it('leaves out gap rows (rows a far seek skipped), listed or counted', () => {
    const store = new FaultColumns(16);
    store.profile = 'vtd-spec';
    const fault = (index: number, time: number, pasid: number | null): Fault => ({
      index,
      time,
      requesterId: 0xa0,
      pasid,
      write: true,
      pageAddr: 0x7000,
      reason: 0x05,
      stage: 'second-level',
      recording: 'recorded',
      classes: [],
      profile: 'vtd-spec',
    });
    const hazard: Hazard = {
      kind: 'stale-iotlb',
      time: 400,
      requesterId: 0x08,
      addr: 0x12340,
      write: false,
      unmapOrigin: 'x chunk 0 event 1',
      unmapTime: 250,
    };
    store.appendFault(fault(0, 100, 3), 0);
    store.appendGap(2); // a fault and a hazard the seek skipped
    store.appendHazard(hazard, 1);
    store.appendFault(fault(2, 500, null), 2);
    const t = tableRows(new FaultQuery(store), 10);
    expect(t).toEqual({
      faultRows: [faultRow(fault(0, 100, 3)), faultRow(fault(2, 500, null))],
      hazardRows: [hazardRow(hazard)],
      faults: 2,
      hazards: 1,
    });
    expect(t.hazardRows[0]).toMatchObject({ bdf: '0000:00:01.0', address: '0x12340', age: 150 });
    expect(tableRows(new FaultQuery(store), 10, 'write').faults).toBe(2);
  });
});
