// Format detection on real first lines of the reference samples, and binary detection on real bytes.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { detectBinary, detectFormat } from './detect';

describe('detectFormat', () => {
  it('QEMU log-backend trace (qemu-real-scalable/qemu-trace.log.gz)', () => {
    const d = detectFormat([
      '18728@1795437672.982284:vtd_context_cache_reset ',
      '18728@1795437672.982668:vtd_switch_address_space Device 00:00.0 switching address space (iommu enabled=0)',
      "18728@1795437673.018251:pci_nvme_admin_cmd cid 0 sqid 0 opc 0x6 opname 'NVME_ADM_CMD_IDENTIFY'",
    ]);
    expect(d.kind).toBe('qemu-trace');
    expect(d.confidence).toBeGreaterThan(0);
    expect(d.reason).toMatch(/qemu-trace 5/);
  });

  it('ftrace output with its header', () => {
    expect(
      detectFormat([
        '# tracer: nop',
        '   (udev-worker)-532     [010] .....     4.878076: map: IOMMU: iova=0x00000000fe980000 - 0x00000000fea00000 paddr=0x000000010ec80000 size=524288',
      ]).kind,
    ).toBe('ftrace');
  });

  it('kernel logs: dmesg, syslog, serial console with escapes (samples intel-dmar/, qemu-real-scalable/guest-console.log)', () => {
    expect(
      detectFormat(['May 30 17:32:17 localhost kernel: [    0.168626] DMAR: Host address width 39']).kind,
    ).toBe('kernel-log');
    expect(
      detectFormat([
        '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r',
        'Booting from ROM...\r',
        '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\r',
      ]).kind,
    ).toBe('kernel-log');
  });

  it('unknown prose', () => {
    expect(detectFormat(['Hello,', 'nothing to see here.'])).toMatchObject({
      kind: 'unknown',
      confidence: 0,
    });
  });
});

describe('detectBinary', () => {
  it('names the zstd-compressed Keysight/Agilent .pad sample from its first bytes (keysight-agilent-pad-trace-link-power-off.pad.zst)', () => {
    const head = Uint8Array.from(
      Buffer.from(
        '28b52ffd64cc2ec52f00b42000204147545f4d4f44554c455f4f4e45504f52545f50434945585052455353',
        'hex',
      ),
    );
    expect(detectBinary(head)).toEqual({
      kind: 'zstd',
      note: 'zstd-compressed Keysight/Agilent PCIe analyzer .pad capture (header "AGT_MODULE_…" visible)',
    });
  });

  it('a raw .pad header, gzip, UTF-16, binary, text', () => {
    const pad = Uint8Array.from(
      Buffer.from('00204147545f4d4f44554c455f4f4e45504f52545f504349455850524553535f58380001', 'hex'),
    );
    expect(detectBinary(pad)).toMatchObject({
      kind: 'keysight-pad',
      note: expect.stringContaining('AGT_MODULE_ONEPORT_PCIEXPRESS_X8'),
    });
    expect(detectBinary(gzipSync('x')).kind).toBe('gzip');
    expect(detectBinary(Uint8Array.from([0xff, 0xfe, 0x41, 0]))).toMatchObject({
      kind: 'text',
      encoding: 'utf-16le',
    });
    expect(detectBinary(Uint8Array.from([1, 0, 2]))).toMatchObject({ kind: 'binary' });
    expect(detectBinary(new TextEncoder().encode('[ 1.0] DMAR: x'))).toMatchObject({
      kind: 'text',
      encoding: 'utf-8',
    });
  });
});
