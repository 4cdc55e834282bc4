// The VT-d hardware translation of one DMA request: the lab's hot loop. Contract:
// - VtdTranslator.translate(req, out) reads the tables in PhysMem (structures.ts layouts) and the caches
//   (iotlb.ts), and writes the outcome into `out`. No BigInt, no allocation and no string keys per request:
//   requests and results are reusable objects of numbers, 64-bit values travel as two uint32 halves, table
//   addresses are numbers below 2^52.
// - Order of checks follows QEMU vtd_do_iommu_translate (hw/i386/intel_iommu.c) and the functions it calls:
//   IOTLB (deferred after the context for scalable-mode requests without PASID, which use RID_PASID) →
//   context cache or root entry (read error, P, reserved) → context entry (read error, P with FPD, reserved,
//   AW supported by SAGAW, TT supported) → PASID directory/table (scalable) → pass-through (no IOTLB fill) →
//   first-level (vtd_iova_to_fspte: canonical, read error, P, U/S, R/W, reserved, A/D) or second-level
//   (vtd_iova_to_slpte: width, read error, permission before reserved, leaf at level 1 or PS) walk →
//   output page overlapping 0xFEE00000–0xFEEFFFFF → IOTLB fill. QEMU does not model nested translation in
//   its emulated walk; PGTT=011 follows the VT-d spec (every first-level table address and the final address
//   go through the second level), and only under the 'vtd-spec' profile.
// - Fault codes: the legacy family (0x1–0xE) in legacy mode, the scalable family (0x30–0x91) in scalable
//   mode. FaultProfile 'vtd-spec' (default) uses the VT-d spec codes; 'qemu-7.2' swaps in what QEMU 7.2
//   reports (reference §12: legacy codes for scalable root/context/second-level faults, 0x58 for every
//   PASID-directory/table problem, PASID-directory FPD ignored, a write hitting a read-only IOTLB entry
//   dropped without a fault record, all first-level requests treated as user requests). The profile is
//   resolved into a code table and flags at construction.
// - The caller applies FPD: `out.fpd` is the FPD of the context / PASID-directory / PASID entry in force, and
//   isQualifiedFault() says which reasons FPD suppresses (QEMU vtd_qualified_faults). `out.noRecord` = 1 when
//   the hardware reports the fault without a fault record (translation-request completions under 'vtd-spec',
//   QEMU's silent drop).
// - A request whose range crosses pages is checked page by page (leaf by leaf); the first faulting page is
//   reported (out.faultAddrHi/Lo); on success out.paHi/paLo translate the first byte.
// - Requests without PASID whose address lies in 0xFEE00000–0xFEEFFFFF are interrupt requests, not DMA
//   (QEMU never sends them to the DMA-remapping walk): status STATUS_INTERRUPT, stage STAGE_INTERRUPT_WINDOW.
// - Under 'vtd-spec' in hardware cache mode the IOTLB answers a source only while its context entry is in the
//   context cache; otherwise the context (and PASID) entry is fetched first and only IOTLB entries of the
//   domain it names answer (QEMU looks the IOTLB up first, so cleared contexts keep translating cached pages).
// - Caches (iotlb.ts) are optional. Pass-through translations are never cached (QEMU). An IOTLB hit answers
//   permissions from the cached entry; in 'strict' cache mode every request walks and a cached entry for the
//   page is dropped (reported as stale = 2 when markStale() had flagged it).
// - Access errors: PhysMem reads of unbacked frames return 0, so an entry that reads as not present is
//   checked with isBacked() and reported as the "error accessing" reason instead (QEMU: dma_memory_read fails).
// - Where this model departs from QEMU on purpose: the first-level canonical width comes from the paging
//   mode (48/57 bits; QEMU derives it from the PASID entry's AW); a full IOTLB set evicts one entry (QEMU
//   flushes the whole IOTLB at 1024 entries); scalable-mode spec codes for conditions QEMU never checks.
// - 'qemu-7.2' (with caches) latches pass-through per source at enable and at context-cache invalidations
//   (QEMU vtd_switch_address_space): a latched device is untranslated until the next one, whatever its
//   entries say meanwhile. Without caches, and under 'vtd-spec', pass-through is decided per request.
// - hitRun(words, at, count, …) is the replay's shortcut for the common case, over a run of TLP records read
//   in place: a record is a clean hit (its IOTLB hit counted) exactly when translate() would answer
//   STATUS_OK for its request from the IOTLB fast path with no stale entry; the run stops, with no effect,
//   at the first that is not (Replay.applyTlpRun's loop; applyTlpWords asks it for one record).
// - walkDetailed() is the slow path for the UI: same translator without caches (A/D updates off), recording
//   every entry it reads with its decoded fields.

import { type PhysMem } from '../mem/phys-mem';
import {
  CC_DTE,
  CC_PASIDE,
  DATA_ERE,
  DATA_FPD_SHIFT,
  DATA_PERMS_SHIFT,
  DATA_PGTT_SHIFT,
  DATA_SRE,
  DATA_STALE,
  E_DATA,
  E_KEY,
  E_PAHI,
  E_PALO,
  NO_PASID,
  PC_ERE,
  PC_SRE,
  STRIDE,
  type ContextCache,
  functionMaskBits,
  type TranslationCache,
  type VtdCaches,
} from './iotlb';
import {
  PGTT_FL,
  PGTT_NESTED,
  PGTT_PT,
  PGTT_SL,
  decodeContextEntry,
  decodeFlPte,
  decodePasidDirEntry,
  decodePasidEntry,
  decodeRootEntry,
  decodeScalableContextEntry,
  decodeScalableRootEntry,
  decodeSlPte,
  readEntryWords,
  wordsToHex,
  type VtdUnitRegs,
} from './structures';

export const STATUS_OK = 0;
export const STATUS_FAULT = 1;
/** The request is an interrupt message (no-PASID write/read in 0xFEEx_xxxx): route it to interrupt remapping. */
export const STATUS_INTERRUPT = 2;

export const STAGE_NONE = 0;
export const STAGE_ROOT = 1;
export const STAGE_CONTEXT = 2;
export const STAGE_PASID_DIR = 3;
export const STAGE_PASID_ENTRY = 4;
export const STAGE_FIRST_LEVEL = 5;
export const STAGE_SECOND_LEVEL = 6;
export const STAGE_INTERRUPT_WINDOW = 7;
/** A property of the request itself (PASID in legacy mode, translated request QEMU refuses). */
export const STAGE_REQUEST = 8;

export const STAGE_NAMES: readonly string[] = [
  'none',
  'root',
  'context',
  'pasid-dir',
  'pasid-entry',
  'first-level',
  'second-level',
  'interrupt-window',
  'request',
];

export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_ATOMIC = 2;
export const AT_UNTRANSLATED = 0;
export const AT_TRANSLATION_REQUEST = 1;
export const AT_TRANSLATED = 2;

export const PERM_R = 1;
export const PERM_W = 2;
export const PERM_X = 4;
/** User-accessible: first level with U/S = 1 at every level (second-level and pass-through pages always). */
export const PERM_U = 8;

/** A DMA request: reuse one object for a whole stream. */
export interface DmaRequest {
  /** Requester id: bus << 8 | devfn. */
  sid: number;
  pasidPresent: number;
  pasid: number;
  addrHi: number;
  addrLo: number;
  /** Bytes (0 is treated as 1). */
  len: number;
  /** ACCESS_READ, ACCESS_WRITE or ACCESS_ATOMIC. */
  access: number;
  exec: number;
  priv: number;
  /** AT_UNTRANSLATED, AT_TRANSLATION_REQUEST or AT_TRANSLATED. */
  at: number;
}

export function createRequest(init: Partial<DmaRequest> = {}): DmaRequest {
  return {
    sid: 0,
    pasidPresent: 0,
    pasid: 0,
    addrHi: 0,
    addrLo: 0,
    len: 4,
    access: ACCESS_READ,
    exec: 0,
    priv: 0,
    at: AT_UNTRANSLATED,
    ...init,
  };
}

/** The outcome of translate(): reuse one object. */
export interface TranslateResult {
  /** STATUS_OK, STATUS_FAULT or STATUS_INTERRUPT. On a fault paHi/paLo, level, pageShift and perms are 0. */
  status: number;
  /** Physical address of the request's first byte (status OK). */
  paHi: number;
  paLo: number;
  /** VT-d fault reason (status FAULT). */
  reason: number;
  /** Leaf level of the first page: 1 (4 KiB), 2 (2 MiB), 3 (1 GiB). */
  level: number;
  pageShift: number;
  /** PERM_R | PERM_W | PERM_X | PERM_U of the first page. */
  perms: number;
  /** Domain id of the translation (or of the entry in force when the fault happened). */
  did: number;
  /** PASID the translation used (RID_PASID for scalable requests without PASID); -1 in legacy mode. */
  pasid: number;
  /** PGTT of the translation (legacy second-level: 2, pass-through: 4). */
  pgtt: number;
  /**
   * Physical address of the entry that faulted; on success the leaf entry walked, or -1 when the page came from
   * the IOTLB (an IOTLB holds no entry address) except for stale hits, which give the leaf the entry was filled from.
   */
  entryAddr: number;
  /** FPD bit of the context / PASID-directory / PASID entry in force (the caller applies qualified suppression). */
  fpd: number;
  /** 1 when the fault is not recorded in a fault-recording register (see the module comment). */
  noRecord: number;
  stage: number;
  /** Page address (4 KiB aligned) of the first faulting page. */
  faultAddrHi: number;
  faultAddrLo: number;
  /** 1 when the first page came from the IOTLB. */
  cached: number;
  /** 1: some page translated only through a stale IOTLB entry (hardware mode); 2: a stale entry was discarded (strict). */
  stale: number;
  staleEvent: number;
  staleTime: number;
}

export function createResult(): TranslateResult {
  return {
    status: 0,
    paHi: 0,
    paLo: 0,
    reason: 0,
    level: 0,
    pageShift: 0,
    perms: 0,
    did: 0,
    pasid: -1,
    pgtt: 0,
    entryAddr: -1,
    fpd: 0,
    noRecord: 0,
    stage: 0,
    faultAddrHi: 0,
    faultAddrLo: 0,
    cached: 0,
    stale: 0,
    staleEvent: 0,
    staleTime: 0,
  };
}

// ---------------------------------------------------------------------------------------------------
// Fault codes per condition, per mode and profile.

export type FaultProfile = 'vtd-spec' | 'qemu-7.2';

