// Native trace files on disk (src/host/trace-file.ts): write, stream back, seek, and damage.
// The seek trace has 1000 records, record i at time 10·⌊i/3⌋ ns (three records per time) and with
// length i, so the record found names its own index; by hand, the first record at or after T ≥ 0 is
// i = 3·⌈T/10⌉, and there is none past T = 3330 (the last time, 10·⌊999/3⌋). With 64 records per chunk
// the file has 16 chunks: 15 of 64 records and one of 40 (1000 = 15·64 + 40).
import fc from 'fast-check';
import { copyFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlatform } from '../src/engine/platform/index';
import { NativeTraceFile, NativeTraceWriter, readNativeTrace } from '../src/host/trace-file';
import { crc32 } from '../src/trace/native/crc';
import { sampleControl, sampleHeader, sampleTlp } from '../src/trace/native/fixtures';
import { putU32 } from '../src/trace/native/layout';
import { readTlp, W_LEN, type DecodedChunk, type NativeTraceHeader } from '../src/trace/native/index';

const N = 1000;
const timeOf = (i: number) => 10 * Math.floor(i / 3);
const expectedFirst = (t: number) => {
  const i = 3 * Math.ceil(Math.max(t, 0) / 10);
  return i < N ? i : null;
};

let dir: string;
let path: string;
let platformJson: Record<string, unknown>;

async function writeSeekTrace(file: string, header: NativeTraceHeader): Promise<void> {
  const w = await NativeTraceWriter.create(file, header, { recordsPerChunk: 64 });
  for (let i = 0; i < N; i++) {
    if (i % 50 === 0) await w.control(timeOf(i), sampleControl(i));
    await w.tlp({ ...sampleTlp(i), time: timeOf(i), len: i });
  }
  const totals = await w.close();
  expect(totals).toEqual({ bytes: (await stat(file)).size, chunks: 16, records: N, controls: 20 });
}

async function collect(file: string, piece?: number) {
  const out = {
    header: null as NativeTraceHeader | null,
    chunks: [] as DecodedChunk[],
    problems: [] as unknown[],
  };
  for await (const it of readNativeTrace(file, piece)) {
    if (it.kind === 'header') out.header = it.header;
    else if (it.kind === 'chunk') out.chunks.push(it.chunk);
    else if (it.kind === 'problem') out.problems.push(it.problem);
  }
  return out;
}

/** Global index of the record a seek found (its length field). */
async function seekIndex(f: NativeTraceFile, t: number): Promise<number | null> {
  const p = await f.seek(t);
  if (!p) return null;
  const c = await f.readChunk(p.chunk);
  if (!('records' in c)) throw new Error('the found chunk must read');
  return c.records[p.record * 8 + W_LEN]!;
}

