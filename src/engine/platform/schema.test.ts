// docs/platform.schema.json must be the JSON Schema generated from the zod schema in schema.ts.
// After changing the schema, regenerate the file with:
//   UPDATE_SCHEMA=1 npx vitest run src/engine/platform/schema.test.ts
import { describe, expect, it } from 'vitest';
import { expectSchemaFileInSync } from '../../../test/support/schema-file';
import { platformJsonSchema } from './schema';

describe('docs/platform.schema.json', () => {
  it('matches the schema generated from src/engine/platform/schema.ts', () => {
    expectSchemaFileInSync(
      'docs/platform.schema.json',
      platformJsonSchema(),
      'src/engine/platform/schema.test.ts',
    );
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
