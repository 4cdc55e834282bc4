// AMD-Vi event lines: real lines from the reference samples (file named in each test), expected fields
// written out by hand; the 6.x multi-segment, ILLEGAL_DEV_TABLE_ENTRY and "not attached" shapes are built
// from their format strings in drivers/iommu/amd/iommu.c.
import { describe, expect, it } from 'vitest';
import { importText } from './session';
import type { ObservedFault } from './types';

const run = (text: string) => importText(text, { kind: 'kernel-log', file: 'amd.log' });
const faults = (text: string): ObservedFault[] =>
  run(text).records.filter((r): r is ObservedFault => r.type === 'fault');

describe('AMD-Vi events', () => {
  it('pci_err() prefix, no device= field (dmesg-amd-vi-boot-efr-and-io-page-fault-dasharo-apu2.txt)', () => {
    const [f] = faults(
      '[   57.392307] ath10k_pci 0000:01:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x000d address=0xcfd51ad0 flags=0x0070]',
    );
    expect(f).toMatchObject({
      source: 'amd',
      format: 'amd-pci',
      segment: 0,
      bdf: '0000:01:00.0',
      sid: 0x100,
      pasid: null,
      access: 'write',
      address: '0xcfd51ad0',
      reason: 2,
      reasonText: 'IO_PAGE_FAULT (PR RW PE)',
      detail: { event: 'IO_PAGE_FAULT', domain: 0xd, flags: 0x70 },
      time: 57.392307,
    });
  });

  it('4.x split over two printk lines, bare "kernel:" prefix (syslog-amd-vi-event-split-continuation-kernel4.x-apu2.txt)', () => {
    const r = run(
      [
        'kernel: [   13.134460] AMD-Vi: Event logged [',
        'kernel: [   13.137925] INVALID_DEVICE_REQUEST device=00:00.1 address=0x000000fdf8000020 flags=0x0a00]',
        'kernel: [  221.562629] AMD-Vi: Event logged [',
        'kernel: [  221.565929] IO_PAGE_FAULT device=05:00.0 domain=0x0012 address=0x00000000ff6101b0 flags=0x0070]',
      ].join('\n'),
    );
    expect(r.counts.bad).toBe(0);
    const f = r.records as ObservedFault[];
    expect(f[0]).toMatchObject({
      format: 'amd-split',
      bdf: '0000:00:00.1',
      access: 'unknown',
      address: '0xfdf8000020',
      reason: 8,
      reasonText: 'INVALID_DEVICE_REQUEST',
      detail: { flags: 0xa00 },
      line: 1,
      time: 13.13446,
    });
    expect(f[1]).toMatchObject({
      bdf: '0000:05:00.0',
      access: 'write',
      address: '0xff6101b0',
      reason: 2,
      line: 3,
    });
    expect(f[1]!.raw.split('\n')).toHaveLength(2);
  });

  it('bare line without timestamp; read of a present page with a permission fault (xdna-io-page-fault-flags-decoder-example.txt)', () => {
    const [f] = faults('AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x001a address=0xfffc8000 flags=0x0050]');
    expect(f).toMatchObject({
      bdf: null,
      access: 'read',
      address: '0xfffc8000',
      reason: 2,
      reasonText: 'IO_PAGE_FAULT (PR PE)',
      time: null,
    });
  });

  it('6.x shapes: segment in device=, other event types on the IOMMU device, DTE dump, "not attached"', () => {
    const r = run(
      [
        '[    9.1] AMD-Vi: Event logged [IO_PAGE_FAULT device=0002:80:00.1 domain=0x0000 address=0x0 flags=0x0000]',
        '[    9.2] iommu ivhd0: AMD-Vi: Event logged [ILLEGAL_DEV_TABLE_ENTRY device=0000:00:14.0 pasid=0x00000 address=0xfffffff0 flags=0x0a00]',
        '[    9.2] AMD-Vi: DTE[0]: 6000000000000003',
        '[    9.3] AMD-Vi: Event logged [Device not attached to domain properly]',
        '[    9.3] AMD-Vi:   device=0000:03:00.0 domain=0x0005',
        '[    9.4] iommu ivhd1: AMD-Vi: Event logged [COMMAND_HARDWARE_ERROR address=0x123000 flags=0x0000]',
      ].join('\n'),
    );
    expect(r.counts.bad).toBe(0);
    const f = r.records.filter((x): x is ObservedFault => x.type === 'fault');
    expect(f.map((x) => [x.format, x.segment, x.bdf, x.pasid, x.access, x.address, x.reason])).toEqual([
      ['amd-seg', 2, '0002:80:00.1', null, 'read', '0x0', 2],
      ['amd-seg', 0, '0000:00:14.0', 0, 'unknown', '0xfffffff0', 1],
      ['amd-unattached', 0, '0000:03:00.0', null, 'unknown', null, 2],
      ['amd-dev', null, null, null, 'unknown', '0x123000', 6],
    ]);
    expect(r.records.find((x) => x.type === 'info')).toMatchObject({
      what: 'amd-dump',
      fields: { table: 'DTE', index: 0, value: '0x6000000000000003' },
    });
  });

  it('interrupt and translation-request flags; an "Event logged [" with no event is a bad line', () => {
    const f = faults(
      [
        'AMD-Vi: Event logged [IO_PAGE_FAULT device=00:14.0 domain=0x0000 address=0x000000fdf8000000 flags=0x0018]',
        'AMD-Vi: Event logged [IO_PAGE_FAULT device=00:14.0 domain=0x0000 address=0x1000 flags=0x0100 vflags=0x1]',
      ].join('\n'),
    );
    expect(f.map((x) => [x.access, x.reasonText])).toEqual([
      ['interrupt', 'IO_PAGE_FAULT (I PR)'],
      ['translation', 'IO_PAGE_FAULT (TR)'],
    ]);
    expect(f[1]!.detail.vflags).toBe(1);
    const r = run('kernel: [ 1.0] AMD-Vi: Event logged [\nkernel: [ 1.1] something else');
    expect(r.badLines[0]).toMatchObject({ file: 'amd.log', line: 1 });
  });
});
