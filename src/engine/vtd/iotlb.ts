// VT-d translation caches in typed arrays: IOTLB (and a device-TLB of the same shape), context cache and
// PASID cache. Contract:
// - Fixed capacity chosen at construction; lookups never allocate. Keys and tags are numbers:
//   IOTLB/device-TLB: key (source id, PASID key, page number at the leaf's granularity, leaf level), tagged by
//   domain id (DID) and PGTT. A lookup probes level 1, then 2 and 3 only when entries of that level exist (QEMU
//   vtd_lookup_iotlb probes levels 1..3). Requests without PASID use NO_PASID in legacy mode and the context's
//   RID_PASID in scalable mode (QEMU vtd_do_iommu_translate).
//   Context cache: direct-mapped by source id, invalidated by generation like QEMU's context_cache_gen.
//   PASID cache: direct-mapped by hash of (source id, PASID), tagged by DID.
// - Invalidations follow the descriptors Linux issues: global, domain-selective (DID), page-selective (DID,
//   address, AM: 2^AM pages), PASID-based (DID, PASID, optionally page-selective), device-TLB (source id,
//   optionally PASID and range), context-cache (global, device with function mask), PASID-cache (global,
//   DID, DID + PASID). Page-selective IOTLB invalidation also drops every first-level/nested entry of the DID
//   (QEMU vtd_hash_remove_by_page); PASID-based invalidation only touches first-level/nested entries (QEMU
//   vtd_hash_remove_by_page_piotlb). Ranges use an overlap test: an entry goes if its page overlaps the range.
// - Mode 'hardware': a cached entry is used until invalidated, even if the tables changed. Mode 'strict':
//   translate.ts revalidates every hit by walking the tables (as if invalidations were immediate) and uses the
//   caches only to notice stale entries.
// - markStale(): the control plane removed a translation without invalidating; matching IOTLB/device-TLB
//   entries are marked with the unmap's event index and time. A later hit on a marked entry is reported by
//   translate.ts (TranslateResult.stale) as a DMA that succeeded only through a stale entry.
// - Overflow: a full set evicts round robin (QEMU instead flushes all at 1024 entries; sizes here are options).

import { PGTT_FL, PGTT_NESTED } from './structures';

export type CacheMode = 'hardware' | 'strict';

/** PASID key of requests without PASID in legacy mode (outside the 20-bit PASID space, like QEMU's PCI_NO_PASID). */
export const NO_PASID = 0x10_0000;

const TWO_32 = 2 ** 32;

function log2Exact(name: string, n: number): number {
  const l = Math.log2(n);
  if (!Number.isInteger(l) || l < 0 || l > 24)
    throw new Error(`${name} must be a power of two up to 2^24, not ${n}`);
  return l;
}

/** Page number (4 KiB units) of the first page of an entry of `level` whose level-granular page number is gHi:gLo. */
function entryFirstPage(gHi: number, gLo: number, level: number): number {
  return (gHi * TWO_32 + gLo) * 2 ** (9 * (level - 1));
}

// TranslationCache slot layout: STRIDE int32 words per slot in one Int32Array (locality on the hot path).
export const STRIDE = 8;
/** Level-granular page number, low 32 bits. */
export const E_GLO = 0;
/** Key word: sid | level << 16 | VALID. */
export const E_KEY = 1;
export const E_PASID = 2;
/** Level-granular page number, high bits. */
export const E_GHI = 3;
/** Leaf page base address, low and high 32 bits. */
export const E_PALO = 4;
export const E_PAHI = 5;
/** Data word: did | perms << 16 (R, W, X, U: 4 bits) | pgtt << 20 | fpd << 23 | stale << 24 | SRE << 25 | ERE << 26. */
export const E_DATA = 6;
export const DATA_PERMS_SHIFT = 16;
export const DATA_PGTT_SHIFT = 20;
export const DATA_FPD_SHIFT = 23;
export const DATA_STALE = 1 << 24;
/** The PASID entry the translation came from had SRE / ERE set (checked again on a hit). */
export const DATA_SRE = 1 << 25;
export const DATA_ERE = 1 << 26;
export const KEY_VALID = 1 << 19;

