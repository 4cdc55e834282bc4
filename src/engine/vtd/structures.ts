// VT-d in-memory structures: encoders that write them into PhysMem exactly as the hardware reads them,
// decoders that return every field (UI details pane, tests), and the unit's register description.
// Contract:
// - Control plane: encoders/decoders take and return bigints for 64-bit words; table addresses are numbers
//   (PhysMem addresses, < 2^52). Nothing here is on the translation hot path (translate.ts reads the
//   words itself with readLo/readHi and the masks exported below).
// - Layouts (bit numbers are within the 64-bit word named; sources in brackets):
//   Legacy root entry (16 B, index bus): lo[0] P, lo[63:12] CTP; lo[11:1], bits ≥ HAW and all of hi are
//     reserved [QEMU intel_iommu_internal.h VTD_ROOT_ENTRY_P/CTP/RSVD, vtd_root_entry_rsvd_bits_check].
//   Scalable root entry (16 B): lo[0] LP, lo[63:12] LCTP (devfn 0–127); hi[0] UP, hi[63:12] UCTP
//     (devfn 128–255); [11:1] and bits ≥ HAW of both words reserved [QEMU vtd_root_entry_present,
//     vtd_get_context_entry_from_root].
//   Legacy context entry (16 B, index devfn): lo[0] P, lo[1] FPD, lo[3:2] TT (00 multi-level, 01 +device-TLB,
//     10 pass-through), lo[63:12] SLPTPTR, reserved lo[11:4] + ≥ HAW; hi[2:0] AW, hi[6:3] AVAIL,
//     hi[23:8] DID, reserved hi mask 0xffffffffff000080 [QEMU VTD_CONTEXT_ENTRY_*; Linux iommu.h
//     context_set_address_width/context_set_domain_id].
//   Scalable context entry (32 B, index devfn & 0x7f): val0[0] P, [1] FPD, [2] DTE, [3] PASIDE, [4] PRE,
//     [8:5] reserved (0x1e0), [11:9] PDTS (directory of 2^(PDTS+7) entries), [63:12] PASIDDIRPTR;
//     val1[19:0] RID_PASID, val1[20] RID_PRIV, val1[63:21] reserved; val2, val3 reserved
//     [QEMU VTD_SM_CONTEXT_ENTRY_RSVD_VAL0/VAL1, VTD_CE_GET_RID2PASID; Linux iommu.h context_set_sm_dte (bit 2),
//     context_set_sm_pre (bit 4), context_pdts (<< 9), pasid.h is_pasid_enabled (bit 3), get_pasid_dir_size].
//   PASID directory entry (8 B, index PASID[19:6]): [0] P, [1] FPD, [63:12] PASID-table pointer; [11:2] and
//     bits ≥ HAW reserved [QEMU VTD_PASID_DIR_INDEX/FPD, VTD_PASID_TABLE_BASE_ADDR_MASK; Linux pasid.h].
//   PASID entry (64 B, index PASID[5:0]): val0[0] P, [1] FPD, [4:2] AW, [8:6] PGTT (1 FL, 2 SL, 3 nested,
//     4 PT), [9] SSADE, [63:12] SLPTPTR; val1[15:0] DID, val1[23] PWSNP, val1[24] PGSNP; val2[0] SRE,
//     val2[1] ERE, val2[3:2] FLPM (0 → 4-level, 1 → 5-level), val2[4] WPE, val2[7] EAFE, val2[63:12] FLPTPTR
//     [Linux pasid.h pasid_set_* helpers; QEMU VTD_SM_PASID_ENTRY_PGTT/AW/DID, VTD_PE_GET_FL_LEVEL/SL_LEVEL.
//     ERE (bit 129) is from the VT-d spec's PASID-entry format; neither Linux nor QEMU sets it].
//   Second-level PTE: [0] R, [1] W, [7] PS, [11] SNP, [62] TM, [51:12] address [QEMU VTD_SL_*, Linux DMA_PTE_*].
//   First-level PTE (x86): [0] P, [1] R/W, [2] U/S, [3] PWT, [4] PCD, [5] A, [6] D, [7] PS, [8] G,
//     [12] PAT (large pages), [63] XD, [51:12] address [QEMU VTD_FS_P/RW/US/A/D].
//   CAP: [12:8] SAGAW, [21:16] MGAW-1, [34] SLLPS 2 MiB, [35] SLLPS 1 GiB, [56] FL1GP, [60] FL5LP;
//   ECAP: [2] DT, [6] PT, [7] SC, [26] NEST, [29] PRS, [30] ERS, [31] SRS, [39:35] PSS, [40] PASID, [43] SMTS,
//     [46] SLTS, [47] FLTS [Linux iommu.h cap_* / ecap_* decoders; QEMU VTD_CAP_* / VTD_ECAP_*].
// - VtdTableBuilder allocates tables with PhysMem.allocFrame() (for tests, benches and the control plane);
//   mapFirstLevel() writes x86-format first-level tables the way Linux's first-stage code does.