/** Conditions the walk can meet; a profile maps each to a fault reason (0 = condition not checked). */
export interface FaultCodeTable {
  rootAccess: number;
  rootNotPresent: number;
  rootReserved: number;
  contextAccess: number;
  contextNotPresent: number;
  contextReserved: number;
  contextInvalid: number;
  /** Legacy: translation/translated request and TT ≠ 01. */
  translationTypeBlocked: number;
  /** Scalable: translation/translated request and DTE = 0. */
  dteClear: number;
  /** Scalable: request with PASID and PASIDE = 0. */
  pasidDisabled: number;
  /** Scalable: PASID beyond the directory size (PDTS). */
  pasidTooLarge: number;
  /** Legacy mode: request with PASID. */
  pasidInLegacyMode: number;
  pasidDirAccess: number;
  pasidDirNotPresent: number;
  pasidDirReserved: number;
  pasidEntryAccess: number;
  pasidEntryNotPresent: number;
  pasidEntryReserved: number;
  pasidEntryInvalid: number;
  executeDisabled: number;
  supervisorDisabled: number;
  slBeyondWidth: number;
  slTopAccess: number;
  slAccess: number;
  slNotPresentRead: number;
  slNotPresentWrite: number;
  slNoRead: number;
  slNoWrite: number;
  slReserved: number;
  flNonCanonical: number;
  flTopAccess: number;
  flAccess: number;
  flNotPresent: number;
  flUserSupervisor: number;
  flNoWrite: number;
  flReserved: number;
  flNoExecute: number;
  flAccessedDirtyFailed: number;
  nestedBeyondWidth: number;
  nestedTopRead: number;
  nestedRead: number;
  nestedAccessedDirtyWrite: number;
  interruptAddress: number;
}

const LEGACY_CODES: FaultCodeTable = {
  rootAccess: 0x8,
  rootNotPresent: 0x1,
  rootReserved: 0xa,
  contextAccess: 0x9,
  contextNotPresent: 0x2,
  contextReserved: 0xb,
  contextInvalid: 0x3,
  translationTypeBlocked: 0xd,
  dteClear: 0,
  pasidDisabled: 0,
  pasidTooLarge: 0,
  pasidInLegacyMode: 0x31,
  pasidDirAccess: 0,
  pasidDirNotPresent: 0,
  pasidDirReserved: 0,
  pasidEntryAccess: 0,
  pasidEntryNotPresent: 0,
  pasidEntryReserved: 0,
  pasidEntryInvalid: 0,
  executeDisabled: 0,
  supervisorDisabled: 0,
  slBeyondWidth: 0x4,
  slTopAccess: 0x3,
  slAccess: 0x7,
  slNotPresentRead: 0x6,
  slNotPresentWrite: 0x5,
  slNoRead: 0x6,
  slNoWrite: 0x5,
  slReserved: 0xc,
  flNonCanonical: 0,
  flTopAccess: 0,
  flAccess: 0,
  flNotPresent: 0,
  flUserSupervisor: 0,
  flNoWrite: 0,
  flReserved: 0,
  flNoExecute: 0,
  flAccessedDirtyFailed: 0,
  nestedBeyondWidth: 0,
  nestedTopRead: 0,
  nestedRead: 0,
  nestedAccessedDirtyWrite: 0,
  interruptAddress: 0xe,
};

const SCALABLE_SPEC_CODES: FaultCodeTable = {
  rootAccess: 0x38,
  rootNotPresent: 0x39,
  rootReserved: 0x3a,
  contextAccess: 0x40,
  contextNotPresent: 0x41,
  contextReserved: 0x42,
  contextInvalid: 0x43,
  translationTypeBlocked: 0,
  dteClear: 0x44,
  pasidDisabled: 0x45,
  pasidTooLarge: 0x46,
  pasidInLegacyMode: 0,
  pasidDirAccess: 0x50,
  pasidDirNotPresent: 0x51,
  pasidDirReserved: 0x52,
  pasidEntryAccess: 0x58,
  pasidEntryNotPresent: 0x59,
  pasidEntryReserved: 0x5a,
  pasidEntryInvalid: 0x5b,
  executeDisabled: 0x5c,
  supervisorDisabled: 0x5d,
  slBeyondWidth: 0x83,
  slTopAccess: 0x7b,
  slAccess: 0x78,
  slNotPresentRead: 0x79,
  slNotPresentWrite: 0x79,
  slNoRead: 0x86,
  slNoWrite: 0x85,
  slReserved: 0x7a,
  flNonCanonical: 0x80,
  flTopAccess: 0x73,
  flAccess: 0x70,
  flNotPresent: 0x71,
  flUserSupervisor: 0x81,
  flNoWrite: 0x85,
  flReserved: 0x72,
  flNoExecute: 0x82,
  flAccessedDirtyFailed: 0x91,
  nestedBeyondWidth: 0x74,
  nestedTopRead: 0x75,
  nestedRead: 0x76,
  nestedAccessedDirtyWrite: 0x77,
  interruptAddress: 0x87,
};

/** QEMU 7.2 in scalable mode: legacy codes for root/context/second level, 0x58 for every PASID problem. */
const SCALABLE_QEMU_CODES: FaultCodeTable = {
  ...SCALABLE_SPEC_CODES,
  rootAccess: 0x8,
  rootNotPresent: 0x1,
  rootReserved: 0xa,
  contextAccess: 0x9,
  contextNotPresent: 0x2,
  contextReserved: 0xb,
  contextInvalid: 0x3,
  dteClear: 0,
  pasidDisabled: 0,
  pasidTooLarge: 0,
  pasidDirAccess: 0x58,
  pasidDirNotPresent: 0x58,
  pasidDirReserved: 0,
  pasidEntryAccess: 0x58,
  pasidEntryNotPresent: 0x58,
  pasidEntryReserved: 0,
  pasidEntryInvalid: 0x58,
  executeDisabled: 0,
  supervisorDisabled: 0,
  slBeyondWidth: 0x4,
  slTopAccess: 0x3,
  slAccess: 0x7,
  slNotPresentRead: 0x6,
  slNotPresentWrite: 0x5,
  slNoRead: 0x6,
  slNoWrite: 0x5,
  slReserved: 0xc,
  flNoExecute: 0,
  nestedBeyondWidth: 0,
  nestedTopRead: 0,
  nestedRead: 0,
  nestedAccessedDirtyWrite: 0,
};

/** The code table a unit in the given table mode uses under a profile (QEMU picks 0x87 whenever SMTS is set). */
export function faultCodes(profile: FaultProfile, regs: VtdUnitRegs): FaultCodeTable {
  if (regs.ttm === 'scalable') return profile === 'qemu-7.2' ? SCALABLE_QEMU_CODES : SCALABLE_SPEC_CODES;
  if (profile === 'qemu-7.2') {
    return { ...LEGACY_CODES, pasidInLegacyMode: 0, interruptAddress: regs.ecap.smts ? 0x87 : 0xe };
  }
  return LEGACY_CODES;
}

/** Reasons FPD suppresses (QEMU vtd_qualified_faults; the SM entries QEMU lacks follow the spec's pattern). */
const QUALIFIED = new Uint8Array(256);
for (const r of [
  0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0xc, 0xd, 0xe, 0x41, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x51, 0x59, 0x5b,
  0x5c, 0x5d, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x80, 0x81, 0x82,
  0x83, 0x84, 0x85, 0x86, 0x87, 0x90, 0x91,
]) {
  QUALIFIED[r] = 1;
}

/** Whether FPD = 1 in the entry in force suppresses the recording of this fault reason. */
export function isQualifiedFault(reason: number): boolean {
  return QUALIFIED[reason & 0xff] === 1;
}

// ---------------------------------------------------------------------------------------------------
// Walk internals

/** What a walk step read (walkDetailed's tracer). */
const T_ROOT = 1;
const T_SM_ROOT = 2;
const T_CONTEXT = 3;
const T_SM_CONTEXT = 4;
const T_PASID_DIR = 5;
const T_PASID_ENTRY = 6;
const T_SL = 7;
const T_FL = 8;
const T_NESTED_SL = 9;

type Tracer = (kind: number, level: number, entryAddr: number) => void;

// Second-level walk outcomes.
const SL_OK = 0;
const SL_BEYOND = 1;
const SL_TOP_ACCESS = 2;
const SL_ACCESS = 3;
const SL_NP_READ = 4;
const SL_NP_WRITE = 5;
const SL_NO_READ = 6;
const SL_NO_WRITE = 7;
const SL_RSVD = 8;

const TWO_32 = 2 ** 32;
const FL_XD = 0x8000_0000;

/** Low/high 32-bit halves of the address-field bits at or above haw (reserved). */
function aboveHawHi(haw: number): number {
  return haw >= 64 ? 0 : haw <= 32 ? 0xffff_ffff : ~((1 << (haw - 32)) - 1) >>> 0;
}

export interface TranslatorOptions {
  profile?: FaultProfile;
  /** Caches to consult and fill; null (default) walks the tables on every request. */
  caches?: VtdCaches | null;
  /** Set A/D bits in first-level entries as QEMU does (default true). */
  updateAccessedDirty?: boolean;
}