/** Set-associative cache of leaf translations (the IOTLB, and the device-TLB). */
export class TranslationCache {
  readonly capacity: number;
  readonly ways: number;
  private readonly setMask: number;
  /** STRIDE words per slot; see the E_* offsets. */
  readonly e: Int32Array;
  /** Physical address of the leaf entry each translation came from. */
  readonly pteAddr: Float64Array;
  readonly staleEvent: Float64Array;
  readonly staleTime: Float64Array;
  private readonly victim: Uint8Array;
  private readonly perLevel = new Int32Array(6);
  private live = 0;
  hits = 0;
  misses = 0;

  constructor(entries = 4096, ways = 4) {
    log2Exact('TranslationCache entries', entries);
    log2Exact('TranslationCache ways', ways);
    if (ways > entries) throw new Error('TranslationCache: more ways than entries');
    this.capacity = entries;
    this.ways = ways;
    this.setMask = entries / ways - 1;
    this.e = new Int32Array(entries * STRIDE);
    this.pteAddr = new Float64Array(entries);
    this.staleEvent = new Float64Array(entries);
    this.staleTime = new Float64Array(entries);
    this.victim = new Uint8Array(entries / ways);
  }

  /** Valid entries. */
  get size(): number {
    return this.live;
  }

  // Accessors by slot (control plane, tests; the hot path reads `e` directly).
  isValid(slot: number): boolean {
    return (this.e[slot * STRIDE + E_KEY] & KEY_VALID) !== 0;
  }
  sid(slot: number): number {
    return this.e[slot * STRIDE + E_KEY] & 0xffff;
  }
  level(slot: number): number {
    return (this.e[slot * STRIDE + E_KEY] >>> 16) & 7;
  }
  pasid(slot: number): number {
    return this.e[slot * STRIDE + E_PASID] >>> 0;
  }
  did(slot: number): number {
    return this.e[slot * STRIDE + E_DATA] & 0xffff;
  }
  /** PERM_R 1 | PERM_W 2 | PERM_X 4 | PERM_U 8 (translate.ts). */
  perms(slot: number): number {
    return (this.e[slot * STRIDE + E_DATA] >>> DATA_PERMS_SHIFT) & 15;
  }
  pgtt(slot: number): number {
    return (this.e[slot * STRIDE + E_DATA] >>> DATA_PGTT_SHIFT) & 7;
  }
  fpd(slot: number): number {
    return (this.e[slot * STRIDE + E_DATA] >>> DATA_FPD_SHIFT) & 1;
  }
  stale(slot: number): number {
    return (this.e[slot * STRIDE + E_DATA] & DATA_STALE) !== 0 ? 1 : 0;
  }
  /** Leaf page base address as a number. */
  pageBase(slot: number): number {
    return (this.e[slot * STRIDE + E_PAHI] >>> 0) * TWO_32 + (this.e[slot * STRIDE + E_PALO] >>> 0);
  }
  /** First 4 KiB page number the slot's translation covers. */
  firstPage(slot: number): number {
    const w = slot * STRIDE;
    return entryFirstPage(this.e[w + E_GHI] >>> 0, this.e[w + E_GLO] >>> 0, this.level(slot));
  }

  private setBase(key: number, pasid: number, gLo: number): number {
    // Low bits of gLo·odd are a bijection of gLo's low bits: consecutive pages of one requester spread over sets.
    const h = Math.imul(gLo, 0x9e37_79b1) ^ Math.imul(key ^ (pasid << 11), 0x85eb_ca6b);
    return (h & this.setMask) * this.ways;
  }

