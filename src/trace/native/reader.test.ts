// The decoder on damaged files: bytes flipped, the file cut short, bytes inserted or lost, garbage.
// Whatever the damage, decoding returns (no throw, no loop), reports each problem with an offset
// inside the file, and every chunk the damage did not touch decodes exactly as in the intact file.
// Which chunks are untouched is known from where the encoder wrote each one (encodeItems).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecodedChunk } from './chunk';
import { crc32 } from './crc';
import { decodeBytes, encodeItems, sampleControl, sampleHeader, sampleTlp, type Item } from './fixtures';
import { putU32 } from './layout';

const items: Item[] = [];
for (let i = 0; i < 40; i++) {
  items.push({ kind: 'tlp', tlp: sampleTlp(i) });
  if (i % 7 === 3) items.push({ kind: 'control', time: 10 * i, event: sampleControl(i) });
}
// 40 records, 5 per chunk: 8 chunks
const { bytes, chunks } = encodeItems(items, { recordsPerChunk: 5 });
const intact = decodeBytes(bytes);
const headEnd = chunks[0]!.start;
const footerStart = chunks.at(-1)!.end;

const bySequence = (cs: DecodedChunk[]) => new Map(cs.map((c) => [c.sequence, c]));
const sameChunk = (a: DecodedChunk, b: DecodedChunk) => {
  expect([...a.records]).toEqual([...b.records]);
  expect(a.controls).toEqual(b.controls);
  expect(a.recordCount).toBe(b.recordCount);
};

/** Asserts what holds after any damage; `untouched(i)` says chunk i's bytes are still in the file. */
function checkDamaged(
  damaged: Uint8Array,
  piece: number,
  untouched: (i: number) => boolean,
  damagedAt: number,
) {
  const d = decodeBytes(damaged, piece);
  expect(d.problems.length).toBeGreaterThan(0);
  for (const p of d.problems) {
    expect(p.offset).toBeGreaterThanOrEqual(0);
    expect(p.offset + p.length).toBeLessThanOrEqual(damaged.length);
  }
  const got = bySequence(d.chunks);
  for (let i = 0; i < chunks.length; i++) {
    const c = got.get(i);
    if (untouched(i)) {
      expect(c, `chunk ${i} is intact and must decode`).toBeDefined();
      sameChunk(c!, intact.chunks[i]!);
    }
  }
  // the first problem is at or before the damage (a scan reports where its skipped region starts)
  expect(Math.min(...d.problems.map((p) => p.offset))).toBeLessThanOrEqual(damagedAt);
  return d;
}

