// Writing and reading a whole native trace: chunk boundaries, control events, merge order, piece
// sizes. Sizes are computed by hand from docs/trace-format.md: a chunk is 40 header bytes + 32 per
// record + its control bytes; the footer is 16 bytes + 32 per chunk, then a 16-byte trailer.
import { describe, expect, it } from 'vitest';
import type { ControlEvent } from '../control-script';
import { firstRecordAtOrAfter, visitChunk } from './chunk';
import { decodeBytes, encodeItems, sampleControl, sampleHeader, sampleTlp, type Item } from './fixtures';
import { encodeHeadRegion } from './header';
import { readTlp, writeTlp } from './tlp-record';
import { NativeTraceDecoder } from './reader';
import { NativeTraceEncoder } from './writer';

const tlps = (from: number, to: number): Item[] =>
  Array.from({ length: to - from }, (_, i) => ({ kind: 'tlp', tlp: sampleTlp(from + i) }));
const lock = (time: number): Item => ({
  kind: 'control',
  time,
  event: { op: 'tdisp_lock', bdf: '0000:01:00.0' },
});
const H = encodeHeadRegion(sampleHeader()).length;
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
/** MessagePack of [t, before, {op: "tdisp_lock", bdf: "0000:01:00.0"}] for t, before < 128, by hand. */
const lockBytes = (t: number, before: number) => [
  0x93, // array of 3
  t,
  before, // positive fixints
  0xde, // map16 (msgpackr writes every object as map16)
  0x00,
  0x02, // of 2 entries
  0xa2,
  ...ascii('op'),
  0xaa,
  ...ascii('tdisp_lock'),
  0xa3,
  ...ascii('bdf'),
  0xac,
  ...ascii('0000:01:00.0'),
]; // 37 bytes

const recordsOf = (c: { records: Uint32Array; recordCount: number }) =>
  Array.from({ length: c.recordCount }, (_, i) => readTlp(c.records, 8 * i));

