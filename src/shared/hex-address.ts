// "0x…" of a 64-bit address held as two uint32 halves (the fault table's columns): exact past 2^53 too,
// where the halves are printed side by side instead of summed into a float64. Pure.

const TWO_32 = 2 ** 32;

export function hexAddressWords(hi: number, lo: number): string {
  return hi < 1 << 21
    ? `0x${(hi * TWO_32 + lo).toString(16)}`
    : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}