describe('decoding a damaged native trace', () => {
  it('has 8 chunks and no problem when intact', () => {
    expect(chunks).toHaveLength(8);
    expect(intact.problems).toEqual([]);
    expect(intact.chunks.map((c) => c.sequence)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('reports a damaged chunk payload at the chunk offset and skips exactly that chunk', () => {
    const b = bytes.slice();
    b[chunks[2]!.start + 40 + 5]! ^= 0x01;
    const d = decodeBytes(b);
    expect(d.problems).toEqual([
      {
        offset: chunks[2]!.start,
        length: chunks[3]!.start - chunks[2]!.start,
        message: expect.stringMatching(/^chunk 2: damaged chunk payload: CRC mismatch; skipped \d+ bytes$/),
      },
    ]);
    expect(d.chunks.map((c) => c.sequence)).toEqual([0, 1, 3, 4, 5, 6, 7]);
  });

  it('resyncs after a damaged chunk header', () => {
    const b = bytes.slice();
    b[chunks[5]!.start + 9]! ^= 0xff; // record count
    const d = decodeBytes(b);
    expect(d.problems).toEqual([
      {
        offset: chunks[5]!.start,
        length: chunks[6]!.start - chunks[5]!.start,
        message: expect.stringMatching(/^damaged chunk header: CRC mismatch/),
      },
    ]);
    expect(d.chunks.map((c) => c.sequence)).toEqual([0, 1, 2, 3, 4, 6, 7]);
  });

  it('still reads every chunk when the header is damaged', () => {
    const b = bytes.slice();
    b[20]! ^= 0x10;
    const d = decodeBytes(b);
    expect(d.header).toBeNull();
    expect(d.problems).toEqual([
      { offset: 0, length: headEnd, message: expect.stringMatching(/^damaged header: CRC mismatch/) },
    ]);
    expect(d.chunks).toHaveLength(8);
  });

  it('stops at an intact header of another version', () => {
    const b = bytes.slice();
    putU32(b, 8, 2);
    putU32(b, headEnd - 4, crc32(b, 8, headEnd - 4));
    const d = decodeBytes(b);
    expect(d).toEqual({
      header: null,
      chunks: [],
      footerEntries: null,
      problems: [
        {
          offset: 0,
          length: headEnd,
          message: 'unsupported format version 2 (this reader knows 1): the rest is not read',
        },
      ],
    });
  });

  it('says when the footer is missing', () => {
    const d = decodeBytes(bytes.subarray(0, footerStart));
    expect(d.problems).toEqual([
      { offset: footerStart, length: 0, message: expect.stringMatching(/^no footer/) },
    ]);
    expect(d.chunks).toHaveLength(8);
  });

  it('reports a damaged index entry in the footer', () => {
    const b = bytes.slice();
    const entry3 = footerStart + 16 + 3 * 32;
    b[entry3 + 8]! ^= 0x04;
    const d = decodeBytes(b);
    expect(d.problems).toEqual([
      { offset: entry3, length: 32, message: 'footer: damaged index entry: CRC mismatch' },
    ]);
    expect(d.chunks).toHaveLength(8);
  });

  it('survives flipped bytes anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(bytes.length - 1), xor: fc.integer({ min: 1, max: 255 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.integer({ min: 1, max: 5000 }),
        (flips, piece) => {
          const b = bytes.slice();
          for (const f of flips) b[f.at]! ^= f.xor;
          const hit = (s: number, e: number) => flips.some((f) => f.at >= s && f.at < e);
          const d = checkDamaged(
            b,
            piece,
            (i) => !hit(chunks[i]!.start, chunks[i]!.end),
            Math.min(...flips.map((f) => f.at)),
          );
          for (let i = 0; i < chunks.length; i++) {
            if (hit(chunks[i]!.start, chunks[i]!.end))
              expect(d.chunks.some((c) => c.sequence === i)).toBe(false);
          }
          if (!hit(0, headEnd)) expect(d.header).toEqual(sampleHeader());
          else expect(d.header).toBeNull();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('survives being cut short anywhere', () => {
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 5000 }), (cut, piece) => {
        const d = checkDamaged(bytes.subarray(0, cut), piece, (i) => chunks[i]!.end <= cut, cut);
        expect(d.chunks.map((c) => c.sequence)).toEqual(chunks.flatMap((c, i) => (c.end <= cut ? [i] : [])));
      }),
      { numRuns: 300 },
    );
  });

  it('survives bytes inserted or lost anywhere', () => {
    fc.assert(
      fc.property(
        fc.nat(bytes.length - 1),
        fc.integer({ min: 0, max: 100 }),
        fc.uint8Array({ minLength: 0, maxLength: 100 }),
        fc.integer({ min: 1, max: 5000 }),
        (at, lost, inserted, piece) => {
          fc.pre(lost > 0 || inserted.length > 0);
          const end = Math.min(bytes.length, at + lost);
          const b = new Uint8Array(at + inserted.length + bytes.length - end);
          b.set(bytes.subarray(0, at));
          b.set(inserted, at);
          b.set(bytes.subarray(end), at + inserted.length);
          fc.pre(b.length !== bytes.length || b.some((x, i) => x !== bytes[i]));
          // a chunk is untouched when it ends before the edit or starts after the lost bytes
          checkDamaged(b, piece, (i) => chunks[i]!.end <= at || chunks[i]!.start >= end, at);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('survives arbitrary bytes, with or without a valid head', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 700 }),
        (junk, head, piece) => {
          const b = head ? Uint8Array.from([...bytes.subarray(0, headEnd), ...junk]) : junk;
          const d = decodeBytes(b, piece);
          expect(d.problems.length).toBeGreaterThan(0);
          for (const p of d.problems) expect(p.offset + p.length).toBeLessThanOrEqual(b.length);
          if (head) expect(d.header).toEqual(sampleHeader());
        },
      ),
      { numRuns: 300 },
    );
  });
});
