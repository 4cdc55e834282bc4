// PCI function addresses. A requester ID (RID) is bus<<8 | dev<<3 | fn, 16 bits; a segment selects
// one of up to 65536 PCI hierarchies. Text form is "SSSS:BB:DD.F" (segment optional on input).
// Pure: parse* return null on malformed input, callers turn that into a located error.

export interface Bdf {
  segment: number;
  bus: number;
  dev: number;
  fn: number;
}

const BDF_RE = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/;

/** Parses "0000:00:14.0" or "00:14.0" (segment 0). Returns null when malformed or out of range. */
export function parseBdf(text: string): Bdf | null {
  const m = BDF_RE.exec(text.trim());
  if (!m) return null;
  const segment = m[1] === undefined ? 0 : parseInt(m[1], 16);
  const bus = parseInt(m[2]!, 16);
  const dev = parseInt(m[3]!, 16);
  const fn = parseInt(m[4]!, 10);
  if (dev > 31) return null;
  return { segment, bus, dev, fn };
}

export function rid(b: Bdf): number {
  return (b.bus << 8) | (b.dev << 3) | b.fn;
}

export function ridToBdf(segment: number, requesterId: number): Bdf {
  return { segment, bus: (requesterId >> 8) & 0xff, dev: (requesterId >> 3) & 0x1f, fn: requesterId & 7 };
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** "0000:00:14.0" */
export function formatBdf(b: Bdf): string {
  return `${hex(b.segment, 4)}:${hex(b.bus, 2)}:${hex(b.dev, 2)}.${b.fn}`;
}

/** "00:14.0", as Linux prints a requester in DMAR fault lines. */
export function formatBusDevFn(b: Bdf): string {
  return `${hex(b.bus, 2)}:${hex(b.dev, 2)}.${b.fn}`;
}
