import { describe, expect, it } from 'vitest';
import { loadPlatform } from './load';
import type { LocatedError } from './model';

type Json = Record<string, unknown>;

/** A small valid platform; tests copy and break it. */
function base(): Json {
  return {
    format: 'iommu-lab/platform',
    version: 1,
    name: 'base',
    segments: [{ segment: 0, busStart: '0x00', busEnd: '0xff' }],
    devices: [
      { bdf: '0000:00:00.0', name: 'host', class: '060000', kind: 'pci-device', parent: null },
      {
        bdf: '0000:00:1c.0',
        name: 'rp',
        class: '060400',
        kind: 'root-port',
        parent: null,
        secondary: '0x01',
        subordinate: '0x03',
        acs: { cap: '0x001f', ctrl: '0x0000' },
      },
      {
        bdf: '0000:01:00.0',
        name: 'usp',
        class: '060400',
        kind: 'switch-upstream',
        parent: '0000:00:1c.0',
        secondary: 2,
        subordinate: 3,
      },
      {
        bdf: '0000:02:00.0',
        name: 'dsp',
        class: '060400',
        kind: 'switch-downstream',
        parent: '0000:01:00.0',
        secondary: 3,
        subordinate: 3,
      },
    ],
    iommus: [
      {
        id: 'dmar0',
        segment: 0,
        registerBase: '0xfed91000',
        includeAll: true,
        mode: 'legacy',
        capabilities: { slLevels: [4], mgaw: 48, haw: 39 },
      },
    ],
  };
}

function errorsOf(json: unknown): LocatedError[] {
  const r = loadPlatform(json);
  if (r.ok) throw new Error('expected errors');
  return r.errors;
}
const devices = (j: Json) => j.devices as Json[];

