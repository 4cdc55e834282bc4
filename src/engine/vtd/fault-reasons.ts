// VT-d fault reasons (FRCD.FR, 8 bits): their numbers, the exact text Linux prints for each, Linux's
// decoding order, and which ones Fault Processing Disable (FPD) suppresses. Contract:
// - Texts are copied verbatim from torvalds/linux drivers/iommu/intel/dmar.c (commit c34e9ab9a612):
//   dma_remap_fault_reasons[] (0x00–0x0D), dma_remap_sm_fault_reasons[] (0x30–0x90, "Unknown" in its
//   gaps) and irq_remap_fault_reasons[] (0x20–0x26). dmarGetFaultReason() is dmar_get_fault_reason():
//   0x20..0x26 → INTR_REMAP, then 0x30..0x90 → DMA_REMAP (scalable-mode table), then 0x00..0x0D →
//   DMA_REMAP (legacy table), else UNKNOWN "Unknown". The scalable-mode table arrived with "iommu/vt-d:
//   Add Scalable Mode fault information" (Kyung Min Park, posted 2019-09-06); older kernels print
//   "Unknown" for 0x30+ (pass withSmTable=false).
// - Constants are named after QEMU's VTDFaultReason (hw/i386/intel_iommu_internal.h, patchew-project/qemu
//   commit 67695efc4a16) where QEMU names the reason; the others are named here after the Linux text
//   (marked "no QEMU name").
// - isQualified() is QEMU's vtd_qualified_faults[] (hw/i386/intel_iommu.c, same commit, which includes
//   the 2025-09 PRI series that made 0x47 qualified): a qualified fault is not recorded when the
//   context/PASID-directory/PASID entry that processed the request has FPD=1 (vtd_report_fault).
//   Reasons missing from QEMU's table (0x0B, 0x31, 0x20–0x26, everything else) are not qualified.
// Pure and allocation-free on lookup: all 256 decodings are built once at load.

// ---- Legacy DMA-remapping reasons (QEMU VTDFaultReason names) ----
/** Reserved for Advanced Fault Logging; Linux prints "Software". */
export const VTD_FR_RESERVED = 0x0;
export const VTD_FR_ROOT_ENTRY_P = 0x1;
export const VTD_FR_CONTEXT_ENTRY_P = 0x2;
export const VTD_FR_CONTEXT_ENTRY_INV = 0x3;
export const VTD_FR_ADDR_BEYOND_MGAW = 0x4;
export const VTD_FR_WRITE = 0x5;
export const VTD_FR_READ = 0x6;
export const VTD_FR_PAGING_ENTRY_INV = 0x7;
export const VTD_FR_ROOT_TABLE_INV = 0x8;
export const VTD_FR_CONTEXT_TABLE_INV = 0x9;
export const VTD_FR_ROOT_ENTRY_RSVD = 0xa;
export const VTD_FR_CONTEXT_ENTRY_RSVD = 0xb;
export const VTD_FR_PAGING_ENTRY_RSVD = 0xc;
export const VTD_FR_CONTEXT_ENTRY_TT = 0xd;
/** Output address in the interrupt range (legacy mode). Not in Linux's table: prints "Unknown". */
export const VTD_FR_INTERRUPT_ADDR = 0xe;

// ---- Interrupt-remapping reasons (QEMU names) ----
export const VTD_FR_IR_REQ_RSVD = 0x20;
export const VTD_FR_IR_INDEX_OVER = 0x21;
export const VTD_FR_IR_ENTRY_P = 0x22;
export const VTD_FR_IR_ROOT_INVAL = 0x23;
export const VTD_FR_IR_IRTE_RSVD = 0x24;
export const VTD_FR_IR_REQ_COMPAT = 0x25;
export const VTD_FR_IR_SID_ERR = 0x26;