/** The DMA-remapping hardware of one unit. Construct again after RTADDR/CAP/ECAP change. */
export class VtdTranslator {
  readonly profile: FaultProfile;
  readonly regs: VtdUnitRegs;
  private readonly mem: PhysMem;
  private readonly scalable: boolean;
  private readonly rootTable: number;
  private readonly hawKeepHi: number;
  private readonly rsvdHawHi: number;
  private readonly sagaw: number;
  private readonly mgaw: number;
  // Second-level reserved masks by level (index 1..5), QEMU vtd_spte_rsvd / vtd_spte_rsvd_large.
  private readonly slRsvdLo = new Uint32Array(6);
  private readonly slRsvdHi = new Uint32Array(6);
  private readonly slLargeLo = new Uint32Array(6);
  private readonly slLargeHi = new Uint32Array(6);
  // First-level reserved masks, QEMU vtd_fpte_rsvd / vtd_fpte_rsvd_large.
  private readonly flRsvdLo = new Uint32Array(6);
  private readonly flRsvdHi = new Uint32Array(6);
  private readonly flLargeLo = new Uint32Array(6);
  private readonly flLargeHi = new Uint32Array(6);
  // Codes and profile switches, resolved once.
  readonly codes: FaultCodeTable;
  private readonly cRootAccess: number;
  private readonly cRootP: number;
  private readonly cRootRsvd: number;
  private readonly cCtxAccess: number;
  private readonly cCtxP: number;
  private readonly cCtxRsvd: number;
  private readonly cCtxInv: number;
  private readonly cTtBlocked: number;
  private readonly cDte: number;
  private readonly cPaside: number;
  private readonly cPasidMax: number;
  private readonly cPasidLegacy: number;
  private readonly cPdirAccess: number;
  private readonly cPdirP: number;
  private readonly cPdirRsvd: number;
  private readonly cPeAccess: number;
  private readonly cPeP: number;
  private readonly cPeRsvd: number;
  private readonly cPeInv: number;
  private readonly cEre: number;
  private readonly cSre: number;
  private readonly cIntr: number;
  /** SL outcome → reason, for a plain second-level walk and for the final stage of a nested walk. */
  private readonly slCodes = new Int32Array(9);
  /** SL outcome → reason when translating a first-level table address in a nested walk. */
  private readonly nestTableCodes = new Int32Array(9);
  private readonly qemu: boolean;
  /**
   * 'qemu-7.2' with caches: per source id, 1 when pass-through was decided at the last enable (construction)
   * or context-cache invalidation covering it (QEMU vtd_switch_address_space → vtd_dev_pt_enabled): such a
   * device DMAs through QEMU's nodmar region, untranslated, whatever its entries say now. Null otherwise
   * (the spec, and QEMU itself for a device not latched, decide pass-through per request).
   */
  private readonly ptLatch: Uint8Array | null;
  /**
   * The context cache, under 'vtd-spec' in hardware cache mode (else null): the IOTLB is used only for a
   * source whose context entry is in it (hardware finds the domain tag there first); after a context-cache
   * invalidation the entry is fetched again, and a cleared one faults even for pages still in the IOTLB.
   * QEMU looks the IOTLB up first (reference §12; vtd_do_iommu_translate).
   */
  private readonly gateCtx: ContextCache | null;
  /** 'qemu-7.2': the cache-less translator that reads the tables when pass-through is decided again. */
  private ptProbe: VtdTranslator | null = null;
  private readonly pasidDirFpd: boolean;
  private readonly nestedSupported: boolean;
  private readonly fl5Supported: boolean;
  private readonly atsNoRecord: number;
  private readonly updateAD: boolean;
  private readonly caches: VtdCaches | null;
  private readonly strict: boolean;
  /** The IOTLB to use for hits: null without caches, in strict mode, or with the IOTLB disabled. */
  private readonly tlb: TranslationCache | null;
  /** 1 while the fast path's IOTLB lookup for the first page missed (the slow path skips its lookup). */
  private tlbMissed = 0;
  /** Set by walkDetailed only. */
  trace: Tracer | null = null;

  // Scratch state of the current page (fields, not allocations).
  private fpdCur = 0;
  private didCur = 0;
  private pasidCur = -1;
  private pgttCur = 0;
  /** PASID key of the page's IOTLB entry once known (-1 before). */
  private keyPasid = -1;
  private fReason = 0;
  private fStage = 0;
  private fEntry = -1;
  private fNoRecord = 0;
  private pCached = 0;
  private pStale = 0;
  private pStaleEvent = 0;
  private pStaleTime = 0;
  // Inputs passed through fields, not arguments: doubles and uint32 ≥ 2^30 passed to a call that is not
  // inlined get boxed (a heap allocation per request). aHi:aLo is the address of the current page; the
  // second-level walk reads sTable and sHi:sLo, the first-level walk fTable.
  private aHi = 0;
  private aLo = 0;
  private sTable = 0;
  private sHi = 0;
  private sLo = 0;
  private fTable = 0;
  // Leaf of the page: base address halves, level, perms, leaf entry.
  private wHi = 0;
  private wLo = 0;
  private wLevel = 1;
  private wPerms = 0;
  private wEntry = -1;
  // Context entry in force.
  private cTt = 0;
  private cLevels = 0;
  private cTable = 0;
  private cRidPasid = 0;
  private cFlags = 0;
  private cPdts = 0;
  // PASID entry in force.
  private ePgtt = 0;
  private eSl = 0;
  private eFl = 0;
  private eAw = 0;
  private eFlLevels = 4;
  private eFlags = 0;

  constructor(mem: PhysMem, regs: VtdUnitRegs, options: TranslatorOptions = {}) {
    const profile = options.profile ?? 'vtd-spec';
    if (profile !== 'vtd-spec' && profile !== 'qemu-7.2') {
      throw new Error(`VtdTranslator: unknown profile ${String(profile)}`);
    }
    if (regs.rootTable % 4096 !== 0) throw new Error('VtdTranslator: root table must be 4 KiB aligned');
    if (regs.haw < 32 || regs.haw > 52) throw new Error('VtdTranslator: HAW must be 32..52 bits');
    if (regs.ttm === 'scalable' && !regs.ecap.smts) {
      throw new Error('VtdTranslator: scalable-mode tables need ECAP.SMTS');
    }
    this.profile = profile;
    this.regs = regs;
    this.mem = mem;
    this.scalable = regs.ttm === 'scalable';
    this.rootTable = regs.rootTable;
    this.rsvdHawHi = aboveHawHi(regs.haw);
    this.hawKeepHi = ~this.rsvdHawHi >>> 0;
    this.sagaw = regs.cap.sagaw;
    this.mgaw = regs.cap.mgaw;
    this.qemu = profile === 'qemu-7.2';
    this.caches = options.caches ?? null;
    this.strict = this.caches !== null && this.caches.mode === 'strict';
    this.gateCtx = !this.qemu && this.caches !== null && !this.strict ? this.caches.context : null;
    this.tlb = this.caches !== null && !this.strict && this.caches.iotlbEnabled ? this.caches.iotlb : null;
    this.ptLatch = this.qemu && this.caches !== null ? new Uint8Array(65536) : null;
    this.updateAD = options.updateAccessedDirty ?? true;

    // Second-level masks (QEMU VTD_SPTE_*_RSVD_MASK; VTD_SL_IGN_COM = bits 63, 61:52 ignored; TM reserved).
    const slHi = this.rsvdHawHi & 0x400f_ffff;
    const snpLeaf = regs.ecap.sc || regs.ecap.smts ? 0 : 0x800;
    for (let l = 1; l <= 5; l++) {
      this.slRsvdLo[l] = l === 1 ? snpLeaf : l >= 4 ? 0x880 : 0x800;
      this.slRsvdHi[l] = slHi;
    }
    this.slLargeLo[2] = regs.cap.sllps2m ? 0x1f_f000 | snpLeaf : 0xffff_ffff;
    this.slLargeLo[3] = regs.cap.sllps1g ? 0x3fff_f000 | snpLeaf : 0xffff_ffff;
    this.slLargeHi[2] = slHi;
    this.slLargeHi[3] = slHi;
    // First-level masks (QEMU VTD_FPTE_*_RSVD_MASK; VTD_FS_UPPER_IGNORED = bits 63:52).
    const flHi = this.rsvdHawHi & 0x000f_ffff;
    for (let l = 1; l <= 5; l++) {
      this.flRsvdLo[l] = l >= 4 ? 0x80 : 0;
      this.flRsvdHi[l] = flHi;
    }
    this.flLargeLo[2] = 0x1f_e000;
    this.flLargeLo[3] = regs.cap.fl1gp ? 0x3fff_e000 : 0xffff_ffff;
    this.flLargeHi[2] = flHi;
    this.flLargeHi[3] = flHi;

    const c = faultCodes(profile, regs);
    this.codes = c;
    this.cRootAccess = c.rootAccess;
    this.cRootP = c.rootNotPresent;
    this.cRootRsvd = c.rootReserved;
    this.cCtxAccess = c.contextAccess;
    this.cCtxP = c.contextNotPresent;
    this.cCtxRsvd = c.contextReserved;
    this.cCtxInv = c.contextInvalid;
    this.cTtBlocked = c.translationTypeBlocked;
    this.cDte = c.dteClear;
    this.cPaside = c.pasidDisabled;
    this.cPasidMax = c.pasidTooLarge;
    this.cPasidLegacy = c.pasidInLegacyMode;
    this.cPdirAccess = c.pasidDirAccess;
    this.cPdirP = c.pasidDirNotPresent;
    this.cPdirRsvd = c.pasidDirReserved;
    this.cPeAccess = c.pasidEntryAccess;
    this.cPeP = c.pasidEntryNotPresent;
    this.cPeRsvd = c.pasidEntryReserved;
    this.cPeInv = c.pasidEntryInvalid;
    this.cEre = c.executeDisabled;
    this.cSre = c.supervisorDisabled;
    this.cIntr = c.interruptAddress;
    this.slCodes.set([
      0,
      c.slBeyondWidth,
      c.slTopAccess,
      c.slAccess,
      c.slNotPresentRead,
      c.slNotPresentWrite,
      c.slNoRead,
      c.slNoWrite,
      c.slReserved,
    ]);
    this.nestTableCodes.set([
      0,
      c.nestedBeyondWidth,
      c.slTopAccess,
      c.slAccess,
      c.nestedRead,
      c.nestedRead,
      c.nestedRead,
      c.nestedRead,
      c.slReserved,
    ]);
    this.pasidDirFpd = !this.qemu;
    this.nestedSupported = !this.qemu && regs.ecap.nest && regs.ecap.flts && regs.ecap.slts;
    this.fl5Supported = !this.qemu && regs.cap.fl5lp;
    this.atsNoRecord = this.qemu ? 0 : 1;
    if (this.ptLatch !== null) {
      const cc = this.caches!.context;
      const before = cc.onInvalidate;
      cc.onInvalidate = (sid, fm) => {
        before?.(sid, fm);
        this.latchPassThrough(sid, fm);
      };
      this.latchPassThrough(-1, 0); // translation enabled
    }
  }

  /**
   * 'qemu-7.2': decides pass-through again for every source (sid -1) or for the sources a device-selective
   * context-cache invalidation names (function mask fm), from the tables as they are now, as QEMU's
   * vtd_switch_address_space does: a present context entry whose request without PASID passes through
   * (legacy TT=2, scalable RID_PASID entry PGTT=100). The tables are read by a translator without caches.
   */
  private latchPassThrough(sid: number, fm: number): void {
    const latch = this.ptLatch!;
    const ignore = functionMaskBits(fm);
    const probe = (this.ptProbe ??= new VtdTranslator(this.mem, this.regs, {
      profile: 'qemu-7.2',
      caches: null,
      updateAccessedDirty: false,
    }));
    const req = createRequest({ len: 4 });
    const out = createResult();
    for (let bus = 0; bus < 256; bus++) {
      if (sid >= 0 && bus !== sid >>> 8) continue;
      const re = this.rootTable + bus * 16;
      const present =
        (this.mem.readLo(re) & 1) !== 0 || (this.scalable && (this.mem.readLo(re + 8) & 1) !== 0);
      for (let devfn = 0; devfn < 256; devfn++) {
        const s = (bus << 8) | devfn;
        if (sid >= 0 && (s | ignore) !== (sid | ignore)) continue;
        if (!present) {
          latch[s] = 0;
          continue;
        }
        req.sid = s;
        latch[s] = probe.translate(req, out) === STATUS_OK && out.pgtt === PGTT_PT ? 1 : 0;
      }
    }
  }

