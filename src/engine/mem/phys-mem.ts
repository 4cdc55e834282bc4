// Simulated physical memory holding the IOMMU's in-memory structures (root/context tables, PASID
// tables, page tables). Contract:
// - Sparse, in 4 KiB frames. A frame is either backed (readable and writable, zeroed when it becomes
//   backed) or unbacked: reads of unbacked addresses return 0 and writes throw, so a hardware model
//   checks isBacked() to report an access error.
// - allocFrame() is a bump allocator from `base` (default 0x1_0000_0000) that reuses freed frames
//   (most recently freed first); backFrame() backs a frame at a chosen address (firmware-placed tables).
// - Physical addresses are numbers below 2^52 (exactly representable). 64-bit words are little-endian
//   and 8-byte aligned; readLo/readHi/write64 move the 32-bit halves as unsigned numbers (the hot path),
//   read64/write64Big move whole words as bigint (control plane and tests). Misaligned access throws.
// Storage: one growable Uint32Array pool of 1024-word slots; frame → slot through a dense Int32Array for
// frames at or above `base` (the allocator's range) and a Map for frames placed elsewhere.

export const FRAME_SHIFT = 12;
export const FRAME_SIZE = 4096;
const WORDS_PER_FRAME = FRAME_SIZE / 4;
/** Highest physical address width the lab models (PTE address fields end at bit 51). */
export const PA_LIMIT = 2 ** 52;
/** Frames above base + this many frames are kept in the sparse map rather than the dense index. */
const DENSE_MAX_FRAMES = 1 << 24;
const TWO_32 = 2 ** 32;