// ---- Scalable-mode reasons ----
/** No QEMU name. "SM: Invalid Root Table Address". */
export const VTD_FR_SM_RTADDR_INV = 0x30;
/** QEMU name ("Invalid TTM in RTADDR"). */
export const VTD_FR_RTADDR_INV_TTM = 0x31;
/** No QEMU name. "SM: TTM 0 for page group request". */
export const VTD_FR_SM_TTM_PAGE_GROUP_REQ = 0x32;
/** No QEMU name. */
export const VTD_FR_SM_ROOT_ENTRY_ACCESS_ERR = 0x38;
/** No QEMU name. */
export const VTD_FR_SM_ROOT_ENTRY_P = 0x39;
/** No QEMU name. */
export const VTD_FR_SM_ROOT_ENTRY_RSVD = 0x3a;
/** No QEMU name. */
export const VTD_FR_SM_CONTEXT_ENTRY_ACCESS_ERR = 0x40;
/** No QEMU name. */
export const VTD_FR_SM_CONTEXT_ENTRY_P = 0x41;
/** No QEMU name. */
export const VTD_FR_SM_CONTEXT_ENTRY_RSVD = 0x42;
/** No QEMU name. */
export const VTD_FR_SM_CONTEXT_ENTRY_INV = 0x43;
/** No QEMU name. "SM: DTE field in Context Entry is clear". */
export const VTD_FR_SM_CONTEXT_ENTRY_DTE = 0x44;
/** No QEMU name. "SM: PASID Enable field in Context Entry is clear". */
export const VTD_FR_SM_CONTEXT_ENTRY_PASIDE = 0x45;
/** No QEMU name. "SM: PASID is larger than the max in Context Entry". */
export const VTD_FR_SM_PASID_TOO_LARGE = 0x46;
/** QEMU name (SCT.8: PRE bit in a present SM context entry is 0). */
export const VTD_FR_SM_PRE_ABS = 0x47;
/** No QEMU name. "SM: RID_PASID field error in Context-Entry". */
export const VTD_FR_SM_RID_PASID_ERR = 0x48;
/** QEMU name. */
export const VTD_FR_PASID_DIR_ACCESS_ERR = 0x50;
/** QEMU name. */
export const VTD_FR_PASID_DIR_ENTRY_P = 0x51;
/** No QEMU name. */
export const VTD_FR_SM_PASID_DIR_ENTRY_RSVD = 0x52;
/** QEMU name (older QEMU: VTD_FR_PASID_TABLE_INV for every PASID-table problem). */
export const VTD_FR_PASID_TABLE_ACCESS_ERR = 0x58;
/** QEMU name. */
export const VTD_FR_PASID_ENTRY_P = 0x59;
/** No QEMU name. */
export const VTD_FR_SM_PASID_ENTRY_RSVD = 0x5a;
/** QEMU name. */
export const VTD_FR_PASID_TABLE_ENTRY_INV = 0x5b;
/** No QEMU name. "SM: ERE field is clear in PASID Table Entry". */
export const VTD_FR_SM_PASID_ENTRY_ERE = 0x5c;
/** No QEMU name. "SM: SRE field is clear in PASID Table Entry". */
export const VTD_FR_SM_PASID_ENTRY_SRE = 0x5d;
/** QEMU name. */
export const VTD_FR_FS_PAGING_ENTRY_INV = 0x70;
/** QEMU name. */
export const VTD_FR_FS_PAGING_ENTRY_P = 0x71;
/** QEMU name. */
export const VTD_FR_FS_PAGING_ENTRY_RSVD = 0x72;
/** QEMU name. */
export const VTD_FR_PASID_ENTRY_FSPTPTR_INV = 0x73;
/** No QEMU name. Nested: first-level entry address beyond MGAW. */
export const VTD_FR_SM_NESTED_FS_BEYOND_MGAW = 0x74;
/** No QEMU name. Nested: read permission error in FL-PML4 entry. */
export const VTD_FR_SM_NESTED_FS_PML4_READ = 0x75;
/** No QEMU name. Nested: read permission error in first-level entry. */
export const VTD_FR_SM_NESTED_FS_ENTRY_READ = 0x76;
/** No QEMU name. Nested: write permission error in first-level entry. */
export const VTD_FR_SM_NESTED_FS_ENTRY_WRITE = 0x77;
/** No QEMU name. Error accessing a second-level paging entry. */
export const VTD_FR_SM_SS_PAGING_ENTRY_INV = 0x78;
/** No QEMU name. Read/Write permission error in a second-level paging entry. */
export const VTD_FR_SM_SS_PAGING_ENTRY_RW = 0x79;
/** No QEMU name. */
export const VTD_FR_SM_SS_PAGING_ENTRY_RSVD = 0x7a;
/** No QEMU name. Invalid second-level page table pointer. */
export const VTD_FR_SM_SSPTPTR_INV = 0x7b;
/** No QEMU name. A/D update needed in a second-level entry set up in no snoop. */
export const VTD_FR_SM_SS_AD_NO_SNOOP = 0x7c;
/** QEMU name (SNG.1). */
export const VTD_FR_FS_NON_CANONICAL = 0x80;
/** QEMU name. */
export const VTD_FR_FS_PAGING_ENTRY_US = 0x81;
/** No QEMU name. No execute permission for a request with PASID and ER=1. */
export const VTD_FR_SM_NO_EXECUTE = 0x82;
/** No QEMU name. Address beyond the DMA hardware max. */
export const VTD_FR_SM_ADDR_BEYOND_HW_MAX = 0x83;
/** No QEMU name. Second-level entry address beyond the max. */
export const VTD_FR_SM_SS_ADDR_BEYOND_MAX = 0x84;
/** QEMU name. No write permission for Write/AtomicOp. */
export const VTD_FR_SM_WRITE = 0x85;
/** No QEMU name. No read permission for Read/AtomicOp. */
export const VTD_FR_SM_READ = 0x86;
/** QEMU name. Output address in the interrupt range (scalable mode). */
export const VTD_FR_SM_INTERRUPT_ADDR = 0x87;
/** No QEMU name. A/D update needed in a first-level entry set up in no snoop. */
export const VTD_FR_SM_FS_AD_NO_SNOOP = 0x90;
/** QEMU name (SFS.10). Not in Linux's table: prints "Unknown". */
export const VTD_FR_FS_BIT_UPDATE_FAILED = 0x91;