  /** Translates req into out; returns out.status. */
  translate(req: DmaRequest, out: TranslateResult): number {
    const tlb = this.tlb;
    if (tlb !== null && req.at === AT_UNTRANSLATED) {
      // Fast path: a single-page request whose IOTLB key is known up front (legacy, or scalable with PASID).
      const lo = req.addrLo >>> 0;
      const len = req.len;
      if (len > 0 && (lo & 0xfff) + len <= 0x1000) {
        const hi = req.addrHi >>> 0;
        let key = -1;
        if (this.scalable) {
          if (req.pasidPresent !== 0) key = req.pasid & 0xf_ffff;
        } else if ((req.pasidPresent === 0 || this.cPasidLegacy === 0) && (hi !== 0 || lo >>> 20 !== 0xfee)) {
          key = NO_PASID;
        }
        if (
          key >= 0 &&
          (this.gateCtx === null || this.gateCtx.valid(req.sid & 0xffff)) &&
          (this.ptLatch === null || this.ptLatch[req.sid & 0xffff] === 0)
        ) {
          const slot = tlb.lookup(req.sid & 0xffff, key, hi, lo);
          if (slot < 0) {
            this.tlbMissed = 1;
          } else {
            const e = tlb.e;
            const w = slot * STRIDE;
            const data = e[w + E_DATA];
            const perms = (data >>> DATA_PERMS_SHIFT) & 15;
            // User request (priv 0) needing R, W or both, plus U; anything else takes the slow path.
            const need = (req.access === ACCESS_READ ? 1 : req.access === ACCESS_WRITE ? 2 : 3) | PERM_U;
            if ((perms & need) === need && (data & DATA_STALE) === 0 && (req.exec | req.priv) === 0) {
              const level = (e[w + E_KEY] >>> 16) & 7;
              const shift = 9 * level + 3;
              out.status = STATUS_OK;
              out.paHi = e[w + E_PAHI] >>> 0;
              out.paLo = (e[w + E_PALO] | (lo & ((1 << shift) - 1))) >>> 0;
              out.reason = 0;
              out.level = level;
              out.pageShift = shift;
              out.perms = perms;
              out.did = data & 0xffff;
              out.pasid = this.scalable ? key : -1;
              out.pgtt = (data >>> DATA_PGTT_SHIFT) & 7;
              out.entryAddr = -1;
              out.fpd = (data >>> DATA_FPD_SHIFT) & 1;
              out.noRecord = 0;
              out.stage = STAGE_NONE;
              out.faultAddrHi = 0;
              out.faultAddrLo = 0;
              out.cached = 1;
              out.stale = 0;
              out.staleEvent = 0;
              out.staleTime = 0;
              return STATUS_OK;
            }
          }
        }
      }
    }
    const st = this.translatePages(req, out);
    this.tlbMissed = 0;
    return st;
  }

  /**
   * The clean IOTLB hits among a run of TLP records, read in place from `words` (a chunk's records or the
   * ring: src/trace/native/tlp-record.ts, word 2 the requester ID in bits 0-15 and the segment above, word
   * 3 PASID 0-19, PASID present 20, T 21, AT 22-23, access 24-25, execute 26, privileged 27; words 4-5 the
   * address, word 6 the length; the run wraps to word 0 at the end of `words`). Returns how many records
   * from `at` (at most `count`) are clean IOTLB hits (translate() would answer STATUS_OK for the request,
   * sid = the requester ID, from its IOTLB fast path with no stale entry), counting each as translate()
   * counts it, and stops before the first that is not, or that
   * carries a T bit (the replay's TEE-IO checks need its slow path), or is not a TLP (access code 3: the
   * worker player's markers), or is as wide as `splitWide` splits (5 to 8 bytes), or, with `unitOfRid`,
   * is not of segment 0 with unitOfRid[requester] === `unit`, or is not earlier than `deadline`, or, with
   * `stopAtPasid`, carries a PASID and is not the first. With `byRid`, counts each hit at its requester.
   * Replay.applyTlpRun's loop over the common case (and, with count 1, applyTlpWords' check of one record).
   */
  hitRun(
    words: Uint32Array,
    at: number,
    count: number,
    unitOfRid: Int32Array | null,
    unit: number,
    deadline: number,
    byRid: Uint32Array | null,
    splitWide: boolean,
    stopAtPasid: boolean,
  ): number {
    const tlb = this.tlb;
    if (tlb === null) return 0;
    const end = words.length;
    const scalable = this.scalable;
    const pasidLegacy = this.cPasidLegacy !== 0;
    const cc = this.gateCtx;
    const latch = this.ptLatch;
    let j = 0;
    for (; j < count; j++) {
      const flags = words[at + 3]!;
      const ridSeg = words[at + 2]!;
      const lo = words[at + 4]!;
      const hi = words[at + 5]!;
      const len = words[at + 6]!;
      // untranslated (AT 0), no T, execute or privileged bit, a TLP (access code 3 marks the player's
      // marker records), within one page
      if ((flags & 0x0ce0_0000) !== 0 || (flags & 0x0300_0000) === 0x0300_0000) break;
      if (len === 0 || (lo & 0xfff) + len > 0x1000 || (splitWide && len > 4 && len <= 8)) break;
      if (unitOfRid !== null && (ridSeg >= 0x1_0000 || unitOfRid[ridSeg] !== unit)) break;
      if (!(words[at]! + words[at + 1]! * TWO_32 < deadline)) break;
      const withPasid = (flags & 0x10_0000) !== 0;
      if (withPasid && stopAtPasid && j > 0) break;
      let key = NO_PASID;
      if (scalable) {
        if (!withPasid) break;
        key = flags & 0xf_ffff;
      } else if ((withPasid && pasidLegacy) || (hi === 0 && lo >>> 20 === 0xfee)) break;
      const sid = ridSeg & 0xffff;
      if (cc !== null && !cc.valid(sid)) break;
      if (latch !== null && latch[sid] === 1) break;
      // needOf() | PERM_U, as translate() computes it
      const a = (flags >>> 24) & 3;
      if (!tlb.hitClean(sid, key, hi, lo, (a < 3 ? a + 1 : 3) | PERM_U)) break;
      if (byRid !== null) byRid[sid]!++;
      at += 8;
      if (at === end) at = 0;
    }
    return j;
  }

  /** The general path: page after page (the first page's IOTLB lookup is skipped when the fast path missed). */
  private translatePages(req: DmaRequest, out: TranslateResult): number {
    let hi = req.addrHi >>> 0;
    let lo = req.addrLo >>> 0;
    const len = req.len > 0 ? req.len : 1;
    this.pStale = 0;
    this.pStaleEvent = 0;
    this.pStaleTime = 0;
    this.aHi = hi;
    this.aLo = lo;
    let st = this.page(req);
    this.tlbMissed = 0;
    out.status = st;
    out.cached = this.pCached;
    out.fpd = this.fpdCur;
    out.did = this.didCur;
    out.pasid = this.pasidCur;
    out.pgtt = this.pgttCur;
    if (st !== STATUS_OK) {
      this.reportFault(out, hi, lo);
      out.level = 0;
      out.pageShift = 0;
      out.perms = 0;
      out.paHi = 0;
      out.paLo = 0;
      out.stale = this.pStale;
      out.staleEvent = this.pStaleEvent;
      out.staleTime = this.pStaleTime;
      return st;
    }
    const level = this.wLevel;
    const shift = 9 * level + 3;
    out.reason = 0;
    out.stage = STAGE_NONE;
    out.noRecord = 0;
    out.entryAddr = this.wEntry;
    out.faultAddrHi = 0;
    out.faultAddrLo = 0;
    out.level = level;
    out.pageShift = shift;
    out.perms = this.wPerms;
    out.paHi = this.wHi;
    out.paLo = (this.wLo | (lo & ((1 << shift) - 1))) >>> 0;
    let stale = this.pStale;
    let staleEvent = this.pStaleEvent;
    let staleTime = this.pStaleTime;
    if ((lo & 0xfff) + len > 0x1000) {
      // Multi-page: the end address, then one leaf after the other.
      let endLo = lo + len - 1;
      let endHi = hi;
      if (endLo >= TWO_32) {
        endHi += Math.floor(endLo / TWO_32);
        endLo %= TWO_32;
      }
      let sh = shift;
      for (;;) {
        const mask = sh >= 32 ? 0 : ~((1 << sh) - 1);
        let nLo = ((lo & mask) >>> 0) + 2 ** sh;
        let nHi = hi;
        if (nLo >= TWO_32) {
          nHi += 1;
          nLo -= TWO_32;
        }
        nHi >>>= 0;
        if (nHi > endHi || (nHi === endHi && nLo > endLo) || nHi < hi) break;
        hi = nHi;
        lo = nLo;
        this.aHi = hi;
        this.aLo = lo;
        st = this.page(req);
        if (st !== STATUS_OK) {
          out.status = st;
          out.fpd = this.fpdCur;
          out.did = this.didCur;
          out.level = 0;
          out.pageShift = 0;
          out.perms = 0;
          out.paHi = 0;
          out.paLo = 0;
          this.reportFault(out, hi, lo);
          if (stale === 0 && this.pStale !== 0) {
            stale = this.pStale;
            staleEvent = this.pStaleEvent;
            staleTime = this.pStaleTime;
          }
          break;
        }
        if (stale === 0 && this.pStale !== 0) {
          stale = this.pStale;
          staleEvent = this.pStaleEvent;
          staleTime = this.pStaleTime;
        }
        sh = 9 * this.wLevel + 3;
      }
    }
    out.stale = stale;
    out.staleEvent = staleEvent;
    out.staleTime = staleTime;
    return out.status;
  }

  private reportFault(out: TranslateResult, hi: number, lo: number): void {
    out.reason = this.fReason;
    out.stage = this.fStage;
    out.entryAddr = this.fEntry;
    out.noRecord = this.fNoRecord;
    out.faultAddrHi = hi;
    out.faultAddrLo = (lo & 0xffff_f000) >>> 0;
  }