describe('native trace round trip', () => {
  it('an empty trace is the head region, an empty footer and the trailer', () => {
    const { bytes, chunks } = encodeItems([]);
    expect(chunks).toEqual([]);
    expect(bytes.length).toBe(H + 16 + 16);
    const d = decodeBytes(bytes);
    expect(d).toEqual({ header: sampleHeader(), chunks: [], problems: [], footerEntries: 0 });
  });

  it('records exactly filling a chunk make one chunk', () => {
    const { bytes, chunks } = encodeItems(tlps(0, 4), { recordsPerChunk: 4 });
    expect(chunks).toEqual([{ start: H, end: H + 40 + 4 * 32 }]);
    expect(bytes.length).toBe(H + 168 + 16 + 32 + 16);
    const d = decodeBytes(bytes);
    expect(d.problems).toEqual([]);
    expect(d.footerEntries).toBe(1);
    expect(d.chunks).toHaveLength(1);
    expect(d.chunks[0]).toMatchObject({ offset: H, sequence: 0, recordCount: 4, firstTime: 0, lastTime: 30 });
    expect(recordsOf(d.chunks[0]!)).toEqual([0, 1, 2, 3].map(sampleTlp));
  });

  it('one record more opens a second chunk', () => {
    const { bytes, chunks } = encodeItems(tlps(0, 5), { recordsPerChunk: 4 });
    expect(chunks).toEqual([
      { start: H, end: H + 168 },
      { start: H + 168, end: H + 168 + 72 },
    ]);
    expect(bytes.length).toBe(H + 240 + 16 + 2 * 32 + 16);
    const d = decodeBytes(bytes);
    expect(d.problems).toEqual([]);
    expect(d.chunks.map((c) => [c.sequence, c.offset, c.recordCount, c.firstTime, c.lastTime])).toEqual([
      [0, H, 4, 0, 30],
      [1, H + 168, 1, 40, 40],
    ]);
    expect(recordsOf(d.chunks[1]!)).toEqual([sampleTlp(4)]);
  });

  it('a trace of control events only has chunks without records', () => {
    const { bytes, chunks } = encodeItems([lock(5), lock(7)]);
    expect(chunks).toEqual([{ start: H, end: H + 40 + 2 * 37 }]);
    // the control section is the two entries' MessagePack, back to back
    expect([...bytes.subarray(H + 40, H + 114)]).toEqual([...lockBytes(5, 0), ...lockBytes(7, 0)]);
    const d = decodeBytes(bytes);
    expect(d.problems).toEqual([]);
    expect(d.chunks[0]).toMatchObject({ recordCount: 0, controlBytes: 74, firstTime: 5, lastTime: 7 });
    expect(d.chunks[0]!.controls).toEqual([
      { time: 5, before: 0, event: { op: 'tdisp_lock', bdf: '0000:01:00.0' } },
      { time: 7, before: 0, event: { op: 'tdisp_lock', bdf: '0000:01:00.0' } },
    ]);
  });

  it('closes a chunk once its control events reach maxControlBytes', () => {
    // 37 + 37 = 74 ≥ 50 closes the first chunk after two events
    const { chunks } = encodeItems([lock(1), lock(2), lock(3)], { maxControlBytes: 50 });
    expect(chunks).toEqual([
      { start: H, end: H + 114 },
      { start: H + 114, end: H + 114 + 77 },
    ]);
  });

  it('merges control events with records in time order, ties in write order', () => {
    const items: Item[] = [lock(0), ...tlps(0, 2), lock(10), lock(15), ...tlps(2, 3), lock(20)];
    const d = decodeBytes(encodeItems(items).bytes);
    expect(d.chunks[0]!.controls.map((c) => [c.time, c.before])).toEqual([
      [0, 0],
      [10, 2],
      [15, 2],
      [20, 3],
    ]);
    const seen: string[] = [];
    visitChunk(
      d.chunks[0]!,
      (w, at) => seen.push(`tlp@${w[at]}`),
      (e) => seen.push(`ctl@${e.time}`),
    );
    expect(seen).toEqual(['ctl@0', 'tlp@0', 'tlp@10', 'ctl@10', 'ctl@15', 'tlp@20', 'ctl@20']);
  });

  it('keeps 64-bit control fields as bigints', () => {
    const d = decodeBytes(encodeItems([{ kind: 'control', time: 3, event: sampleControl(2) }]).bytes);
    expect(d.chunks[0]!.controls[0]!.event).toEqual({
      op: 'dma_map',
      bdf: '0000:01:00.0',
      iova: 0xfff02000n,
      length: 0x1000n,
      prot: 'rw',
    });
  });

  it('decodes the same whatever the size of the pieces it is fed', () => {
    const items: Item[] = [];
    for (let i = 0; i < 30; i++) items.push(...tlps(i, i + 1), ...(i % 4 === 0 ? [lock(10 * i)] : []));
    const { bytes } = encodeItems(items, { recordsPerChunk: 7 });
    const whole = decodeBytes(bytes);
    expect(whole.problems).toEqual([]);
    expect(whole.chunks.map((c) => c.recordCount)).toEqual([7, 7, 7, 7, 2]);
    for (const piece of [1, 3, 40, 1000]) expect(decodeBytes(bytes, piece)).toEqual(whole);
  });

  it('finds the first record at or after a time inside a chunk', () => {
    const d = decodeBytes(encodeItems(tlps(0, 4)).bytes);
    const c = d.chunks[0]!; // times 0, 10, 20, 30
    expect([0, 1, 10, 11, 30, 31].map((t) => firstRecordAtOrAfter(c, t))).toEqual([0, 1, 1, 2, 3, 4]);
  });

  it('takes raw records in batches, chunk by chunk', () => {
    const src = new Uint32Array(8 * 10);
    for (let i = 0; i < 10; i++) writeTlp(src, 8 * i, sampleTlp(i));
    const enc = new NativeTraceEncoder(sampleHeader(), { recordsPerChunk: 4 });
    const pieces: Uint8Array[] = [enc.start().slice()];
    let done = 0;
    while (done < 10) {
      done += enc.addTlpWords(src, 8 * done, 10 - done);
      const full = enc.takeFullChunk();
      if (full) pieces.push(full.slice());
    }
    pieces.push(...enc.finish());
    const d = decodeBytes(Uint8Array.from(pieces.flatMap((p) => [...p])));
    expect(d.problems).toEqual([]);
    expect(d.chunks.map((c) => c.recordCount)).toEqual([4, 4, 2]);
    expect(d.chunks.flatMap(recordsOf)).toEqual(Array.from({ length: 10 }, (_, i) => sampleTlp(i)));
  });

  it('refuses times that go back or are not integer ns, and stays usable', () => {
    const enc = new NativeTraceEncoder(sampleHeader());
    const pieces: Uint8Array[] = [enc.start().slice()];
    enc.addTlp(sampleTlp(2));
    expect(() => enc.addTlp(sampleTlp(1))).toThrow(RangeError);
    expect(() => enc.addControl(25.5, sampleControl(0))).toThrow(RangeError);
    const words = new Uint32Array(16);
    writeTlp(words, 0, sampleTlp(3));
    writeTlp(words, 8, sampleTlp(0));
    expect(() => enc.addTlpWords(words, 0, 2)).toThrow(RangeError);
    enc.addTlp(sampleTlp(3));
    pieces.push(...enc.finish());
    const d = decodeBytes(Uint8Array.from(pieces.flatMap((p) => [...p])));
    expect(d.problems).toEqual([]);
    expect(d.chunks.flatMap(recordsOf)).toEqual([sampleTlp(2), sampleTlp(3)]);
  });

  it('skips a control event that fails its schema, alone, with the chunk offset', () => {
    const bad = { op: 'dma_map', bdf: '0000:01:00.0' } as unknown as ControlEvent; // no iova, no length
    const { bytes } = encodeItems([lock(1), { kind: 'control', time: 2, event: bad }, lock(3)]);
    const d = decodeBytes(bytes);
    expect(d.chunks[0]!.controls.map((c) => c.time)).toEqual([1, 3]);
    expect(d.problems).toEqual([
      {
        offset: H,
        length: 0,
        message: expect.stringMatching(/^chunk 0, control event 1 skipped: EINVAL: dma_map/),
      },
    ]);
  });

  it('holds one chunk, not the file, however large the pieces it is fed', () => {
    // 40 default chunks of 4096 records: 40 · (40 + 4096 · 32) = 5 244 480 bytes of chunks
    const words = new Uint32Array(4096 * 8);
    for (let i = 0; i < 4096; i++) writeTlp(words, 8 * i, { ...sampleTlp(0), time: 0 });
    const enc = new NativeTraceEncoder(sampleHeader());
    const pieces: Uint8Array[] = [enc.start().slice()];
    for (let c = 0; c < 40; c++) {
      expect(enc.addTlpWords(words, 0, 4096)).toBe(4096);
      pieces.push(enc.takeFullChunk()!.slice());
    }
    pieces.push(...enc.finish());
    const file = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    pieces.reduce((at, p) => (file.set(p, at), at + p.length), 0);
    expect(file.length).toBe(H + 5_244_480 + 16 + 40 * 32 + 16);
    const dec = new NativeTraceDecoder();
    const items = [...dec.push(file), ...dec.end()];
    expect(items.filter((i) => i.kind === 'chunk')).toHaveLength(40);
    expect(items.filter((i) => i.kind === 'problem')).toEqual([]);
    // its initial 256 KiB buffer holds a 128 KiB chunk: it never grew
    expect(dec.bufferBytes).toBe(256 * 1024);
  });
});