  /** Slot holding exactly this key, or -1. gLo/gHi as int32 (x | 0). */
  private probe(key: number, pasid: number, gLo: number, gHi: number): number {
    const e = this.e;
    const base = this.setBase(key, pasid, gLo);
    const end = base + this.ways;
    for (let s = base; s < end; s++) {
      const w = s * STRIDE;
      if (e[w + E_GLO] === gLo && e[w + E_KEY] === key && e[w + E_PASID] === pasid && e[w + E_GHI] === gHi) {
        return s;
      }
    }
    return -1;
  }

  /** The slot translating the page of address addrHi:addrLo for (sid, pasid), or -1; counts the hit or miss. */
  lookup(sid: number, pasid: number, addrHi: number, addrLo: number): number {
    const s = this.find(sid, pasid, addrHi, addrLo);
    if (s < 0) this.misses++;
    else this.hits++;
    return s;
  }

  /**
   * A clean hit: the entry translating the page of addrHi:addrLo for (sid, pasid) grants every permission bit
   * of `need` and is not stale. Then counts the hit and returns true; else false, counting nothing.
   */
  hitClean(sid: number, pasid: number, addrHi: number, addrLo: number, need: number): boolean {
    let s = this.probe(sid | (1 << 16) | KEY_VALID, pasid, (addrLo >>> 12) | (addrHi << 20), addrHi >>> 12);
    if (s < 0 && (this.perLevel[2]! | this.perLevel[3]!) !== 0)
      s = this.findLarge(sid, pasid, addrHi, addrLo);
    if (s < 0) return false;
    const data = this.e[s * STRIDE + E_DATA]!;
    if (((data >>> DATA_PERMS_SHIFT) & need) !== need || (data & DATA_STALE) !== 0) return false;
    this.hits++;
    return true;
  }

  /** lookup() without counting: the slot, or -1. The caller counts what it makes of it (hits, misses). */
  find(sid: number, pasid: number, addrHi: number, addrLo: number): number {
    const s = this.probe(sid | (1 << 16) | KEY_VALID, pasid, (addrLo >>> 12) | (addrHi << 20), addrHi >>> 12);
    return s >= 0 || (this.perLevel[2]! | this.perLevel[3]!) === 0
      ? s
      : this.findLarge(sid, pasid, addrHi, addrLo);
  }

  /** find() among 2 MiB and 1 GiB entries (levels 2, then 3): what find() does when level 1 has no entry. */
  findLarge(sid: number, pasid: number, addrHi: number, addrLo: number): number {
    let s = -1;
    if (this.perLevel[2] !== 0) {
      s = this.probe(sid | (2 << 16) | KEY_VALID, pasid, (addrLo >>> 21) | (addrHi << 11), addrHi >>> 21);
    }
    if (s < 0 && this.perLevel[3] !== 0) {
      s = this.probe(sid | (3 << 16) | KEY_VALID, pasid, (addrLo >>> 30) | (addrHi << 2), addrHi >>> 30);
    }
    return s;
  }

  /**
   * Caches the translation of the page of addrHi:addrLo at leaf `level` (1–3) whose leaf base is paHi:paLo.
   * Replaces an entry with the same key; otherwise takes a free way of the set or evicts round robin.
   */
  insert(
    sid: number,
    pasid: number,
    addrHi: number,
    addrLo: number,
    level: number,
    did: number,
    paHi: number,
    paLo: number,
    perms: number,
    pgtt: number,
    fpd: number,
    pteAddr: number,
    /** DATA_SRE | DATA_ERE of the PASID entry (0 in legacy mode). */
    peFlags = 0,
  ): number {
    const shift = 12 + 9 * (level - 1);
    const gLo = (addrLo >>> shift) | (addrHi << (32 - shift));
    const gHi = addrHi >>> shift;
    const key = (sid & 0xffff) | (level << 16) | KEY_VALID;
    const e = this.e;
    let slot = this.probe(key, pasid, gLo, gHi);
    if (slot < 0) {
      const base = this.setBase(key, pasid, gLo);
      for (let s = base; s < base + this.ways; s++) {
        if ((e[s * STRIDE + E_KEY] & KEY_VALID) === 0) {
          slot = s;
          break;
        }
      }
      if (slot < 0) {
        const set = base / this.ways;
        slot = base + this.victim[set];
        this.victim[set] = (this.victim[set] + 1) % this.ways;
        this.drop(slot);
      }
      this.perLevel[level]++;
      this.live++;
    }
    const w = slot * STRIDE;
    e[w + E_GLO] = gLo;
    e[w + E_KEY] = key;
    e[w + E_PASID] = pasid;
    e[w + E_GHI] = gHi;
    e[w + E_PALO] = paLo;
    e[w + E_PAHI] = paHi;
    e[w + E_DATA] =
      (did & 0xffff) |
      ((perms & 15) << DATA_PERMS_SHIFT) |
      ((pgtt & 7) << DATA_PGTT_SHIFT) |
      ((fpd & 1) << DATA_FPD_SHIFT) |
      (peFlags & (DATA_SRE | DATA_ERE));
    this.pteAddr[slot] = pteAddr;
    this.staleEvent[slot] = 0;
    this.staleTime[slot] = 0;
    return slot;
  }