  private fault(reason: number, stage: number, entry: number): number {
    this.fReason = reason;
    this.fStage = stage;
    this.fEntry = entry;
    return STATUS_FAULT;
  }

  /** One page (the one holding hi:lo): sets the w* leaf fields or the f* fault fields. */
  private page(req: DmaRequest): number {
    this.fpdCur = 0;
    this.didCur = 0;
    this.pCached = 0;
    this.fNoRecord = 0;
    this.fEntry = -1;
    this.keyPasid = -1;
    const st = this.scalable ? this.scalablePage(req) : this.legacyPage(req);
    if (st === STATUS_FAULT && this.strict && this.keyPasid >= 0) {
      this.revalidate(this.caches!, req.sid & 0xffff, this.keyPasid);
    }
    return st;
  }

  // -------------------------------------------------------------------------------------------------
  // Legacy mode

  private legacyPage(req: DmaRequest): number {
    const hi = this.aHi;
    const lo = this.aLo;
    const sid = req.sid & 0xffff;
    const at = req.at;
    this.pasidCur = -1;
    this.pgttCur = PGTT_SL;
    if (req.pasidPresent !== 0 && this.cPasidLegacy !== 0) {
      return this.fault(this.cPasidLegacy, STAGE_REQUEST, -1);
    }
    if (hi === 0 && lo >>> 20 === 0xfee) return this.interrupt();
    if (this.ptLatch !== null && this.ptLatch[sid] === 1) {
      this.pgttCur = PGTT_PT; // QEMU: latched pass-through, the nodmar region
      return this.identity(PERM_R | PERM_W | PERM_U);
    }
    this.keyPasid = NO_PASID;
    const tlb = this.tlb;
    // QEMU looks the IOTLB up before anything else; under the spec profile ATS requests are gated first.
    // Under 'vtd-spec' a source whose context entry is not cached has it fetched first (gateCtx).
    const gated = this.gateCtx !== null && at === AT_UNTRANSLATED && !this.gateCtx.valid(sid);
    if (tlb !== null && (at === AT_UNTRANSLATED || this.qemu) && this.tlbMissed === 0 && !gated) {
      const slot = tlb.lookup(sid, NO_PASID, hi, lo);
      if (slot >= 0) return this.fromIotlb(slot, req);
    }
    const st = this.legacyContext(sid);
    if (st !== STATUS_OK) return st;
    const tt = this.cTt;
    if (at !== AT_UNTRANSLATED && tt !== 1 && (at === AT_TRANSLATION_REQUEST || !this.qemu)) {
      return this.fault(this.cTtBlocked, STAGE_CONTEXT, this.fEntry);
    }
    if (at === AT_TRANSLATED && !this.qemu) return this.identity(PERM_R | PERM_W | PERM_U);
    if (tt === 2) {
      this.pgttCur = PGTT_PT;
      return this.identity(PERM_R | PERM_W | PERM_U);
    }
    if (tlb !== null && at === AT_TRANSLATION_REQUEST && !this.qemu) {
      const slot = tlb.lookup(sid, NO_PASID, hi, lo);
      if (slot >= 0) return this.fromIotlb(slot, req);
    }
    if (tlb !== null && gated && this.tlbMissed === 0) {
      // the context entry fetched again: its domain's IOTLB entries answer (another domain's do not)
      const slot = tlb.lookup(sid, NO_PASID, hi, lo);
      if (slot >= 0 && (tlb.e[slot * STRIDE + E_DATA] & 0xffff) === this.didCur)
        return this.fromIotlb(slot, req);
    }
    const levels = this.cLevels;
    const agaw = 9 * levels + 12;
    this.sTable = this.cTable;
    this.sHi = hi;
    this.sLo = lo;
    const kind = this.walkSl(levels, agaw < this.mgaw ? agaw : this.mgaw, needOf(req), T_SL);
    if (kind !== SL_OK) return this.pagingFault(req, this.slCodes[kind], STAGE_SECOND_LEVEL);
    return this.finishWalk(req, sid, NO_PASID, PGTT_SL);
  }

  /** Loads the legacy context entry of sid (cache or root/context walk) into the c* fields. */
  private legacyContext(sid: number): number {
    const caches = this.caches;
    if (caches !== null && !this.strict) {
      const cc = caches.context;
      const s = cc.lookup(sid);
      if (s >= 0) {
        this.fpdCur = cc.fpd[s];
        this.didCur = cc.did[s];
        this.cTt = cc.tt[s];
        this.cLevels = cc.levels[s];
        this.cTable = cc.table[s];
        this.fEntry = cc.entryAddr[s];
        return STATUS_OK;
      }
    }
    const mem = this.mem;
    const re = this.rootTable + (sid >>> 8) * 16;
    if (this.trace !== null) this.trace(T_ROOT, 0, re);
    const rlo = mem.readLo(re);
    const rlh = mem.readHi(re);
    if ((rlo & 1) === 0) {
      return this.fault(mem.isBacked(re) ? this.cRootP : this.cRootAccess, STAGE_ROOT, re);
    }
    if (
      (rlo & 0xffe) !== 0 ||
      (rlh & this.rsvdHawHi) !== 0 ||
      mem.readLo(re + 8) !== 0 ||
      mem.readHi(re + 8) !== 0
    ) {
      return this.fault(this.cRootRsvd, STAGE_ROOT, re);
    }
    const ce = (rlh & this.hawKeepHi) * TWO_32 + ((rlo & 0xffff_f000) >>> 0) + (sid & 0xff) * 16;
    if (this.trace !== null) this.trace(T_CONTEXT, 0, ce);
    const clo = mem.readLo(ce);
    const clh = mem.readHi(ce);
    const chl = mem.readLo(ce + 8);
    const chh = mem.readHi(ce + 8);
    this.fpdCur = (clo >>> 1) & 1;
    if ((clo & 1) === 0) {
      return this.fault(mem.isBacked(ce) ? this.cCtxP : this.cCtxAccess, STAGE_CONTEXT, ce);
    }
    this.didCur = (chl >>> 8) & 0xffff;
    if ((clo & 0xff0) !== 0 || (clh & this.rsvdHawHi) !== 0 || (chl & 0xff00_0080) !== 0 || chh !== 0) {
      return this.fault(this.cCtxRsvd, STAGE_CONTEXT, ce);
    }
    const aw = chl & 7;
    if ((this.sagaw & (1 << aw)) === 0) return this.fault(this.cCtxInv, STAGE_CONTEXT, ce);
    const tt = (clo >>> 2) & 3;
    const ecap = this.regs.ecap;
    if (tt === 3 || (tt === 1 && !ecap.dt) || (tt === 2 && !ecap.pt)) {
      return this.fault(this.cCtxInv, STAGE_CONTEXT, ce);
    }
    this.cTt = tt;
    this.cLevels = aw + 2;
    this.cTable = (clh & this.hawKeepHi) * TWO_32 + ((clo & 0xffff_f000) >>> 0);
    this.fEntry = ce;
    if (caches !== null) {
      caches.context.insert(sid, this.fpdCur, this.didCur, tt, aw + 2, this.cTable, 0, 0, 0, ce);
    }
    return STATUS_OK;
  }

  // -------------------------------------------------------------------------------------------------
  // Scalable mode

  private scalablePage(req: DmaRequest): number {
    const hi = this.aHi;
    const lo = this.aLo;
    const sid = req.sid & 0xffff;
    const withPasid = req.pasidPresent !== 0;
    const pasid = withPasid ? req.pasid & 0xf_ffff : 0;
    this.pasidCur = pasid;
    this.pgttCur = 0;
    if (!withPasid && hi === 0 && lo >>> 20 === 0xfee) return this.interrupt();
    if (!withPasid && this.ptLatch !== null && this.ptLatch[sid] === 1) {
      this.pgttCur = PGTT_PT; // QEMU: latched pass-through, the nodmar region
      return this.identity(PERM_R | PERM_W | PERM_U);
    }
    if (req.at === AT_TRANSLATED && this.qemu) {
      // QEMU vtd_iommu_translate: translated requests in scalable mode are identity without PASID, refused with.
      if (!withPasid) return this.identity(PERM_R | PERM_W | PERM_U);
      this.fNoRecord = 1;
      return this.fault(0, STAGE_REQUEST, -1);
    }
    const tlb = req.at !== AT_TRANSLATED ? this.tlb : null;
    if (withPasid) this.keyPasid = pasid;
    // Under 'vtd-spec' a source whose context entry is not cached has it fetched first (gateCtx).
    const gated = this.gateCtx !== null && req.at === AT_UNTRANSLATED && !this.gateCtx.valid(sid);
    if (
      tlb !== null &&
      withPasid &&
      (req.at === AT_UNTRANSLATED || this.qemu) &&
      this.tlbMissed === 0 &&
      !gated
    ) {
      const slot = tlb.lookup(sid, pasid, hi, lo);
      if (slot >= 0) return this.fromIotlb(slot, req);
    }
    let st = this.scalableContext(sid);
    if (st !== STATUS_OK) return st;
    const ce = this.fEntry;
    if (withPasid && (this.cFlags & CC_PASIDE) === 0 && this.cPaside !== 0) {
      return this.fault(this.cPaside, STAGE_CONTEXT, ce);
    }
    if (req.at !== AT_UNTRANSLATED && (this.cFlags & CC_DTE) === 0 && this.cDte !== 0) {
      return this.fault(this.cDte, STAGE_CONTEXT, ce);
    }
    const epasid = withPasid ? pasid : this.cRidPasid;
    this.pasidCur = epasid;
    this.keyPasid = epasid;
    if (this.cPasidMax !== 0 && epasid >>> 6 >= 1 << (this.cPdts + 7)) {
      return this.fault(this.cPasidMax, STAGE_CONTEXT, ce);
    }
    if (req.at === AT_TRANSLATED) return this.identity(PERM_R | PERM_W | PERM_U);
    st = this.pasidEntry(sid, epasid);
    if (st !== STATUS_OK) return st;
    const pe = this.fEntry;
    if (req.priv !== 0 && this.cSre !== 0 && ((this.eFlags & PC_SRE) === 0 || !this.regs.ecap.srs)) {
      return this.fault(this.cSre, STAGE_PASID_ENTRY, pe);
    }
    if (req.exec !== 0 && this.cEre !== 0 && ((this.eFlags & PC_ERE) === 0 || !this.regs.ecap.ers)) {
      return this.fault(this.cEre, STAGE_PASID_ENTRY, pe);
    }
    const pgtt = this.ePgtt;
    this.pgttCur = pgtt;
    if (pgtt === PGTT_PT) {
      // Pass-through: identity, never cached; with PASID the interrupt window is still blocked (QEMU iommu_ir_fault).
      if (withPasid && hi === 0 && lo >>> 20 === 0xfee) {
        return this.fault(this.cIntr, STAGE_INTERRUPT_WINDOW, pe);
      }
      return this.identity(PERM_R | PERM_W | PERM_U | (req.exec !== 0 ? PERM_X : 0));
    }
    if (tlb !== null && (!withPasid || (req.at === AT_TRANSLATION_REQUEST && !this.qemu))) {
      const slot = tlb.lookup(sid, epasid, hi, lo);
      if (slot >= 0) return this.fromIotlb(slot, req);
    } else if (tlb !== null && gated && this.tlbMissed === 0) {
      // the context and PASID entries fetched again: their domain's IOTLB entries answer
      const slot = tlb.lookup(sid, epasid, hi, lo);
      if (slot >= 0 && (tlb.e[slot * STRIDE + E_DATA] & 0xffff) === this.didCur)
        return this.fromIotlb(slot, req);
    }
    const need = needOf(req);
    if (pgtt === PGTT_SL) {
      const agaw = 9 * this.eAw + 30;
      this.sTable = this.eSl;
      this.sHi = hi;
      this.sLo = lo;
      const kind = this.walkSl(this.eAw + 2, agaw < this.mgaw ? agaw : this.mgaw, need, T_SL);
      if (kind !== SL_OK) return this.pagingFault(req, this.slCodes[kind], STAGE_SECOND_LEVEL);
    } else if (pgtt === PGTT_FL) {
      this.fTable = this.eFl;
      const code = this.walkFl(this.eFlLevels, req);
      if (code !== 0) return this.pagingFault(req, code, STAGE_FIRST_LEVEL);
    } else {
      st = this.walkNested(req);
      if (st !== STATUS_OK) return st;
    }
    return this.finishWalk(req, sid, epasid, pgtt);
  }

