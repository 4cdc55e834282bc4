// VT-d primary fault logging: the fault recording registers (FRCD), FSTS and FECTL, as QEMU's
// intel_iommu implements them (hw/i386/intel_iommu.c, patchew-project/qemu commit 67695efc4a16:
// vtd_report_frcd_fault, vtd_report_dmar_fault, vtd_report_ir_fault, vtd_try_collapse_fault,
// vtd_is_frcd_set, vtd_record_frcd, vtd_set_frcd_and_update_ppf, vtd_update_fsts_ppf,
// vtd_generate_fault_event, vtd_handle_fsts_write, vtd_handle_fectl_write, the DMAR_FRCD_REG_0_3 write
// case) and as the VT-d register descriptions state them. Contract:
// - `capacity` records (CAP.NFR + 1, 1..256; QEMU has 1, DMAR_FRCD_REG_NR), used as a ring through an
//   internal next index. Storage is one Uint32Array, four dwords per record in register order:
//     dw0 = FI bits 31:12 (bits 11:0 zero)      dw1 = FI bits 63:32 (IR faults: index in bits 31:16)
//     dw2 = SID bits 15:0, PP bit 31             dw3 = FR bits 7:0, PV bits 27:8, T bit 30, F bit 31
//   (Linux dma_frcd_* macros; QEMU VTD_FRCD_*). report() allocates nothing.
// - report() follows vtd_report_frcd_fault in order: FSTS.PFO set → OVERFLOW (dropped, before any
//   other check); a pending record (F=1) with the same SID → COMPRESSED (dropped, whatever its reason
//   or address; Intel datasheets: "When this field is set, hardware may collapse additional faults from
//   the same requestor (SID)"); the next record busy → OVERFLOW and PFO set (FLAG_SET_PFO); otherwise
//   RECORDED: F set, PPF recomputed, next index advances. Only when PPF was clear before does FRI take
//   the record's index and a fault event follow (vtd_generate_fault_event with the old FSTS): none if
//   PPF, PFO or IQE was already set; else FECTL.IP is set and, unless FECTL.IM, the MSI fires
//   (FLAG_INTERRUPT) and IP clears; with IM the event stays pending in IP (FLAG_PENDING_MASKED).
// - Software side: clear(i) is the RW1C write of F (QEMU then recomputes PPF); writeFsts() clears PFO
//   and IQE (QEMU's RW1C mask 0x11; PPF and FRI are read-only) and then clears FECTL.IP when nothing is
//   pending; writeFectl() sets IM and, when IM goes clear with IP set, fires the MSI. drain() is
//   Linux's dmar_fault() handler (drivers/iommu/intel/dmar.c): read FSTS; if PPF is clear stop; from
//   FRI read and clear each record while F is set, wrapping at capacity; then write PFO|PPF|PRO to FSTS.
// - FPD is not modelled here. The caller decides, as QEMU's vtd_report_fault does, to skip report()
//   when the context/PASID entry has FPD=1 and isQualified(reason) (fault-reasons.ts).
// - QEMU keeps only 16 bits of PASID in PV (VTD_FRCD_PV masks 0xffff); the spec field is 20 bits.
//   Choose with `pasidValueBits`. QEMU's legacy-mode DMA faults pass pasid PCI_NO_PASID (all ones) with
//   PP=0, so their PV reads 0xffff.

/** FSTS bits (QEMU VTD_FSTS_*, Linux DMA_FSTS_*). */
export const FSTS_PFO = 1 << 0;
export const FSTS_PPF = 1 << 1;
export const FSTS_IQE = 1 << 4;
/** Page Request Overflow: Linux writes it in dmar_fault(); QEMU's FSTS ignores it. */
export const FSTS_PRO = 1 << 7;
export const FSTS_FRI_SHIFT = 8;
export const FSTS_FRI_MASK = 0xff00;
/** FSTS bits software can clear by writing 1 in QEMU (vtd_define_long(s, DMAR_FSTS_REG, 0, 0, 0x11)). */
export const FSTS_RW1C_QEMU = FSTS_PFO | FSTS_IQE;

