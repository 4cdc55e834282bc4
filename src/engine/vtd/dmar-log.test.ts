import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dmarFaultLine, dmarFaultStatusLine, type DmarFault } from './dmar-log';

// Expected lines are real kernel output copied from the samples in
// /work/shared/reference/samples/intel-dmar/ (timestamps and envelopes stripped as formats.md §0 says),
// or written by hand from the dmar_fault_do_one() format strings quoted in dmar-log.ts. The field values
// fed to the renderer are decoded by hand from each line (bus:dev.fn → SID = bus<<8 | dev<<3 | fn).
// When the sample directory exists, every sample line is also checked to occur in its file.

const SAMPLES = '/work/shared/reference/samples/intel-dmar';

/** Kernel lines of a sample: envelope stripped (e-mail quote, indent, dmesg timestamp, "kernel: "). */
function sampleLines(file: string): string[] {
  const text = readFileSync(join(SAMPLES, file), 'utf8');
  const quoted = /^> /m.test(text);
  let lines = text.split('\n').map((l) => l.replace(/^(?:>\s?)+/, '').replace(/^\s+/, ''));
  if (quoted) {
    // E-mail wrapping: a line without a timestamp continues the previous one; "=" ends a
    // quoted-printable soft break (joined with nothing), any other wrap was a space.
    const joined: string[] = [];
    for (const l of lines) {
      if (/^\[\s*\+?\d+\.\d{6}\]/.test(l) || joined.length === 0) joined.push(l);
      else {
        const prev = joined.pop()!;
        joined.push(prev.endsWith('=') ? prev.slice(0, -1) + l : `${prev} ${l}`);
      }
    }
    lines = joined;
  }
  return lines.map((l) => l.replace(/^\[\s*\+?\d+\.\d{6}\] /, '').replace(/^kernel: /, ''));
}

interface Case {
  file: string;
  line: string;
  fault: DmarFault;
  style: Parameters<typeof dmarFaultLine>[1];
}

const sampleCases: Case[] = [
  {
    // OpenNetworkLinux 4.x kernel: pre-PASID format, decimal reason, address without 0x.
    file: 'dmesg-intel-dmar-fault-noPASIDfield-reason05-onl.txt',
    line: 'DMAR: [DMA Write] Request device [00:12.0] fault addr 0 [fault reason 05] PTE Write access is not set',
    fault: { requesterId: 0x0090, pasid: null, write: true, addrHi: 0, addrLo: 0, reason: 0x05 },
    style: 'v4.7',
  },
  {
    // linux-next, Dec 2020: "PASID ffffffff" = no PASID (pasid_present ? pasid : -1 printed with %x).
    file: 'dmesg-intel-dmar-fault-pasidffffffff-reason05-relative-ts.txt',
    line: 'DMAR: [DMA Write] Request device [06:00.0] PASID ffffffff fault addr 0 [fault reason 05] PTE Write access is not set',
    fault: { requesterId: 0x0600, pasid: null, write: true, addrHi: 0, addrLo: 0, reason: 0x05 },
    style: 'v5.5',
  },
  {
    // v5.14 (sof-test issue 744, 2021-07): "0x" before bus and device.
    file: 'journal-intel-dmar-fault-v5.14-0x-bus-prefix-sof-issue744.txt',
    line: 'DMAR: [DMA Read NO_PASID] Request device [0x00:0x02.0] fault addr 0x70ad5000 [fault reason 0x07] Next page table ptr is invalid',
    fault: { requesterId: 0x0010, pasid: null, write: false, addrHi: 0, addrLo: 0x70ad5000, reason: 0x07 },
    style: 'v5.14',
  },
  {
    file: 'journal-intel-dmar-fault-v5.14-0x-bus-prefix-sof-issue744.txt',
    line: 'DMAR: [DMA Read NO_PASID] Request device [0x00:0x02.0] fault addr 0x7c346000 [fault reason 0x06] PTE Read access is not set',
    fault: { requesterId: 0x0010, pasid: null, write: false, addrHi: 0, addrLo: 0x7c346000, reason: 0x06 },
    style: 'v5.14',
  },
  {
    // 2023 patch log (current format); 00:0d.2 → devfn 0x0d<<3|2 = 0x6a; address above 4 GiB.
    file: 'dmesg-intel-dmar-fault-sm-reason0x51-pasid-dir-dump-emailwrapped.txt',
    line: 'DMAR: [DMA Read NO_PASID] Request device [00:0d.2] fault addr 0x1026a4000 [fault reason 0x51] SM: Present bit in Directory Entry is clear',
    fault: { requesterId: 0x006a, pasid: null, write: false, addrHi: 0x1, addrLo: 0x026a4000, reason: 0x51 },
    style: 'current',
  },
  {
    // 5.17.0-rc4+: interrupt-remapping fault, index 0x25 of the IRTE table.
    file: 'dmesg-intel-dmar-intr-remap-reason0x22-irte-with-ftrace-vector.txt',
    line: 'DMAR: [INTR-REMAP] Request device [65:00.0] fault index 0x25 [fault reason 0x22] Present field in the IRTE entry is clear',
    fault: {
      requesterId: 0x6500,
      pasid: null,
      write: true,
      addrHi: 0,
      addrLo: 0,
      reason: 0x22,
      irIndex: 0x25,
    },
    style: 'current',
  },
];

