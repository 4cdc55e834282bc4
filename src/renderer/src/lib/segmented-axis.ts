// The address map's axis: a window of the address space drawn over a width in pixels, in segments.
// Far-apart items would leave a linear axis empty but for specks, so the window is cut into segments
// around the items (clusters closer than 1/256 of the window stay together) and the empty gaps between
// them shrink to a fixed-width break. A segment's width grows with the logarithm of its size (a 4 KiB
// page next to a 4 GiB range stays visible); inside a segment the scale is linear. Display arithmetic
// only (positions on screen): every number shown comes from the host.

/** One linear piece of the axis: addresses [start, end) drawn from x0 to x1. */
export interface Segment {
  start: bigint;
  end: bigint;
  x0: number;
  x1: number;
}

/** A gap drawn as a break marker at x (between two segments). */
export interface Break {
  x: number;
  start: bigint;
  end: bigint;
}

export interface Axis {
  segments: Segment[];
  breaks: Break[];
}

export const BREAK_PX = 16;

/** Parses a hex string from the host ("0x…"). */
export const big = (hex: string): bigint => BigInt(hex);

/** Bits in v: its base-2 logarithm, rounded up. */
const bits = (v: bigint): number => v.toString(2).length;

/**
 * Lays out the window [start, end) over `width` pixels around `items` (inclusive [start, end] pairs).
 * With no item in the window, the axis is one linear segment.
 */
export function layoutAxis(
  start: bigint,
  end: bigint,
  width: number,
  items: readonly (readonly [bigint, bigint])[],
): Axis {
  const span = end - start;
  const clipped = items
    .filter(([a, b]) => b >= start && a < end)
    .map(([a, b]) => [a < start ? start : a, b + 1n > end ? end : b + 1n] as [bigint, bigint])
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  if (clipped.length === 0 || width < 4 * BREAK_PX) {
    return { segments: [{ start, end, x0: 0, x1: width }], breaks: [] };
  }
  const near = span / 256n;
  const groups: [bigint, bigint][] = [];
  for (const [a, b] of clipped) {
    const last = groups[groups.length - 1];
    if (last && a <= last[1] + near) {
      if (b > last[1]) last[1] = b;
    } else groups.push([a, b]);
  }
  // Stretch the first and last groups to the window's edges when the gap there is small.
  if (groups[0]![0] - start <= near) groups[0]![0] = start;
  const tail = groups[groups.length - 1]!;
  if (end - tail[1] <= near) tail[1] = end;
  const pieces: { start: bigint; end: bigint; gap: boolean }[] = [];
  let at = start;
  for (const [a, b] of groups) {
    if (a > at) pieces.push({ start: at, end: a, gap: true });
    pieces.push({ start: a, end: b, gap: false });
    at = b;
  }
  if (at < end) pieces.push({ start: at, end, gap: true });
  const gaps = pieces.filter((p) => p.gap).length;
  const free = width - gaps * BREAK_PX;
  const weights = pieces.map((p) => (p.gap ? 0 : 1 + bits((p.end - p.start) / 4096n + 1n)));
  const total = weights.reduce((a, b) => a + b, 0);
  const segments: Segment[] = [];
  const breaks: Break[] = [];
  let x = 0;
  pieces.forEach((p, i) => {
    if (p.gap) {
      breaks.push({ x: x + BREAK_PX / 2, start: p.start, end: p.end });
      x += BREAK_PX;
    } else {
      const w = (free * weights[i]!) / total;
      segments.push({ start: p.start, end: p.end, x0: x, x1: x + w });
      x += w;
    }
  });
  return { segments, breaks };
}

/** Screen x of an address (a gap's address lands on its break marker). */
export function xOf(axis: Axis, a: bigint): number {
  for (const s of axis.segments) {
    if (a >= s.start && a <= s.end) return s.x0 + (s.x1 - s.x0) * ratio(a - s.start, s.end - s.start);
  }
  for (const b of axis.breaks) if (a >= b.start && a < b.end) return b.x;
  const first = axis.segments[0];
  return first && a < first.start ? 0 : (axis.segments[axis.segments.length - 1]?.x1 ?? 0);
}

/** The address under screen x (a break answers its gap's start). */
export function addressAt(axis: Axis, x: number): bigint {
  for (const s of axis.segments) {
    if (x >= s.x0 && x <= s.x1) {
      const f = s.x1 > s.x0 ? (x - s.x0) / (s.x1 - s.x0) : 0;
      return s.start + scale(s.end - s.start, f);
    }
  }
  for (const b of axis.breaks) if (Math.abs(x - b.x) <= BREAK_PX / 2) return b.start;
  return x <= 0 ? (axis.segments[0]?.start ?? 0n) : (axis.segments[axis.segments.length - 1]?.end ?? 0n);
}

/** n / d as a float, for bigints of any size. */
export function ratio(n: bigint, d: bigint): number {
  if (d === 0n) return 0;
  const shift = BigInt(Math.max(0, d.toString(2).length - 52));
  return Number(n >> shift) / Number(d >> shift);
}

/** v · f for 0 ≤ f ≤ 1, for bigints of any size. */
export function scale(v: bigint, f: number): bigint {
  const k = 1n << 30n;
  return (v * BigInt(Math.round(f * Number(k)))) / k;
}

/** A compact hex label: "0x7b80_0000" style groups of four digits. */
export function hexLabel(v: bigint): string {
  const h = v.toString(16);
  return '0x' + h.replace(/\B(?=([0-9a-f]{4})+$)/g, '_');
}

/** Bytes in words: 4 KiB, 2 MiB, 1.5 GiB… */
export function sizeLabel(bytes: bigint): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (i < units.length - 1 && bytes >= 1n << BigInt(10 * (i + 1))) i++;
  const unit = 1n << BigInt(10 * i);
  return bytes % unit === 0n ? `${bytes / unit} ${units[i]}` : `${ratio(bytes, unit).toFixed(1)} ${units[i]}`;
}