import { FRAME_SIZE, type PhysMem } from '../mem/phys-mem';

const M64 = (1n << 64n) - 1n;
const ADDR_MASK = 0x000f_ffff_ffff_f000n;

const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;
const field = (v: bigint, lo: number, width: number): number =>
  Number((v >> BigInt(lo)) & ((1n << BigInt(width)) - 1n));
const b = (flag: boolean | undefined, n: number): bigint => (flag ? 1n << BigInt(n) : 0n);
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

function pageAddress(name: string, addr: number | bigint): bigint {
  const a = BigInt(addr);
  if (a < 0n || (a & 0xfffn) !== 0n || a > ADDR_MASK) {
    throw new Error(`${name} ${hex(a)} must be a 4 KiB-aligned address below 2^52`);
  }
  return a;
}

function bounded(name: string, v: number, bits: number): bigint {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits)
    throw new Error(`${name} ${v} does not fit ${bits} bits`);
  return BigInt(v);
}

/** Bits at or above HAW (host address width) of a 64-bit word: reserved in every address field. */
export function aboveHawMask(haw: number): bigint {
  return M64 & ~((1n << BigInt(haw)) - 1n);
}

// ---------------------------------------------------------------------------------------------------
// Unit registers

/** Translation table mode of RTADDR_REG (TTM bits 11:10; QEMU VTD_RTADDR_SMT = bit 10). */
export type TableMode = 'legacy' | 'scalable';

export interface VtdCap {
  /** SAGAW bitmap (CAP[12:8]): bit 1 = 39-bit/3-level, bit 2 = 48-bit/4-level, bit 3 = 57-bit/5-level. */
  sagaw: number;
  /** Maximum guest address width in bits (CAP.MGAW + 1), e.g. 48. */
  mgaw: number;
  /** CAP.SLLPS bit 34: second-level 2 MiB pages. */
  sllps2m: boolean;
  /** CAP.SLLPS bit 35: second-level 1 GiB pages. */
  sllps1g: boolean;
  /** CAP bit 56: first-level 1 GiB pages. */
  fl1gp: boolean;
  /** CAP bit 60: first-level 5-level paging. */
  fl5lp: boolean;
}

export interface VtdEcap {
  /** ECAP bit 2: device-TLB (ATS) support; needed for context TT=01. */
  dt: boolean;
  /** ECAP bit 6: pass-through; needed for TT=10 / PGTT=100. */
  pt: boolean;
  /** ECAP bit 7: snoop control (SNP allowed in leaf second-level entries). */
  sc: boolean;
  /** ECAP bit 26: nested translation (PGTT=011). */
  nest: boolean;
  /** ECAP bit 29: page requests. */
  prs: boolean;
  /** ECAP bit 30: execute requests. */
  ers: boolean;
  /** ECAP bit 31: supervisor requests. */
  srs: boolean;
  /** ECAP[39:35] PSS: supported PASID width minus one. */
  pss: number;
  /** ECAP bit 40: PASID support. */
  pasid: boolean;
  /** ECAP bit 43: scalable-mode translation. */
  smts: boolean;
  /** ECAP bit 46: second-level translation in scalable mode (PGTT=010). */
  slts: boolean;
  /** ECAP bit 47: first-level translation (PGTT=001). */
  flts: boolean;
}