  /** Invalidates one slot. */
  drop(slot: number): void {
    const w = slot * STRIDE + E_KEY;
    const k = this.e[w];
    if ((k & KEY_VALID) === 0) return;
    this.e[w] = 0;
    this.perLevel[(k >>> 16) & 7]--;
    this.live--;
  }

  private dropWhere(pred: (slot: number) => boolean): number {
    let n = 0;
    for (let s = 0; s < this.capacity; s++) {
      if (this.isValid(s) && pred(s)) {
        this.drop(s);
        n++;
      }
    }
    return n;
  }

  /** Whether the slot's page overlaps [firstPage, firstPage + pages) (4 KiB page numbers). */
  overlaps(slot: number, firstPage: number, pages: number): boolean {
    const start = this.firstPage(slot);
    return start < firstPage + pages && firstPage < start + 2 ** (9 * (this.level(slot) - 1));
  }

  private isFirstLevel(slot: number): boolean {
    const p = this.pgtt(slot);
    return p === PGTT_FL || p === PGTT_NESTED;
  }

  /** Global invalidation. Returns the entries dropped. */
  invalidateAll(): number {
    const n = this.live;
    for (let s = 0; s < this.capacity; s++) this.e[s * STRIDE + E_KEY] = 0;
    this.perLevel.fill(0);
    this.live = 0;
    return n;
  }

  /** Domain-selective invalidation. */
  invalidateDomain(did: number): number {
    return this.dropWhere((s) => this.did(s) === did);
  }

  /**
   * Page-selective-within-domain invalidation: 2^am pages from the page of addrHi:addrLo aligned down to 2^am
   * pages. First-level and nested entries of the DID all go (QEMU vtd_hash_remove_by_page, VT-d spec IOTLB PSI).
   */
  invalidatePage(did: number, addrHi: number, addrLo: number, am: number): number {
    const pages = 2 ** am;
    const first = Math.floor((addrHi * TWO_32 + addrLo) / 4096 / pages) * pages;
    return this.dropWhere(
      (s) => this.did(s) === did && (this.isFirstLevel(s) || this.overlaps(s, first, pages)),
    );
  }

  /** PASID-based IOTLB invalidation of all first-level/nested entries of (DID, PASID). */
  invalidatePasid(did: number, pasid: number): number {
    return this.dropWhere((s) => this.did(s) === did && this.pasid(s) === pasid && this.isFirstLevel(s));
  }

  /** PASID-based page-selective invalidation (first-level/nested entries only, QEMU vtd_hash_remove_by_page_piotlb). */
  invalidatePasidPage(did: number, pasid: number, addrHi: number, addrLo: number, am: number): number {
    const pages = 2 ** am;
    const first = Math.floor((addrHi * TWO_32 + addrLo) / 4096 / pages) * pages;
    return this.dropWhere(
      (s) =>
        this.did(s) === did &&
        this.pasid(s) === pasid &&
        this.isFirstLevel(s) &&
        this.overlaps(s, first, pages),
    );
  }

