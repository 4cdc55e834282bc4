// SVG charts of a fault report, as self-contained strings (no fonts, scripts or links to fetch):
//   timelineSvg         one lane per fault cluster, a bar from its first to its last fault, hazards as
//                       triangles, on the run's time axis
//   faultsPerDeviceSvg  faults per requester, one bar each, coloured by the team its hints name
//   addressStripSvg     one device's address space: its mappings, reserved regions and fault ranges on
//                       a broken axis (each span of interest gets its share of the width, the empty
//                       space between spans is elided and marked ≈)
// Pure.
import type { Report, ReportCluster, ReportDevice } from './report-schema';

export const TEAM_COLORS: Record<string, string> = {
  firmware: '#c2410c',
  os: '#7c3aed',
  driver: '#b91c1c',
  platform: '#0f766e',
  device: '#1d4ed8',
};

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const n2 = (v: number): string => (Math.round(v * 10) / 10).toString();

/** A time in ns, readably: "4.1 µs", "20 ms". */
export function timeText(ns: number): string {
  if (ns < 1_000) return `${ns} ns`;
  if (ns < 1_000_000) return `${+(ns / 1_000).toPrecision(4)} µs`;
  if (ns < 1_000_000_000) return `${+(ns / 1_000_000).toPrecision(4)} ms`;
  return `${+(ns / 1_000_000_000).toPrecision(5)} s`;
}

const FONT = 'font-family="sans-serif" font-size="11"';

function svg(width: number, height: number, label: string, body: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(label)}">` +
    `<title>${esc(label)}</title>${body.join('')}</svg>`
  );
}

function empty(width: number, label: string, text: string): string {
  return svg(width, 40, label, [`<text x="8" y="24" ${FONT} fill="#555">${esc(text)}</text>`]);
}

const clusterLabel = (c: ReportCluster): string =>
  `${c.bdf.replace(/^0000:/, '')} 0x${c.reason.toString(16).padStart(2, '0')} ${c.pages.lowest}`;

export function timelineSvg(report: Report, width = 900): string {
  const label = 'Fault timeline';
  const cs = report.clusters;
  if (!cs.length && !report.hazards.length) return empty(width, label, 'No faults or hazards.');
  const lanes = cs.length + (report.hazards.length ? 1 : 0);
  const left = 190;
  const right = 20;
  const top = 10;
  const lane = 22;
  const height = top + lanes * lane + 34;
  const end = Math.max(1, ...cs.map((c) => c.time.last), ...report.hazards.map((h) => h.time));
  const x = (t: number): number => left + (t / end) * (width - left - right);
  const body: string[] = [];
  const axisY = top + lanes * lane + 6;
  body.push(`<line x1="${left}" y1="${axisY}" x2="${width - right}" y2="${axisY}" stroke="#888"/>`);
  for (let i = 0; i <= 4; i++) {
    const t = (end * i) / 4;
    body.push(
      `<line x1="${n2(x(t))}" y1="${axisY}" x2="${n2(x(t))}" y2="${axisY + 4}" stroke="#888"/>`,
      `<text x="${n2(x(t))}" y="${axisY + 16}" ${FONT} text-anchor="middle" fill="#333">${esc(timeText(Math.round(t)))}</text>`,
    );
  }
  cs.forEach((c, i) => {
    const y = top + i * lane;
    const color = TEAM_COLORS[c.hint.team] ?? '#444';
    const x1 = x(c.time.first);
    const w = Math.max(4, x(c.time.last) - x1);
    body.push(
      `<text x="${left - 6}" y="${y + 15}" ${FONT} text-anchor="end" fill="#222">${esc(clusterLabel(c))}</text>`,
      `<rect x="${n2(x1 - 2)}" y="${y + 5}" width="${n2(w)}" height="12" rx="3" fill="${color}"><title>${esc(
        `${c.id}: ${c.count} faults, ${timeText(c.time.first)}–${timeText(c.time.last)}, ${c.hint.title}`,
      )}</title></rect>`,
      x1 + w + 34 > width - right
        ? `<text x="${n2(x1 - 6)}" y="${y + 15}" ${FONT} text-anchor="end" fill="#222">×${c.count}</text>`
        : `<text x="${n2(x1 + w + 4)}" y="${y + 15}" ${FONT} fill="#222">×${c.count}</text>`,
    );
  });
  if (report.hazards.length) {
    const y = top + cs.length * lane;
    body.push(`<text x="${left - 6}" y="${y + 15}" ${FONT} text-anchor="end" fill="#222">hazards</text>`);
    for (const h of report.hazards) {
      const hx = x(h.time);
      body.push(
        `<path d="M${n2(hx)} ${y + 4} l6 12 h-12 z" fill="#d97706"><title>${esc(
          `use-after-unmap ${h.bdf} ${h.address} at ${timeText(h.time)}`,
        )}</title></path>`,
      );
    }
  }
  return svg(width, height, label, body);
}