/** What a hardware walk needs of one DMA-remapping unit. */
export interface VtdUnitRegs {
  /** RTADDR_REG address field: the root table's physical address (4 KiB aligned). */
  rootTable: number;
  /** RTADDR_REG TTM: legacy (00) or scalable (01). */
  ttm: TableMode;
  /** Host address width in bits (ACPI DMAR HAW + 1); address bits at or above it are reserved. */
  haw: number;
  cap: VtdCap;
  ecap: VtdEcap;
}

/** A unit like QEMU's intel-iommu with aw-bits=48 plus 5-level support, 2 MiB/1 GiB pages, DT and PT. */
export function makeUnitRegs(
  rootTable: number,
  ttm: TableMode,
  overrides: { haw?: number; cap?: Partial<VtdCap>; ecap?: Partial<VtdEcap> } = {},
): VtdUnitRegs {
  return {
    rootTable,
    ttm,
    haw: overrides.haw ?? 48,
    cap: {
      sagaw: 0b01110,
      mgaw: 57,
      sllps2m: true,
      sllps1g: true,
      fl1gp: true,
      fl5lp: true,
      ...overrides.cap,
    },
    ecap: {
      dt: true,
      pt: true,
      sc: true,
      nest: true,
      prs: true,
      ers: true,
      srs: true,
      pss: 19,
      pasid: true,
      smts: true,
      slts: true,
      flts: true,
      ...overrides.ecap,
    },
  };
}

/** CAP_REG value holding the fields of VtdCap (other fields zero). */
export function encodeCap(cap: VtdCap): bigint {
  return (
    (bounded('SAGAW', cap.sagaw, 5) << 8n) |
    (bounded('MGAW-1', cap.mgaw - 1, 6) << 16n) |
    b(cap.sllps2m, 34) |
    b(cap.sllps1g, 35) |
    b(cap.fl1gp, 56) |
    b(cap.fl5lp, 60)
  );
}

export function decodeCap(v: bigint): VtdCap {
  return {
    sagaw: field(v, 8, 5),
    mgaw: field(v, 16, 6) + 1,
    sllps2m: bit(v, 34),
    sllps1g: bit(v, 35),
    fl1gp: bit(v, 56),
    fl5lp: bit(v, 60),
  };
}

/** ECAP_REG value holding the fields of VtdEcap (other fields zero). */
export function encodeEcap(e: VtdEcap): bigint {
  return (
    b(e.dt, 2) |
    b(e.pt, 6) |
    b(e.sc, 7) |
    b(e.nest, 26) |
    b(e.prs, 29) |
    b(e.ers, 30) |
    b(e.srs, 31) |
    (bounded('PSS', e.pss, 5) << 35n) |
    b(e.pasid, 40) |
    b(e.smts, 43) |
    b(e.slts, 46) |
    b(e.flts, 47)
  );
}

export function decodeEcap(v: bigint): VtdEcap {
  return {
    dt: bit(v, 2),
    pt: bit(v, 6),
    sc: bit(v, 7),
    nest: bit(v, 26),
    prs: bit(v, 29),
    ers: bit(v, 30),
    srs: bit(v, 31),
    pss: field(v, 35, 5),
    pasid: bit(v, 40),
    smts: bit(v, 43),
    slts: bit(v, 46),
    flts: bit(v, 47),
  };
}

// ---------------------------------------------------------------------------------------------------
// Entry layouts

export const ROOT_ENTRY_SIZE = 16;
export const CONTEXT_ENTRY_SIZE = 16;
export const SM_CONTEXT_ENTRY_SIZE = 32;
export const PASID_DIR_ENTRY_SIZE = 8;
export const PASID_ENTRY_SIZE = 64;