// ---- Linux's tables, verbatim (drivers/iommu/intel/dmar.c) ----

/** dma_remap_fault_reasons[], indexed by reason 0x00–0x0D. */
export const DMA_REMAP_FAULT_REASONS: readonly string[] = Object.freeze([
  'Software',
  'Present bit in root entry is clear',
  'Present bit in context entry is clear',
  'Invalid context entry',
  'Access beyond MGAW',
  'PTE Write access is not set',
  'PTE Read access is not set',
  'Next page table ptr is invalid',
  'Root table address invalid',
  'Context table ptr is invalid',
  'non-zero reserved fields in RTP',
  'non-zero reserved fields in CTP',
  'non-zero reserved fields in PTE',
  'PCE for translation request specifies blocking',
]);

/** dma_remap_sm_fault_reasons[], indexed by reason - 0x30 (0x30–0x90). Gap rows kept as in dmar.c. */
// prettier-ignore
export const DMA_REMAP_SM_FAULT_REASONS: readonly string[] = Object.freeze([
  'SM: Invalid Root Table Address',
  'SM: TTM 0 for request with PASID',
  'SM: TTM 0 for page group request',
  'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', // 0x33-0x37
  'SM: Error attempting to access Root Entry',
  'SM: Present bit in Root Entry is clear',
  'SM: Non-zero reserved field set in Root Entry',
  'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', // 0x3B-0x3F
  'SM: Error attempting to access Context Entry',
  'SM: Present bit in Context Entry is clear',
  'SM: Non-zero reserved field set in the Context Entry',
  'SM: Invalid Context Entry',
  'SM: DTE field in Context Entry is clear',
  'SM: PASID Enable field in Context Entry is clear',
  'SM: PASID is larger than the max in Context Entry',
  'SM: PRE field in Context-Entry is clear',
  'SM: RID_PASID field error in Context-Entry',
  'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', // 0x49-0x4F
  'SM: Error attempting to access the PASID Directory Entry',
  'SM: Present bit in Directory Entry is clear',
  'SM: Non-zero reserved field set in PASID Directory Entry',
  'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', // 0x53-0x57
  'SM: Error attempting to access PASID Table Entry',
  'SM: Present bit in PASID Table Entry is clear',
  'SM: Non-zero reserved field set in PASID Table Entry',
  'SM: Invalid Scalable-Mode PASID Table Entry',
  'SM: ERE field is clear in PASID Table Entry',
  'SM: SRE field is clear in PASID Table Entry',
  'Unknown', 'Unknown', // 0x5E-0x5F
  'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', // 0x60-0x67
  'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', // 0x68-0x6F
  'SM: Error attempting to access first-level paging entry',
  'SM: Present bit in first-level paging entry is clear',
  'SM: Non-zero reserved field set in first-level paging entry',
  'SM: Error attempting to access FL-PML4 entry',
  'SM: First-level entry address beyond MGAW in Nested translation',
  'SM: Read permission error in FL-PML4 entry in Nested translation',
  'SM: Read permission error in first-level paging entry in Nested translation',
  'SM: Write permission error in first-level paging entry in Nested translation',
  'SM: Error attempting to access second-level paging entry',
  'SM: Read/Write permission error in second-level paging entry',
  'SM: Non-zero reserved field set in second-level paging entry',
  'SM: Invalid second-level page table pointer',
  'SM: A/D bit update needed in second-level entry when set up in no snoop',
  'Unknown', 'Unknown', 'Unknown', // 0x7D-0x7F
  'SM: Address in first-level translation is not canonical',
  'SM: U/S set 0 for first-level translation with user privilege',
  'SM: No execute permission for request with PASID and ER=1',
  'SM: Address beyond the DMA hardware max',
  'SM: Second-level entry address beyond the max',
  'SM: No write permission for Write/AtomicOp request',
  'SM: No read permission for Read/AtomicOp request',
  'SM: Invalid address-interrupt address',
  'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', // 0x88-0x8F
  'SM: A/D bit update needed in first-level entry when set up in no snoop',
]);