export function faultsPerDeviceSvg(report: Report, width = 900): string {
  const label = 'Faults per device';
  const rows = new Map<string, { name: string; count: number; team: string }>();
  for (const c of report.clusters) {
    const r = rows.get(c.bdf) ?? { name: c.deviceName ?? 'unknown requester', count: 0, team: c.hint.team };
    r.count += c.count;
    rows.set(c.bdf, r);
  }
  if (!rows.size) return empty(width, label, 'No faults.');
  const list = [...rows.entries()].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
  const left = 330;
  const bar = 20;
  const height = list.length * bar + 10;
  const max = Math.max(...list.map(([, r]) => r.count));
  const body: string[] = [];
  list.forEach(([bdf, r], i) => {
    const y = 5 + i * bar;
    const w = Math.max(2, (r.count / max) * (width - left - 60));
    const name = r.name.length > 34 ? `${r.name.slice(0, 33)}…` : r.name;
    body.push(
      `<text x="${left - 6}" y="${y + 14}" ${FONT} text-anchor="end" fill="#222">${esc(`${bdf.replace(/^0000:/, '')} ${name}`)}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${n2(w)}" height="14" fill="${TEAM_COLORS[r.team] ?? '#444'}"/>`,
      `<text x="${n2(left + w + 4)}" y="${y + 14}" ${FONT} fill="#222">${r.count}</text>`,
    );
  });
  return svg(width, height, label, body);
}

interface Span {
  start: bigint;
  /** exclusive */
  end: bigint;
}

const MAX_SPANS = 12;
const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** The address space of one device: mappings, reserved regions and fault ranges on a broken axis. */
export function addressStripSvg(
  device: ReportDevice,
  clusters: readonly ReportCluster[],
  width = 900,
): string {
  const label = `Address space of ${device.bdf}`;
  const maps = device.mappings.map((m) => ({
    start: BigInt(m.iova),
    end: BigInt(m.iova) + BigInt(m.length),
  }));
  const regions = device.regions.map((r) => ({ start: BigInt(r.start), end: BigInt(r.end) + 1n, r }));
  const faults = clusters.map((c) => ({
    start: BigInt(c.pages.lowest),
    end: BigInt(c.pages.highest) + 0x1000n,
    c,
  }));
  const all = [...maps, ...regions, ...faults].sort((a, b) =>
    a.start < b.start ? -1 : a.start > b.start ? 1 : 0,
  );
  let spans: Span[] = [];
  for (const iv of all) {
    const last = spans[spans.length - 1];
    if (last && iv.start <= last.end) last.end = iv.end > last.end ? iv.end : last.end;
    else spans.push({ start: iv.start, end: iv.end });
  }
  if (spans.length > MAX_SPANS) {
    // keep every span with a fault, then the widest others, in address order
    const hasFault = (s: Span): boolean => faults.some((f) => f.start < s.end && f.end > s.start);
    const ranked = [...spans].sort((a, b) => {
      const fa = hasFault(a) ? 1 : 0;
      const fb = hasFault(b) ? 1 : 0;
      if (fa !== fb) return fb - fa;
      const la = a.end - a.start;
      const lb = b.end - b.start;
      return la > lb ? -1 : la < lb ? 1 : 0;
    });
    const keep = new Set(ranked.slice(0, MAX_SPANS));
    spans = spans.filter((s) => keep.has(s));
  }
  if (!spans.length) return empty(width, label, 'Nothing mapped or reserved.');
  const left = 90;
  const gap = 16;
  const slot = (width - left - 10 - gap * (spans.length - 1)) / spans.length;
  const pos = (a: bigint): number | null => {
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!;
      if (a >= s.start && a <= s.end) {
        const frac = Number(a - s.start) / Math.max(1, Number(s.end - s.start));
        return left + i * (slot + gap) + frac * slot;
      }
    }
    return null;
  };
  const rows = [
    { name: 'mappings', y: 8 },
    { name: 'reserved', y: 30 },
    { name: 'faults', y: 52 },
  ];
  const body: string[] = [];
  for (const r of rows)
    body.push(`<text x="${left - 6}" y="${r.y + 12}" ${FONT} text-anchor="end" fill="#222">${r.name}</text>`);
  spans.forEach((s, i) => {
    const x = left + i * (slot + gap);
    body.push(
      `<rect x="${n2(x)}" y="4" width="${n2(slot)}" height="68" fill="#f3f4f6" stroke="#d1d5db"/>`,
      `<text x="${n2(x)}" y="86" ${FONT} fill="#333">${esc(hex(s.start))}</text>`,
      `<text x="${n2(x + slot)}" y="100" ${FONT} text-anchor="end" fill="#333">${esc(hex(s.end - 1n))}</text>`,
    );
    if (i > 0)
      body.push(`<text x="${n2(x - gap / 2)}" y="42" ${FONT} text-anchor="middle" fill="#666">≈</text>`);
  });
  const box = (start: bigint, end: bigint, y: number, fill: string, title: string): void => {
    const x1 = pos(start);
    const x2 = pos(end);
    if (x1 === null || x2 === null) return;
    body.push(
      `<rect x="${n2(x1)}" y="${y}" width="${n2(Math.max(2, x2 - x1))}" height="16" fill="${fill}"><title>${esc(title)}</title></rect>`,
    );
  };
  device.mappings.forEach((m, i) =>
    box(
      maps[i]!.start,
      maps[i]!.end,
      8,
      m.prot.includes('w') ? '#16a34a' : '#86efac',
      `${m.iova} +${m.length} ${m.prot || '-'} (${m.origin})`,
    ),
  );
  for (const g of regions)
    box(
      g.start,
      g.end,
      30,
      g.r.type.startsWith('direct') ? '#f59e0b' : '#9ca3af',
      `${g.r.start}–${g.r.end} ${g.r.type}: ${g.r.source}`,
    );
  for (const f of faults)
    box(
      f.start,
      f.end,
      52,
      TEAM_COLORS[f.c.hint.team] ?? '#b91c1c',
      `${f.c.id}: ${f.c.count} faults, ${f.c.hint.title}`,
    );
  return svg(width, 106, label, body);
}
