// Renders VT-d faults as the exact lines Linux prints: dmar_fault_do_one() and dmar_fault() in
// torvalds/linux drivers/iommu/intel/dmar.c, each prefixed by the file's pr_fmt "DMAR: ". Contract:
// - dmarFaultLine(fault, style) prints one record. The reason picks the format through
//   dmar_get_fault_reason() (fault-reasons.ts): INTR_REMAP reasons (0x20–0x26) print the
//   "[INTR-REMAP] … fault index" line, every other reason (including UNKNOWN ones, text "Unknown")
//   prints the DMA line. Direction is the FRCD T bit as Linux prints it: T=1 "DMA Read", T=0
//   "DMA Write"; here `write: true` means T=0.
// - The fault address is given as two unsigned 32-bit halves (addrHi = bits 63:32, addrLo = bits
//   31:0) of the FRCD low quadword, as fault-recording.ts stores it. Linux prints
//   dma_frcd_page_addr(), i.e. the low 12 bits cleared, so addrLo's low 12 bits are ignored. For
//   INTR-REMAP Linux prints `addr >> 48`, the interrupt index that hardware (and QEMU's
//   VTD_FRCD_IR_IDX) puts in bits 63:48: pass irIndex, or leave it out and it is addrHi >>> 16.
// - Styles (the format strings of each era, copied from the kernel source and the patches that
//   changed them):
//     'current' v5.15+  "[DMA Read NO_PASID]" / "[DMA Read PASID 0x2a]", bus:dev without 0x, hex
//                       reason "0x%02x", "fault addr 0x%llx", "fault index 0x%llx" — Bjorn Helgaas
//                       "iommu/vt-d: Drop "0x" prefix from PCI bus & device addresses"
//                       (lore 20210903193711.483999-1-helgaas@kernel.org, queued for v5.15).
//     'v5.14'           as current but "[0x%02x:0x%02x.%d]" — commit 719a19335692 "iommu/vt-d: Tweak
//                       the description of a DMA fault" (Lu Baolu, 2021-06, v5.14).
//     'v5.5'  v5.5–5.13 "[DMA Read] Request device [bb:dd.f] PASID %x fault addr %llx [fault reason
//                       %02d]", no PASID printed as -1 → "ffffffff", decimal reason — "iommu/vt-d: Add
//                       Scalable Mode fault information" (Kyung Min Park, posted 2019-09-06; first
//                       release v5.5 by our reading, not verified against a tag).
//     'v4.7'  v4.7–5.4  "[DMA Read] Request device [bb:dd.f] fault addr %llx [fault reason %02d]", no
//                       scalable-mode table (0x30+ print "Unknown") — commit a0fe14d7dcf5
//                       "iommu/vt-d: Improve fault handler error messages" (Alex Williamson, v4.7-rc1).
//   Before v4.7 the record was split over two lines with a different prefix; not rendered here.
// Pure; throws RangeError on out-of-range fields.

import { dmarGetFaultReason, FaultType } from './fault-reasons';

/** pr_fmt of drivers/iommu/intel/dmar.c. */
export const DMAR_PR_FMT = 'DMAR: ';

export type DmarLogStyle = 'current' | 'v5.14' | 'v5.5' | 'v4.7';

/** The styles, newest first, with the kernels that print them and the change that introduced them. */
export const DMAR_LOG_STYLES: readonly {
  readonly style: DmarLogStyle;
  readonly kernels: string;
  readonly introducedBy: string;
}[] = Object.freeze([
  {
    style: 'current',
    kernels: 'v5.15 and later',
    introducedBy: 'iommu/vt-d: Drop "0x" prefix from PCI bus & device addresses (Bjorn Helgaas)',
  },
  {
    style: 'v5.14',
    kernels: 'v5.14',
    introducedBy: '719a19335692 iommu/vt-d: Tweak the description of a DMA fault',
  },
  {
    style: 'v5.5',
    kernels: 'v5.5 to v5.13',
    introducedBy: 'iommu/vt-d: Add Scalable Mode fault information (Kyung Min Park)',
  },
  {
    style: 'v4.7',
    kernels: 'v4.7 to v5.4',
    introducedBy: 'a0fe14d7dcf5 iommu/vt-d: Improve fault handler error messages',
  },
]);