/** irq_remap_fault_reasons[], indexed by reason - 0x20 (0x20–0x26). */
export const IRQ_REMAP_FAULT_REASONS: readonly string[] = Object.freeze([
  'Detected reserved fields in the decoded interrupt-remapped request',
  'Interrupt index exceeded the interrupt-remapping table size',
  'Present field in the IRTE entry is clear',
  'Error accessing interrupt-remapping table pointed by IRTA_REG',
  'Detected reserved fields in the IRTE entry',
  'Blocked a compatibility format interrupt request',
  'Blocked an interrupt request due to source-id verification failure',
]);

// ---- dmar_get_fault_reason() ----

/** Linux's `enum faulttype` (dmar.c), same order and values. */
export const FaultType = { DMA_REMAP: 0, INTR_REMAP: 1, UNKNOWN: 2 } as const;
export type FaultType = (typeof FaultType)[keyof typeof FaultType];

/** Which Linux table gave the text: the legacy, scalable-mode or interrupt-remapping one, or none. */
export type FaultReasonTable = 'legacy' | 'scalable' | 'irq' | 'none';

export interface FaultReasonInfo {
  readonly reason: number;
  /** The text Linux prints after "[fault reason …]". */
  readonly text: string;
  /** DMA_REMAP for both legacy and scalable-mode reasons, INTR_REMAP for 0x20–0x26. */
  readonly type: FaultType;
  readonly table: FaultReasonTable;
}

