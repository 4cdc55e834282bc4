// A small seeded pseudo-random generator for synthetic traces: xoshiro128** (Blackman and Vigna),
// seeded through splitmix32 so that nearby seeds give unrelated streams. 32-bit integer math only, so
// the same seed gives the same numbers on every JavaScript engine and platform; nothing here reads a
// clock or Math.random. Not for cryptography.

/** splitmix32 step: a well-mixed 32-bit value from a counter. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** seed: an integer 0..2^53-1 (both 32-bit halves feed the state) */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed ${seed} is not an integer ≥ 0`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    this.a = splitmix32(lo);
    this.b = splitmix32(this.a ^ hi);
    this.c = splitmix32(this.b + 1);
    this.d = splitmix32(this.c ^ 0x5bd1e995);
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1;
  }

  /** The next uniformly distributed uint32. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** An integer in [0, n), n ≤ 2^32 (multiply-shift: no modulo bias worth measuring for n ≪ 2^32). */
  below(n: number): number {
    return Math.floor((this.next() / 2 ** 32) * n);
  }

  /** True with probability p (0 ≤ p ≤ 1), decided on a 32-bit draw. */
  chance(p: number): boolean {
    return this.next() < p * 2 ** 32;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
