// The head region: byte positions from the layout in header.ts; damage reported, never thrown.
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc';
import { sampleHeader } from './fixtures';
import { decodeHeadRegion, encodeHeadRegion, parsePreamble } from './header';
import { putU32 } from './layout';
import { pack } from './msgpack';

const platform = { format: 'iommu-lab/platform', version: 1, name: 'tiny', segments: [], devices: [] };

describe('head region', () => {
  it('is magic, version 1, the header length, the header and its CRC', () => {
    const b = encodeHeadRegion(sampleHeader(platform));
    expect([...b.subarray(0, 8)]).toEqual([0x89, 0x49, 0x4f, 0x4d, 0x4d, 0x55, 0x0d, 0x0a]);
    expect([...b.subarray(8, 12)]).toEqual([1, 0, 0, 0]);
    const len = b[12]! | (b[13]! << 8) | (b[14]! << 16) | (b[15]! << 24);
    expect(b.length).toBe(16 + len + 4);
    expect(parsePreamble(b)).toEqual({ ok: true, headRegionBytes: b.length });
    expect(decodeHeadRegion(b)).toEqual({ ok: true, header: sampleHeader(platform) });
  });

  it('reports a bad magic, a damaged header and an unknown version', () => {
    const b = encodeHeadRegion(sampleHeader());
    const badMagic = b.slice();
    badMagic[1] = 0x58;
    expect(parsePreamble(badMagic)).toMatchObject({ ok: false, message: expect.stringMatching(/magic/) });
    const flipped = b.slice();
    flipped[20]! ^= 0x40;
    expect(decodeHeadRegion(flipped)).toMatchObject({ ok: false, intact: false, fatal: false });
    const v2 = b.slice();
    putU32(v2, 8, 2);
    putU32(v2, v2.length - 4, crc32(v2, 8, v2.length - 4));
    expect(decodeHeadRegion(v2)).toMatchObject({ ok: false, intact: true, fatal: true });
  });

  it('reports an intact header that is not a valid header', () => {
    const body = pack({ format: 'something-else', version: 1 });
    const b = new Uint8Array(16 + body.length + 4);
    b.set(encodeHeadRegion(sampleHeader()).subarray(0, 12));
    putU32(b, 12, body.length);
    b.set(body, 16);
    putU32(b, 16 + body.length, crc32(b, 8, 16 + body.length));
    expect(decodeHeadRegion(b)).toMatchObject({
      ok: false,
      intact: true,
      fatal: false,
      message: expect.stringMatching(/^invalid header: format/),
    });
  });
});
