// The report as CSV: one row per fault cluster, with a header, RFC 4180 quoting (csv-stringify) and CRLF
// line ends, for spreadsheets and bug trackers. Columns are listed in docs/report.md. Pure.
import { stringify } from 'csv-stringify/sync';
import type { Report } from './report-schema';

export const CLUSTER_CSV_COLUMNS = [
  'id',
  'bdf',
  'device',
  'pasid',
  'reason',
  'reason_text',
  'access',
  'stage',
  'classes',
  'range_start',
  'range_end',
  'lowest_page',
  'highest_page',
  'distinct_pages',
  'first_time_ns',
  'last_time_ns',
  'count',
  'recording',
  'hint',
  'team',
  'hint_title',
  'hint_detail',
  'dmesg',
] as const;

export function reportCsv(report: Report): string {
  return stringify(
    report.clusters.map((c) => [
      c.id,
      c.bdf,
      c.deviceName ?? '',
      c.pasid ?? '',
      `0x${c.reason.toString(16).padStart(2, '0')}`,
      c.reasonText,
      c.access,
      c.stage,
      c.classes.join(';'),
      c.range.start,
      c.range.end,
      c.pages.lowest,
      c.pages.highest,
      c.pages.distinct,
      c.time.first,
      c.time.last,
      c.count,
      Object.entries(c.recording)
        .map(([k, v]) => `${k}=${v}`)
        .join(';'),
      c.hint.rule,
      c.hint.team,
      c.hint.title,
      c.hint.detail,
      c.first.dmesg,
    ]),
    { header: true, columns: [...CLUSTER_CSV_COLUMNS], record_delimiter: 'windows' },
  );
}