  /**
   * Invalidation by source id (the device-TLB invalidation descriptor): pasid -1 for every PASID, sizeOrder -1
   * for the whole address space, else 2^sizeOrder pages from the aligned page of addrHi:addrLo.
   */
  invalidateSource(sid: number, pasid: number, addrHi: number, addrLo: number, sizeOrder: number): number {
    const whole = sizeOrder < 0;
    const pages = whole ? 0 : 2 ** sizeOrder;
    const first = whole ? 0 : Math.floor((addrHi * TWO_32 + addrLo) / 4096 / pages) * pages;
    return this.dropWhere(
      (s) =>
        this.sid(s) === sid &&
        (pasid < 0 || this.pasid(s) === pasid) &&
        (whole || this.overlaps(s, first, pages)),
    );
  }

  /**
   * Marks the entries of `did` overlapping pages [firstPage, firstPage + count) (firstPage = pageHi·2^32 + pageLo)
   * as stale since unmap event eventIndex at `time`. An entry already stale keeps its first unmap. Returns the
   * number of entries marked.
   */
  markStale(
    did: number,
    pageHi: number,
    pageLo: number,
    count: number,
    eventIndex: number,
    time: number,
  ): number {
    const first = pageHi * TWO_32 + pageLo;
    let n = 0;
    for (let s = 0; s < this.capacity; s++) {
      if (this.isValid(s) && this.did(s) === did && this.overlaps(s, first, count)) {
        if (this.stale(s) === 0) {
          this.e[s * STRIDE + E_DATA] |= DATA_STALE;
          this.staleEvent[s] = eventIndex;
          this.staleTime[s] = time;
        }
        n++;
      }
    }
    return n;
  }
}

/** Context-cache flag bits (scalable-mode context entry). */
export const CC_DTE = 1;
export const CC_PASIDE = 2;
export const CC_PRE = 4;

/**
 * Context cache: the decoded context entry of a source id. Direct-mapped by sid & (entries - 1) with the sid as
 * tag; invalidateAll() bumps a generation (QEMU context_cache_gen) instead of touching the entries.
 */
/**
 * The source-id bits a device-selective context-cache invalidation ignores, for its function mask fm:
 * 0 none, 1 devfn bit 2, 2 bits 2:1, 3 bits 2:0.
 */
export function functionMaskBits(fm: number): number {
  return (0x07060400 >>> ((fm & 3) * 8)) & 0xff;
}

export class ContextCache {
  readonly capacity: number;
  private gen = 1;
  readonly tag: Int32Array;
  readonly entryGen: Uint32Array;
  readonly fpd: Uint8Array;
  readonly did: Uint16Array;
  /** Legacy TT (0–2). */
  readonly tt: Uint8Array;
  /** Legacy second-level levels (3–5). */
  readonly levels: Uint8Array;
  /** Legacy: SLPTPTR. Scalable: PASID directory pointer. */
  readonly table: Float64Array;
  readonly ridPasid: Uint32Array;
  readonly flags: Uint8Array;
  readonly pdts: Uint8Array;
  readonly entryAddr: Float64Array;
  hits = 0;
  misses = 0;
  /**
   * Told of every invalidation: sid -1 for a global (or domain-selective) one, else the source id and
   * function mask of a device-selective one (the 'qemu-7.2' translator re-decides pass-through then).
   */
  onInvalidate: ((sid: number, fm: number) => void) | null = null;

  constructor(entries = 4096) {
    log2Exact('ContextCache entries', entries);
    this.capacity = entries;
    this.tag = new Int32Array(entries).fill(-1);
    this.entryGen = new Uint32Array(entries);
    this.fpd = new Uint8Array(entries);
    this.did = new Uint16Array(entries);
    this.tt = new Uint8Array(entries);
    this.levels = new Uint8Array(entries);
    this.table = new Float64Array(entries);
    this.ridPasid = new Uint32Array(entries);
    this.flags = new Uint8Array(entries);
    this.pdts = new Uint8Array(entries);
    this.entryAddr = new Float64Array(entries);
  }

