// CRC-32 (IEEE 802.3, the polynomial of zlib, PNG and gzip) over a byte range, as an unsigned 32-bit
// number. Wraps SheetJS's crc-32 package (pure JS, runs anywhere): Node 20 has no zlib.crc32 and the
// common layer may not use Node builtins anyway. Check value: crc32 of the ASCII "123456789" is
// 0xcbf43926.
import CRC32 from 'crc-32';

/** CRC-32 of bytes[start, end), unsigned. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const view = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  return CRC32.buf(view) >>> 0;
}
