// Small value parsers shared by the importers. Pure; each returns null on malformed input so the caller
// turns it into a counted bad line. Hex values keep all 64 bits as text ("0x…", lower case, no padding);
// numbers are returned only when they are safe integers.
import { formatBdf, parseBdf, ridToBdf } from '../../engine/bdf';

const HEX_RE = /^(?:0[xX])?([0-9a-fA-F]{1,16})$/;

/** "0x000000fe", "FE", "0xfe" → "0xfe"; null when not 1–16 hex digits. */
export function hexAddr(text: string): string | null {
  const m = HEX_RE.exec(text);
  if (!m) return null;
  const digits = m[1]!.replace(/^0+(?=.)/, '').toLowerCase();
  return `0x${digits}`;
}

/** Hex text (with or without 0x) as a number, when a safe integer. */
export function hexNum(text: string): number | null {
  const m = HEX_RE.exec(text);
  if (!m) return null;
  const v = parseInt(m[1]!, 16);
  return Number.isSafeInteger(v) ? v : null;
}

/** Hex text as a bigint (for register words); null when malformed. */
export function hexBig(text: string): bigint | null {
  const m = HEX_RE.exec(text);
  return m ? BigInt(`0x${m[1]!}`) : null;
}

export function decNum(text: string): number | null {
  if (!/^[0-9]{1,16}$/.test(text)) return null;
  const v = parseInt(text, 10);
  return Number.isSafeInteger(v) ? v : null;
}

export function bigHex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** bus/dev/fn as printed (hex) → "SSSS:BB:DD.F"; null when out of range. */
export function bdfOf(segment: number | null, bus: number, dev: number, fn: number): string | null {
  if (bus > 0xff || dev > 0x1f || fn > 7 || (segment !== null && segment > 0xffff)) return null;
  return formatBdf({ segment: segment ?? 0, bus, dev, fn });
}

export function bdfOfRid(segment: number | null, rid: number): string {
  return formatBdf(ridToBdf(segment ?? 0, rid & 0xffff));
}

/** A PCI device name as the kernel prints it ("0000:04:00.1"); null for other device names. */
export function pciName(name: string): { segment: number | null; bdf: string; rid: number } | null {
  if (!/^(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/.test(name)) return null;
  const b = parseBdf(name);
  if (!b) return null;
  return {
    segment: name.length > 8 ? b.segment : null,
    bdf: formatBdf(b),
    rid: (b.bus << 8) | (b.dev << 3) | b.fn,
  };
}

export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
