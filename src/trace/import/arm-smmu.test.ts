// ARM SMMU fault lines from the reference samples (file named in each test), expected fields written
// out by hand and checked against the field layout of arm-smmu-v3.h / arm-smmu.h.
import { describe, expect, it } from 'vitest';
import { importText } from './session';
import type { ObservedFault } from './types';

const run = (text: string) => importText(text, { kind: 'kernel-log', file: 'smmu.log' });

describe('ARM SMMU', () => {
  it('SMMUv2 unhandled context fault (dmesg-arm-smmu-v2-unhandled-context-fault-macb-zynqmp.txt)', () => {
    const r = run(
      [
        '  [   74.959909] macb ff0e0000.ethernet eth0: DMA bus error: HRESP not OK',
        '  [   74.959989] arm-smmu fd800000.smmu: Unhandled context fault: fsr=0x402, iova=0x3165687460, fsynr=0x20001, cbfrsynra=0x877, cb=1',
      ].join('\n'),
    );
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatchObject({
      type: 'fault',
      source: 'smmu',
      format: 'smmuv2',
      bdf: null,
      sid: 0x877,
      pasid: null,
      access: 'read',
      address: '0x3165687460',
      reason: 0x402,
      reasonText: 'Unhandled context fault: Translation fault',
      detail: { smmu: 'fd800000.smmu', fsr: 0x402, fsynr: 0x20001, cb: 1, plvl: 1 },
      line: 2,
      time: 74.959989,
    });
    expect(r.counts.ignored).toBe(1);
  });

  it('SMMUv3 event with raw words and decoded lines (dmesg-arm-smmuv3-event0x10-decoded-f-translation-aquantia.txt)', () => {
    const r = run(
      [
        '[   70.355743] arm-smmu-v3 arm-smmu-v3.5.auto: event 0x10 received:',
        '[   70.361893] arm-smmu-v3 arm-smmu-v3.5.auto:  0x0002060000000010',
        '[   70.367948] arm-smmu-v3 arm-smmu-v3.5.auto:  0x0000020000000000',
        '[   70.374002] arm-smmu-v3 arm-smmu-v3.5.auto:  0x00000000ff9bc000',
        '[   70.380055] arm-smmu-v3 arm-smmu-v3.5.auto:  0x0000000000000000',
        '[   70.386109] arm-smmu-v3 arm-smmu-v3.5.auto: event: F_TRANSLATION client: 0001:06:00.0 sid: 0x20600 ssid: 0x0 iova: 0xff9bc000 ipa: 0x0',
        '[   70.398531] arm-smmu-v3 arm-smmu-v3.5.auto: unpriv data write s1 "Input address caused fault" stag: 0x0',
      ].join('\n'),
    );
    expect(r.records).toHaveLength(1);
    const f = r.records[0] as ObservedFault;
    expect(f).toMatchObject({
      format: 'smmuv3-decoded',
      segment: 1,
      bdf: '0001:06:00.0',
      sid: 0x20600,
      pasid: null,
      access: 'write',
      address: '0xff9bc000',
      reason: 0x10,
      reasonText: 'F_TRANSLATION: Input address caused fault',
      line: 1,
      time: 70.355743,
      detail: {
        smmu: 'arm-smmu-v3.5.auto',
        client: '0001:06:00.0',
        ipa: '0x0',
        stall: false,
        s2: false,
        privileged: false,
      },
    });
    expect(f.raw.split('\n')).toHaveLength(7);
  });

  it('SMMUv3 raw words with literal tabs, interleaved with other drivers, last event cut (…raw-tab-interleaved-hns.txt)', () => {
    const r = run(
      [
        '[382663.942132] arm-smmu-v3 arm-smmu-v3.2.auto: event 0x10 received:',
        '[382663.962770] arm-smmu-v3 arm-smmu-v3.2.auto: \t0x0000350100000010',
        '[382664.100535] arm-smmu-v3 arm-smmu-v3.2.auto: \t0x000002088000043a',
        '[382664.178632] arm-smmu-v3 arm-smmu-v3.2.auto: \t0x00000000a50e0840',
        '[382664.218997] hns3 0000:35:00.0: INT status: CMDQ(0x0) HW errors(0x0) other(0x0)',
        '[382664.223572] arm-smmu-v3 arm-smmu-v3.2.auto: \t0x0000000000000000',
        '[382664.257988] hns3 0000:35:00.0: received unknown or unhandled event of vector0',
        '[382664.271027] arm-smmu-v3 arm-smmu-v3.2.auto: event 0x10 received:',
        '[382664.546592] arm-smmu-v3 arm-smmu-v3.2.auto: \t0x0000350100000010',
        '[382664.555942] {34}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 7',
      ].join('\n'),
    );
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatchObject({
      format: 'smmuv3-raw',
      bdf: null,
      sid: 0x3501,
      pasid: null,
      access: 'read',
      address: '0xa50e0840',
      reason: 0x10,
      detail: { stag: 0x43a, stall: true, class: 'Input address caused fault' },
      line: 1,
    });
    expect(r.badLines).toEqual([
      expect.objectContaining({
        file: 'smmu.log',
        line: 8,
        reason: 'SMMUv3 event 0x10 with 1 of its 4 event words',
      }),
    ]);
  });

  it('"Blocked unknown Stream ID" and GFSR lines (format strings of arm-smmu.c)', () => {
    const r = run(
      [
        'arm-smmu 5000000.iommu: Blocked unknown Stream ID 0x2a00; boot with "arm-smmu.disable_bypass=0" to allow, but this may have security implications',
        'arm-smmu 5000000.iommu: \tGFSR 0x80000002, GFSYNR0 0x00000000, GFSYNR1 0x00002a00, GFSYNR2 0x00000000',
      ].join('\n'),
    );
    expect(r.records[0]).toMatchObject({
      type: 'fault',
      format: 'smmuv2-blocked-sid',
      sid: 0x2a00,
      reason: 2,
    });
    expect(r.records[1]).toMatchObject({ type: 'info', what: 'smmu-gfsr', fields: { gfsr: '0x80000002' } });
  });
});
