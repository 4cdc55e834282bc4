// Addresses in the control plane and in text formats. The lab's addresses are up to 64 bits wide;
// text forms are parsed to a float64 only when provably below 2^53 (exactly representable), which
// covers every IOVA of a 57-bit (5-level) space. Wider values are rejected with a message, never rounded.

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/** Parses "0x1f000", "1f000h"-free hex with 0x, or decimal. Null when malformed or ≥ 2^53. */
export function parseAddress(text: string | number): number | null {
  if (typeof text === 'number') return Number.isSafeInteger(text) && text >= 0 ? text : null;
  const t = text.trim();
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^[0-9]+$/.test(t)) v = parseInt(t, 10);
  else return null;
  return Number.isSafeInteger(v) ? v : null;
}

export function hexAddress(v: number): string {
  return `0x${v.toString(16)}`;
}

export function pageOf(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}