  lookup(sid: number): number {
    const s = sid & (this.capacity - 1);
    if (this.tag[s] === sid && this.entryGen[s] === this.gen) {
      this.hits++;
      return s;
    }
    this.misses++;
    return -1;
  }

  /** Whether sid's context entry is cached and valid, without counting a hit or a miss. */
  valid(sid: number): boolean {
    const s = sid & (this.capacity - 1);
    return this.tag[s] === sid && this.entryGen[s] === this.gen;
  }

  insert(
    sid: number,
    fpd: number,
    did: number,
    tt: number,
    levels: number,
    table: number,
    ridPasid: number,
    flags: number,
    pdts: number,
    entryAddr: number,
  ): number {
    const s = sid & (this.capacity - 1);
    this.tag[s] = sid;
    this.entryGen[s] = this.gen;
    this.fpd[s] = fpd;
    this.did[s] = did;
    this.tt[s] = tt;
    this.levels[s] = levels;
    this.table[s] = table;
    this.ridPasid[s] = ridPasid;
    this.flags[s] = flags;
    this.pdts[s] = pdts;
    this.entryAddr[s] = entryAddr;
    return s;
  }

  /** Global (and, as in QEMU vtd_context_cache_invalidate, domain-selective) context-cache invalidation. */
  invalidateAll(): void {
    this.gen++;
    if (this.gen === 0xffff_ffff) {
      this.tag.fill(-1);
      this.gen = 1;
    }
    this.onInvalidate?.(-1, 0);
  }

  /**
   * Device-selective invalidation: source id with function mask fm (QEMU vtd_context_device_invalidate).
   */
  invalidateDevice(sid: number, fm: number): number {
    const ignore = functionMaskBits(fm);
    let n = 0;
    for (let s = 0; s < this.capacity; s++) {
      const t = this.tag[s];
      if (t >= 0 && (t | ignore) === (sid | ignore)) {
        this.tag[s] = -1;
        n++;
      }
    }
    this.onInvalidate?.(sid, fm);
    return n;
  }
}

/** PASID-cache flag bits (PASID entry). */
export const PC_SRE = 1;
export const PC_ERE = 2;
export const PC_WPE = 4;

/** PASID cache: decoded PASID entries (with the directory entry's FPD folded in), direct-mapped by (sid, PASID). */
export class PasidCache {
  readonly capacity: number;
  readonly tagSid: Int32Array;
  readonly tagPasid: Uint32Array;
  readonly did: Uint16Array;
  readonly pgtt: Uint8Array;
  readonly fpd: Uint8Array;
  readonly slptptr: Float64Array;
  readonly flptptr: Float64Array;
  /** Second-level AW field (levels = aw + 2). */
  readonly aw: Uint8Array;
  readonly flLevels: Uint8Array;
  readonly flags: Uint8Array;
  readonly entryAddr: Float64Array;
  hits = 0;
  misses = 0;

  constructor(entries = 4096) {
    log2Exact('PasidCache entries', entries);
    this.capacity = entries;
    this.tagSid = new Int32Array(entries).fill(-1);
    this.tagPasid = new Uint32Array(entries);
    this.did = new Uint16Array(entries);
    this.pgtt = new Uint8Array(entries);
    this.fpd = new Uint8Array(entries);
    this.slptptr = new Float64Array(entries);
    this.flptptr = new Float64Array(entries);
    this.aw = new Uint8Array(entries);
    this.flLevels = new Uint8Array(entries);
    this.flags = new Uint8Array(entries);
    this.entryAddr = new Float64Array(entries);
  }

  private slotOf(sid: number, pasid: number): number {
    let h = Math.imul(pasid, 0x9e37_79b1) ^ Math.imul(sid, 0x85eb_ca6b);
    h ^= h >>> 16;
    return h & (this.capacity - 1);
  }