/** FECTL bits (QEMU VTD_FECTL_*): interrupt mask and interrupt pending. */
export const FECTL_IM = 0x8000_0000;
export const FECTL_IP = 0x4000_0000;

/** FRCD dword 3 (bits 127:96): fault (F, RW1C) and type (T, 1 = read). */
export const FRCD_DW3_F = 0x8000_0000;
export const FRCD_DW3_T = 0x4000_0000;
/** FRCD dword 2 (bits 95:64): PASID present. */
export const FRCD_DW2_PP = 0x8000_0000;

/** Outcome kinds (report() result & OUTCOME_KIND_MASK). */
export const FaultOutcome = { RECORDED: 1, COMPRESSED: 2, OVERFLOW: 3 } as const;
export type FaultOutcomeKind = (typeof FaultOutcome)[keyof typeof FaultOutcome];
export const OUTCOME_KIND_MASK = 0xf;
/** The fault event fired: FECTL.IM was clear, the MSI was sent. */
export const FLAG_INTERRUPT = 0x10;
/** A fault event was due but FECTL.IM is set: FECTL.IP stays set until software unmasks. */
export const FLAG_PENDING_MASKED = 0x20;
/** This fault found the next record busy and set FSTS.PFO. */
export const FLAG_SET_PFO = 0x40;

export function outcomeKind(code: number): FaultOutcomeKind {
  return (code & OUTCOME_KIND_MASK) as FaultOutcomeKind;
}

export interface FaultRecorderOptions {
  /** Number of fault recording registers, CAP.NFR + 1 (1..256). Default 1, as QEMU. */
  records?: number;
  /** Width of the stored PASID value: 20 (spec PV field, default) or 16 (QEMU VTD_FRCD_PV). */
  pasidValueBits?: 16 | 20;
  /** Initial FECTL.IM. Default false (Linux unmasks the fault interrupt); QEMU resets with IM=1. */
  interruptMasked?: boolean;
}

/** Called by drain() for each record before Linux clears it. */
export type FaultRecordVisitor = (recorder: FaultRecorder, index: number) => void;

export class FaultRecorder {
  readonly capacity: number;
  /** Faults written into a record / dropped by compression / dropped by overflow. */
  recorded = 0;
  compressed = 0;
  overflowed = 0;
  /** Fault-event MSIs sent (by report(), writeFectl() or raiseInvalidationQueueError()). */
  interrupts = 0;

  private readonly regs: Uint32Array;
  private readonly pvMask: number;
  private fstsReg = 0;
  private fectlReg: number;
  private next = 0;