/** Legacy context-entry TT values (QEMU VTD_CONTEXT_TT_*, shifted down by 2). */
export const TT_MULTI_LEVEL = 0;
export const TT_DEV_IOTLB = 1;
export const TT_PASS_THROUGH = 2;

/** PASID-entry PGTT values (QEMU VTD_SM_PASID_ENTRY_FLT/SLT/NESTED/PT >> 6, Linux PASID_ENTRY_PGTT_*). */
export const PGTT_FL = 1;
export const PGTT_SL = 2;
export const PGTT_NESTED = 3;
export const PGTT_PT = 4;

/** Reserved-bit masks QEMU checks (the hot path splits them into 32-bit halves). */
export const ROOT_RSVD_LOW_BITS = 0xffen;
export const CONTEXT_RSVD_LO_LOW_BITS = 0xff0n;
export const CONTEXT_RSVD_HI = 0xffff_ffff_ff00_0080n;
export const SM_CONTEXT_RSVD_VAL0_LOW_BITS = 0x1e0n;
export const SM_CONTEXT_RSVD_VAL1 = 0xffff_ffff_ffe0_0000n;
export const PASID_DIR_RSVD_LOW_BITS = 0xffcn;

export interface RootEntry {
  present: boolean;
  /** Context-table pointer. */
  ctp: number;
}

export interface ScalableRootEntry {
  lowerPresent: boolean;
  lowerCtp: number;
  upperPresent: boolean;
  upperCtp: number;
}

export interface ContextEntry {
  present: boolean;
  fpd: boolean;
  /** 0 multi-level, 1 multi-level + device-TLB, 2 pass-through, 3 reserved. */
  tt: number;
  slptptr: number;
  /** 1 = 39-bit/3-level, 2 = 48-bit/4-level, 3 = 57-bit/5-level. */
  aw: number;
  did: number;
}

export interface ScalableContextEntry {
  present: boolean;
  fpd: boolean;
  dte: boolean;
  paside: boolean;
  pre: boolean;
  /** PASID directory size: 2^(pdts+7) entries. */
  pdts: number;
  pasidDirPtr: number;
  ridPasid: number;
  ridPriv: boolean;
}

export interface PasidDirEntry {
  present: boolean;
  fpd: boolean;
  tablePtr: number;
}

export interface PasidEntry {
  present: boolean;
  fpd: boolean;
  /** Second-level AW (levels = AW + 2). */
  aw: number;
  pgtt: number;
  ssade: boolean;
  slptptr: number;
  did: number;
  pwsnp: boolean;
  pgsnp: boolean;
  sre: boolean;
  ere: boolean;
  /** First-level paging mode: 0 = 4-level, 1 = 5-level. */
  flpm: number;
  wpe: boolean;
  eafe: boolean;
  flptptr: number;
}

const num = (v: bigint): number => Number(v);

export function encodeRootEntry(e: RootEntry): [bigint, bigint] {
  return [pageAddress('CTP', e.ctp) | b(e.present, 0), 0n];
}

/** Legacy root entry; reservedLow = lo[11:1] as a number, hiNonZero = the reserved upper word is not zero. */
export function decodeRootEntry(
  lo: bigint,
  hi: bigint,
): RootEntry & { reservedLow: number; hiNonZero: boolean } {
  return {
    present: bit(lo, 0),
    ctp: num(lo & ADDR_MASK),
    reservedLow: Number(lo & 0xffen),
    hiNonZero: hi !== 0n,
  };
}

export function encodeScalableRootEntry(e: ScalableRootEntry): [bigint, bigint] {
  return [
    pageAddress('LCTP', e.lowerCtp) | b(e.lowerPresent, 0),
    pageAddress('UCTP', e.upperCtp) | b(e.upperPresent, 0),
  ];
}

export function decodeScalableRootEntry(lo: bigint, hi: bigint): ScalableRootEntry {
  return {
    lowerPresent: bit(lo, 0),
    lowerCtp: num(lo & ADDR_MASK),
    upperPresent: bit(hi, 0),
    upperCtp: num(hi & ADDR_MASK),
  };
}