describe('dmarFaultLine reproduces real dmesg lines', () => {
  for (const c of sampleCases) {
    it(`${c.style}: ${c.line.slice(6, 60)}…`, () => {
      expect(dmarFaultLine(c.fault, c.style)).toBe(c.line);
    });
  }

  it('prints the fault status header with FSTS in bare hex', () => {
    // "DMAR: DRHD: handling fault status reg 2" in the onl, relative-ts and intr-remap samples; "… 3" in
    // the 0x51 sample (PFO|PPF).
    expect(dmarFaultStatusLine(2)).toBe('DMAR: DRHD: handling fault status reg 2');
    expect(dmarFaultStatusLine(3)).toBe('DMAR: DRHD: handling fault status reg 3');
    // formats.md §1 lists 102 among the values seen: FRI=1 (bits 15:8) | PPF.
    expect(dmarFaultStatusLine(0x102)).toBe('DMAR: DRHD: handling fault status reg 102');
  });

  it.skipIf(!existsSync(SAMPLES))('finds each expected line in its sample file', () => {
    for (const c of sampleCases) expect(sampleLines(c.file), c.file).toContain(c.line);
    for (const f of [
      'dmesg-intel-dmar-fault-noPASIDfield-reason05-onl.txt',
      'dmesg-intel-dmar-fault-pasidffffffff-reason05-relative-ts.txt',
      'dmesg-intel-dmar-intr-remap-reason0x22-irte-with-ftrace-vector.txt',
    ]) {
      expect(sampleLines(f), f).toContain('DMAR: DRHD: handling fault status reg 2');
    }
    expect(sampleLines('dmesg-intel-dmar-fault-sm-reason0x51-pasid-dir-dump-emailwrapped.txt')).toContain(
      'DMAR: DRHD: handling fault status reg 3',
    );
  });
});