async function damaged(name: string, edit: (b: Uint8Array) => void): Promise<string> {
  const b = new Uint8Array(await readFile(path));
  edit(b);
  const file = join(dir, name);
  await writeFile(file, b);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iommu-lab-trace-'));
  path = join(dir, 'seek.iotrace');
  platformJson = JSON.parse(await readFile('traces/platforms/laptop.platform.json', 'utf8'));
  await writeSeekTrace(path, sampleHeader(platformJson));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('native trace files', () => {
  it('stream back with the embedded platform, every record and control event', async () => {
    const d = await collect(path);
    expect(d.problems).toEqual([]);
    expect(d.header!.platform).toEqual(platformJson);
    expect(loadPlatform(d.header!.platform).ok).toBe(true);
    expect(d.chunks.map((c) => c.recordCount)).toEqual([...Array(15).fill(64), 40]);
    const records = d.chunks.flatMap((c) =>
      Array.from({ length: c.recordCount }, (_, i) => readTlp(c.records, 8 * i)),
    );
    expect(records).toEqual(
      Array.from({ length: N }, (_, i) => ({ ...sampleTlp(i), time: timeOf(i), len: i })),
    );
    // a control event every 50 records, just before record 50·k
    expect(d.chunks.reduce((n, c) => n + c.controls.length, 0)).toBe(20);
    expect(d.chunks[0]!.controls.map((e) => [e.time, e.before])).toEqual([
      [0, 0],
      [timeOf(50), 50],
    ]);
  });

  it('stream the same in small pieces', async () => {
    expect(await collect(path, 1000)).toEqual(await collect(path));
  });

  it('seek to the first record at or after a time', async () => {
    const f = await NativeTraceFile.open(path);
    try {
      expect(f.indexSource).toBe('footer');
      expect(f.chunkCount).toBe(16);
      expect(f.header).toEqual(sampleHeader(platformJson));
      const cases: [number, number | null][] = [
        [0, 0],
        [1, 3],
        [10, 3],
        [11, 6],
        [645, 195],
        [640, 192], // the first record of chunk 3 (3·64 = 192)
        [3330, 999],
        [3331, null],
      ];
      for (const [t, i] of cases) expect(await seekIndex(f, t), `seek(${t})`).toBe(i);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 3400 }), async (t) => {
          expect(await seekIndex(f, t)).toBe(expectedFirst(t));
        }),
        { numRuns: 100 },
      );
      expect(f.problems).toEqual([]);
    } finally {
      await f.close();
    }
  });

  it('seek the same after rebuilding the index when the footer is gone', async () => {
    const file = join(dir, 'no-trailer.iotrace');
    await copyFile(path, file);
    await truncate(file, (await stat(file)).size - 16);
    const f = await NativeTraceFile.open(file);
    try {
      expect(f.indexSource).toBe('scan');
      expect(f.problems[0]!.message).toMatch(/^no trailer: index rebuilt by scanning/);
      expect(f.chunkCount).toBe(16);
      for (const t of [0, 11, 645, 3330, 3331]) expect(await seekIndex(f, t)).toBe(expectedFirst(t));
    } finally {
      await f.close();
    }
  });

  it('rebuild the index when a footer entry is damaged', async () => {
    const size = (await stat(path)).size;
    // footer = 16 + 16·32 bytes, then the 16-byte trailer; entry 8 is the binary search's first probe
    const entry8 = size - 16 - (16 * 32 + 16) + 16 + 8 * 32;
    const file = await damaged('bad-entry.iotrace', (b) => {
      b[entry8 + 3]! ^= 0x20;
    });
    const f = await NativeTraceFile.open(file);
    try {
      expect(f.indexSource).toBe('footer');
      expect(await seekIndex(f, 645)).toBe(195);
      expect(f.indexSource).toBe('scan');
      expect(f.problems).toEqual([
        { offset: entry8, length: 32, message: expect.stringMatching(/^footer: damaged index entry/) },
        { offset: entry8, length: 32, message: 'footer: damaged index entry: CRC mismatch' },
      ]);
    } finally {
      await f.close();
    }
  });

  it('pass over a damaged chunk when seeking and report it with its offset', async () => {
    const intact = await NativeTraceFile.open(path);
    const chunk3 = (await intact.entry(3)).offset;
    const chunk4 = (await intact.entry(4)).offset;
    await intact.close();
    const file = await damaged('bad-chunk.iotrace', (b) => {
      b[chunk3 + 40 + 100]! ^= 0x01;
    });
    const f = await NativeTraceFile.open(file);
    try {
      // chunk 3 holds records 192..255 (times 640..850): the first readable one at or after 700 is 256
      expect(await seekIndex(f, 700)).toBe(256);
      expect(await seekIndex(f, 600)).toBe(180);
      expect(f.problems).toEqual([
        { offset: chunk3, length: chunk4 - chunk3, message: 'chunk 3: damaged chunk payload: CRC mismatch' },
      ]);
      const streamed = await collect(file);
      expect(streamed.chunks.map((c) => c.sequence)).toEqual([
        0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
      ]);
      expect(streamed.problems).toEqual([
        expect.objectContaining({
          offset: chunk3,
          message: expect.stringMatching(/^chunk 3: damaged chunk payload/),
        }),
      ]);
    } finally {
      await f.close();
    }
  });

  it('handle an empty trace and a trace of control events only', async () => {
    const empty = join(dir, 'empty.iotrace');
    await (await NativeTraceWriter.create(empty, sampleHeader())).close();
    const e = await NativeTraceFile.open(empty);
    expect([e.chunkCount, await e.seek(0), e.problems]).toEqual([0, null, []]);
    await e.close();

    const controls = join(dir, 'controls.iotrace');
    const w = await NativeTraceWriter.create(controls, sampleHeader());
    for (let i = 0; i < 3; i++) await w.control(100 * i, sampleControl(i));
    await w.close();
    const c = await NativeTraceFile.open(controls);
    expect(c.chunkCount).toBe(1);
    expect(await c.seek(0)).toBeNull();
    const chunk = await c.readChunk(0);
    expect('controls' in chunk && chunk.controls.map((x) => x.time)).toEqual([0, 100, 200]);
    await c.close();
  });

  it('refuse a file of another format version, and read a damaged version field as damage', async () => {
    const intact = await NativeTraceFile.open(path);
    const headEnd = (await intact.entry(0)).offset;
    await intact.close();
    const v2 = await damaged('v2.iotrace', (b) => {
      b[8] = 2;
      putU32(b, headEnd - 4, crc32(b, 8, headEnd - 4));
    });
    await expect(NativeTraceFile.open(v2)).rejects.toThrow(/unsupported format version 2/);
    const flipped = await damaged('v2-bad-crc.iotrace', (b) => {
      b[8] = 2;
    });
    const f = await NativeTraceFile.open(flipped);
    expect(f.header).toBeNull();
    expect(f.problems).toEqual([{ offset: 0, length: headEnd, message: 'damaged header: CRC mismatch' }]);
    expect(await seekIndex(f, 11)).toBe(6);
    await f.close();
  });
});
