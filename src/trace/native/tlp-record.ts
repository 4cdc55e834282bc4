// The fixed-size TLP record: 32 bytes = 8 little-endian uint32 words, the unit of the native trace's
// chunks and of the SharedArrayBuffer ring between the decoder and engine workers. The hot path reads
// the words straight from a Uint32Array (integer math only, never a BigInt per record); TlpRecord is
// the object form for tests, tools and slow paths. Layout (docs/trace-format.md):
//
//   word 0  time, low 32 bits     time: integer nanoseconds since the capture's time origin, as two
//   word 1  time, high 32 bits    uint32 halves (exact integers, read without BigInt or DataView)
//   word 2  bits 0-15 requester ID (bus << 8 | devfn), bits 16-31 PCI segment
//   word 3  bits 0-19 PASID, 20 PASID present, 21 T (TEE-IO), 22-23 AT, 24-25 access
//           (0 read, 1 write, 2 atomic), 26 execute requested, 27 privileged mode; 28-31 zero
//   word 4  address, low 32 bits
//   word 5  address, high 32 bits
//   word 6  length in bytes
//   word 7  reserved, zero
import { isU53, TWO_32 } from './layout';

export const TLP_RECORD_BYTES = 32;
export const TLP_RECORD_WORDS = 8;

/** word indexes inside a record */
export const W_TIME_LO = 0;
export const W_TIME_HI = 1;
export const W_RID_SEGMENT = 2;
export const W_FLAGS = 3;
export const W_ADDR_LO = 4;
export const W_ADDR_HI = 5;
export const W_LEN = 6;
export const W_RESERVED = 7;

/** bits of word 3 */
export const F_PASID_MASK = 0xfffff;
export const F_PASID_PRESENT = 1 << 20;
export const F_T = 1 << 21;
export const F_AT_SHIFT = 22;
export const F_ACCESS_SHIFT = 24;
export const F_EXEC = 1 << 26;
export const F_PRIV = 1 << 27;
export const F_RESERVED_MASK = 0xf0000000;

/** access codes (bits 24-25 of word 3) */
export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_ATOMIC = 2;

/** PCIe Address Type (AT) */
export const AT_UNTRANSLATED = 0;
export const AT_TRANSLATION_REQUEST = 1;
export const AT_TRANSLATED = 2;

export type TlpAccess = 'read' | 'write' | 'atomic';
const ACCESS_NAMES: readonly TlpAccess[] = ['read', 'write', 'atomic'];

export interface TlpRecord {
  /** integer nanoseconds, below 2^53 */
  time: number;
  /** bus << 8 | device << 3 | function */
  requesterId: number;
  segment: number;
  /** 20-bit PASID, or null when the TLP carries no PASID prefix */
  pasid: number | null;
  /** the TEE-IO T bit */
  tBit: boolean;
  /** Address Type, 0-3 */
  at: number;
  access: TlpAccess;
  /** PASID prefix: execute requested */
  exec: boolean;
  /** PASID prefix: privileged mode requested */
  priv: boolean;
  /** 64-bit address */
  addr: bigint;
  /** bytes, 0 to 2^32-1 */
  len: number;
}

/** The problem with a record's fields, or null when it can be encoded. */
export function tlpProblem(r: TlpRecord): string | null {
  if (!isU53(r.time)) return `time ${r.time} is not an integer number of ns in 0..2^53`;
  if (!isUint(r.requesterId, 0xffff)) return `requester ID ${r.requesterId} is not a 16-bit value`;
  if (!isUint(r.segment, 0xffff)) return `segment ${r.segment} is not a 16-bit value`;
  if (r.pasid !== null && !isUint(r.pasid, F_PASID_MASK)) return `PASID ${r.pasid} is not a 20-bit value`;
  if (!isUint(r.at, 3)) return `AT ${r.at} is not a 2-bit value`;
  if (!ACCESS_NAMES.includes(r.access)) return `access ${String(r.access)} is not read, write or atomic`;
  if (r.addr < 0n || r.addr >= 1n << 64n) return `address ${r.addr} is not a 64-bit value`;
  if (!isUint(r.len, 0xffffffff)) return `length ${r.len} is not a 32-bit value`;
  return null;
}

function isUint(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

/** Writes r at words[word..word+7]. The fields must pass tlpProblem (not checked here). */
export function writeTlp(words: Uint32Array, word: number, r: TlpRecord): void {
  words[word + W_TIME_LO] = r.time >>> 0;
  words[word + W_TIME_HI] = Math.floor(r.time / TWO_32);
  words[word + W_RID_SEGMENT] = (r.requesterId & 0xffff) | ((r.segment & 0xffff) << 16);
  words[word + W_FLAGS] =
    (r.pasid === null ? 0 : (r.pasid & F_PASID_MASK) | F_PASID_PRESENT) |
    (r.tBit ? F_T : 0) |
    ((r.at & 3) << F_AT_SHIFT) |
    (ACCESS_NAMES.indexOf(r.access) << F_ACCESS_SHIFT) |
    (r.exec ? F_EXEC : 0) |
    (r.priv ? F_PRIV : 0);
  words[word + W_ADDR_LO] = Number(r.addr & 0xffffffffn);
  words[word + W_ADDR_HI] = Number((r.addr >> 32n) & 0xffffffffn);
  words[word + W_LEN] = r.len;
  words[word + W_RESERVED] = 0;
}

/** The record at words[word..word+7] as an object (slow path: allocates). */
export function readTlp(words: Uint32Array, word: number): TlpRecord {
  const f = words[word + W_FLAGS]!;
  return {
    time: tlpTime(words, word),
    requesterId: words[word + W_RID_SEGMENT]! & 0xffff,
    segment: words[word + W_RID_SEGMENT]! >>> 16,
    pasid: f & F_PASID_PRESENT ? f & F_PASID_MASK : null,
    tBit: (f & F_T) !== 0,
    at: (f >>> F_AT_SHIFT) & 3,
    access: ACCESS_NAMES[(f >>> F_ACCESS_SHIFT) & 3] ?? 'read',
    exec: (f & F_EXEC) !== 0,
    priv: (f & F_PRIV) !== 0,
    addr: (BigInt(words[word + W_ADDR_HI]!) << 32n) | BigInt(words[word + W_ADDR_LO]!),
    len: words[word + W_LEN]!,
  };
}

/** The record's time in ns (exact: writers keep times below 2^53). */
export function tlpTime(words: Uint32Array, word: number): number {
  return words[word + W_TIME_HI]! * TWO_32 + words[word + W_TIME_LO]!;
}

/** The record's address as a number: exact below 2^53, rounded to the nearest double above. */
export function tlpAddress(words: Uint32Array, word: number): number {
  return words[word + W_ADDR_HI]! * TWO_32 + words[word + W_ADDR_LO]!;
}
