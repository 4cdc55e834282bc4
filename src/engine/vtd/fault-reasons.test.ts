import { describe, expect, it } from 'vitest';
import {
  DMA_REMAP_FAULT_REASONS,
  DMA_REMAP_SM_FAULT_REASONS,
  dmarGetFaultReason,
  FaultType,
  faultReasonText,
  IRQ_REMAP_FAULT_REASONS,
  isQualified,
  QUALIFIED_FAULT_REASONS,
  VTD_FR_ADDR_BEYOND_MGAW,
  VTD_FR_CONTEXT_ENTRY_TT,
  VTD_FR_FS_BIT_UPDATE_FAILED,
  VTD_FR_FS_NON_CANONICAL,
  VTD_FR_INTERRUPT_ADDR,
  VTD_FR_IR_REQ_RSVD,
  VTD_FR_IR_SID_ERR,
  VTD_FR_PASID_DIR_ENTRY_P,
  VTD_FR_PASID_TABLE_ACCESS_ERR,
  VTD_FR_PASID_TABLE_ENTRY_INV,
  VTD_FR_ROOT_ENTRY_P,
  VTD_FR_RTADDR_INV_TTM,
  VTD_FR_SM_INTERRUPT_ADDR,
  VTD_FR_SM_PRE_ABS,
  VTD_FR_SM_WRITE,
  VTD_FR_WRITE,
} from './fault-reasons';

// Sources of the expected values:
// [S-onl]  samples/intel-dmar/dmesg-intel-dmar-fault-noPASIDfield-reason05-onl.txt
// [S-sof]  samples/intel-dmar/journal-intel-dmar-fault-v5.14-0x-bus-prefix-sof-issue744.txt
// [S-sm]   samples/intel-dmar/dmesg-intel-dmar-fault-sm-reason0x51-pasid-dir-dump-emailwrapped.txt
// [S-ir]   samples/intel-dmar/dmesg-intel-dmar-intr-remap-reason0x22-irte-with-ftrace-vector.txt
// [F1]     shared reference formats.md §1 "Reason codes/texts observed verbatim"
// [dmar.c] torvalds/linux drivers/iommu/intel/dmar.c @ c34e9ab9a612 (tables and dmar_get_fault_reason)
// [qemu-h] hw/i386/intel_iommu_internal.h VTDFaultReason, [qemu-c] intel_iommu.c vtd_qualified_faults[]
//          (patchew-project/qemu @ 67695efc4a16)

