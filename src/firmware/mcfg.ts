// ACPI MCFG (PCI Express memory-mapped configuration space, PCI Firmware spec 3.x 4.1.2): after the
// 36-byte header, 8 reserved bytes, then 16-byte allocations: u64 ECAM base, u16 PCI segment, u8 start
// bus, u8 end bus, u32 reserved. It gives each segment's bus range when an acpidump is at hand.
import { decodeAcpiHeader } from './acpi-header';
import { ByteReader } from './bytes';
import { finding, type Finding } from './findings';

export interface McfgAllocation {
  base: bigint;
  segment: number;
  busStart: number;
  busEnd: number;
  offset: number;
}

export function decodeMcfg(bytes: Uint8Array): { allocations: McfgAllocation[]; findings: Finding[] } {
  const head = decodeAcpiHeader(bytes, 'MCFG', 'warning');
  const findings = [...head.findings];
  const r = new ByteReader(bytes);
  const allocations: McfgAllocation[] = [];
  for (let off = 44; off + 16 <= head.end; off += 16)
    allocations.push({
      base: r.u64(off),
      segment: r.u16(off + 8),
      busStart: r.u8(off + 10),
      busEnd: r.u8(off + 11),
      offset: off,
    });
  if (head.end > 44 && (head.end - 44) % 16 !== 0)
    findings.push(
      finding(
        'warning',
        'mcfg-length',
        `MCFG allocations are 16 bytes each; ${(head.end - 44) % 16} byte(s) left over`,
        { offset: head.end, table: 'MCFG' },
      ),
    );
  return { allocations, findings };
}
