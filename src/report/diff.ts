// Compares two fault reports (run A, the baseline, and run B): which clusters are new in B, which are
// fixed (in A only), which changed, with the counts. Clusters match when they have the same requester,
// PASID and fault reason and their 64 KiB-aligned ranges overlap (times are not compared, so runs of
// different captures still match); of several candidates the one with the nearest first page wins.
// A matched pair is "changed" when its fault count, pages, access, classes or hint differ. Pure.
import type { DiffCluster, DiffRun, ReportDiffView } from '../shared/views/reports';
import type { Report, ReportCluster } from './report-schema';

export const DIFF_FORMAT = 'iommu-lab/report-diff';
export const DIFF_VERSION = 1;

/** A cluster, a run and a comparison as the API carries them (src/shared/views/reports.ts). */
export type ClusterRef = DiffCluster;
export type ChangedCluster = ReportDiffView['changed'][number];
export type RunRef = DiffRun;

export interface ReportDiff extends ReportDiffView {
  format: typeof DIFF_FORMAT;
  diffVersion: typeof DIFF_VERSION;
}

const big = (h: string): bigint => BigInt(h);

function ref(c: ReportCluster): ClusterRef {
  return {
    id: c.id,
    bdf: c.bdf,
    deviceName: c.deviceName,
    pasid: c.pasid,
    reason: c.reason,
    reasonText: c.reasonText,
    range: c.range,
    count: c.count,
    hint: c.hint.rule,
    hintTitle: c.hint.title,
  };
}

function runRef(r: Report): RunRef {
  return {
    trace: r.run.trace.name,
    traceSha256: r.run.trace.sha256,
    platform: r.run.platform.name,
    platformSha256: r.run.platform.sha256,
    edits: r.run.options.edits,
    faults: r.summary.faults,
    hazards: r.summary.hazards,
    clusters: r.clusters.length,
  };
}

const sameKey = (x: ReportCluster, y: ReportCluster): boolean =>
  x.requesterId === y.requesterId && x.pasid === y.pasid && x.reason === y.reason;

const overlaps = (x: ReportCluster, y: ReportCluster): boolean =>
  big(x.range.start) <= big(y.range.end) && big(y.range.start) <= big(x.range.end);

function changes(x: ReportCluster, y: ReportCluster): string[] {
  const out: string[] = [];
  if (x.count !== y.count) out.push(`count ${x.count} → ${y.count}`);
  if (x.pages.lowest !== y.pages.lowest || x.pages.highest !== y.pages.highest)
    out.push(`pages ${x.pages.lowest}–${x.pages.highest} → ${y.pages.lowest}–${y.pages.highest}`);
  else if (x.pages.distinct !== y.pages.distinct)
    out.push(`distinct pages ${x.pages.distinct} → ${y.pages.distinct}`);
  if (x.access !== y.access) out.push(`access ${x.access} → ${y.access}`);
  const cx = [...x.classes].sort().join(',');
  const cy = [...y.classes].sort().join(',');
  if (cx !== cy) out.push(`classes ${cx || '-'} → ${cy || '-'}`);
  if (x.hint.rule !== y.hint.rule) out.push(`hint ${x.hint.rule} → ${y.hint.rule}`);
  return out;
}

export function diffReports(a: Report, b: Report): ReportDiff {
  const unmatchedA = new Set(a.clusters);
  const out: ReportDiff = {
    format: DIFF_FORMAT,
    diffVersion: DIFF_VERSION,
    a: runRef(a),
    b: runRef(b),
    counts: { new: 0, fixed: 0, changed: 0, unchanged: 0 },
    new: [],
    fixed: [],
    changed: [],
  };
  for (const y of b.clusters) {
    let best: ReportCluster | null = null;
    let bestDist = 0n;
    for (const x of unmatchedA) {
      if (!sameKey(x, y) || !overlaps(x, y)) continue;
      const d = big(x.pages.lowest) - big(y.pages.lowest);
      const dist = d < 0n ? -d : d;
      if (!best || dist < bestDist) {
        best = x;
        bestDist = dist;
      }
    }
    if (!best) {
      out.new.push(ref(y));
      continue;
    }
    unmatchedA.delete(best);
    const ch = changes(best, y);
    if (ch.length) out.changed.push({ a: ref(best), b: ref(y), changes: ch });
    else out.counts.unchanged++;
  }
  for (const x of a.clusters) if (unmatchedA.has(x)) out.fixed.push(ref(x));
  out.counts.new = out.new.length;
  out.counts.fixed = out.fixed.length;
  out.counts.changed = out.changed.length;
  return out;
}

const line = (c: ClusterRef): string =>
  `${c.bdf}${c.pasid === null ? '' : ` PASID ${c.pasid}`} reason 0x${c.reason.toString(16).padStart(2, '0')} ` +
  `(${c.reasonText}) ${c.range.start}–${c.range.end}: ${c.count} fault${c.count === 1 ? '' : 's'} [${c.hintTitle}]`;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The diff as text lines, as `iommu-lab diff` and `what-if` print it. */
export function diffText(d: ReportDiff, names: [string, string] = ['A', 'B']): string[] {
  const run = (n: string, r: RunRef): string =>
    `${n}: ${r.trace} on ${r.platform}${r.edits.length ? ` with ${r.edits.join('; ')}` : ''}: ` +
    `${plural(r.faults, 'fault')} in ${plural(r.clusters, 'cluster')}, ${plural(r.hazards, 'hazard')}`;
  const out = [
    run(names[0], d.a),
    run(names[1], d.b),
    `new ${d.counts.new}, fixed ${d.counts.fixed}, changed ${d.counts.changed}, unchanged ${d.counts.unchanged}`,
  ];
  if (d.new.length) out.push('', `new in ${names[1]}:`, ...d.new.map((c) => `  + ${line(c)}`));
  if (d.fixed.length) out.push('', `fixed (only in ${names[0]}):`, ...d.fixed.map((c) => `  - ${line(c)}`));
  if (d.changed.length) {
    out.push('', 'changed:');
    for (const c of d.changed) out.push(`  ~ ${line(c.b)}`, `      ${c.changes.join('; ')}`);
  }
  return out;
}
