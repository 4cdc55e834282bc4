// iommu tracepoints from ftrace and tp_printk output: real lines from the reference samples.
import { describe, expect, it } from 'vitest';
import { importText } from './session';
import type { ImportedEvent } from './types';

const events = (text: string, kind: 'ftrace' | 'kernel-log' = 'ftrace'): ImportedEvent[] =>
  importText(text, { kind }).records.filter((r): r is ImportedEvent => r.type === 'event');

describe('ftrace iommu events', () => {
  it('rejoins e-mail-wrapped trace lines (ftrace-iommu-map-unmap-io_page_fault-dma-ath12k-emailwrapped.txt)', () => {
    const r = importText(
      [
        '#1 ath12k allocates/maps it at a very early stage:',
        '   (udev-worker)-532     [010] .....     4.878076: map: IOMMU: iova=0x00000000fe980000 -',
        '0x00000000fea00000 paddr=0x000000010ec80000 size=524288',
        '   (udev-worker)-532     [010] .....     4.878079: dma_alloc: 0000:c2:00.0',
        'dma_addr=fe980000 size=524288 virt_addr=000000006cadbcb1 flags=GFP_KERNEL attrs=',
        '   kworker/u64:0-12      [011] .....   327.747766: unmap: IOMMU: iova=0x00000000fe980000 -',
        '0x00000000fea00000 size=524288 unmapped_size=524288',
        'irq/26-AMD-Vi-154     [006] .....   327.753942: io_page_fault: IOMMU:ath12k_pci',
        '0000:c2:00.0 iova=0x00000000fe980000 flags=0x0001',
      ].join('\n'),
      { kind: 'ftrace' },
    );
    expect(r.counts.bad).toBe(0);
    const e = r.records as ImportedEvent[];
    expect(e).toHaveLength(3);
    expect(e[0]).toMatchObject({
      op: 'map',
      origin: 'ftrace',
      task: { comm: '(udev-worker)', pid: 532, cpu: 10 },
      iova: '0xfe980000',
      iovaEnd: '0xfea00000',
      paddr: '0x10ec80000',
      size: 524288,
      time: 4.878076,
      clock: 'trace',
      line: 2,
    });
    expect(e[1]).toMatchObject({
      op: 'unmap',
      iova: '0xfe980000',
      iovaEnd: '0xfea00000',
      size: 524288,
      unmappedSize: 524288,
    });
    expect(e[2]).toMatchObject({
      op: 'io_page_fault',
      task: { comm: 'irq/26-AMD-Vi', pid: 154, cpu: 6 },
      driver: 'ath12k_pci',
      device: '0000:c2:00.0',
      bdf: '0000:c2:00.0',
      iova: '0xfe980000',
      flags: 1,
      access: 'write',
    });
  });

  it('older map/unmap without the end address, and the unmerged dev= proposal (ftrace-iommu-map-unmap-format-before-after-dev-proposal.txt)', () => {
    const e = events(
      [
        '  map: IOMMU: iova=0x0000000ffff36000 paddr=0x00000001164d8000 size=4096',
        '  unmap: IOMMU: dev=1d84000.ufshc iova=0x0000000fffa88000 size=4096 unmapped_size=4096',
      ].join('\n'),
    );
    expect(e.map((x) => [x.op, x.device, x.iova, x.iovaEnd, x.paddr, x.size, x.unmappedSize])).toEqual([
      ['map', null, '0xffff36000', null, '0x1164d8000', 4096, null],
      ['unmap', '1d84000.ufshc', '0xfffa88000', null, null, 4096, 4096],
    ]);
  });

  it('tp_printk lines in a serial console log (qemu-real-scalable/guest-console.log:289,301,304)', () => {
    const e = events(
      [
        '[    1.107493] add_device_to_group: IOMMU: groupID=0 device=0000:00:00.0\r',
        '[    1.115329] attach_device_to_domain: IOMMU: device=0000:00:00.0\r',
        '[    1.124481] map: IOMMU: iova=0x0000000000000000 - 0x0000000001000000 paddr=0x0000000000000000 size=16777216\r',
      ].join('\n'),
      'kernel-log',
    );
    expect(e.map((x) => [x.op, x.origin, x.groupId, x.bdf, x.iova, x.iovaEnd, x.size, x.time])).toEqual([
      ['add_device_to_group', 'tp_printk', 0, '0000:00:00.0', null, null, null, 1.107493],
      ['attach_device_to_domain', 'tp_printk', null, '0000:00:00.0', null, null, null, 1.115329],
      ['map', 'tp_printk', null, null, '0x0', '0x1000000', 16777216, 1.124481],
    ]);
  });

  it('a malformed iommu event is a bad line; other events are ignored', () => {
    const r = importText(
      [
        '  kworker/0:2-2827    [000] d..1. 76495.343456: vector_alloc: irq=82 vector=37 reserved=1 ret=0',
        '  kworker/0:2-2827    [000] d..1. 76495.343457: map: IOMMU: iova=zz',
      ].join('\n'),
      { kind: 'ftrace', file: 't' },
    );
    expect(r.counts.ignored).toBe(1);
    expect(r.badLines[0]).toMatchObject({ file: 't', line: 2 });
  });
});
