// Trace times (integer ns) as people read and type them: "1.5 ms", "200 µs", "3 s", "1200" (ns).
// Shared by the renderer's player controls and anything else that shows or accepts a time.

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };

/** A time in ns in the largest unit that keeps it ≥ 1, with `digits` significant decimals. */
export function formatTime(ns: number, digits = 3): string {
  const a = Math.abs(ns);
  if (a >= 1e9) return `${(ns / 1e9).toFixed(digits)} s`;
  if (a >= 1e6) return `${(ns / 1e6).toFixed(digits)} ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(digits)} µs`;
  return `${Math.round(ns)} ns`;
}

/** A typed time ("1.5ms", "200 us", "3 s", "42" = ns) in whole ns, or an error message. */
export function parseTime(text: string): { ns: number } | { error: string } {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*(ns|us|µs|ms|s)?\s*$/i.exec(text);
  if (!m) return { error: `"${text.trim()}" is not a time: write e.g. 1.5 ms, 200 µs, 3 s or 1200 ns` };
  const value = Number(`${m[1]}${m[2] ? `e${m[2]}` : ''}`) * UNITS[(m[3] ?? 'ns').toLowerCase()]!;
  if (!Number.isFinite(value) || value > Number.MAX_SAFE_INTEGER) return { error: 'time out of range' };
  return { ns: Math.round(value) };
}
