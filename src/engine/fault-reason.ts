// VT-d DMA-remapping fault reasons and the text Linux prints for them
// (drivers/iommu/intel/dmar.c dma_remap_fault_reasons[]; see shared reference iommu-model.md §2.1).
// The scalable-mode family (0x30–0x91) and interrupt-remapping family (0x20–0x26) join this table
// with the translation model.

export const FR = {
  SOFTWARE: 0x0,
  ROOT_ENTRY_P: 0x1,
  CONTEXT_ENTRY_P: 0x2,
  CONTEXT_ENTRY_INV: 0x3,
  ADDR_BEYOND_MGAW: 0x4,
  WRITE: 0x5,
  READ: 0x6,
  PAGING_ENTRY_INV: 0x7,
  ROOT_TABLE_INV: 0x8,
  CONTEXT_TABLE_INV: 0x9,
  ROOT_ENTRY_RSVD: 0xa,
  CONTEXT_ENTRY_RSVD: 0xb,
  PAGING_ENTRY_RSVD: 0xc,
  CONTEXT_ENTRY_TT: 0xd,
} as const;

const LEGACY_TEXT: readonly string[] = [
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
];

/** The text Linux prints after "[fault reason 0xNN]"; "Unknown" where Linux has none. */
export function faultReasonText(reason: number): string {
  return LEGACY_TEXT[reason] ?? 'Unknown';
}