  constructor(opts: FaultRecorderOptions = {}) {
    const n = opts.records ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`records must be 1..256, got ${n}`);
    this.capacity = n;
    this.regs = new Uint32Array(n * 4);
    this.pvMask = opts.pasidValueBits === 16 ? 0xffff : 0xfffff;
    this.fectlReg = opts.interruptMasked ? FECTL_IM : 0;
  }

  /** FSTS register value. */
  get fsts(): number {
    return this.fstsReg;
  }

  /** FECTL register value (IM, IP). */
  get fectl(): number {
    return this.fectlReg;
  }

  /** The internal index of the record the next fault would use. */
  get nextIndex(): number {
    return this.next;
  }

  /**
   * Hardware reports a fault (vtd_report_dmar_fault / vtd_report_ir_fault → vtd_report_frcd_fault).
   * addrHi/addrLo are the faulting address's 32-bit halves (bits 11:0 dropped); for interrupt-remapping
   * faults they, isWrite and the PASID are ignored and irIndex goes to FI bits 63:48, as QEMU does.
   * Returns an outcome kind | flags.
   */
  report(
    sid: number,
    pasidPresent: boolean,
    pasid: number,
    addrHi: number,
    addrLo: number,
    reason: number,
    isWrite: boolean,
    isInterruptRemap: boolean,
    irIndex: number,
  ): number {
    const pre = this.fstsReg;
    if (pre & FSTS_PFO) {
      this.overflowed++;
      return FaultOutcome.OVERFLOW;
    }
    sid &= 0xffff;
    if (this.collapse(sid)) {
      this.compressed++;
      return FaultOutcome.COMPRESSED;
    }
    const i = this.next;
    const base = i * 4;
    if (this.regs[base + 3]! & FRCD_DW3_F) {
      this.fstsReg |= FSTS_PFO;
      this.overflowed++;
      return FaultOutcome.OVERFLOW | FLAG_SET_PFO;
    }

    // vtd_record_frcd: lo then hi, F not yet set.
    if (isInterruptRemap) {
      this.regs[base] = 0;
      this.regs[base + 1] = ((irIndex & 0xffff) << 16) >>> 0;
      this.regs[base + 2] = sid;
      this.regs[base + 3] = reason & 0xff;
    } else {
      this.regs[base] = (addrLo & 0xffff_f000) >>> 0;
      this.regs[base + 1] = addrHi >>> 0;
      this.regs[base + 2] = (sid | (pasidPresent ? FRCD_DW2_PP : 0)) >>> 0;
      this.regs[base + 3] =
        ((reason & 0xff) | ((pasid & this.pvMask) << 8) | (isWrite ? 0 : FRCD_DW3_T)) >>> 0;
    }

    let code: number = FaultOutcome.RECORDED;
    if (!(pre & FSTS_PPF)) {
      this.fstsReg = ((this.fstsReg & ~FSTS_FRI_MASK) | ((i << FSTS_FRI_SHIFT) & FSTS_FRI_MASK)) >>> 0;
    }
    this.regs[base + 3] = (this.regs[base + 3]! | FRCD_DW3_F) >>> 0; // vtd_set_frcd_and_update_ppf
    this.updatePpf();
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    this.recorded++;
    if (!(pre & FSTS_PPF)) code |= this.faultEvent(pre);
    return code;
  }

  /** Software clears record i: RW1C write of F (bit 127), then PPF is recomputed (vtd_update_fsts_ppf). */
  clear(index: number): void {
    this.checkIndex(index);
    const k = index * 4 + 3;
    this.regs[k] = (this.regs[k]! & ~FRCD_DW3_F) >>> 0;
    this.updatePpf();
  }

  /** Software writes FSTS: RW1C of PFO and IQE, then vtd_handle_fsts_write. */
  writeFsts(value: number): void {
    this.fstsReg = (this.fstsReg & ~(value & FSTS_RW1C_QEMU)) >>> 0;
    if (this.fectlReg & FECTL_IP && !(this.fstsReg & (FSTS_PFO | FSTS_PPF | FSTS_IQE))) {
      this.fectlReg = (this.fectlReg & ~FECTL_IP) >>> 0;
    }
  }

  /** Software writes FECTL (only IM is writable); returns true when this fires the pending fault event. */
  writeFectl(value: number): boolean {
    this.fectlReg = ((this.fectlReg & ~FECTL_IM) | (value & FECTL_IM)) >>> 0;
    if (this.fectlReg & FECTL_IP && !(this.fectlReg & FECTL_IM)) {
      this.interrupts++;
      this.fectlReg = (this.fectlReg & ~FECTL_IP) >>> 0;
      return true;
    }
    return false;
  }

  /** Invalidation-queue error (vtd_handle_inv_queue_error): sets IQE and may raise a fault event. */
  raiseInvalidationQueueError(): number {
    const pre = this.fstsReg;
    this.fstsReg |= FSTS_IQE;
    return this.faultEvent(pre);
  }

  /**
   * Linux's dmar_fault(): reads FSTS; if PPF is set, walks from FRI while F is set, calling visit
   * (before the clear) and clearing each record, wrapping at capacity; then writes PFO|PPF|PRO to FSTS.
   * Returns the FSTS value read on entry (what "DRHD: handling fault status reg %x" prints).
   */
  drain(visit?: FaultRecordVisitor): number {
    const fsts = this.fstsReg;
    if (!(fsts & FSTS_PPF)) return fsts;
    let i = (fsts & FSTS_FRI_MASK) >>> FSTS_FRI_SHIFT;
    if (i >= this.capacity) i = 0; // defensive; FRI is always < capacity here
    while (this.regs[i * 4 + 3]! & FRCD_DW3_F) {
      visit?.(this, i);
      this.clear(i);
      i = i + 1 >= this.capacity ? 0 : i + 1;
    }
    this.writeFsts(FSTS_PFO | FSTS_PPF | FSTS_PRO);
    return fsts;
  }

  /** Record i's F bit. */
  isPending(index: number): boolean {
    this.checkIndex(index);
    return (this.regs[index * 4 + 3]! & FRCD_DW3_F) !== 0;
  }

  /** Raw dword (0..3) of record i, as software reads it at FRCD + 16·i + 4·dword. */
  dword(index: number, dword: number): number {
    this.checkIndex(index);
    if (!Number.isInteger(dword) || dword < 0 || dword > 3) throw new RangeError(`dword must be 0..3`);
    return this.regs[index * 4 + dword]!;
  }

  /** dma_frcd_source_id. */
  sid(index: number): number {
    return this.dword(index, 2) & 0xffff;
  }
  /** dma_frcd_fault_reason. */
  reason(index: number): number {
    return this.dword(index, 3) & 0xff;
  }
  /** T = 0 (Linux prints "DMA Write"). */
  isWrite(index: number): boolean {
    return (this.dword(index, 3) & FRCD_DW3_T) === 0;
  }
  /** dma_frcd_pasid_present. */
  pasidPresent(index: number): boolean {
    return (this.dword(index, 2) & FRCD_DW2_PP) !== 0;
  }
  /** dma_frcd_pasid_value (PV, bits 123:104). */
  pasid(index: number): number {
    return (this.dword(index, 3) >>> 8) & 0xfffff;
  }
  /** FI bits 63:32. */
  addrHi(index: number): number {
    return this.dword(index, 1);
  }
  /** FI bits 31:12 (bits 11:0 read as zero). */
  addrLo(index: number): number {
    return this.dword(index, 0);
  }
  /** Interrupt index of an interrupt-remapping fault, FI bits 63:48. */
  irIndex(index: number): number {
    return this.dword(index, 1) >>> 16;
  }

  /** Power-on state: all records clear, FSTS 0, counters 0; FECTL.IM as given. */
  reset(interruptMasked = false): void {
    this.regs.fill(0);
    this.fstsReg = 0;
    this.fectlReg = interruptMasked ? FECTL_IM : 0;
    this.next = 0;
    this.recorded = this.compressed = this.overflowed = this.interrupts = 0;
  }

  /** vtd_try_collapse_fault: any record with F set and the same SID. */
  private collapse(sid: number): boolean {
    const r = this.regs;
    for (let k = 2; k < r.length; k += 4) {
      if (r[k + 1]! & FRCD_DW3_F && (r[k]! & 0xffff) === sid) return true;
    }
    return false;
  }

  /** vtd_update_fsts_ppf: PPF = OR of all F bits. */
  private updatePpf(): void {
    const r = this.regs;
    let ppf = 0;
    for (let k = 3; k < r.length; k += 4) {
      if (r[k]! & FRCD_DW3_F) {
        ppf = FSTS_PPF;
        break;
      }
    }
    this.fstsReg = ((this.fstsReg & ~FSTS_PPF) | ppf) >>> 0;
  }

  /** vtd_generate_fault_event(pre_fsts). */
  private faultEvent(pre: number): number {
    if (pre & (FSTS_PPF | FSTS_PFO | FSTS_IQE)) return 0;
    this.fectlReg = (this.fectlReg | FECTL_IP) >>> 0;
    if (this.fectlReg & FECTL_IM) return FLAG_PENDING_MASKED;
    this.interrupts++;
    this.fectlReg = (this.fectlReg & ~FECTL_IP) >>> 0;
    return FLAG_INTERRUPT;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.capacity) {
      throw new RangeError(`record index must be 0..${this.capacity - 1}, got ${index}`);
    }
  }
}