export function encodeContextEntry(e: ContextEntry): [bigint, bigint] {
  const lo =
    pageAddress('SLPTPTR', e.slptptr) | b(e.present, 0) | b(e.fpd, 1) | (bounded('TT', e.tt, 2) << 2n);
  const hi = bounded('AW', e.aw, 3) | (bounded('DID', e.did, 16) << 8n);
  return [lo, hi];
}

export function decodeContextEntry(lo: bigint, hi: bigint): ContextEntry & { avail: number } {
  return {
    present: bit(lo, 0),
    fpd: bit(lo, 1),
    tt: field(lo, 2, 2),
    slptptr: num(lo & ADDR_MASK),
    aw: field(hi, 0, 3),
    avail: field(hi, 3, 4),
    did: field(hi, 8, 16),
  };
}

export function encodeScalableContextEntry(e: ScalableContextEntry): [bigint, bigint, bigint, bigint] {
  const v0 =
    pageAddress('PASIDDIRPTR', e.pasidDirPtr) |
    b(e.present, 0) |
    b(e.fpd, 1) |
    b(e.dte, 2) |
    b(e.paside, 3) |
    b(e.pre, 4) |
    (bounded('PDTS', e.pdts, 3) << 9n);
  const v1 = bounded('RID_PASID', e.ridPasid, 20) | b(e.ridPriv, 20);
  return [v0, v1, 0n, 0n];
}

export function decodeScalableContextEntry(v: readonly bigint[]): ScalableContextEntry {
  return {
    present: bit(v[0], 0),
    fpd: bit(v[0], 1),
    dte: bit(v[0], 2),
    paside: bit(v[0], 3),
    pre: bit(v[0], 4),
    pdts: field(v[0], 9, 3),
    pasidDirPtr: num(v[0] & ADDR_MASK),
    ridPasid: field(v[1], 0, 20),
    ridPriv: bit(v[1], 20),
  };
}

export function encodePasidDirEntry(e: PasidDirEntry): bigint {
  return pageAddress('PASIDTPTR', e.tablePtr) | b(e.present, 0) | b(e.fpd, 1);
}

export function decodePasidDirEntry(v: bigint): PasidDirEntry {
  return { present: bit(v, 0), fpd: bit(v, 1), tablePtr: num(v & ADDR_MASK) };
}

export function encodePasidEntry(e: PasidEntry): bigint[] {
  const v0 =
    pageAddress('SLPTPTR', e.slptptr) |
    b(e.present, 0) |
    b(e.fpd, 1) |
    (bounded('AW', e.aw, 3) << 2n) |
    (bounded('PGTT', e.pgtt, 3) << 6n) |
    b(e.ssade, 9);
  const v1 = bounded('DID', e.did, 16) | b(e.pwsnp, 23) | b(e.pgsnp, 24);
  const v2 =
    pageAddress('FLPTPTR', e.flptptr) |
    b(e.sre, 0) |
    b(e.ere, 1) |
    (bounded('FLPM', e.flpm, 2) << 2n) |
    b(e.wpe, 4) |
    b(e.eafe, 7);
  return [v0, v1, v2, 0n, 0n, 0n, 0n, 0n];
}

export function decodePasidEntry(v: readonly bigint[]): PasidEntry {
  return {
    present: bit(v[0], 0),
    fpd: bit(v[0], 1),
    aw: field(v[0], 2, 3),
    pgtt: field(v[0], 6, 3),
    ssade: bit(v[0], 9),
    slptptr: num(v[0] & ADDR_MASK),
    did: field(v[1], 0, 16),
    pwsnp: bit(v[1], 23),
    pgsnp: bit(v[1], 24),
    sre: bit(v[2], 0),
    ere: bit(v[2], 1),
    flpm: field(v[2], 2, 2),
    wpe: bit(v[2], 4),
    eafe: bit(v[2], 7),
    flptptr: num(v[2] & ADDR_MASK),
  };
}