export interface PhysMemOptions {
  /** Physical address of the allocator's first frame; 4 KiB aligned. Default 0x1_0000_0000 (4 GiB). */
  base?: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export class PhysMem {
  readonly base: number;
  private readonly baseFrame: number;
  /** 1024 words per slot; slot s holds words [s*1024, s*1024 + 1024). */
  private words = new Uint32Array(16 * WORDS_PER_FRAME);
  private slotCapacity = 16;
  private slotBump = 0;
  private readonly freeSlots: number[] = [];
  /** Dense frame index (frame number - baseFrame) → slot, -1 when unbacked. */
  private slotOf = new Int32Array(64).fill(-1);
  /** Frame number → slot for frames outside the dense index. */
  private readonly sparse = new Map<number, number>();
  /** Next dense index the bump allocator hands out. */
  private bump = 0;
  /** Freed dense indexes below `bump`, reused last-in first-out. */
  private readonly freeFrames: number[] = [];
  private inUse = 0;

  constructor(options: PhysMemOptions = {}) {
    const base = options.base ?? 0x1_0000_0000;
    if (!Number.isSafeInteger(base) || base < 0 || base % FRAME_SIZE !== 0 || base >= PA_LIMIT) {
      throw new Error(`PhysMem: base ${base} must be a 4 KiB-aligned address below 2^52`);
    }
    this.base = base;
    this.baseFrame = base / FRAME_SIZE;
  }

  /** Number of backed frames. */
  get framesInUse(): number {
    return this.inUse;
  }

  /** Backs a zeroed frame and returns its physical address: a freed frame if any, else the next new one. */
  allocFrame(): number {
    let idx = -1;
    while (this.freeFrames.length > 0) {
      const candidate = this.freeFrames.pop()!;
      if (this.slotOf[candidate] < 0) {
        idx = candidate;
        break;
      }
      // Backed meanwhile through backFrame(): not free any more.
    }
    while (idx < 0) {
      const next = this.bump;
      if (next >= DENSE_MAX_FRAMES || (this.baseFrame + next) * FRAME_SIZE >= PA_LIMIT) {
        throw new Error('PhysMem: out of simulated memory');
      }
      this.bump++;
      // Growing the index may pull in a frame backFrame() placed here: skip it if so.
      this.ensureDense(next);
      if (this.slotOf[next] < 0) idx = next;
    }
    const pa = (this.baseFrame + idx) * FRAME_SIZE;
    this.slotOf[idx] = this.takeSlot();
    this.inUse++;
    return pa;
  }

  /** Backs a zeroed frame at the 4 KiB-aligned address pa. Returns false (and changes nothing) if already backed. */
  backFrame(pa: number): boolean {
    this.checkFrameAddress(pa, 'backFrame');
    if (this.isBacked(pa)) return false;
    const fn = pa / FRAME_SIZE;
    const idx = fn - this.baseFrame;
    const slot = this.takeSlot();
    // Only frames the dense index already covers go there; others wait in the map until it grows.
    if (idx >= 0 && idx < this.slotOf.length) {
      this.slotOf[idx] = slot;
    } else {
      this.sparse.set(fn, slot);
    }
    this.inUse++;
    return true;
  }

  /** Unbacks the frame at the 4 KiB-aligned address pa; throws if it is not backed. */
  freeFrame(pa: number): void {
    this.checkFrameAddress(pa, 'freeFrame');
    const fn = pa / FRAME_SIZE;
    const idx = fn - this.baseFrame;
    let slot: number;
    if (idx >= 0 && idx < this.slotOf.length && this.slotOf[idx] >= 0) {
      slot = this.slotOf[idx];
      this.slotOf[idx] = -1;
      if (idx < this.bump) this.freeFrames.push(idx);
    } else if (this.sparse.has(fn)) {
      slot = this.sparse.get(fn)!;
      this.sparse.delete(fn);
    } else {
      throw new Error(`PhysMem: freeFrame(${hex(pa)}): frame is not backed`);
    }
    this.freeSlots.push(slot);
    this.inUse--;
  }

  /** Whether the frame containing pa (any byte address) is backed. */
  isBacked(pa: number): boolean {
    return this.slotFor(Math.floor(pa / FRAME_SIZE)) >= 0;
  }

  /** Low 32 bits (unsigned) of the 64-bit word at 8-byte-aligned pa; 0 when unbacked. */
  readLo(pa: number): number {
    const w = this.wordIndex(pa);
    return w < 0 ? 0 : this.words[w];
  }

  /** High 32 bits (unsigned) of the 64-bit word at 8-byte-aligned pa; 0 when unbacked. */
  readHi(pa: number): number {
    const w = this.wordIndex(pa);
    return w < 0 ? 0 : this.words[w + 1];
  }

  /** Writes the 64-bit word hi:lo at 8-byte-aligned pa (each half taken modulo 2^32). Throws when unbacked. */
  write64(pa: number, lo: number, hi: number): void {
    const w = this.wordIndex(pa);
    if (w < 0) throw new Error(`PhysMem: write to unbacked address ${hex(pa)}`);
    this.words[w] = lo;
    this.words[w + 1] = hi;
  }

  /** The 64-bit word at 8-byte-aligned pa as an unsigned bigint; 0n when unbacked. */
  read64(pa: number): bigint {
    const w = this.wordIndex(pa);
    if (w < 0) return 0n;
    return (BigInt(this.words[w + 1]) << 32n) | BigInt(this.words[w]);
  }

  /** Writes v (0 ≤ v < 2^64) at 8-byte-aligned pa. Throws when unbacked or v is out of range. */
  write64Big(pa: number, v: bigint): void {
    if (v < 0n || v >= 1n << 64n) throw new Error(`PhysMem: value ${v} is not an unsigned 64-bit word`);
    this.write64(pa, Number(v & 0xffff_ffffn), Number(v >> 32n));
  }

  private wordIndex(pa: number): number {
    const fn = Math.floor(pa / FRAME_SIZE);
    // off < 4096: integer ops (& and >>) instead of % and / on a double, which V8 compiles to fmod
    const off = pa - fn * FRAME_SIZE;
    if ((off & 7) !== 0 || (off | 0) !== off)
      throw new Error(`PhysMem: misaligned 64-bit access at ${hex(pa)} (must be 8-byte aligned)`);
    const slot = this.slotFor(fn);
    return slot < 0 ? -1 : slot * WORDS_PER_FRAME + (off >> 2);
  }

  private slotFor(fn: number): number {
    const idx = fn - this.baseFrame;
    if (idx >= 0 && idx < this.slotOf.length) return this.slotOf[idx];
    return this.sparse.get(fn) ?? -1;
  }

  private checkFrameAddress(pa: number, op: string): void {
    if (!Number.isSafeInteger(pa) || pa < 0 || pa >= PA_LIMIT || pa % FRAME_SIZE !== 0) {
      throw new Error(`PhysMem: ${op}(${pa}): address must be 4 KiB aligned and below 2^52`);
    }
  }

  /** Grows the dense index to cover idx, moving sparse frames that now fall inside it. */
  private ensureDense(idx: number): void {
    if (idx < this.slotOf.length) return;
    let len = this.slotOf.length;
    while (len <= idx) len *= 2;
    len = Math.min(len, DENSE_MAX_FRAMES);
    const grown = new Int32Array(len).fill(-1);
    grown.set(this.slotOf);
    this.slotOf = grown;
    for (const [fn, slot] of this.sparse) {
      const i = fn - this.baseFrame;
      if (i >= 0 && i < len) {
        grown[i] = slot;
        this.sparse.delete(fn);
      }
    }
  }

  /** A zeroed slot from the pool, growing it when full. */
  private takeSlot(): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      if (this.slotBump === this.slotCapacity) {
        this.slotCapacity *= 2;
        const grown = new Uint32Array(this.slotCapacity * WORDS_PER_FRAME);
        grown.set(this.words);
        this.words = grown;
      }
      slot = this.slotBump++;
    }
    this.words.fill(0, slot * WORDS_PER_FRAME, (slot + 1) * WORDS_PER_FRAME);
    return slot;
  }
}

/** Splits an address below 2^52 into the 32-bit halves of a 64-bit word. */
export function splitAddress(pa: number): { lo: number; hi: number } {
  const hi = Math.floor(pa / TWO_32);
  return { lo: pa - hi * TWO_32, hi };
}
