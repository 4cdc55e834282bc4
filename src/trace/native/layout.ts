// The byte-level constants of the native trace format (docs/trace-format.md) and little-endian
// helpers for its fixed fields. Every multi-byte field of the format is little-endian. 64-bit values
// (times, offsets, addresses) are stored as two uint32 halves, low half first; in JavaScript they are
// joined into a number, which is exact below 2^53 (the format's writers refuse larger values).

/** "\x89IOMMU\r\n": a non-ASCII first byte and CRLF catch 7-bit and newline-translating transfers. */
export const FILE_MAGIC = Uint8Array.of(0x89, 0x49, 0x4f, 0x4d, 0x4d, 0x55, 0x0d, 0x0a);
export const FORMAT_VERSION = 1;
/** magic (8) + version (u32) + header length (u32) */
export const PREAMBLE_BYTES = 16;
/** a header larger than this is taken for a damaged length field */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** chunk sync marker, bytes 89 'C' 'H' 'K' */
export const CHUNK_SYNC = 0x4b484389;
export const CHUNK_HEADER_BYTES = 40;
/** a chunk whose payload would be larger than this is taken for a damaged header */
export const MAX_CHUNK_PAYLOAD_BYTES = 64 * 1024 * 1024;

/** footer sync marker, bytes 89 'I' 'D' 'X' */
export const FOOTER_SYNC = 0x58444989;
export const FOOTER_HEADER_BYTES = 16;
export const INDEX_ENTRY_BYTES = 32;
/** trailer end marker, bytes 89 'E' 'N' 'D' */
export const TRAILER_MAGIC = 0x444e4589;
export const TRAILER_BYTES = 16;

export const TWO_32 = 4294967296;
/** times, offsets and addresses whose high half reaches this are not below 2^53 */
export const MAX_SAFE_HIGH = 0x200000;

export function getU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

/** Reads a 64-bit field as a number; null when it is not below 2^53. */
export function getU64(b: Uint8Array, at: number): number | null {
  const hi = getU32(b, at + 4);
  return hi >= MAX_SAFE_HIGH ? null : hi * TWO_32 + getU32(b, at);
}

/** Writes a non-negative integer below 2^53 as a 64-bit field. */
export function putU64(b: Uint8Array, at: number, v: number): void {
  putU32(b, at, v >>> 0);
  putU32(b, at + 4, Math.floor(v / TWO_32));
}

export function isU53(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

/** Typed-array views use the host's byte order; the format is little-endian. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

export function requireLittleEndian(): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('the native trace codec needs a little-endian host');
}