  /** Loads the scalable context entry of sid (cache or root/context walk) into the c* fields. */
  private scalableContext(sid: number): number {
    const caches = this.caches;
    if (caches !== null && !this.strict) {
      const cc = caches.context;
      const s = cc.lookup(sid);
      if (s >= 0) {
        this.fpdCur = cc.fpd[s];
        this.cTable = cc.table[s];
        this.cRidPasid = cc.ridPasid[s];
        this.cFlags = cc.flags[s];
        this.cPdts = cc.pdts[s];
        this.fEntry = cc.entryAddr[s];
        return STATUS_OK;
      }
    }
    const mem = this.mem;
    const devfn = sid & 0xff;
    const re = this.rootTable + (sid >>> 8) * 16;
    if (this.trace !== null) this.trace(T_SM_ROOT, 0, re);
    const llo = mem.readLo(re);
    const lhi = mem.readHi(re);
    const ulo = mem.readLo(re + 8);
    const uhi = mem.readHi(re + 8);
    const upper = devfn > 0x7f;
    if (((upper ? ulo : llo) & 1) === 0) {
      return this.fault(mem.isBacked(re) ? this.cRootP : this.cRootAccess, STAGE_ROOT, re);
    }
    const rh = this.rsvdHawHi;
    if ((llo & 0xffe) !== 0 || (lhi & rh) !== 0 || (ulo & 0xffe) !== 0 || (uhi & rh) !== 0) {
      return this.fault(this.cRootRsvd, STAGE_ROOT, re);
    }
    const ctp = upper
      ? (uhi & this.hawKeepHi) * TWO_32 + ((ulo & 0xffff_f000) >>> 0)
      : (lhi & this.hawKeepHi) * TWO_32 + ((llo & 0xffff_f000) >>> 0);
    const ce = ctp + (devfn & 0x7f) * 32;
    if (this.trace !== null) this.trace(T_SM_CONTEXT, 0, ce);
    const v0 = mem.readLo(ce);
    const v0h = mem.readHi(ce);
    this.fpdCur = (v0 >>> 1) & 1;
    if ((v0 & 1) === 0) {
      return this.fault(mem.isBacked(ce) ? this.cCtxP : this.cCtxAccess, STAGE_CONTEXT, ce);
    }
    const v1 = mem.readLo(ce + 8);
    if (
      (v0 & 0x1e0) !== 0 ||
      (v0h & rh) !== 0 ||
      (v1 & 0xffe0_0000) !== 0 ||
      (mem.readHi(ce + 8) |
        mem.readLo(ce + 16) |
        mem.readHi(ce + 16) |
        mem.readLo(ce + 24) |
        mem.readHi(ce + 24)) !==
        0
    ) {
      return this.fault(this.cCtxRsvd, STAGE_CONTEXT, ce);
    }
    this.cTable = (v0h & this.hawKeepHi) * TWO_32 + ((v0 & 0xffff_f000) >>> 0);
    this.cRidPasid = v1 & 0xf_ffff;
    this.cFlags = (v0 >>> 2) & 7;
    this.cPdts = (v0 >>> 9) & 7;
    this.fEntry = ce;
    if (this.qemu) {
      // QEMU vtd_dev_to_context_entry → vtd_ce_rid2pasid_check: the RID_PASID entry must be usable.
      const fpd = this.fpdCur;
      const st = this.pasidEntry(sid, this.cRidPasid);
      this.fpdCur = fpd;
      if (st !== STATUS_OK) return st;
      this.fEntry = ce;
    }
    if (caches !== null) {
      caches.context.insert(
        sid,
        this.fpdCur,
        0,
        0,
        0,
        this.cTable,
        this.cRidPasid,
        this.cFlags,
        this.cPdts,
        ce,
      );
    }
    return STATUS_OK;
  }

  /** Loads the PASID entry of (sid, pasid) under the context's directory into the e* fields. */
  private pasidEntry(sid: number, pasid: number): number {
    const caches = this.caches;
    if (caches !== null && !this.strict) {
      const pc = caches.pasid;
      const s = pc.lookup(sid, pasid);
      if (s >= 0) {
        this.fpdCur |= pc.fpd[s];
        this.didCur = pc.did[s];
        this.ePgtt = pc.pgtt[s];
        this.eSl = pc.slptptr[s];
        this.eFl = pc.flptptr[s];
        this.eAw = pc.aw[s];
        this.eFlLevels = pc.flLevels[s];
        this.eFlags = pc.flags[s];
        this.fEntry = pc.entryAddr[s];
        return STATUS_OK;
      }
    }
    const mem = this.mem;
    const de = this.cTable + ((pasid >>> 6) & 0x3fff) * 8;
    if (this.trace !== null) this.trace(T_PASID_DIR, 0, de);
    const dlo = mem.readLo(de);
    const dhi = mem.readHi(de);
    let fpd = this.fpdCur;
    if (this.pasidDirFpd) fpd |= (dlo >>> 1) & 1;
    this.fpdCur = fpd;
    if ((dlo & 1) === 0) {
      return this.fault(mem.isBacked(de) ? this.cPdirP : this.cPdirAccess, STAGE_PASID_DIR, de);
    }
    if (this.cPdirRsvd !== 0 && ((dlo & 0xffc) !== 0 || (dhi & this.rsvdHawHi) !== 0)) {
      return this.fault(this.cPdirRsvd, STAGE_PASID_DIR, de);
    }
    const pe = (dhi & this.hawKeepHi) * TWO_32 + ((dlo & 0xffff_f000) >>> 0) + (pasid & 0x3f) * 64;
    if (this.trace !== null) this.trace(T_PASID_ENTRY, 0, pe);
    const w0 = mem.readLo(pe);
    const w0h = mem.readHi(pe);
    const w1 = mem.readLo(pe + 8);
    const w2 = mem.readLo(pe + 16);
    const w2h = mem.readHi(pe + 16);
    fpd |= (w0 >>> 1) & 1;
    this.fpdCur = fpd;
    const present = (w0 & 1) !== 0;
    if (!present && !mem.isBacked(pe)) return this.fault(this.cPeAccess, STAGE_PASID_ENTRY, pe);
    const pgtt = (w0 >>> 6) & 7;
    const aw = (w0 >>> 2) & 7;
    const flpm = (w2 >>> 2) & 3;
    this.didCur = w1 & 0xffff;
    if (this.qemu) {
      // QEMU vtd_get_pe_in_pasid_leaf_table: type and level checks come before the present check.
      if (!this.pgttSupported(pgtt, aw, flpm)) return this.fault(this.cPeInv, STAGE_PASID_ENTRY, pe);
      if (!present) return this.fault(this.cPeP, STAGE_PASID_ENTRY, pe);
    } else {
      if (!present) return this.fault(this.cPeP, STAGE_PASID_ENTRY, pe);
      if (this.pasidEntryReserved(pe, pgtt, w0h, w2h)) return this.fault(this.cPeRsvd, STAGE_PASID_ENTRY, pe);
      if (!this.pgttSupported(pgtt, aw, flpm)) return this.fault(this.cPeInv, STAGE_PASID_ENTRY, pe);
    }
    this.ePgtt = pgtt;
    this.eAw = aw;
    this.eSl = (w0h & this.hawKeepHi) * TWO_32 + ((w0 & 0xffff_f000) >>> 0);
    this.eFl = (w2h & this.hawKeepHi) * TWO_32 + ((w2 & 0xffff_f000) >>> 0);
    this.eFlLevels = 4 + flpm;
    this.eFlags = (w2 & 1) | (w2 & 2) | ((w2 >>> 2) & 4);
    this.fEntry = pe;
    if (caches !== null) {
      caches.pasid.insert(
        sid,
        pasid,
        this.didCur,
        pgtt,
        fpd,
        this.eSl,
        this.eFl,
        aw,
        4 + flpm,
        this.eFlags,
        pe,
      );
    }
    return STATUS_OK;
  }

  /** PGTT supported by ECAP (QEMU vtd_pe_type_check) and its table levels by SAGAW / FLPM (vtd_is_*_level_supported). */
  private pgttSupported(pgtt: number, aw: number, flpm: number): boolean {
    const e = this.regs.ecap;
    const slOk = (this.sagaw & (1 << aw)) !== 0;
    const flOk = flpm === 0 || (flpm === 1 && this.fl5Supported);
    switch (pgtt) {
      case PGTT_FL:
        return e.flts && flOk;
      case PGTT_SL:
        return e.slts && slOk;
      case PGTT_NESTED:
        return this.nestedSupported && slOk && flOk;
      case PGTT_PT:
        return e.pt;
      default:
        return false;
    }
  }

