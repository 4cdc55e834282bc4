// Intel DMAR fault lines: real lines from the reference samples (file named above each), expected fields
// written out by hand; the two-line format of kernels ≤ 4.0 is built from its format string in
// drivers/iommu/intel/dmar.c (no captured sample).
import { describe, expect, it } from 'vitest';
import { importText } from './session';
import type { ObservedFault } from './types';

const faults = (text: string): ObservedFault[] =>
  importText(text, { kind: 'kernel-log' }).records.filter((r): r is ObservedFault => r.type === 'fault');

describe('Intel DMAR fault lines', () => {
  it('4.x format, no PASID field, decimal reason (dmesg-intel-dmar-fault-noPASIDfield-reason05-onl.txt)', () => {
    const [f] = faults(
      '    [10672.868940] DMAR: [DMA Write] Request device [00:12.0] fault addr 0 [fault reason 05] PTE Write access is not set',
    );
    expect(f).toMatchObject({
      source: 'intel',
      format: 'dmar-2015',
      segment: null,
      bdf: '0000:00:12.0',
      sid: 0x90,
      pasid: null,
      access: 'write',
      address: '0x0',
      reason: 5,
      reasonText: 'PTE Write access is not set',
      time: 10672.86894,
      clock: 'boot',
      timeRaw: '10672.868940',
      line: 1,
      truncated: false,
    });
  });

  it('5.x "PASID ffffffff" means no PASID; relative timestamps accumulate (…pasidffffffff-reason05-relative-ts.txt)', () => {
    const r = importText(
      [
        '[  +0.012066] DMAR: DRHD: handling fault status reg 2',
        '[  +0.000022] DMAR: [DMA Write] Request device [06:00.0] PASID ffffffff fault addr 0 [fault reason 05] PTE Write access is not set',
      ].join('\n'),
      { kind: 'kernel-log' },
    );
    expect(r.records[0]).toMatchObject({ type: 'info', what: 'dmar-fault-status', fields: { fsts: '0x2' } });
    expect(r.records[1]).toMatchObject({
      format: 'dmar-2019',
      bdf: '0000:06:00.0',
      pasid: null,
      access: 'write',
      address: '0x0',
      reason: 5,
      clock: 'delta',
      time: 0.012088,
      timeRaw: '+0.000022',
      line: 2,
    });
  });

  it('5.14 format with 0x before bus and device, journalctl -k prefix (journal-intel-dmar-fault-v5.14-0x-bus-prefix-sof-issue744.txt)', () => {
    const [f] = faults(
      '[    0.938401] kernel: DMAR: [DMA Read NO_PASID] Request device [0x00:0x02.0] fault addr 0x70ad5000 [fault reason 0x07] Next page table ptr is invalid',
    );
    expect(f).toMatchObject({
      format: 'dmar-2021',
      bdf: '0000:00:02.0',
      pasid: null,
      access: 'read',
      address: '0x70ad5000',
      reason: 7,
      reasonText: 'Next page table ptr is invalid',
      time: 0.938401,
    });
  });

  it('5.15+ format with a PASID (qemu-real-scalable/guest-console.log:3009)', () => {
    const [f] = faults(
      '[    7.738648] DMAR: [DMA Read PASID 0x0] Request device [00:03.0] fault addr 0xfffff000 [fault reason 0x06] PTE Read access is not set\r',
    );
    expect(f).toMatchObject({
      format: 'dmar-2021b',
      bdf: '0000:00:03.0',
      pasid: 0,
      access: 'read',
      address: '0xfffff000',
      reason: 6,
    });
  });

  it('rejoins an e-mail-wrapped scalable-mode fault with a quoted-printable soft break (…sm-reason0x51-pasid-dir-dump-emailwrapped.txt)', () => {
    const r = importText(
      [
        '> [    0.555386] DMAR: DRHD: handling fault status reg 3',
        '> [    0.555805] DMAR: [DMA Read NO_PASID] Request device [00:0d.2] fault',
        '> addr 0x1026a4000 [fault reason 0x51] SM: Present bit in Directory Entry i=',
        's',
        '> clear',
        '> [    0.556348] DMAR: Dump dmar1 table entries for IOVA 0x1026a4000',
        '> [    0.556348] DMAR: scalable mode root entry: hi 0x0000000102448001, low',
        '> 0x0000000101b3e001',
        '> [    0.556348] DMAR: pasid table entry[0]: 0x0000000000000109',
        '> [    0.556348] DMAR: PTE not present at level 4',
      ].join('\n'),
      { kind: 'kernel-log' },
    );
    expect(r.counts.bad).toBe(0);
    const f = r.records.find((x) => x.type === 'fault');
    expect(f).toMatchObject({
      format: 'dmar-2021b',
      bdf: '0000:00:0d.2',
      access: 'read',
      address: '0x1026a4000',
      reason: 0x51,
      reasonText: 'SM: Present bit in Directory Entry is clear',
      truncated: false,
      line: 2,
      time: 0.555805,
    });
    expect(
      r.records.filter((x) => x.type === 'info').map((x) => (x.type === 'info' ? x.fields : null)),
    ).toEqual([
      { fsts: '0x3' },
      { iommu: 'dmar1', iova: '0x1026a4000' },
      { entry: 'scalable mode root entry', hi: '0x102448001', low: '0x101b3e001' },
      { entry: 'pasid table entry[0]', value: '0x109' },
      { notPresentLevel: 4 },
    ]);
  });

  it('interrupt-remapping fault, new format (dmesg-intel-dmar-intr-remap-reason0x22-irte-with-ftrace-vector.txt)', () => {
    const [f] = faults(
      '  [76561.105092] DMAR: [INTR-REMAP] Request device [65:00.0] fault index 0x25 [fault reason 0x22] Present field in the IRTE entry is clear',
    );
    expect(f).toMatchObject({
      format: 'intr-remap',
      bdf: '0000:65:00.0',
      access: 'interrupt',
      address: null,
      reason: 0x22,
      reasonText: 'Present field in the IRTE entry is clear',
      detail: { index: 0x25 },
    });
  });

  it('interrupt-remapping fault, old decimal format (formats.md §1: "fault index 1600 [fault reason 37]")', () => {
    const [f] = faults(
      'DMAR: [INTR-REMAP] Request device [00:1f.0] fault index 1600 [fault reason 37] Blocked a compatibility format interrupt request',
    );
    expect(f).toMatchObject({ format: 'intr-remap-old', reason: 0x25, detail: { index: 0x1600 } });
  });

  it('the ≤ 4.0 two-line format and its INTR-REMAP twin (format strings of dmar.c ≤ 4.0; Xen\'s "06h" radix)', () => {
    const r = importText(
      [
        '[    1.000000] dmar: DMAR:[DMA Read] Request device [00:02.0] fault addr 7fe0000 ',
        '[    1.000000] DMAR:[fault reason 06] PTE Read access is not set',
        '[    2.000000] INTR-REMAP: Request device [[00:1f.0] fault index 1600',
        '[    2.000000] INTR-REMAP:[fault reason 37] Blocked a compatibility format interrupt request',
        '(XEN) [VT-D]iommu.c:887: DMAR:[DMA Write] Request device [0000:02:00.0] fault addr 7f000, iommu reg = ffff82c000201000',
        '(XEN) [VT-D]DMAR:[fault reason 05h] PTE Write access is not set',
      ].join('\n'),
      { kind: 'kernel-log' },
    );
    expect(r.counts.bad).toBe(0);
    const f = r.records.filter((x): x is ObservedFault => x.type === 'fault');
    expect(f.map((x) => [x.format, x.bdf, x.access, x.address, x.reason, x.reasonText, x.line])).toEqual([
      ['dmar-2009', '0000:00:02.0', 'read', '0x7fe0000', 6, 'PTE Read access is not set', 1],
      [
        'intr-remap-2009',
        '0000:00:1f.0',
        'interrupt',
        null,
        37,
        'Blocked a compatibility format interrupt request',
        3,
      ],
      ['dmar-2009', '0000:02:00.0', 'write', '0x7f000', 5, 'PTE Write access is not set', 5],
    ]);
    expect(f[2]!.segment).toBe(0);
  });

  it('keeps a fault whose reason text a terminal cut, marked truncated (formats.md §0: less -S)', () => {
    const r = importText(
      [
        '[ 1.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x59] SM: Present bit in PA',
        '[ 1.1] DMAR: DRHD: handling fault status reg 2',
      ].join('\n'),
      { kind: 'kernel-log' },
    );
    expect(r.records[0]).toMatchObject({
      type: 'fault',
      reason: 0x59,
      reasonText: 'SM: Present bit in PA',
      truncated: true,
    });
    expect(r.counts.bad).toBe(0);
  });

  it('reports a fault line it cannot complete as a bad line with its line number, and goes on', () => {
    const r = importText(
      [
        '[ 1.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault',
        '[ 1.1] DMAR: [DMA Write NO_PASID] Request device [00:02.0] fault addr 0x2000 [fault reason 0x05] PTE Write access is not set',
      ].join('\n'),
      { kind: 'kernel-log', file: 'k.log' },
    );
    expect(r.badLines).toEqual([
      {
        file: 'k.log',
        line: 1,
        reason: 'DMAR fault line cut short',
        text: '[ 1.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault',
      },
    ]);
    expect(r.records).toHaveLength(1);
  });

  it('counts suppressed callbacks as info (…noPASIDfield-reason05-onl.txt)', () => {
    const r = importText('    [10677.928602] dmar_fault: 2474 callbacks suppressed', { kind: 'kernel-log' });
    expect(r.records[0]).toMatchObject({ type: 'info', what: 'dmar-suppressed', fields: { count: 2474 } });
  });
});