export interface SlPteFields {
  r: boolean;
  w: boolean;
  ps: boolean;
  snp: boolean;
  tm: boolean;
  addr: number;
}

export function decodeSlPte(v: bigint): SlPteFields {
  return {
    r: bit(v, 0),
    w: bit(v, 1),
    ps: bit(v, 7),
    snp: bit(v, 11),
    tm: bit(v, 62),
    addr: num(v & ADDR_MASK),
  };
}

export interface FlPteFields {
  p: boolean;
  rw: boolean;
  us: boolean;
  pwt: boolean;
  pcd: boolean;
  a: boolean;
  d: boolean;
  ps: boolean;
  g: boolean;
  xd: boolean;
  addr: number;
}

export function decodeFlPte(v: bigint): FlPteFields {
  return {
    p: bit(v, 0),
    rw: bit(v, 1),
    us: bit(v, 2),
    pwt: bit(v, 3),
    pcd: bit(v, 4),
    a: bit(v, 5),
    d: bit(v, 6),
    ps: bit(v, 7),
    g: bit(v, 8),
    xd: bit(v, 63),
    addr: num(v & ADDR_MASK),
  };
}

// ---------------------------------------------------------------------------------------------------
// Addresses and PhysMem access

export const rootEntryAddress = (rootTable: number, bus: number): number => rootTable + bus * ROOT_ENTRY_SIZE;

export function contextEntryAddress(table: number, devfn: number, scalable: boolean): number {
  return scalable ? table + (devfn & 0x7f) * SM_CONTEXT_ENTRY_SIZE : table + devfn * CONTEXT_ENTRY_SIZE;
}

/** PASID directory index is PASID[19:6] (QEMU VTD_PASID_DIR_INDEX). */
export const pasidDirEntryAddress = (dir: number, pasid: number): number =>
  dir + ((pasid >>> 6) & 0x3fff) * PASID_DIR_ENTRY_SIZE;

/** PASID table index is PASID[5:0] (QEMU VTD_PASID_TABLE_INDEX). */
export const pasidEntryAddress = (table: number, pasid: number): number =>
  table + (pasid & 0x3f) * PASID_ENTRY_SIZE;

function writeWords(mem: PhysMem, addr: number, words: readonly bigint[]): void {
  words.forEach((w, i) => mem.write64Big(addr + i * 8, w));
}

function readWords(mem: PhysMem, addr: number, n: number): bigint[] {
  return Array.from({ length: n }, (_, i) => mem.read64(addr + i * 8));
}

export function writeRootEntry(mem: PhysMem, rootTable: number, bus: number, e: RootEntry): void {
  writeWords(mem, rootEntryAddress(rootTable, bus), encodeRootEntry(e));
}

export function writeScalableRootEntry(
  mem: PhysMem,
  rootTable: number,
  bus: number,
  e: ScalableRootEntry,
): void {
  writeWords(mem, rootEntryAddress(rootTable, bus), encodeScalableRootEntry(e));
}

export function writeContextEntry(mem: PhysMem, table: number, devfn: number, e: ContextEntry): void {
  writeWords(mem, contextEntryAddress(table, devfn, false), encodeContextEntry(e));
}

export function writeScalableContextEntry(
  mem: PhysMem,
  table: number,
  devfn: number,
  e: ScalableContextEntry,
): void {
  writeWords(mem, contextEntryAddress(table, devfn, true), encodeScalableContextEntry(e));
}

export function writePasidDirEntry(mem: PhysMem, dir: number, pasid: number, e: PasidDirEntry): void {
  mem.write64Big(pasidDirEntryAddress(dir, pasid), encodePasidDirEntry(e));
}

export function writePasidEntry(mem: PhysMem, table: number, pasid: number, e: PasidEntry): void {
  writeWords(mem, pasidEntryAddress(table, pasid), encodePasidEntry(e));
}

/** Raw words of an entry: 2 for root/context, 4 for a scalable context entry, 1 for a PASID-dir entry, 8 for a PASID entry. */
export function readEntryWords(mem: PhysMem, addr: number, words: number): bigint[] {
  return readWords(mem, addr, words);
}