  /** The reserved fields this model checks in a PASID entry: table pointers at or above HAW, bits 511:256. */
  private pasidEntryReserved(pe: number, pgtt: number, w0h: number, w2h: number): boolean {
    const rh = this.rsvdHawHi;
    if ((pgtt === PGTT_SL || pgtt === PGTT_NESTED) && (w0h & rh) !== 0) return true;
    if ((pgtt === PGTT_FL || pgtt === PGTT_NESTED) && (w2h & rh) !== 0) return true;
    const mem = this.mem;
    for (let a = pe + 32; a < pe + 64; a += 8) if ((mem.readLo(a) | mem.readHi(a)) !== 0) return true;
    return false;
  }

  // -------------------------------------------------------------------------------------------------
  // Walks

  /**
   * Second-level walk (QEMU vtd_iova_to_slpte): width, then per level read error, permission (need: 1 read,
   * 2 write, 3 atomic), reserved bits, leaf at level 1 or PS. Sets w* (leaf base, level, perms, entry).
   */
  private walkSl(levels: number, limitBits: number, need: number, kind: number): number {
    let table = this.sTable;
    const hi = this.sHi;
    const lo = this.sLo;
    this.wEntry = -1;
    if (
      limitBits <= 32
        ? hi !== 0 || (limitBits < 32 && lo >>> limitBits !== 0)
        : limitBits < 64 && hi >>> (limitBits - 32) !== 0
    ) {
      return SL_BEYOND;
    }
    const mem = this.mem;
    let perms = 3;
    for (let level = levels; ; level--) {
      const s = 9 * level + 3;
      const idx = level < 4 ? ((lo >>> s) | (hi << (32 - s))) & 511 : (hi >>> (s - 32)) & 511;
      const entry = table + idx * 8;
      if (this.trace !== null) this.trace(kind, level, entry);
      const elo = mem.readLo(entry);
      const ehi = mem.readHi(entry);
      this.wEntry = entry;
      const large = (elo & 0x80) !== 0 && (level === 2 || level === 3);
      const rsvd = large
        ? (elo & this.slLargeLo[level]!) !== 0 || (ehi & this.slLargeHi[level]!) !== 0
        : (elo & this.slRsvdLo[level]!) !== 0 || (ehi & this.slRsvdHi[level]!) !== 0;
      // The spec: a present entry with a non-zero reserved field is invalid whatever the access needs
      // (0xC / 0x7A); QEMU tests the permission first (reference §12). Resolved once per translator.
      if (rsvd && !this.qemu && (elo & 3) !== 0) return SL_RSVD;
      if ((elo & need) !== need) {
        if ((elo & 3) === 0) {
          if (!mem.isBacked(entry)) return level === levels ? SL_TOP_ACCESS : SL_ACCESS;
          return need === 1 ? SL_NP_READ : SL_NP_WRITE;
        }
        return (need & 1) !== 0 && (elo & 1) === 0 ? SL_NO_READ : SL_NO_WRITE;
      }
      perms &= elo;
      if (rsvd) return SL_RSVD;
      if (level === 1 || large) {
        this.wHi = ehi & this.hawKeepHi;
        this.wLo = (elo & ~((1 << s) - 1)) >>> 0;
        this.wLevel = level;
        this.wPerms = (perms & 3) | PERM_U;
        return SL_OK;
      }
      table = (ehi & this.hawKeepHi) * TWO_32 + ((elo & 0xffff_f000) >>> 0);
    }
  }

  /**
   * First-level walk (QEMU vtd_iova_to_fspte): canonical address, then per level read error, P, U/S (user
   * requests; QEMU treats every request as a user request), R/W for writes and atomics, reserved bits, XD for
   * execute requests (spec), A then D on the leaf for writes. Returns 0 or a fault reason; sets w*.
   */
  private walkFl(levels: number, req: DmaRequest): number {
    let table = this.fTable;
    const hi = this.aHi;
    const lo = this.aLo;
    const c = this.codes;
    this.wEntry = -1;
    const top = hi >> (levels === 5 ? 24 : 15);
    if (top !== 0 && top !== -1) return c.flNonCanonical;
    const mem = this.mem;
    const write = req.access !== ACCESS_READ;
    const user = this.qemu || req.priv === 0;
    const exec = req.exec !== 0 && c.flNoExecute !== 0;
    let perms = PERM_R | PERM_W | PERM_X | PERM_U;
    for (let level = levels; ; level--) {
      const s = 9 * level + 3;
      const idx = level < 4 ? ((lo >>> s) | (hi << (32 - s))) & 511 : (hi >>> (s - 32)) & 511;
      const entry = table + idx * 8;
      if (this.trace !== null) this.trace(T_FL, level, entry);
      const elo = mem.readLo(entry);
      const ehi = mem.readHi(entry);
      this.wEntry = entry;
      if ((elo & 1) === 0) {
        if (!mem.isBacked(entry)) return level === levels ? c.flTopAccess : c.flAccess;
        return c.flNotPresent;
      }
      if ((elo & 4) === 0) {
        if (user) return c.flUserSupervisor;
        perms &= ~PERM_U;
      }
      if ((elo & 2) === 0) {
        perms &= ~PERM_W;
        if (write) return c.flNoWrite;
      }
      const large = (elo & 0x80) !== 0 && (level === 2 || level === 3);
      if (large) {
        if ((elo & this.flLargeLo[level]) !== 0 || (ehi & this.flLargeHi[level]) !== 0) return c.flReserved;
      } else if ((elo & this.flRsvdLo[level]) !== 0 || (ehi & this.flRsvdHi[level]) !== 0) {
        return c.flReserved;
      }
      if ((ehi & FL_XD) !== 0) {
        perms &= ~PERM_X;
        if (exec) return c.flNoExecute;
      }
      const leaf = level === 1 || large;
      if (this.updateAD) {
        const flag = leaf && write ? 0x60 : 0x20;
        if ((elo & flag) !== flag) mem.write64(entry, elo | flag, ehi);
      }
      if (leaf) {
        this.wHi = ehi & this.hawKeepHi;
        this.wLo = (elo & ~((1 << s) - 1)) >>> 0;
        this.wLevel = level;
        this.wPerms = perms;
        return 0;
      }
      table = (ehi & this.hawKeepHi) * TWO_32 + ((elo & 0xffff_f000) >>> 0);
    }
  }

