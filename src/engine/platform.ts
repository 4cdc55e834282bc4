// The platform description (JSON, versioned): which PCI functions exist and how the IOMMU treats them.
// Version 1 describes devices and their default domain type; the hierarchy, IOMMU units, reserved
// regions and the TEE-IO split extend it in the model issue. loadPlatform reports every error with
// its JSON path.
import { z } from 'zod';
import { formatBdf, parseBdf, rid, type Bdf } from './bdf';

export const PLATFORM_FORMAT = 'iommu-lab/platform';

const bdfText = z.string().refine((s) => parseBdf(s) !== null, 'not a PCI address (SSSS:BB:DD.F)');

export const platformSchema = z
  .object({
    format: z.literal(PLATFORM_FORMAT),
    version: z.literal(1),
    name: z.string().min(1),
    devices: z
      .array(
        z
          .object({
            bdf: bdfText,
            name: z.string().min(1),
            class: z.string().regex(/^[0-9a-fA-F]{6}$/, 'PCI class code as 6 hex digits'),
            domain: z.enum(['dma', 'identity']).default('dma'),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export type PlatformJson = z.input<typeof platformSchema>;

export interface PlatformDevice {
  bdf: Bdf;
  bdfText: string;
  requesterId: number;
  name: string;
  classCode: string;
  domainType: 'dma' | 'identity';
}

export interface Platform {
  name: string;
  devices: PlatformDevice[];
}

export interface LocatedError {
  /** JSON path, e.g. "devices[2].bdf" */
  path: string;
  message: string;
}

export type LoadResult<T> = { ok: true; value: T } | { ok: false; errors: LocatedError[] };

export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

/** Validates a parsed JSON value as a platform; every error carries its JSON path. */
export function loadPlatform(json: unknown): LoadResult<Platform> {
  const parsed = platformSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message })),
    };
  }
  const errors: LocatedError[] = [];
  const seen = new Map<string, number>();
  const devices = parsed.data.devices.map((d, i) => {
    const bdf = parseBdf(d.bdf)!;
    const text = formatBdf(bdf);
    const first = seen.get(text);
    if (first !== undefined)
      errors.push({ path: `devices[${i}].bdf`, message: `${text} already defined at devices[${first}]` });
    seen.set(text, i);
    return {
      bdf,
      bdfText: text,
      requesterId: rid(bdf),
      name: d.name,
      classCode: d.class.toLowerCase(),
      domainType: d.domain,
    };
  });
  if (errors.length) return { ok: false, errors };
  return { ok: true, value: { name: parsed.data.name, devices } };
}