describe('dmarFaultLine, hand-written from the format strings', () => {
  const base: DmarFault = {
    requesterId: 0x0010,
    pasid: null,
    write: true,
    addrHi: 0x6,
    addrLo: 0xdf084000,
    reason: 5,
  };

  it('current: NO_PASID, 64-bit address, hex reason', () => {
    // README example line (00:02.0 = SID 0x0010).
    expect(dmarFaultLine(base)).toBe(
      'DMAR: [DMA Write NO_PASID] Request device [00:02.0] fault addr 0x6df084000 [fault reason 0x05] PTE Write access is not set',
    );
  });

  it('current: "[%s PASID 0x%x]" for a request with PASID', () => {
    const f: DmarFault = {
      requesterId: 0x0600,
      pasid: 0x2a,
      write: false,
      addrHi: 0,
      addrLo: 0x1000,
      reason: 6,
    };
    expect(dmarFaultLine(f)).toBe(
      'DMAR: [DMA Read PASID 0x2a] Request device [06:00.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set',
    );
  });

  it('drops the low 12 bits as dma_frcd_page_addr() does and prints 0 as 0x0', () => {
    const f: DmarFault = { ...base, addrHi: 0, addrLo: 0xfff01abc };
    expect(dmarFaultLine(f)).toContain(' fault addr 0xfff01000 ');
    expect(dmarFaultLine({ ...base, addrHi: 0, addrLo: 0 })).toContain(' fault addr 0x0 ');
  });

  it('prints reasons without a table entry as "Unknown" on the DMA line', () => {
    // 0x91 (QEMU FS_BIT_UPDATE_FAILED) is past the SM table; 0x0E (QEMU INTERRUPT_ADDR) past the legacy one.
    expect(dmarFaultLine({ ...base, reason: 0x91 })).toBe(
      'DMAR: [DMA Write NO_PASID] Request device [00:02.0] fault addr 0x6df084000 [fault reason 0x91] Unknown',
    );
    expect(dmarFaultLine({ ...base, reason: 0x0e })).toMatch(/\[fault reason 0x0e\] Unknown$/);
  });

  it('v4.7: decimal reason and no scalable-mode table', () => {
    // "[fault reason %02d]": 0x51 prints 81, and pre-SM kernels print "Unknown" for it.
    expect(dmarFaultLine({ ...base, reason: 0x51, write: false }, 'v4.7')).toBe(
      'DMAR: [DMA Read] Request device [00:02.0] fault addr 6df084000 [fault reason 81] Unknown',
    );
  });

  it('v5.5: PASID printed with %x, no 0x', () => {
    expect(dmarFaultLine({ ...base, pasid: 0x1f }, 'v5.5')).toBe(
      'DMAR: [DMA Write] Request device [00:02.0] PASID 1f fault addr 6df084000 [fault reason 05] PTE Write access is not set',
    );
  });

  it('old INTR-REMAP format: index in bare hex, decimal reason', () => {
    // formats.md §1: "fault index 1600 [fault reason 37]" = 0x25; device chosen by hand (f0:1f.0).
    const f: DmarFault = {
      requesterId: 0xf0f8,
      pasid: null,
      write: true,
      addrHi: 0,
      addrLo: 0,
      reason: 0x25,
      irIndex: 0x1600,
    };
    expect(dmarFaultLine(f, 'v5.5')).toBe(
      'DMAR: [INTR-REMAP] Request device [f0:1f.0] fault index 1600 [fault reason 37] Blocked a compatibility format interrupt request',
    );
    expect(dmarFaultLine(f, 'v5.14')).toBe(
      'DMAR: [INTR-REMAP] Request device [0xf0:0x1f.0] fault index 0x1600 [fault reason 0x25] Blocked a compatibility format interrupt request',
    );
  });

  it('takes the interrupt index from FI bits 63:48 when irIndex is absent (Linux prints addr >> 48)', () => {
    const f: DmarFault = {
      requesterId: 0x6500,
      pasid: null,
      write: true,
      addrHi: 0x25 << 16,
      addrLo: 0,
      reason: 0x22,
    };
    expect(dmarFaultLine(f)).toBe(
      'DMAR: [INTR-REMAP] Request device [65:00.0] fault index 0x25 [fault reason 0x22] Present field in the IRTE entry is clear',
    );
  });

  it('can leave out the pr_fmt prefix', () => {
    expect(dmarFaultLine(base, 'current', { prefix: false })).toMatch(/^\[DMA Write NO_PASID\] /);
    expect(dmarFaultStatusLine(2, { prefix: false })).toBe('DRHD: handling fault status reg 2');
  });

  it('rejects out-of-range fields', () => {
    expect(() => dmarFaultLine({ ...base, requesterId: 0x10000 })).toThrow(RangeError);
    expect(() => dmarFaultLine({ ...base, reason: 0x100 })).toThrow(RangeError);
    expect(() => dmarFaultLine({ ...base, pasid: 0x100000 })).toThrow(RangeError);
    expect(() => dmarFaultLine({ ...base, addrLo: -1 })).toThrow(RangeError);
  });
});
