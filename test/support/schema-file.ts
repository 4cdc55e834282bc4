// Test support: a JSON Schema file in docs/ must equal the schema generated in code. With
// UPDATE_SCHEMA=1 the test writes the file instead; otherwise a stale or missing file fails with the
// command that regenerates it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** `docsFile` is relative to the repository root, `testFile` is the test that owns the check. */
export function expectSchemaFileInSync(docsFile: string, schema: unknown, testFile: string): void {
  const file = fileURLToPath(new URL(`../../${docsFile}`, import.meta.url));
  const generated = `${JSON.stringify(schema, null, 2)}\n`;
  if (process.env.UPDATE_SCHEMA === '1') writeFileSync(file, generated);
  let onDisk = '';
  try {
    onDisk = readFileSync(file, 'utf8');
  } catch {
    // missing: reported by the comparison below
  }
  expect(onDisk === generated, `${docsFile} is stale: run UPDATE_SCHEMA=1 npx vitest run ${testFile}`).toBe(
    true,
  );
}
