// Bounds-checked little-endian reads over a table's bytes (ACPI tables are little-endian). Every read
// names the offset it needs; `has(offset, size)` tells whether the bytes are there, so decoders turn a
// short table into a located finding instead of reading past the end. 64-bit values are bigint, written
// as "0x…" by hex64. Pure; no Node or DOM APIs.

export class ByteReader {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** True when bytes [offset, offset + size) exist. */
  has(offset: number, size: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && size >= 0 && offset + size <= this.bytes.length;
  }

  private need(offset: number, size: number): void {
    if (!this.has(offset, size))
      throw new RangeError(`read of ${size} bytes at offset ${offset} past the end (${this.bytes.length})`);
  }

  u8(offset: number): number {
    this.need(offset, 1);
    return this.view.getUint8(offset);
  }

  u16(offset: number): number {
    this.need(offset, 2);
    return this.view.getUint16(offset, true);
  }

  u32(offset: number): number {
    this.need(offset, 4);
    return this.view.getUint32(offset, true);
  }

  u64(offset: number): bigint {
    this.need(offset, 8);
    return this.view.getBigUint64(offset, true);
  }

  /** `size` bytes as Latin-1 text, NULs kept (ACPI ids are blank-padded, names NUL-terminated). */
  ascii(offset: number, size: number): string {
    this.need(offset, size);
    let s = '';
    for (let i = 0; i < size; i++) s += String.fromCharCode(this.bytes[offset + i]!);
    return s;
  }

  slice(offset: number, size: number): Uint8Array {
    this.need(offset, size);
    return this.bytes.subarray(offset, offset + size);
  }
}

/** "0xfed90000": lower-case hex with 0x, no padding. */
export function hex64(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** Two hex digits, lower case. */
export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Four hex digits, lower case. */
export function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** The kernel's "%#018Lx": 0x followed by 16 hex digits. */
export function hex18(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}

/** ACPI checksum: the sum of every byte of the table, modulo 256 (a valid table sums to 0). */
export function byteSum(bytes: Uint8Array, length = bytes.length): number {
  let sum = 0;
  const n = Math.min(length, bytes.length);
  for (let i = 0; i < n; i++) sum = (sum + bytes[i]!) & 0xff;
  return sum;
}

export const PAGE_SIZE = 0x1000n;
