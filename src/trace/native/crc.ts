// CRC-32 (IEEE 802.3, the polynomial of zlib, PNG and gzip) over a byte range, as an unsigned 32-bit
// number. By default it wraps SheetJS's crc-32 package (pure JS, runs anywhere, about 1.5 GB/s here):
// the common layer may not use Node builtins. A host with a native implementation may install it with
// useCrc32() (the player's decoder worker installs node:zlib's crc32, about 5 GB/s, Node ≥ 20.15): it
// must compute the same function. Check value: crc32 of the ASCII "123456789" is 0xcbf43926.
import CRC32 from 'crc-32';

/** CRC-32 of a whole byte array, unsigned. */
export type Crc32Impl = (bytes: Uint8Array) => number;

const portable: Crc32Impl = (bytes) => CRC32.buf(bytes) >>> 0;
let impl: Crc32Impl = portable;

/** Installs a faster implementation of the same CRC (checked against the check value), or the default. */
export function useCrc32(fn: Crc32Impl | null): void {
  const check = Uint8Array.from('123456789', (c) => c.charCodeAt(0));
  if (fn && fn(check) >>> 0 !== 0xcbf43926) throw new Error('useCrc32: not the IEEE CRC-32');
  impl = fn ?? portable;
}

/** CRC-32 of bytes[start, end), unsigned. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const view = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  return impl(view) >>> 0;
}
