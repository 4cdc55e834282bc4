// Envelopes: each prefix format named in kernel-prefix.ts, on real lines where a sample has one.
import { describe, expect, it } from 'vitest';
import { ClockState, cleanLine, parseEnvelope } from './kernel-prefix';

const env = (line: string, clock = new ClockState()) => parseEnvelope(cleanLine(line), clock);

describe('envelopes', () => {
  it.each([
    // [line, body, time, clock, timeRaw, layers]
    [
      '[    0.018084] DMAR: Host address width 36',
      'DMAR: Host address width 36',
      0.018084,
      'boot',
      '0.018084',
      ['dmesg'],
    ],
    [
      'May 30 17:32:17 localhost kernel: [    0.168626] DMAR: Host address width 39',
      'DMAR: Host address width 39',
      0.168626,
      'boot',
      '0.168626',
      ['syslog', 'dmesg'],
    ],
    [
      'Jan 09 10:03:12.035211 hp-129-tink-system kernel: vfio-pci 0000:04:00.1: DMAR: x',
      'vfio-pci 0000:04:00.1: DMAR: x',
      null,
      'wall',
      'Jan 09 10:03:12.035211',
      ['syslog'],
    ],
    ['[    0.938401] kernel: DMAR: x', 'DMAR: x', 0.938401, 'boot', '0.938401', ['dmesg', 'kernel']],
    [
      'kernel: [   13.134460] AMD-Vi: Event logged [',
      'AMD-Vi: Event logged [',
      13.13446,
      'boot',
      '13.134460',
      ['kernel', 'dmesg'],
    ],
    [
      '[Mon Jan  3 10:00:00 2022] DMAR: x',
      'DMAR: x',
      1641204000,
      'wall',
      'Mon Jan  3 10:00:00 2022',
      ['dmesg-ctime'],
    ],
    [
      '2021-06-02T11:43:03,612419+02:00 DMAR: x',
      'DMAR: x',
      1622626983.612419,
      'wall',
      '2021-06-02T11:43:03,612419+02:00',
      ['dmesg-iso'],
    ],
    [
      '2025-01-13T10:03:12.035211+01:00 host kernel: DMAR: x',
      'DMAR: x',
      1736758992.035211,
      'wall',
      '2025-01-13T10:03:12.035211+01:00',
      ['iso-syslog'],
    ],
    ['kern  :err   : [   12.5] DMAR: x', 'DMAR: x', 12.5, 'boot', '12.5', ['dmesg-facility', 'dmesg']],
    ['[    0.000000][    T0] AMD-Vi: x', 'AMD-Vi: x', 0, 'boot', '0.000000', ['dmesg', 'caller']],
    [
      '[    T0] AMD-Vi: ivrs, add hid:AMDI0020, uid:\\_SB.FUR0, rdevid:160',
      'AMD-Vi: ivrs, add hid:AMDI0020, uid:\\_SB.FUR0, rdevid:160',
      null,
      null,
      null,
      ['caller'],
    ],
    [
      "(XEN) IVMD: page at 00000 can't be converted",
      "IVMD: page at 00000 can't be converted",
      null,
      null,
      null,
      ['xen'],
    ],
    ['[Feb16 10:26] DMAR: x', 'DMAR: x', null, 'wall', 'Feb16 10:26', ['dmesg-human']],
    ['<3>[   12.000001] DMAR: x', 'DMAR: x', 12.000001, 'boot', '12.000001', ['priority', 'dmesg']],
    ['3,812,12345678,-;DMAR: x', 'DMAR: x', 12.345678, 'boot', '12345678', ['kmsg']],
    [
      'Mon 2025-01-13 10:03:12 CET host kernel: DMAR: x',
      'DMAR: x',
      1736762592,
      'wall',
      '2025-01-13 10:03:12',
      ['iso-syslog'],
    ],
    [
      '1736758992.035211 host kernel: DMAR: x',
      'DMAR: x',
      1736758992.035211,
      'wall',
      '1736758992.035211',
      ['iso-syslog'],
    ],
    ['[    0.938401] host kernel: DMAR: x', 'DMAR: x', 0.938401, 'boot', '0.938401', ['dmesg', 'kernel']],
  ])('%s', (line, body, time, clock, timeRaw, layers) => {
    const e = env(line);
    expect(e).toMatchObject({ body, time, clock, timeRaw, layers });
  });

  it('QEMU log backend and ftrace columns', () => {
    expect(
      env('18730@1795437683.097302:vtd_dmar_fault sid 0x18 fault 6 addr 0xfffff000 write 0'),
    ).toMatchObject({
      body: 'sid 0x18 fault 6 addr 0xfffff000 write 0',
      event: 'vtd_dmar_fault',
      thread: 18730,
      time: 1795437683.097302,
      clock: 'epoch',
    });
    expect(
      env('irq/26-AMD-Vi-154     [006] .....   327.753942: io_page_fault: IOMMU:ath12k_pci'),
    ).toMatchObject({
      body: 'io_page_fault: IOMMU:ath12k_pci',
      event: 'io_page_fault',
      task: { comm: 'irq/26-AMD-Vi', pid: 154, cpu: 6 },
      time: 327.753942,
      clock: 'trace',
    });
  });

  it('dmesg -e/-H deltas accumulate per file', () => {
    const c = new ClockState();
    expect(env('[  +0.012066] a', c).time).toBe(0.012066);
    expect(env('[  +0.000022] b', c).time).toBe(0.012088);
  });

  it('cleanLine: quotes, diff context, ANSI escapes, CR, quoted-printable =3D', () => {
    expect(cleanLine('> > [ 3761.999996] DMAR: x\r')).toBe('[ 3761.999996] DMAR: x');
    expect(cleanLine('\x1bc\x1b[?7l\x1b[2J[    0.000000] Linux version')).toBe(
      '[    0.000000] Linux version',
    );
    expect(cleanLine('+# [    1.0] DMAR: x')).toBe('[    1.0] DMAR: x');
    expect(cleanLine('flags=3D0x0001')).toBe('flags=0x0001');
  });
});
