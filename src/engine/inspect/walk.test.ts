// The walk view on a hand-built legacy-mode state (src/engine/inspect/testing.ts). Expected entries
// from the VT-d table layout: the root entry of bus B at RTADDR + 16·B (P bit 0, CTP bits 63:12); the
// context entry of devfn at CTP + 16·devfn (P, FPD, TT bits 3:2, SLPTPTR; AW bits 66:64, DID bits
// 87:72); second-level entries at table + 8·index, index = address bits (12 + 9·(L-1)) + 8..0 at
// level L; a non-leaf entry is next table | R | W (0x3), a 4 KiB leaf pa | R (0x1) | W (0x2), a
// 2 MiB leaf pa | PS (0x80) | R | W. 128-bit values print as "hi:lo" 64-bit words.
import { describe, expect, it } from 'vitest';
import type { PagingDomain } from '../iommu/domain';
import { ctl, dma, testReplay } from '../testing/lab';
import { walkOf, requesterOf, walkView } from './walk';

const XHCI = '0000:00:14.0';
const w64 = (v: number | bigint): string => v.toString(16).padStart(16, '0');

function state() {
  const r = testReplay();
  r.apply(ctl({ op: 'driver_bind', bdf: XHCI, driver: 'xhci_hcd' }));
  r.apply(ctl({ op: 'dma_map', bdf: XHCI, iova: '0x10000', length: '0x1000', pa: '0x80000', prot: 'r' }));
  r.apply(
    ctl({ op: 'dma_map', bdf: XHCI, iova: '0x200000', length: '0x200000', pa: '0x40000000', prot: 'rw' }),
  );
  const unit = r.driver.units.get('dmar0')!;
  const domain = r.lab.core.devices.get(XHCI)!.group.domain as PagingDomain;
  return { r, unit, domain };
}

const walk = (r: ReturnType<typeof testReplay>, address: string, access: 'read' | 'write' = 'read') =>
  walkView({ replay: r, controls: [] }, { view: 'walk', bdf: XHCI, address, access });

describe('walk view', () => {
  it('reads root, context and four second-level entries down to a 4 KiB leaf', () => {
    const { r, unit, domain } = state();
    const v = walk(r, '0x10000');
    const root = unit.regs.rootTable;
    const ctp = Number(BigInt(v.levels[0]!.fields.CTP as string));
    const did = unit.dids.get(domain)!;
    expect(v).toMatchObject({
      bdf: XHCI,
      unit: 'dmar0',
      status: 'translated',
      result: '0x80000',
      pageSize: 4096,
      reason: null,
    });
    expect(v.levels.map((l) => l.level)).toEqual([
      'root entry',
      'context entry',
      'SL-PML4E',
      'SL-PDPE',
      'SL-PDE',
      'SL-PTE',
    ]);
    // bus 0: the first root entry; P = 1
    expect(v.levels[0]).toEqual({
      level: 'root entry',
      entryAddress: `0x${root.toString(16)}`,
      value: `0x${w64(0)}:${w64(BigInt(ctp) + 1n)}`,
      fields: expect.objectContaining({ P: true, CTP: `0x${ctp.toString(16)}` }),
    });
    // devfn 0xa0 (00:14.0): CTP + 0xa00; AW = 2 (4-level, 48-bit), TT = 0 (multi-level)
    expect(v.levels[1]).toEqual({
      level: 'context entry',
      entryAddress: `0x${(ctp + 0xa00).toString(16)}`,
      value: `0x${w64((2n | (BigInt(did) << 8n)) as bigint)}:${w64(BigInt(domain.table.root) + 1n)}`,
      fields: expect.objectContaining({
        P: true,
        FPD: false,
        TT: 0,
        AW: 2,
        DID: did,
        SLPTPTR: `0x${domain.table.root.toString(16)}`,
      }),
    });
    // 0x10000: index 0 at levels 4, 3, 2 and 0x10 at level 1
    let table = domain.table.root;
    for (const [i, index] of [0, 0, 0].entries()) {
      const l = v.levels[2 + i]!;
      expect(l.entryAddress).toBe(`0x${(table + index * 8).toString(16)}`);
      const value = BigInt(l.value);
      expect(value & 0xfffn).toBe(0x3n);
      expect(l.fields).toMatchObject({ R: true, W: true, PS: false, ADDR: `0x${(value - 3n).toString(16)}` });
      table = Number(value - 3n);
    }
    expect(v.levels[5]).toEqual({
      level: 'SL-PTE',
      entryAddress: `0x${(table + 0x10 * 8).toString(16)}`,
      value: `0x${w64(0x80001)}`,
      fields: { R: true, W: false, PS: false, SNP: false, TM: false, ADDR: '0x80000' },
    });
  });

  it('ends a 2 MiB translation at the SL-PDE with PS, and a write to a read-only page at 0x05', () => {
    const { r } = state();
    const big = walk(r, '0x201234', 'write');
    expect(big).toMatchObject({ status: 'translated', result: '0x40001234', pageSize: 0x200000 });
    // 0x201234: index 1 at level 2 (bit 21)
    const pde = big.levels[big.levels.length - 1]!;
    expect(pde.level).toBe('SL-PDE');
    expect(BigInt(pde.entryAddress) % 0x1000n).toBe(8n);
    expect(pde.value).toBe(`0x${w64(0x40000083)}`);
    expect(pde.fields).toMatchObject({ R: true, W: true, PS: true, ADDR: '0x40000000' });

    const faults = r.faults.length;
    const wr = walk(r, '0x10000', 'write');
    expect(wr).toMatchObject({
      status: 'fault',
      stage: 'second-level',
      reason: 0x05,
      reasonText: 'PTE Write access is not set',
      result: null,
    });
    expect(wr.levels.at(-1)).toMatchObject({ level: 'SL-PTE', value: `0x${w64(0x80001)}` });
    // read-only: the walk recorded no fault
    expect(r.faults.length).toBe(faults);
    r.apply(dma(0x00a0, 0x10000, true));
    expect(r.faults.at(-1)).toMatchObject({ reason: 0x05, stage: 'second-level' });
  });

  it('stops at a missing context entry, and answers the MSI window as an interrupt', () => {
    const { r } = state();
    const igd = requesterOf(r, '00:02.0');
    const none = walkOf(r, {
      requester: { ...igd, rid: 0x00a8 },
      pasid: null,
      address: 0x5000n,
      access: 'read',
    });
    expect(none).toMatchObject({ status: 'fault', reason: 0x02, stage: 'context' });
    expect(none.levels.map((l) => l.level)).toEqual(['root entry', 'context entry']);
    expect(walk(r, '0xfee00000')).toMatchObject({ status: 'interrupt', reason: null });
  });

  it('refuses bad parameters', () => {
    const { r } = state();
    expect(() => walk(r, 'zz')).toThrow('address: "zz" is not a hex');
    expect(() =>
      walkView({ replay: r, controls: [] }, { view: 'walk', bdf: XHCI, address: '0', access: 'x' }),
    ).toThrow('access: "x" is not read or write');
  });
});