/** The words as one little-endian hex number, most significant word first (e.g. a 128-bit entry is 32 digits). */
export function wordsToHex(words: readonly bigint[]): string {
  return `0x${[...words]
    .reverse()
    .map((w) => w.toString(16).padStart(16, '0'))
    .join('')}`;
}

// ---------------------------------------------------------------------------------------------------
// Builders

export interface PasidEntryInit {
  pgtt: number;
  did: number;
  present?: boolean;
  fpd?: boolean;
  aw?: number;
  slptptr?: number;
  flptptr?: number;
  flpm?: number;
  sre?: boolean;
  ere?: boolean;
  wpe?: boolean;
  eafe?: boolean;
  ssade?: boolean;
  pwsnp?: boolean;
  pgsnp?: boolean;
}

export function pasidEntry(init: PasidEntryInit): PasidEntry {
  return {
    present: init.present ?? true,
    fpd: init.fpd ?? false,
    aw: init.aw ?? 0,
    pgtt: init.pgtt,
    ssade: init.ssade ?? false,
    slptptr: init.slptptr ?? 0,
    did: init.did,
    pwsnp: init.pwsnp ?? false,
    pgsnp: init.pgsnp ?? false,
    sre: init.sre ?? false,
    ere: init.ere ?? false,
    flpm: init.flpm ?? 0,
    wpe: init.wpe ?? false,
    eafe: init.eafe ?? false,
    flptptr: init.flptptr ?? 0,
  };
}

/**
 * Allocates and fills root/context/PASID tables in PhysMem. Tables are allocated on first use; entries written
 * through it are always well formed (use the write* functions directly to build broken ones).
 */
export class VtdTableBuilder {
  readonly rootTable: number;
  readonly scalable: boolean;
  /** bus → [lower (or legacy) context table, upper context table]. */
  private readonly ctxTables = new Map<number, [number, number]>();

  constructor(
    private readonly mem: PhysMem,
    mode: TableMode,
  ) {
    this.scalable = mode === 'scalable';
    this.rootTable = mem.allocFrame();
  }

  /** The context table serving sid (allocated and linked from the root entry if missing). */
  contextTable(sid: number): number {
    const bus = (sid >>> 8) & 0xff;
    const devfn = sid & 0xff;
    let tables = this.ctxTables.get(bus);
    if (tables === undefined) {
      tables = [0, 0];
      this.ctxTables.set(bus, tables);
    }
    const half = this.scalable && devfn > 0x7f ? 1 : 0;
    if (tables[half] === 0) {
      tables[half] = this.mem.allocFrame();
      if (this.scalable) {
        writeScalableRootEntry(this.mem, this.rootTable, bus, {
          lowerPresent: tables[0] !== 0,
          lowerCtp: tables[0],
          upperPresent: tables[1] !== 0,
          upperCtp: tables[1],
        });
      } else {
        writeRootEntry(this.mem, this.rootTable, bus, { present: true, ctp: tables[0] });
      }
    }
    return tables[half];
  }

  setContext(sid: number, e: Partial<ContextEntry> & { slptptr: number; did: number }): void {
    if (this.scalable) throw new Error('VtdTableBuilder: setContext on scalable-mode tables');
    writeContextEntry(this.mem, this.contextTable(sid), sid & 0xff, {
      present: true,
      fpd: false,
      tt: TT_MULTI_LEVEL,
      aw: 2,
      ...e,
    });
  }

  /** Writes a scalable context entry; allocates a PASID directory when pasidDirPtr is not given. Returns the directory. */
  setScalableContext(sid: number, e: Partial<ScalableContextEntry> = {}): number {
    if (!this.scalable) throw new Error('VtdTableBuilder: setScalableContext on legacy tables');
    const pdts = e.pdts ?? 0;
    const table = this.contextTable(sid);
    const dir = e.pasidDirPtr ?? this.allocPasidDirectory(pdts);
    writeScalableContextEntry(this.mem, table, sid & 0xff, {
      present: true,
      fpd: false,
      dte: false,
      paside: true,
      pre: false,
      ridPasid: 0,
      ridPriv: false,
      ...e,
      pdts,
      pasidDirPtr: dir,
    });
    return dir;
  }