describe('Linux fault reason texts', () => {
  it('matches the texts seen in real dmesg lines', () => {
    expect(faultReasonText(0x05)).toBe('PTE Write access is not set'); // [S-onl] "[fault reason 05] PTE Write…"
    expect(faultReasonText(0x06)).toBe('PTE Read access is not set'); // [S-sof] line 2
    expect(faultReasonText(0x07)).toBe('Next page table ptr is invalid'); // [S-sof] line 1
    expect(faultReasonText(0x22)).toBe('Present field in the IRTE entry is clear'); // [S-ir]
    expect(faultReasonText(0x51)).toBe('SM: Present bit in Directory Entry is clear'); // [S-sm], unwrapped
    expect(faultReasonText(0x02)).toBe('Present bit in context entry is clear'); // [F1] 02
    expect(faultReasonText(0x0c)).toBe('non-zero reserved fields in PTE'); // [F1] 0x0c
    expect(faultReasonText(0x25)).toBe('Blocked a compatibility format interrupt request'); // [F1] 0x25 (=37)
    expect(faultReasonText(0x26)).toBe('Blocked an interrupt request due to source-id verification failure'); // [F1]
    expect(faultReasonText(0x39)).toBe('SM: Present bit in Root Entry is clear'); // [F1] 0x39
    // [F1] 0x59 "SM: Present bit in PA…" (truncated by the terminal in the sample)
    expect(faultReasonText(0x59).startsWith('SM: Present bit in PA')).toBe(true);
  });

  it('has the table sizes of dmar.c', () => {
    // [dmar.c] dma_remap_fault_reasons[] has 14 strings (0x0–0xD); the SM table runs 0x30–0x90 (97
    // entries including its "Unknown" gap rows); irq_remap_fault_reasons[] has 7 (0x20–0x26).
    expect(DMA_REMAP_FAULT_REASONS).toHaveLength(14);
    expect(DMA_REMAP_SM_FAULT_REASONS).toHaveLength(0x90 - 0x30 + 1);
    expect(IRQ_REMAP_FAULT_REASONS).toHaveLength(7);
    expect(DMA_REMAP_FAULT_REASONS[0]).toBe('Software');
    expect(DMA_REMAP_FAULT_REASONS[13]).toBe('PCE for translation request specifies blocking');
    expect(DMA_REMAP_SM_FAULT_REASONS[0x90 - 0x30]).toBe(
      'SM: A/D bit update needed in first-level entry when set up in no snoop',
    );
    expect(faultReasonText(0x87)).toBe('SM: Invalid address-interrupt address');
    expect(faultReasonText(0x47)).toBe('SM: PRE field in Context-Entry is clear');
  });

  it('decodes in dmar_get_fault_reason order', () => {
    // [dmar.c] 0x20..0x26 → INTR_REMAP; 0x30..0x90 → DMA_REMAP from the SM table (gap rows included);
    // < 14 → DMA_REMAP; anything else → UNKNOWN "Unknown".
    expect(dmarGetFaultReason(0x20)).toMatchObject({ type: FaultType.INTR_REMAP, table: 'irq' });
    expect(dmarGetFaultReason(0x26)).toMatchObject({ type: FaultType.INTR_REMAP, table: 'irq' });
    expect(dmarGetFaultReason(0x27)).toMatchObject({ type: FaultType.UNKNOWN, text: 'Unknown' });
    expect(dmarGetFaultReason(0x30)).toMatchObject({ type: FaultType.DMA_REMAP, table: 'scalable' });
    expect(dmarGetFaultReason(0x33)).toMatchObject({ type: FaultType.DMA_REMAP, text: 'Unknown' });
    expect(dmarGetFaultReason(0x6f)).toMatchObject({ type: FaultType.DMA_REMAP, text: 'Unknown' });
    expect(dmarGetFaultReason(0x90)).toMatchObject({ type: FaultType.DMA_REMAP, table: 'scalable' });
    expect(dmarGetFaultReason(0x91)).toMatchObject({
      type: FaultType.UNKNOWN,
      text: 'Unknown',
      table: 'none',
    });
    expect(dmarGetFaultReason(0x0d)).toMatchObject({ type: FaultType.DMA_REMAP, table: 'legacy' });
    expect(dmarGetFaultReason(0x0e)).toMatchObject({ type: FaultType.UNKNOWN, text: 'Unknown' });
    expect(dmarGetFaultReason(0x1f)).toMatchObject({ type: FaultType.UNKNOWN });
    expect(dmarGetFaultReason(0xff)).toMatchObject({ type: FaultType.UNKNOWN });
    // Linux's enum faulttype order: DMA_REMAP, INTR_REMAP, UNKNOWN.
    expect([FaultType.DMA_REMAP, FaultType.INTR_REMAP, FaultType.UNKNOWN]).toEqual([0, 1, 2]);
  });

  it('decodes as pre-scalable-mode kernels when asked', () => {
    // Before "Add Scalable Mode fault information" dmar.c had no SM table: 0x51 fell through to Unknown.
    expect(dmarGetFaultReason(0x51, false)).toMatchObject({ type: FaultType.UNKNOWN, text: 'Unknown' });
    expect(dmarGetFaultReason(0x25, false)).toMatchObject({ type: FaultType.INTR_REMAP });
    expect(dmarGetFaultReason(0x05, false).text).toBe('PTE Write access is not set');
  });

  it('rejects values that are not a u8', () => {
    expect(() => dmarGetFaultReason(256)).toThrow(RangeError);
    expect(() => dmarGetFaultReason(-1)).toThrow(RangeError);
    expect(() => dmarGetFaultReason(1.5)).toThrow(RangeError);
  });
});

