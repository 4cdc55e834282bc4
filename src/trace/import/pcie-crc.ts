// The PCI Express Data Link Layer's two CRCs (PCIe Base Specification §3.6.2.1 DLLP CRC, §3.6.2.2 LCRC),
// in the byte order a protocol analyzer stores the symbols. Pure.
//
// Contract:
// - Both are given as the link carries them: the CRC symbols in transmission order, read as a
//   big-endian number (0xfa26064b is the symbols fa 26 06 4b), so a value compares with a hex dump.
// - lcrc(bytes): the 32-bit LCRC of a TLP: polynomial 04C1_1DB7h, seed FFFF_FFFFh, over the 2
//   sequence-number bytes (4 reserved bits + 12-bit sequence number) and every TLP byte (prefixes,
//   header, data, ECRC), each byte bit 0 first, the remainder complemented. That is the IEEE 802.3
//   CRC-32 (src/trace/native/crc.ts) sent least significant byte first. storedLcrc(bytes, at) reads the 4
//   symbols after the TLP. A nullified TLP (ended by EDB) carries the bitwise NOT of its LCRC.
// - dllpCrc(bytes): the 16-bit CRC of a DLLP's 4 bytes: polynomial 100Bh, seed FFFFh, bit 0 first,
//   complemented, sent least significant byte first; storedDllpCrc reads the 2 symbols.
// Both were checked on the real Keysight capture (src/trace/import/agilent-pad-packets.test.ts): its two
// TLPs' LCRCs and its six distinct DLLPs' CRCs match these functions.
import { crc32 } from '../native/crc';

/** The LCRC of seq (2 bytes) + TLP, as bytes[start, end). */
export function lcrc(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const c = crc32(bytes, start, end);
  return ((c << 24) | ((c & 0xff00) << 8) | ((c >>> 8) & 0xff00) | (c >>> 24)) >>> 0;
}

/** The 4 LCRC symbols at bytes[at, at + 4), in link order. */
export function storedLcrc(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

// polynomial 100Bh reflected (bit 0 first): D008h
const DLLP_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xd008 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** The CRC-16 of a DLLP's bytes[start, end) (4 bytes on the link). */
export function dllpCrc(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffff;
  for (let i = start; i < end; i++) c = (c >>> 8) ^ DLLP_TABLE[(c ^ bytes[i]!) & 0xff]!;
  c = ~c & 0xffff;
  return ((c & 0xff) << 8) | (c >>> 8);
}

/** The 2 DLLP CRC symbols at bytes[at, at + 2), in link order. */
export function storedDllpCrc(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}
