// docs/report.schema.json must be the JSON Schema generated from the zod schema in report-schema.ts.
// After changing the schema, regenerate the file with:
//   UPDATE_SCHEMA=1 npx vitest run src/report/report-schema.test.ts
import { describe, expect, it } from 'vitest';
import { expectSchemaFileInSync } from '../../test/support/schema-file';
import { HINT_RULES, parseReport, REPORT_VERSION, reportJsonSchema } from './report-schema';

describe('docs/report.schema.json', () => {
  it('matches the schema generated from src/report/report-schema.ts', () => {
    expectSchemaFileInSync('docs/report.schema.json', reportJsonSchema(), 'src/report/report-schema.test.ts');
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