describe('loadPlatform', () => {
  it('builds the model: functions by address, requester IDs, bigint addresses, defaults', () => {
    const j = base();
    j.teeIo = { sharedBit: 51 };
    const r = loadPlatform(j);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = r.value;
    expect([...p.functions.keys()]).toEqual(['0000:00:00.0', '0000:00:1c.0', '0000:01:00.0', '0000:02:00.0']);
    const rp = p.functions.get('0000:00:1c.0')!;
    expect(rp.requesterId).toBe(0x00e0); // 00:1c.0 → devfn 0x1c << 3
    expect(rp).toMatchObject({
      secondaryBus: 1,
      subordinateBus: 3,
      acs: { cap: 0x1f, ctrl: 0 },
      children: ['0000:01:00.0'],
    });
    expect(p.functions.get('0000:02:00.0')!.requesterId).toBe(0x0200);
    expect(p.iommus[0]!.registerBase).toBe(0xfed91000n);
    expect(p.iommus[0]!.functions).toEqual(p.scanOrder);
    expect(p.teeIo).toEqual({ kind: 'shared-bit', sharedBit: 51, sharedMask: 1n << 51n });
    expect(p.kernel).toEqual({ defaultDomain: 'dma-fq', strict: false, floppyWorkaround: true });
    expect(p.segments).toEqual([{ segment: 0, busStart: 0, busEnd: 255, ecamBase: null, rootBuses: [0] }]);
    expect(p.warnings).toEqual([]);
  });

  it('reports structural errors with their JSON paths', () => {
    const j = base();
    devices(j)[1]!.acs = { cap: '0x001f', ctrl: '0x10000' };
    devices(j)[0]!.bdf = '00:00.0';
    devices(j)[3]!.colour = 'blue';
    const errs = errorsOf(j);
    expect(errs.map((e) => e.path)).toEqual(
      expect.arrayContaining(['devices[1].acs.ctrl', 'devices[0].bdf', 'devices[3]']),
    );
    expect(errs.find((e) => e.path === 'devices[1].acs.ctrl')!.message).toMatch(/0\.\.65535/);
    expect(errorsOf({ format: 'other' }).map((e) => e.path)).toEqual(
      expect.arrayContaining(['format', 'version', 'name', 'segments', 'devices']),
    );
  });

  it('reports semantic errors together with structural ones', () => {
    const j = base();
    devices(j)[1]!.acs = { cap: 'ff', ctrl: 0 }; // structural
    devices(j)[3]!.parent = '0000:00:05.0'; // semantic, in another element
    expect(errorsOf(j)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'devices[1].acs.cap' }),
        { path: 'devices[3].parent', message: 'parent 0000:00:05.0 is not a device of this platform' },
      ]),
    );
  });

  it('rejects duplicates, missing and non-bridge parents', () => {
    const j = base();
    devices(j).push({
      bdf: '0000:00:00.0',
      name: 'again',
      class: '060000',
      kind: 'pci-device',
      parent: null,
    });
    devices(j).push({
      bdf: '0000:03:00.0',
      name: 'ep',
      class: '020000',
      kind: 'endpoint',
      parent: '0000:00:00.0',
    });
    expect(errorsOf(j)).toEqual(
      expect.arrayContaining([
        { path: 'devices[4].bdf', message: '0000:00:00.0 already defined at devices[0]' },
        {
          path: 'devices[5].parent',
          message: 'parent 0000:00:00.0 is a conventional PCI function, not a bridge or port',
        },
      ]),
    );
  });

  it("rejects a device whose bus is not its parent's secondary bus", () => {
    const j = base();
    devices(j).push({
      bdf: '0000:07:00.0',
      name: 'far',
      class: '020000',
      kind: 'endpoint',
      parent: '0000:02:00.0',
    });
    const dsp2 = {
      bdf: '0000:02:01.0',
      name: 'dsp2',
      class: '060400',
      kind: 'switch-downstream',
      parent: '0000:01:00.0',
    };
    devices(j).push({ ...dsp2, secondary: 4, subordinate: 4 });
    expect(errorsOf(j)).toEqual(
      expect.arrayContaining([
        {
          path: 'devices[4].bdf',
          message: "bus 07 is outside parent 02:00.0's secondary..subordinate range 03..03",
        },
        {
          path: 'devices[5].subordinate',
          message: "bus range 04..04 is not inside parent 01:00.0's range 02..03",
        },
      ]),
    );
    const k = base();
    devices(k)[3]!.parent = '0000:00:1c.0'; // 02:00.0 is below 00:1c.0 (01..03) but bus 01 is its secondary
    expect(errorsOf(k)).toContainEqual({
      path: 'devices[3].parent',
      message:
        'bus 02 is below 00:1c.0 (01..03) but is not its secondary bus 01: the parent is the bridge whose secondary bus is 02',
    });
  });

  it('rejects overlapping bus ranges and root buses inside a range', () => {
    const j = base();
    devices(j).push({
      bdf: '0000:00:1d.0',
      name: 'rp2',
      class: '060400',
      kind: 'root-port',
      parent: null,
      secondary: 2,
      subordinate: 5,
    });
    devices(j).push({ bdf: '0000:01:00.1', name: 'x', class: '020000', kind: 'pci-device', parent: null });
    expect(errorsOf(j)).toEqual(
      expect.arrayContaining([
        { path: 'devices[4].secondary', message: "bus range 02..05 overlaps 00:1c.0's range 01..03" },
        expect.objectContaining({
          path: 'devices[5].parent',
          message: expect.stringMatching(/^bus 01 is inside 00:1c.0's range/),
        }),
      ]),
    );
  });

  it('checks bridge fields, slots and kinds', () => {
    const j = base();
    devices(j)[1]!.secondary = undefined;
    devices(j)[0]!.secondary = 4;
    devices(j).push({
      bdf: '0000:00:1f.3',
      name: 'audio',
      class: '040300',
      kind: 'pci-device',
      parent: null,
    });
    devices(j).push({
      bdf: '0000:00:05.0',
      name: 'ep',
      class: '020000',
      kind: 'endpoint',
      parent: null,
      pri: true,
    });
    expect(errorsOf(j).map((e) => e.path)).toEqual(
      expect.arrayContaining([
        'devices[1].secondary',
        'devices[0].secondary',
        'devices[4].bdf',
        'devices[5].parent',
        'devices[5].pri',
      ]),
    );
    const k = base();
    devices(k).push({
      bdf: '0000:00:14.0',
      name: 'a',
      class: '0c0330',
      kind: 'pci-device',
      parent: null,
      multifunction: true,
    });
    devices(k).push({ bdf: '0000:00:14.2', name: 'b', class: '050000', kind: 'pci-device', parent: null });
    expect(errorsOf(k)).toEqual([
      {
        path: 'devices[5].multifunction',
        message: 'slot 00:14 has 2 functions, so each has the multifunction bit',
      },
    ]);
  });

  it('checks IOMMU units and their scopes', () => {
    const j = base();
    const units = j.iommus as Json[];
    units.push({
      id: 'dmar0',
      segment: 0,
      registerBase: '0xfed90800',
      scope: ['0000:00:02.0', '0000:00:1c.0'],
      mode: 'scalable',
      capabilities: { slLevels: [4, 4], mgaw: 48, haw: 39, pasidBits: 20 },
    });
    units.push({
      id: 'dmar2',
      segment: 0,
      registerBase: '0xfed92000',
      includeAll: true,
      mode: 'legacy',
      capabilities: { slLevels: [4], mgaw: 48, haw: 39 },
    });
    const paths = errorsOf(j).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'iommus[1].id',
        'iommus[1].registerBase',
        'iommus[1].scope[0]',
        'iommus[1].mode',
        'iommus[1].capabilities.slLevels[1]',
        'iommus[1].capabilities.pasidBits',
        'iommus[2].includeAll',
      ]),
    );
    expect(errorsOf(j)).toContainEqual({
      path: 'iommus[1].scope[0]',
      message: '0000:00:02.0 is not a device of this platform',
    });
  });

  it('checks RMRR alignment and order, and warns about RMRRs outside reserved memory', () => {
    const j = base();
    j.reservedMemory = [
      { base: '0x7b800000', end: '0x7b7fffff', scope: ['0000:00:00.0'] },
      { base: '0x3e2e0800', end: '0x3e2fffff', scope: ['0000:00:00.0'] },
      { base: '0x3e2e0000', end: '0x3e2ffffe', scope: ['0000:00:1f.0'] },
    ];
    expect(errorsOf(j)).toEqual([
      { path: 'reservedMemory[0].end', message: 'end 0x7b7fffff is below base 0x7b800000' },
      { path: 'reservedMemory[1].base', message: 'base 0x3e2e0800 is not 4 KiB aligned' },
      {
        path: 'reservedMemory[2].end',
        message: 'end 0x3e2ffffe + 1 is not 4 KiB aligned (an RMRR ends on …fff)',
      },
      { path: 'reservedMemory[2].scope[0]', message: '0000:00:1f.0 is not a device of this platform' },
    ]);
    const k = base();
    k.reservedMemory = [{ name: 'usb', base: '0x3e2e0000', end: '0x3e2fffff', scope: ['0000:00:00.0'] }];
    k.memoryMap = [{ base: '0x0', end: '0x7fffffff', type: 'ram' }];
    const r = loadPlatform(k);
    expect(r.ok && r.value.warnings).toEqual([
      {
        path: 'reservedMemory[0]',
        message:
          '[Firmware Bug]: Your BIOS is broken; bad RMRR [0x3e2e0000-0x3e2fffff]: no reserved memory-map range covers it (arch_rmrr_sanity_check)',
      },
    ]);
  });

  it('checks the memory map, the TEE-IO split and kernel options', () => {
    const j = base();
    j.memoryMap = [
      { base: '0x0', end: '0xfffff', type: 'ram' },
      { base: '0x80000', end: '0x1fffff', type: 'reserved' },
    ];
    j.teeIo = { boundary: '0x1234' };
    j.kernel = { defaultDomain: 'dma-fq', strict: true };
    expect(errorsOf(j)).toEqual([
      { path: 'memoryMap[1].base', message: '0x80000-0x1fffff overlaps memoryMap[0] (0x0-0xfffff)' },
      { path: 'teeIo.boundary', message: 'boundary 0x1234 is not 4 KiB aligned' },
      {
        path: 'kernel.strict',
        message: 'iommu.strict=1 turns a dma-fq default domain into dma (iommu_set_dma_strict)',
      },
    ]);
    const k = base();
    k.teeIo = { boundary: '0x400000000000', sharedBit: 46 };
    expect(errorsOf(k).map((e) => e.path)).toEqual(['teeIo']);
  });
});
