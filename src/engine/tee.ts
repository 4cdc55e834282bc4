// TEE-IO checks on a translated DMA (PCIe TDISP, reference §7). The platform splits memory into
// private (confidential VM) and shared: by a boundary address (AMD vTOM style: below is private) or
// by a shared bit (TDX GPA.SHARED style: bit set is shared). A request's T bit says it comes from a
// TDI in the trusted context. The lab's rules:
//   T=1 from an interface that is not in RUN          → TEE_T1_NOT_RUN
//   T=1 whose output address is shared memory          → TEE_T1_SHARED
//   T=0 whose output address is private memory         → TEE_T0_PRIVATE
// Addresses arrive as two uint32 halves (hot path: no BigInt, no allocation).
import type { TeeIoSplit } from './platform/index';

/** The lab's TEE-IO fault reasons. VT-d defines no reason code for these; they sit above 0xff. */
export const TEE_REASON = {
  T1_NOT_RUN: 0x101,
  T1_SHARED: 0x102,
  T0_PRIVATE: 0x103,
} as const;

export const TEE_REASON_TEXT: Readonly<Record<number, string>> = {
  [TEE_REASON.T1_NOT_RUN]: 'T=1 request from a TDI that is not in RUN',
  [TEE_REASON.T1_SHARED]: 'T=1 request resolves to shared memory',
  [TEE_REASON.T0_PRIVATE]: 'T=0 request reaches private memory',
};

const TWO_32 = 2 ** 32;

/** Classifies output addresses as private or shared; built once per platform. */
export class PrivacySplit {
  private readonly mode: 0 | 1 | 2; // 0 none, 1 boundary, 2 shared bit
  private readonly boundHi: number;
  private readonly boundLo: number;
  private readonly bitHi: number;
  private readonly bitLo: number;

  constructor(split: TeeIoSplit | null) {
    this.boundHi = this.boundLo = this.bitHi = this.bitLo = 0;
    if (!split) {
      this.mode = 0;
    } else if (split.kind === 'boundary') {
      this.mode = 1;
      this.boundHi = Number(split.boundary / BigInt(TWO_32));
      this.boundLo = Number(split.boundary % BigInt(TWO_32));
    } else {
      this.mode = 2;
      if (split.sharedBit >= 32) this.bitHi = 2 ** (split.sharedBit - 32);
      else this.bitLo = 2 ** split.sharedBit;
    }
  }

  get enabled(): boolean {
    return this.mode !== 0;
  }

  /** True when the address is private memory. Without a split everything is shared. */
  isPrivate(hi: number, lo: number): boolean {
    if (this.mode === 1) return hi < this.boundHi || (hi === this.boundHi && lo < this.boundLo);
    if (this.mode === 2) {
      const shared = this.bitHi
        ? Math.floor(hi / this.bitHi) % 2 === 1
        : Math.floor(lo / this.bitLo) % 2 === 1;
      return !shared;
    }
    return false;
  }

  /**
   * The TEE-IO rule a translated request breaks, or 0. `tdiRunning` is whether the requester's TDISP
   * interface is in RUN.
   */
  check(tbit: number, tdiRunning: boolean, paHi: number, paLo: number): number {
    if (this.mode === 0) return tbit && !tdiRunning ? TEE_REASON.T1_NOT_RUN : 0;
    if (tbit) {
      if (!tdiRunning) return TEE_REASON.T1_NOT_RUN;
      return this.isPrivate(paHi, paLo) ? 0 : TEE_REASON.T1_SHARED;
    }
    return this.isPrivate(paHi, paLo) ? TEE_REASON.T0_PRIVATE : 0;
  }
}