describe('reason constants', () => {
  it('carry the values of QEMU VTDFaultReason', () => {
    // [qemu-h]: VTD_FR_ROOT_ENTRY_P = 1, then consecutive up to CONTEXT_ENTRY_TT (0xd),
    // VTD_FR_INTERRUPT_ADDR = 0xE, IR 0x20..0x26, RTADDR_INV_TTM 0x31, SM_PRE_ABS 0x47,
    // PASID_DIR_ENTRY_P 0x51, PASID_TABLE_ACCESS_ERR 0x58, PASID_TABLE_ENTRY_INV 0x5b,
    // FS_NON_CANONICAL 0x80, SM_WRITE 0x85, SM_INTERRUPT_ADDR 0x87, FS_BIT_UPDATE_FAILED 0x91.
    expect(VTD_FR_ROOT_ENTRY_P).toBe(0x1);
    expect(VTD_FR_ADDR_BEYOND_MGAW).toBe(0x4);
    expect(VTD_FR_WRITE).toBe(0x5);
    expect(VTD_FR_CONTEXT_ENTRY_TT).toBe(0xd);
    expect(VTD_FR_INTERRUPT_ADDR).toBe(0xe);
    expect(VTD_FR_IR_REQ_RSVD).toBe(0x20);
    expect(VTD_FR_IR_SID_ERR).toBe(0x26);
    expect(VTD_FR_RTADDR_INV_TTM).toBe(0x31);
    expect(VTD_FR_SM_PRE_ABS).toBe(0x47);
    expect(VTD_FR_PASID_DIR_ENTRY_P).toBe(0x51);
    expect(VTD_FR_PASID_TABLE_ACCESS_ERR).toBe(0x58);
    expect(VTD_FR_PASID_TABLE_ENTRY_INV).toBe(0x5b);
    expect(VTD_FR_FS_NON_CANONICAL).toBe(0x80);
    expect(VTD_FR_SM_WRITE).toBe(0x85);
    expect(VTD_FR_SM_INTERRUPT_ADDR).toBe(0x87);
    expect(VTD_FR_FS_BIT_UPDATE_FAILED).toBe(0x91);
  });
});

describe('isQualified (QEMU vtd_qualified_faults[])', () => {
  // [qemu-c] entries set to true, transcribed by hand from the table:
  // CONTEXT_ENTRY_P 0x2, CONTEXT_ENTRY_INV 0x3, ADDR_BEYOND_MGAW 0x4, WRITE 0x5, READ 0x6,
  // PAGING_ENTRY_INV 0x7, INTERRUPT_ADDR 0xE, PAGING_ENTRY_RSVD 0xC, CONTEXT_ENTRY_TT 0xD,
  // PASID_DIR_ENTRY_P 0x51, PASID_ENTRY_P 0x59, PASID_TABLE_ENTRY_INV 0x5b, FS_PAGING_ENTRY_INV 0x70,
  // FS_PAGING_ENTRY_P 0x71, FS_PAGING_ENTRY_RSVD 0x72, PASID_ENTRY_FSPTPTR_INV 0x73,
  // FS_NON_CANONICAL 0x80, FS_PAGING_ENTRY_US 0x81, SM_WRITE 0x85, SM_PRE_ABS 0x47,
  // SM_INTERRUPT_ADDR 0x87, FS_BIT_UPDATE_FAILED 0x91.
  const expected = [
    0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0xc, 0xd, 0xe, 0x47, 0x51, 0x59, 0x5b, 0x70, 0x71, 0x72, 0x73, 0x80, 0x81,
    0x85, 0x87, 0x91,
  ];

  it('has exactly QEMU membership over all 256 codes', () => {
    const got = Array.from({ length: 256 }, (_, r) => r).filter(isQualified);
    expect(got).toEqual(expected);
    expect([...QUALIFIED_FAULT_REASONS]).toEqual(expected);
  });

  it('does not suppress the explicit false entries nor reasons missing from the table', () => {
    // [qemu-c] explicit false: RESERVED 0x0, ROOT_ENTRY_P 0x1, ROOT_TABLE_INV 0x8, CONTEXT_TABLE_INV 0x9,
    // ROOT_ENTRY_RSVD 0xA, PASID_DIR_ACCESS_ERR 0x50, PASID_TABLE_ACCESS_ERR 0x58. Missing (so false):
    // CONTEXT_ENTRY_RSVD 0xB (shared reference §12: "A context entry with reserved bits is still recorded
    // even with FPD=1"), RTADDR_INV_TTM 0x31 and the interrupt-remapping reasons.
    for (const r of [0x0, 0x1, 0x8, 0x9, 0xa, 0xb, 0x50, 0x58, 0x31, 0x20, 0x22, 0x26]) {
      expect(isQualified(r), `0x${r.toString(16)}`).toBe(false);
    }
    expect(isQualified(256)).toBe(false);
    expect(isQualified(-1)).toBe(false);
  });
});
