// docs/platform.schema.json must be the JSON Schema generated from the zod schema in schema.ts.
// After changing the schema, regenerate the file with:
//   UPDATE_SCHEMA=1 npx vitest run src/engine/platform/schema.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { platformJsonSchema } from './schema';

const file = fileURLToPath(new URL('../../../docs/platform.schema.json', import.meta.url));
const generated = `${JSON.stringify(platformJsonSchema(), null, 2)}\n`;

describe('docs/platform.schema.json', () => {
  it('matches the schema generated from src/engine/platform/schema.ts', () => {
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(file, generated);
    let onDisk = '';
    try {
      onDisk = readFileSync(file, 'utf8');
    } catch {
      // missing: reported by the comparison below
    }
    expect(
      onDisk === generated,
      'docs/platform.schema.json is stale: run UPDATE_SCHEMA=1 npx vitest run src/engine/platform/schema.test.ts',
    ).toBe(true);
  });

  it('describes the input format: required fields, the kinds, hex addresses', () => {
    const s = platformJsonSchema() as {
      required: string[];
      properties: Record<
        string,
        { items?: { properties: Record<string, { enum?: string[]; pattern?: string }> } }
      >;
    };
    expect(s.required).toEqual(['format', 'version', 'name', 'segments', 'devices']);
    const device = s.properties.devices!.items!.properties;
    expect(device.kind!.enum).toContain('pcie-to-pci-bridge');
    const unit = s.properties.iommus!.items!.properties;
    expect(unit.registerBase!.pattern).toBe('^0x[0-9a-fA-F]{1,16}$');
  });
});
