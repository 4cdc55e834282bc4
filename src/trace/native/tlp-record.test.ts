// The 32-byte TLP record: word values computed by hand from the layout in tlp-record.ts.
import { describe, expect, it } from 'vitest';
import { sampleTlp } from './fixtures';
import { readTlp, tlpAddress, tlpProblem, tlpTime, writeTlp, type TlpRecord } from './tlp-record';

const rec: TlpRecord = {
  time: 2 ** 32 + 5,
  requesterId: 0x0210,
  segment: 1,
  pasid: 0x12345,
  tBit: true,
  at: 2,
  access: 'write',
  exec: true,
  priv: true,
  addr: 0xfedcba9876543000n,
  len: 64,
};

describe('TLP record', () => {
  it('lays the fields out as documented', () => {
    const w = new Uint32Array(8).fill(0xffffffff);
    writeTlp(w, 0, rec);
    // time 2^32 + 5 → low 5, high 1; RID 0x0210 | segment 1 << 16;
    // flags: PASID 0x12345 | present 0x100000 | T 0x200000 | AT 2 << 22 = 0x800000 | write 1 << 24
    //        | exec 1 << 26 | priv 1 << 27 = 0x0db12345
    expect([...w]).toEqual([5, 1, 0x00010210, 0x0db12345, 0x76543000, 0xfedcba98, 64, 0]);
    expect(tlpTime(w, 0)).toBe(4294967301);
    expect(readTlp(w, 0)).toEqual(rec);
  });

  it('encodes no PASID, read, AT 0 and no flags as zero bits', () => {
    const w = new Uint32Array(8);
    writeTlp(w, 0, { ...rec, pasid: null, tBit: false, at: 0, access: 'read', exec: false, priv: false });
    expect(w[3]).toBe(0);
    writeTlp(w, 0, { ...rec, pasid: 0, tBit: false, at: 0, access: 'atomic', exec: false, priv: false });
    // PASID 0 present: 0x100000; atomic 2 << 24 = 0x2000000
    expect(w[3]).toBe(0x2100000);
  });

  it('round-trips at any word offset', () => {
    const w = new Uint32Array(8 * 100);
    for (let i = 0; i < 100; i++) writeTlp(w, 8 * i, sampleTlp(i));
    for (let i = 0; i < 100; i++) expect(readTlp(w, 8 * i)).toEqual(sampleTlp(i));
  });

  it('reads an address below 2^53 as an exact number', () => {
    const w = new Uint32Array(8);
    writeTlp(w, 0, { ...rec, addr: 0x1f_ffff_ffff_f000n });
    expect(tlpAddress(w, 0)).toBe(0x1f_ffff_ffff_f000);
  });

  it('names the field that cannot be encoded', () => {
    expect(tlpProblem(rec)).toBeNull();
    expect(tlpProblem({ ...rec, time: 1.5 })).toMatch(/^time/);
    expect(tlpProblem({ ...rec, time: 2 ** 53 })).toMatch(/^time/);
    expect(tlpProblem({ ...rec, requesterId: 0x10000 })).toMatch(/^requester ID/);
    expect(tlpProblem({ ...rec, segment: -1 })).toMatch(/^segment/);
    expect(tlpProblem({ ...rec, pasid: 0x100000 })).toMatch(/^PASID/);
    expect(tlpProblem({ ...rec, at: 4 })).toMatch(/^AT/);
    expect(tlpProblem({ ...rec, addr: 1n << 64n })).toMatch(/^address/);
    expect(tlpProblem({ ...rec, len: 2 ** 32 })).toMatch(/^length/);
  });
});