  lookup(sid: number, pasid: number): number {
    const s = this.slotOf(sid, pasid);
    if (this.tagSid[s] === sid && this.tagPasid[s] === pasid) {
      this.hits++;
      return s;
    }
    this.misses++;
    return -1;
  }

  insert(
    sid: number,
    pasid: number,
    did: number,
    pgtt: number,
    fpd: number,
    slptptr: number,
    flptptr: number,
    aw: number,
    flLevels: number,
    flags: number,
    entryAddr: number,
  ): number {
    const s = this.slotOf(sid, pasid);
    this.tagSid[s] = sid;
    this.tagPasid[s] = pasid;
    this.did[s] = did;
    this.pgtt[s] = pgtt;
    this.fpd[s] = fpd;
    this.slptptr[s] = slptptr;
    this.flptptr[s] = flptptr;
    this.aw[s] = aw;
    this.flLevels[s] = flLevels;
    this.flags[s] = flags;
    this.entryAddr[s] = entryAddr;
    return s;
  }

  invalidateAll(): void {
    this.tagSid.fill(-1);
  }

  /** PASID-cache invalidation, domain-selective (pasid -1) or PASID-selective. */
  invalidate(did: number, pasid = -1): number {
    let n = 0;
    for (let s = 0; s < this.capacity; s++) {
      if (this.tagSid[s] >= 0 && this.did[s] === did && (pasid < 0 || this.tagPasid[s] === pasid)) {
        this.tagSid[s] = -1;
        n++;
      }
    }
    return n;
  }
}

export interface VtdCachesOptions {
  mode?: CacheMode;
  /** IOTLB entries (power of two, default 4096) and ways (default 4). */
  iotlbEntries?: number;
  /** false: no IOTLB (every request walks; the context and PASID caches still work). Default true. */
  iotlb?: boolean;
  iotlbWays?: number;
  deviceTlbEntries?: number;
  contextEntries?: number;
  pasidEntries?: number;
}

/** The caches of one DMA-remapping unit, plus the device-TLBs (ATCs) of the devices behind it. */
export class VtdCaches {
  readonly mode: CacheMode;
  readonly iotlbEnabled: boolean;
  readonly iotlb: TranslationCache;
  /** Translations handed to devices by translation requests (AT=1), as their ATCs hold them. */
  readonly deviceTlb: TranslationCache;
  readonly context: ContextCache;
  readonly pasid: PasidCache;

  constructor(options: VtdCachesOptions = {}) {
    this.mode = options.mode ?? 'hardware';
    if (this.mode !== 'hardware' && this.mode !== 'strict') {
      throw new Error(`VtdCaches: mode must be 'hardware' or 'strict', not ${String(this.mode)}`);
    }
    this.iotlbEnabled = options.iotlb ?? true;
    this.iotlb = new TranslationCache(options.iotlbEntries ?? 4096, options.iotlbWays ?? 4);
    this.deviceTlb = new TranslationCache(options.deviceTlbEntries ?? 1024, 4);
    this.context = new ContextCache(options.contextEntries ?? 4096);
    this.pasid = new PasidCache(options.pasidEntries ?? 4096);
  }

  /** Marks stale IOTLB and device-TLB entries; see TranslationCache.markStale. */
  markStale(
    did: number,
    pageHi: number,
    pageLo: number,
    count: number,
    eventIndex: number,
    time: number,
  ): number {
    return (
      this.iotlb.markStale(did, pageHi, pageLo, count, eventIndex, time) +
      this.deviceTlb.markStale(did, pageHi, pageLo, count, eventIndex, time)
    );
  }

  /** Everything, as after SRTP or a global invalidation of every cache. */
  invalidateAll(): void {
    this.iotlb.invalidateAll();
    this.deviceTlb.invalidateAll();
    this.context.invalidateAll();
    this.pasid.invalidateAll();
  }
}