function decode(reason: number, withSmTable: boolean): FaultReasonInfo {
  const ir = reason - 0x20;
  const sm = reason - 0x30;
  if (reason >= 0x20 && ir < IRQ_REMAP_FAULT_REASONS.length) {
    return { reason, text: IRQ_REMAP_FAULT_REASONS[ir]!, type: FaultType.INTR_REMAP, table: 'irq' };
  }
  if (withSmTable && reason >= 0x30 && sm < DMA_REMAP_SM_FAULT_REASONS.length) {
    return { reason, text: DMA_REMAP_SM_FAULT_REASONS[sm]!, type: FaultType.DMA_REMAP, table: 'scalable' };
  }
  if (reason < DMA_REMAP_FAULT_REASONS.length) {
    return { reason, text: DMA_REMAP_FAULT_REASONS[reason]!, type: FaultType.DMA_REMAP, table: 'legacy' };
  }
  return { reason, text: 'Unknown', type: FaultType.UNKNOWN, table: 'none' };
}

const DECODED: readonly FaultReasonInfo[] = Array.from({ length: 256 }, (_, r) =>
  Object.freeze(decode(r, true)),
);
const DECODED_PRE_SM: readonly FaultReasonInfo[] = Array.from({ length: 256 }, (_, r) =>
  Object.freeze(decode(r, false)),
);

function checkReason(reason: number): void {
  if (!Number.isInteger(reason) || reason < 0 || reason > 0xff) {
    throw new RangeError(`fault reason must be an 8-bit integer, got ${reason}`);
  }
}

/**
 * Linux's dmar_get_fault_reason(u8): the text and fault type for a reason code. withSmTable=false
 * decodes as kernels without dma_remap_sm_fault_reasons[] did (0x30+ → UNKNOWN "Unknown").
 * Returns a shared frozen object (no allocation). Throws RangeError unless 0 <= reason <= 0xff.
 */
export function dmarGetFaultReason(reason: number, withSmTable = true): FaultReasonInfo {
  checkReason(reason);
  return (withSmTable ? DECODED : DECODED_PRE_SM)[reason]!;
}

/** The text Linux prints for a reason ("Unknown" where it has none). */
export function faultReasonText(reason: number): string {
  return dmarGetFaultReason(reason).text;
}

// ---- Qualified faults (FPD) ----

/**
 * The reasons QEMU's vtd_qualified_faults[] marks true, ascending. A qualified fault is suppressed
 * (never recorded) when FPD=1 in the entry that processed the request.
 */
export const QUALIFIED_FAULT_REASONS: readonly number[] = Object.freeze([
  VTD_FR_CONTEXT_ENTRY_P,
  VTD_FR_CONTEXT_ENTRY_INV,
  VTD_FR_ADDR_BEYOND_MGAW,
  VTD_FR_WRITE,
  VTD_FR_READ,
  VTD_FR_PAGING_ENTRY_INV,
  VTD_FR_PAGING_ENTRY_RSVD,
  VTD_FR_CONTEXT_ENTRY_TT,
  VTD_FR_INTERRUPT_ADDR,
  VTD_FR_SM_PRE_ABS,
  VTD_FR_PASID_DIR_ENTRY_P,
  VTD_FR_PASID_ENTRY_P,
  VTD_FR_PASID_TABLE_ENTRY_INV,
  VTD_FR_FS_PAGING_ENTRY_INV,
  VTD_FR_FS_PAGING_ENTRY_P,
  VTD_FR_FS_PAGING_ENTRY_RSVD,
  VTD_FR_PASID_ENTRY_FSPTPTR_INV,
  VTD_FR_FS_NON_CANONICAL,
  VTD_FR_FS_PAGING_ENTRY_US,
  VTD_FR_SM_WRITE,
  VTD_FR_SM_INTERRUPT_ADDR,
  VTD_FR_FS_BIT_UPDATE_FAILED,
]);

const QUALIFIED = new Uint8Array(256);
for (const r of QUALIFIED_FAULT_REASONS) QUALIFIED[r] = 1;

/** Whether FPD=1 suppresses this reason (QEMU vtd_is_qualified_fault). False outside 0..0xff. */
export function isQualified(reason: number): boolean {
  return QUALIFIED[reason] === 1;
}
