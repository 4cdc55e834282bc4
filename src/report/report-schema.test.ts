// docs/report.schema.json must be the JSON Schema generated from the zod schema in report-schema.ts.
// After changing the schema, regenerate the file with:
//   UPDATE_SCHEMA=1 npx vitest run src/report/report-schema.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HINT_RULES, parseReport, REPORT_VERSION, reportJsonSchema } from './report-schema';

const file = fileURLToPath(new URL('../../docs/report.schema.json', import.meta.url));
const generated = `${JSON.stringify(reportJsonSchema(), null, 2)}\n`;

describe('docs/report.schema.json', () => {
  it('matches the schema generated from src/report/report-schema.ts', () => {
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(file, generated);
    let onDisk = '';
    try {
      onDisk = readFileSync(file, 'utf8');
    } catch {
      // missing: reported by the comparison below
    }
    expect(
      onDisk === generated,
      'docs/report.schema.json is stale: run UPDATE_SCHEMA=1 npx vitest run src/report/report-schema.test.ts',
    ).toBe(true);
  });

  it('is versioned and lists the hint rules', () => {
    const s = reportJsonSchema() as {
      title: string;
      required: string[];
      properties: Record<string, { const?: unknown; items?: { properties: Record<string, unknown> } }>;
    };
    expect(s.title).toBe('iommu-lab/fault-report version 1');
    expect(s.properties.reportVersion!.const).toBe(REPORT_VERSION);
    expect(s.required).toEqual(
      expect.arrayContaining(['format', 'reportVersion', 'run', 'summary', 'clusters', 'firmware']),
    );
    const hint = s.properties.clusters!.items!.properties.hint as {
      properties: { rule: { enum: string[] } };
    };
    expect(hint.properties.rule.enum).toEqual([...HINT_RULES]);
  });

  it('rejects a document that is not a report, naming the field', () => {
    const r = parseReport({ format: 'iommu-lab/fault-report', reportVersion: 2 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/^not an iommu-lab\/fault-report v1: reportVersion: /);
  });
});