  /**
   * Nested translation (PGTT=011, VT-d spec; QEMU has no emulated walk for it): a first-level walk whose table
   * addresses are guest-physical and go through the second level (read access; A/D updates need SL write),
   * then the final guest-physical address through the second level with the request's access.
   */
  private walkNested(req: DmaRequest): number {
    const hi = this.aHi;
    const lo = this.aLo;
    const c = this.codes;
    const levels = this.eFlLevels;
    const top = hi >> (levels === 5 ? 24 : 15);
    if (top !== 0 && top !== -1) return this.pagingFault(req, c.flNonCanonical, STAGE_FIRST_LEVEL);
    const mem = this.mem;
    const slTable = this.eSl;
    const slLevels = this.eAw + 2;
    const agaw = 9 * this.eAw + 30;
    const limit = agaw < this.mgaw ? agaw : this.mgaw;
    const write = req.access !== ACCESS_READ;
    const user = req.priv === 0;
    let perms = PERM_R | PERM_W | PERM_X | PERM_U;
    let gpa = this.eFl;
    for (let level = levels; ; level--) {
      // The first-level table at guest-physical gpa, through the second level.
      this.sTable = slTable;
      this.sHi = Math.floor(gpa / TWO_32);
      this.sLo = gpa - this.sHi * TWO_32;
      const k = this.walkSl(slLevels, limit, 1, T_NESTED_SL);
      if (k !== SL_OK) {
        const reason =
          k >= SL_NP_READ && k <= SL_NO_WRITE && level === levels ? c.nestedTopRead : this.nestTableCodes[k];
        return this.pagingFault(req, reason, STAGE_SECOND_LEVEL);
      }
      const tableWritable = (this.wPerms & PERM_W) !== 0;
      const tableHpa = this.wHi * TWO_32 + this.wLo + (gpa % 2 ** (9 * this.wLevel + 3));
      const s = 9 * level + 3;
      const idx = level < 4 ? ((lo >>> s) | (hi << (32 - s))) & 511 : (hi >>> (s - 32)) & 511;
      const entry = tableHpa + idx * 8;
      if (this.trace !== null) this.trace(T_FL, level, entry);
      const elo = mem.readLo(entry);
      const ehi = mem.readHi(entry);
      this.wEntry = entry;
      if ((elo & 1) === 0) return this.pagingFault(req, c.flNotPresent, STAGE_FIRST_LEVEL);
      if ((elo & 4) === 0) {
        if (user) return this.pagingFault(req, c.flUserSupervisor, STAGE_FIRST_LEVEL);
        perms &= ~PERM_U;
      }
      if ((elo & 2) === 0) {
        perms &= ~PERM_W;
        if (write) return this.pagingFault(req, c.flNoWrite, STAGE_FIRST_LEVEL);
      }
      const large = (elo & 0x80) !== 0 && (level === 2 || level === 3);
      const rl = large ? this.flLargeLo[level] : this.flRsvdLo[level];
      const rhm = large ? this.flLargeHi[level] : this.flRsvdHi[level];
      if ((elo & rl) !== 0 || (ehi & rhm) !== 0)
        return this.pagingFault(req, c.flReserved, STAGE_FIRST_LEVEL);
      if ((ehi & FL_XD) !== 0) {
        perms &= ~PERM_X;
        if (req.exec !== 0) return this.pagingFault(req, c.flNoExecute, STAGE_FIRST_LEVEL);
      }
      const leaf = level === 1 || large;
      if (this.updateAD) {
        const flag = leaf && write ? 0x60 : 0x20;
        if ((elo & flag) !== flag) {
          if (!tableWritable) return this.pagingFault(req, c.nestedAccessedDirtyWrite, STAGE_FIRST_LEVEL);
          mem.write64(entry, elo | flag, ehi);
        }
      }
      if (leaf) {
        // Final stage: the output guest-physical address through the second level (leaf shift s ≤ 30).
        const mask = (1 << s) - 1;
        const out = (ehi & this.hawKeepHi) * TWO_32 + ((elo & ~mask) >>> 0) + ((lo & mask) >>> 0);
        this.sTable = slTable;
        this.sHi = Math.floor(out / TWO_32);
        this.sLo = out - this.sHi * TWO_32;
        const k2 = this.walkSl(slLevels, limit, needOf(req), T_NESTED_SL);
        if (k2 !== SL_OK) return this.pagingFault(req, this.slCodes[k2], STAGE_SECOND_LEVEL);
        const minLevel = level < this.wLevel ? level : this.wLevel;
        const size = 2 ** (9 * minLevel + 3);
        const hpa = this.wHi * TWO_32 + this.wLo + (out % 2 ** (9 * this.wLevel + 3));
        const base = hpa - (hpa % size);
        this.wHi = Math.floor(base / TWO_32);
        this.wLo = base - this.wHi * TWO_32;
        this.wLevel = minLevel;
        this.wPerms = perms & (this.wPerms | PERM_X | PERM_U);
        return STATUS_OK;
      }
      gpa = (ehi & this.hawKeepHi) * TWO_32 + ((elo & 0xffff_f000) >>> 0);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Outcomes

  /** A paging-structure fault; translation requests report it in the completion without a fault record (spec). */
  private pagingFault(req: DmaRequest, reason: number, stage: number): number {
    if (req.at === AT_TRANSLATION_REQUEST) this.fNoRecord = this.atsNoRecord;
    return this.fault(reason, stage, this.wEntry);
  }

  private interrupt(): number {
    this.fReason = 0;
    this.fStage = STAGE_INTERRUPT_WINDOW;
    this.fEntry = -1;
    return STATUS_INTERRUPT;
  }

  private identity(perms: number): number {
    this.wHi = this.aHi;
    this.wLo = (this.aLo & 0xffff_f000) >>> 0;
    this.wLevel = 1;
    this.wPerms = perms;
    this.wEntry = -1;
    return STATUS_OK;
  }

  /** After a successful walk: interrupt-window check on the output page, IOTLB (and device-TLB) fill. */
  private finishWalk(req: DmaRequest, sid: number, pasidKey: number, pgtt: number): number {
    const hi = this.aHi;
    const lo = this.aLo;
    const level = this.wLevel;
    const sh = level === 1 ? 20 : 9 * level + 3;
    if (this.wHi === 0 && this.wLo >>> sh === 0xfee0_0000 >>> sh) {
      return this.pagingFault(req, this.cIntr, STAGE_INTERRUPT_WINDOW);
    }
    const caches = this.caches;
    if (caches !== null) {
      const fpd = this.fpdCur;
      const pe = this.scalable ? this.peDataFlags() : 0;
      if (this.strict) this.revalidate(caches, sid, pasidKey);
      if (caches.iotlbEnabled)
        caches.iotlb.insert(
          sid,
          pasidKey,
          hi,
          lo,
          level,
          this.didCur,
          this.wHi,
          this.wLo,
          this.wPerms,
          pgtt,
          fpd,
          this.wEntry,
          pe,
        );
      if (req.at === AT_TRANSLATION_REQUEST) {
        caches.deviceTlb.insert(
          sid,
          pasidKey,
          hi,
          lo,
          level,
          this.didCur,
          this.wHi,
          this.wLo,
          this.wPerms,
          pgtt,
          fpd,
          this.wEntry,
          pe,
        );
      }
    }
    return STATUS_OK;
  }

  /** DATA_SRE / DATA_ERE for the PASID entry in force (with the unit's SRS / ERS). */
  private peDataFlags(): number {
    const e = this.regs.ecap;
    return (
      ((this.eFlags & PC_SRE) !== 0 && e.srs ? DATA_SRE : 0) |
      ((this.eFlags & PC_ERE) !== 0 && e.ers ? DATA_ERE : 0)
    );
  }

  /** Strict mode: a cached entry for this page that was marked stale is discarded and reported (stale = 2). */
  private revalidate(caches: VtdCaches, sid: number, pasidKey: number): void {
    const t = caches.iotlb;
    const slot = t.lookup(sid, pasidKey, this.aHi, this.aLo);
    if (slot < 0) return;
    if (t.stale(slot) !== 0) {
      this.pStale = 2;
      this.pStaleEvent = t.staleEvent[slot];
      this.pStaleTime = t.staleTime[slot];
    }
    t.drop(slot);
  }

  /** An IOTLB hit: the cached leaf, with the permission check the cache can answer. */
  private fromIotlb(slot: number, req: DmaRequest): number {
    const t = this.tlb!;
    const e = t.e;
    const w = slot * STRIDE;
    const data = e[w + E_DATA];
    const perms = (data >>> DATA_PERMS_SHIFT) & 15;
    const pgtt = (data >>> DATA_PGTT_SHIFT) & 7;
    this.pCached = 1;
    this.wHi = e[w + E_PAHI] >>> 0;
    this.wLo = e[w + E_PALO] >>> 0;
    this.wLevel = (e[w + E_KEY] >>> 16) & 7;
    this.wPerms = perms;
    this.wEntry = -1;
    this.didCur = data & 0xffff;
    this.fpdCur = (data >>> DATA_FPD_SHIFT) & 1;
    this.pgttCur = pgtt;
    const c = this.codes;
    const fl = pgtt === PGTT_FL || pgtt === PGTT_NESTED;
    // The checks the walk made against the PASID entry and the paging entries, answered from the entry.
    let reason = 0;
    let stage = fl ? STAGE_FIRST_LEVEL : STAGE_SECOND_LEVEL;
    const need = needOf(req);
    if (req.priv !== 0 && c.supervisorDisabled !== 0 && (data & DATA_SRE) === 0) {
      reason = c.supervisorDisabled;
      stage = STAGE_PASID_ENTRY;
    } else if (req.exec !== 0 && c.executeDisabled !== 0 && (data & DATA_ERE) === 0) {
      reason = c.executeDisabled;
      stage = STAGE_PASID_ENTRY;
    } else if (fl && (this.qemu || req.priv === 0) && (perms & PERM_U) === 0) {
      reason = c.flUserSupervisor;
    } else if ((perms & need) !== need) {
      reason = (need & 1) !== 0 && (perms & 1) === 0 ? c.slNoRead : fl ? c.flNoWrite : c.slNoWrite;
    } else if (req.exec !== 0 && fl && (perms & PERM_X) === 0 && c.flNoExecute !== 0) {
      reason = c.flNoExecute;
    }
    if (reason !== 0) {
      // QEMU drops the access silently (no fault record); hardware records the fault.
      if (this.qemu) this.fNoRecord = 1;
      else if (req.at === AT_TRANSLATION_REQUEST) this.fNoRecord = this.atsNoRecord;
      return this.fault(reason, stage, t.pteAddr[slot]);
    }
    if ((data & DATA_STALE) !== 0) {
      this.wEntry = t.pteAddr[slot];
      this.pStale = 1;
      this.pStaleEvent = t.staleEvent[slot];
      this.pStaleTime = t.staleTime[slot];
    }
    if (req.at === AT_TRANSLATION_REQUEST) {
      this.caches!.deviceTlb.insert(
        e[w + E_KEY] & 0xffff,
        t.pasid(slot),
        this.aHi,
        this.aLo,
        this.wLevel,
        this.didCur,
        this.wHi,
        this.wLo,
        perms,
        pgtt,
        this.fpdCur,
        this.wEntry,
        data & (DATA_SRE | DATA_ERE),
      );
    }
    return STATUS_OK;
  }
}

/** Permission bits a request needs: read 1, write 2, atomic 3. */
function needOf(req: DmaRequest): number {
  return req.access === ACCESS_READ ? 1 : req.access === ACCESS_WRITE ? 2 : 3;
}

// ---------------------------------------------------------------------------------------------------
// Detailed walk (slow path)

export interface DetailedStep {
  structure:
    | 'root-entry'
    | 'scalable-root-entry'
    | 'context-entry'
    | 'scalable-context-entry'
    | 'pasid-dir-entry'
    | 'pasid-entry'
    | 'second-level-pte'
    | 'first-level-pte'
    | 'nested-second-level-pte';
  /** Paging level (1–5) for page-table entries, 0 otherwise. */
  level: number;
  entryAddr: number;
  /** The raw entry, most significant word first, as one hex number. */
  raw: string;
  fields: Record<string, number | boolean>;
}

export interface DetailedWalk {
  result: TranslateResult;
  steps: DetailedStep[];
}

/**
 * Translates req without caches, recording every entry read (the UI's details pane and fault reports).
 * First-level A/D bits are not written. Allocates freely.
 */
export function walkDetailed(
  mem: PhysMem,
  regs: VtdUnitRegs,
  req: DmaRequest,
  options: { profile?: FaultProfile } = {},
): DetailedWalk {
  const t = new VtdTranslator(mem, regs, {
    profile: options.profile,
    caches: null,
    updateAccessedDirty: false,
  });
  const steps: DetailedStep[] = [];
  t.trace = (kind, level, entryAddr) => {
    const n = kind === T_SM_CONTEXT ? 4 : kind === T_PASID_ENTRY ? 8 : kind <= T_CONTEXT ? 2 : 1;
    const w = readEntryWords(mem, entryAddr, n);
    let structure: DetailedStep['structure'];
    let fields: Record<string, number | boolean>;
    switch (kind) {
      case T_ROOT:
        structure = 'root-entry';
        fields = { ...decodeRootEntry(w[0], w[1]) };
        break;
      case T_SM_ROOT:
        structure = 'scalable-root-entry';
        fields = { ...decodeScalableRootEntry(w[0], w[1]) };
        break;
      case T_CONTEXT:
        structure = 'context-entry';
        fields = { ...decodeContextEntry(w[0], w[1]) };
        break;
      case T_SM_CONTEXT:
        structure = 'scalable-context-entry';
        fields = { ...decodeScalableContextEntry(w) };
        break;
      case T_PASID_DIR:
        structure = 'pasid-dir-entry';
        fields = { ...decodePasidDirEntry(w[0]) };
        break;
      case T_PASID_ENTRY:
        structure = 'pasid-entry';
        fields = { ...decodePasidEntry(w) };
        break;
      case T_FL:
        structure = 'first-level-pte';
        fields = { ...decodeFlPte(w[0]) };
        break;
      default:
        structure = kind === T_SL ? 'second-level-pte' : 'nested-second-level-pte';
        fields = { ...decodeSlPte(w[0]) };
    }
    steps.push({ structure, level, entryAddr, raw: wordsToHex(w), fields });
  };
  const result = createResult();
  t.translate(req, result);
  return { result, steps };
}
