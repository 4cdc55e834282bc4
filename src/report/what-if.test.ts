// What-if edits: --set parsing and their effect on a platform description.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPlatform } from '../engine/platform/index';
import { applyEdits, parseSet, WhatIfError } from './what-if';

const laptop = JSON.parse(readFileSync('traces/platforms/laptop.platform.json', 'utf8')) as {
  reservedMemory: { base: string; end: string; scope: string[] }[];
};

describe('parseSet', () => {
  it('reads each kind of edit, normalising addresses and PCI addresses', () => {
    expect(parseSet('rmrr.add=0x3E2E0000-0x3e35ffff@00:14.0,0000:00:14.2')).toEqual({
      kind: 'rmrr.add',
      text: 'rmrr.add=0x3E2E0000-0x3e35ffff@00:14.0,0000:00:14.2',
      base: '0x3e2e0000',
      end: '0x3e35ffff',
      scope: ['0000:00:14.0', '0000:00:14.2'],
    });
    expect(parseSet('rmrr.0.end=0x3e35ffff')).toMatchObject({ kind: 'rmrr.field', index: 0, field: 'end' });
    expect(parseSet('rmrr.1.scope=00:02.0')).toMatchObject({ kind: 'rmrr.scope', scope: ['0000:00:02.0'] });
    expect(parseSet('device.00:14.0.domain=identity')).toMatchObject({
      kind: 'device.domain',
      bdf: '0000:00:14.0',
      type: 'identity',
    });
    expect(parseSet('device.0000:02:00.0.domain=DMA-FQ')).toMatchObject({ type: 'dma-fq' });
    expect(parseSet('tee.boundary=0x400000000000')).toMatchObject({
      kind: 'tee.boundary',
      value: '0x400000000000',
    });
    expect(parseSet('kernel.defaultDomain=dma')).toMatchObject({ kind: 'kernel.defaultDomain', type: 'dma' });
  });

  it('names the edit and the problem', () => {
    expect(() => parseSet('rmrr.add=0x1000@00:14.0')).toThrow(/expected rmrr.add=BASE-END@BDF/);
    expect(() => parseSet('rmrr.add=0x1000-4096@00:14.0')).toThrow(/end "4096" is not a hex address/);
    expect(() => parseSet('device.00:14.0.domain=blocked')).toThrow(/not one of identity, dma, dma-fq/);
    expect(() => parseSet('device.zz.domain=dma')).toThrow(/"zz" is not a PCI function/);
    expect(() => parseSet('iommu.strict=1')).toThrow(WhatIfError);
    expect(() => parseSet('nothing')).toThrow(/expected KEY=VALUE/);
  });
});

describe('applyEdits', () => {
  it('adds and moves RMRRs, sets the TEE-IO boundary, leaves the input alone', () => {
    const r = applyEdits(laptop, [
      parseSet('rmrr.add=0x3e300000-0x3e35ffff@00:14.0'),
      parseSet('rmrr.1.end=0x7fffffff'),
      parseSet('tee.boundary=0x100000000'),
    ]);
    const p = r.platform as typeof laptop & { teeIo: unknown };
    expect(p.reservedMemory).toHaveLength(3);
    expect(p.reservedMemory[2]).toMatchObject({
      base: '0x3e300000',
      end: '0x3e35ffff',
      scope: ['0000:00:14.0'],
    });
    expect(p.teeIo).toEqual({ boundary: '0x100000000' });
    expect(laptop.reservedMemory).toHaveLength(2);
    expect(r.applied).toEqual([
      'rmrr.add=0x3e300000-0x3e35ffff@00:14.0',
      'rmrr.1.end=0x7fffffff',
      'tee.boundary=0x100000000',
    ]);
    const loaded = loadPlatform(r.platform);
    expect(loaded.ok).toBe(true);
    if (loaded.ok)
      expect(loaded.value.rmrrs.map((m) => m.end)).toEqual([0x3e2fffffn, 0x7fffffffn, 0x3e35ffffn]);
  });

  it('turns device.BDF.domain into a default_domain control event at t=0', () => {
    const r = applyEdits(laptop, [parseSet('device.00:14.0.domain=identity')]);
    expect(r.events).toEqual([
      {
        kind: 'control',
        time: 0,
        origin: 'what-if: device.00:14.0.domain=identity',
        event: expect.objectContaining({ op: 'default_domain', bdf: '0000:00:14.0', type: 'identity' }),
      },
    ]);
  });

  it('applies an RFC 6902 JSON Patch before the --set edits, and rejects a bad one', () => {
    const r = applyEdits(laptop, [parseSet('rmrr.0.base=0x3e2d0000')], {
      name: 'fix.json',
      operations: [{ op: 'replace', path: '/reservedMemory/0/end', value: '0x3e35ffff' }],
    });
    expect((r.platform as typeof laptop).reservedMemory[0]).toMatchObject({
      base: '0x3e2d0000',
      end: '0x3e35ffff',
    });
    expect(r.applied).toEqual(['patch fix.json', 'rmrr.0.base=0x3e2d0000']);
    expect(() =>
      applyEdits(laptop, [], {
        name: 'bad.json',
        operations: [{ op: 'replace', path: '/nope/0', value: 1 }],
      }),
    ).toThrow(
      /^bad.json: operation 0 \(replace \/nope\/0\): Cannot perform the operation at a path that does not exist$/,
    );
    expect(() => applyEdits(laptop, [], { name: 'x.json', operations: { op: 'add' } })).toThrow(
      /array of operations/,
    );
    expect(() => applyEdits(laptop, [parseSet('rmrr.7.end=0x1fff')])).toThrow(
      /no reservedMemory\[7\] \(it has 2\)/,
    );
  });
});