  /** A PASID directory of 2^(pdts+7) entries in physically contiguous frames. */
  allocPasidDirectory(pdts: number): number {
    const bytes = 2 ** (pdts + 7) * PASID_DIR_ENTRY_SIZE;
    const frames = Math.max(1, Math.ceil(bytes / FRAME_SIZE));
    const first = this.mem.allocFrame();
    for (let i = 1; i < frames; i++) {
      const next = this.mem.allocFrame();
      if (next !== first + i * FRAME_SIZE)
        throw new Error('VtdTableBuilder: PASID directory frames not contiguous');
    }
    return first;
  }

  /** Writes the PASID entry for pasid under dir, allocating its PASID table (and directory entry) if missing. */
  setPasidEntry(dir: number, pasid: number, e: PasidEntry): number {
    const dirEntry = pasidDirEntryAddress(dir, pasid);
    let table = Number(this.mem.read64(dirEntry) & ADDR_MASK);
    if ((this.mem.readLo(dirEntry) & 1) === 0 || table === 0) {
      table = this.mem.allocFrame();
      writePasidDirEntry(this.mem, dir, pasid, { present: true, fpd: false, tablePtr: table });
    }
    writePasidEntry(this.mem, table, pasid, e);
    return pasidEntryAddress(table, pasid);
  }
}

/** First-level (x86) entry bits used by mapFirstLevel (QEMU VTD_FS_* / x86 paging). */
export const FL_P = 1;
export const FL_RW = 2;
export const FL_US = 4;
export const FL_A = 0x20;
export const FL_D = 0x40;
export const FL_PS = 0x80;
export const FL_XD_HI = 0x8000_0000;

export interface FlMapFlags {
  write: boolean;
  user: boolean;
  /** XD (bit 63) on the leaf. */
  noExec?: boolean;
}

/**
 * Maps one page (4 KiB, 2 MiB or 1 GiB: leaf at level 1, 2 or 3) in first-level tables rooted at root (levels
 * 4 or 5), allocating missing tables. Non-leaf entries are P | R/W | U/S (as Linux's first-stage tables are);
 * the leaf gets P, R/W and U/S per flags, PS for large pages and XD per flags. Throws when a large page would
 * replace a table or a table is needed under a large page.
 */
export function mapFirstLevel(
  mem: PhysMem,
  root: number,
  levels: 4 | 5,
  iova: bigint,
  pa: bigint,
  leafLevel: 1 | 2 | 3,
  flags: FlMapFlags,
): number {
  const shift = BigInt(12 + 9 * (leafLevel - 1));
  if ((iova | pa) & ((1n << shift) - 1n))
    throw new Error(`mapFirstLevel: ${hex(iova)} → ${hex(pa)} misaligned`);
  let table = root;
  for (let level: number = levels; ; level--) {
    const index = Number((iova >> BigInt(12 + 9 * (level - 1))) & 0x1ffn);
    const entry = table + index * 8;
    if (level === leafLevel) {
      const v =
        pa |
        BigInt(FL_P | (flags.write ? FL_RW : 0) | (flags.user ? FL_US : 0) | (level > 1 ? FL_PS : 0)) |
        (flags.noExec ? 1n << 63n : 0n);
      mem.write64Big(entry, v);
      return entry;
    }
    const cur = mem.read64(entry);
    if ((cur & 1n) === 0n) {
      const next = mem.allocFrame();
      mem.write64Big(entry, BigInt(next) | BigInt(FL_P | FL_RW | FL_US));
      table = next;
    } else {
      if (cur & BigInt(FL_PS)) throw new Error(`mapFirstLevel: large page in the way at level ${level}`);
      table = Number(cur & ADDR_MASK);
    }
  }
}
