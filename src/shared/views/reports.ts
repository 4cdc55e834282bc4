// Fault reports in the app (docs/report.md): export the current run's report as HTML, PDF, JSON or CSV
// (or the fault table's rows as CSV), compare two reports (src/report/diff.ts: new, fixed and changed
// clusters, with the counts) and what-if (re-run the current trace with edits, src/report/what-if.ts,
// and compare with the original). The host does
// the work; these are the params it validates and the shapes it answers with (the same fields as
// `iommu-lab diff --json`, the `iommu-lab/report-diff` object).
import { z } from 'zod';

/** A report JSON file: a path on the host's machine, or bytes the renderer sends. */
const reportFile = z.union([
  z.object({ path: z.string().min(1).max(4096) }).strict(),
  z
    .object({
      name: z.string().min(1).max(255),
      bytes: z.instanceof(Uint8Array).refine((b) => b.byteLength <= 256 << 20, 'report larger than 256 MiB'),
    })
    .strict(),
]);

/** One side of a comparison: a report file, or 'current' (the report of the replay loaded now). */
const reportSide = z.union([z.literal('current'), reportFile]);

export const exportReportParams = z
  .object({
    /**
     * html, pdf, json and csv: the fault report of the whole run (docs/report.md), as `iommu-lab replay
     * TRACE --report x.EXT` writes it (csv: one row per cluster); fault-rows-csv: the fault table's rows
     * (faults and hazards so far) matching `filter`, one per row
     */
    format: z.enum(['json', 'csv', 'html', 'pdf', 'fault-rows-csv']),
    /** fault-rows-csv: a filter expression (docs/filter.md); every row when absent or blank */
    filter: z.string().max(4096).optional(),
  })
  .strict()
  .refine((p) => p.filter === undefined || p.format === 'fault-rows-csv', {
    message: 'a filter applies to fault-rows-csv only',
    path: ['filter'],
  });

export const reportDiffParams = z.object({ a: reportSide, b: reportSide }).strict();

export const whatIfParams = z
  .object({
    /** edits as the CLI's --set takes them: rmrr.add=…, device.00:14.0.domain=identity, tee.boundary=… */
    set: z.array(z.string().trim().min(1, 'an empty edit').max(512)).max(64),
    /** an RFC 6902 JSON Patch file for the platform description, applied before the --set edits */
    patch: reportFile.optional(),
  })
  .strict()
  .refine((p) => p.set.length > 0 || p.patch !== undefined, {
    message: 'give at least one edit (KEY=VALUE) or a JSON Patch',
    path: ['set'],
  });

/** A fault cluster as a comparison names it. */
export interface DiffCluster {
  /** `bdf/pasid/reason/first page`, e.g. 0000:00:14.0/nopasid/0x06/0x3e300000 */
  id: string;
  bdf: string;
  deviceName: string | null;
  pasid: number | null;
  reason: number;
  reasonText: string;
  /** 64 KiB-aligned windows, hex */
  range: { start: string; end: string };
  count: number;
  /** the root-cause hint's rule and title */
  hint: string;
  hintTitle: string;
}

/** A run as a comparison names it. */
export interface DiffRun {
  trace: string;
  traceSha256: string;
  platform: string;
  platformSha256: string;
  /** what-if edits the run was made with */
  edits: string[];
  faults: number;
  hazards: number;
  clusters: number;
}

/** Run A (the baseline) against run B: clusters only in B (new), only in A (fixed), in both but different. */
export interface ReportDiffView {
  format: string;
  diffVersion: number;
  a: DiffRun;
  b: DiffRun;
  counts: { new: number; fixed: number; changed: number; unchanged: number };
  new: DiffCluster[];
  fixed: DiffCluster[];
  /** `changes`: what differs, e.g. "count 2 → 5" */
  changed: { a: DiffCluster; b: DiffCluster; changes: string[] }[];
}

/** A report's summary, as the what-if view shows each run. */
export interface ReportRunSummary {
  faults: number;
  hazards: number;
  clusters: number;
  /** clusters by hint rule */
  hints: Record<string, number>;
  /** the CLI exit bitmask the run earns (README, Exit codes) */
  exitCode: number;
  edits: string[];
}

export interface WhatIfView {
  /** the edits applied, as written (a patch first, by name and SHA-256) */
  edits: string[];
  /** original (A) → edited (B) */
  diff: ReportDiffView;
  original: ReportRunSummary;
  edited: ReportRunSummary;
}