export interface DmarFault {
  /** Source ID: bus << 8 | devfn (16 bits). */
  requesterId: number;
  /** PASID value when the record has PP=1, else null. */
  pasid: number | null;
  /** FRCD T=0. Linux prints "DMA Write" for T=0 and "DMA Read" for T=1. */
  write: boolean;
  /** FRCD bits 63:32 (unsigned 32-bit). */
  addrHi: number;
  /** FRCD bits 31:0 (unsigned 32-bit); bits 11:0 are dropped as dma_frcd_page_addr() does. */
  addrLo: number;
  /** FRCD.FR, 8 bits. */
  reason: number;
  /** Interrupt-remapping index (16 bits) for INTR-REMAP reasons; defaults to addrHi >>> 16. */
  irIndex?: number;
}

export interface DmarLogOptions {
  /** Include the "DMAR: " pr_fmt prefix (default true). */
  prefix?: boolean;
}

function checkU(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name} out of range: ${v}`);
}

const hex = (n: number): string => n.toString(16);
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
/** printf "%02d" for 0..255. */
const dec2 = (n: number): string => String(n).padStart(2, '0');

/** printf "%llx" of the 64-bit value addrHi:addrLo. */
function hex64(hi: number, lo: number): string {
  return hi === 0 ? hex(lo) : hex(hi) + lo.toString(16).padStart(8, '0');
}

/** "[%02x:%02x.%d]" or, for v5.14, "[0x%02x:0x%02x.%d]": source_id >> 8, PCI_SLOT, PCI_FUNC. */
function device(sid: number, style: DmarLogStyle): string {
  const bus = sid >>> 8;
  const slot = (sid >>> 3) & 0x1f;
  const fn = sid & 7;
  return style === 'v5.14' ? `[0x${hex2(bus)}:0x${hex2(slot)}.${fn}]` : `[${hex2(bus)}:${hex2(slot)}.${fn}]`;
}

/** The line Linux prints for one fault record (dmar_fault_do_one) in the given style. */
export function dmarFaultLine(
  f: DmarFault,
  style: DmarLogStyle = 'current',
  opts: DmarLogOptions = {},
): string {
  checkU('requesterId', f.requesterId, 0xffff);
  checkU('reason', f.reason, 0xff);
  checkU('addrHi', f.addrHi, 0xffff_ffff);
  checkU('addrLo', f.addrLo, 0xffff_ffff);
  if (f.pasid !== null) checkU('pasid', f.pasid, 0xfffff);
  if (f.irIndex !== undefined) checkU('irIndex', f.irIndex, 0xffff);

  const modern = style === 'current' || style === 'v5.14';
  const info = dmarGetFaultReason(f.reason, style !== 'v4.7');
  const pre = opts.prefix === false ? '' : DMAR_PR_FMT;
  const dev = device(f.requesterId, style);
  const reason = modern ? `0x${hex2(f.reason)}` : dec2(f.reason);

  if (info.type === FaultType.INTR_REMAP) {
    const index = hex(f.irIndex ?? f.addrHi >>> 16);
    const idx = modern ? `0x${index}` : index;
    return `${pre}[INTR-REMAP] Request device ${dev} fault index ${idx} [fault reason ${reason}] ${info.text}`;
  }

  const type = f.write ? 'DMA Write' : 'DMA Read';
  const addr = hex64(f.addrHi, (f.addrLo & 0xffff_f000) >>> 0);
  switch (style) {
    case 'current':
    case 'v5.14': {
      const tag = f.pasid === null ? `${type} NO_PASID` : `${type} PASID 0x${hex(f.pasid)}`;
      return `${pre}[${tag}] Request device ${dev} fault addr 0x${addr} [fault reason ${reason}] ${info.text}`;
    }
    case 'v5.5': {
      // pasid_present ? pasid : -1, printed with %x.
      const pasid = f.pasid === null ? 'ffffffff' : hex(f.pasid);
      return `${pre}[${type}] Request device ${dev} PASID ${pasid} fault addr ${addr} [fault reason ${reason}] ${info.text}`;
    }
    case 'v4.7':
      return `${pre}[${type}] Request device ${dev} fault addr ${addr} [fault reason ${reason}] ${info.text}`;
  }
}

/** dmar_fault()'s header, printed once per interrupt when FSTS is non-zero: "DRHD: handling fault status reg %x". */
export function dmarFaultStatusLine(fsts: number, opts: DmarLogOptions = {}): string {
  checkU('fsts', fsts, 0xffff_ffff);
  return `${opts.prefix === false ? '' : DMAR_PR_FMT}DRHD: handling fault status reg ${hex(fsts)}`;
}
