// The platform description format, iommu-lab/platform version 1, as a zod schema: the structure only
// (types, ranges, spellings). Cross-field rules (bus ranges, parents, scopes, RMRR alignment) are in
// load.ts. platformJsonSchema() derives docs/platform.schema.json from this schema with z.toJSONSchema;
// a test keeps the file in step. 64-bit values are hex strings; 8- and 16-bit values are numbers or hex.
import { z } from 'zod';
import { FUNCTION_KINDS } from './model';

export const PLATFORM_FORMAT = 'iommu-lab/platform';
export const PLATFORM_VERSION = 1;

export const BDF_TEXT_RE = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\.[0-7]$/;
export const HEX64_RE = /^0x[0-9a-fA-F]{1,16}$/;
export const CLASS_RE = /^[0-9a-fA-F]{6}$/;
export const IDS_RE = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/;

const bdf = z
  .string()
  .regex(BDF_TEXT_RE, { error: 'not a PCI function address "SSSS:BB:DD.F" (device 00-1f, function 0-7)' })
  .describe('PCI function address "SSSS:BB:DD.F" (segment, bus, device, function; hex)');

const hex64 = z.string().regex(HEX64_RE, { error: 'a 64-bit value as a hex string, e.g. "0xfed90000"' });

const uint = (bits: 8 | 16, what: string) => {
  const max = 2 ** bits - 1;
  const error = `${what}: an integer 0..${max} or a hex string "0x0".."0x${max.toString(16)}"`;
  return z
    .union(
      [
        z.int({ error }).min(0, { error }).max(max, { error }),
        z.string({ error }).regex(new RegExp(`^0x[0-9a-fA-F]{1,${bits / 4}}$`), { error }),
      ],
      { error },
    )
    .describe(`${what} (${bits}-bit; number or hex string)`);
};

const busNumber = (what: string) => uint(8, what);

export const segmentSchema = z
  .strictObject({
    segment: z.int().min(0).max(0xffff).describe('PCI segment (domain) number'),
    busStart: busNumber('first bus number decoded by this segment'),
    busEnd: busNumber('last bus number decoded by this segment'),
    ecamBase: hex64.optional().describe('ECAM (MCFG) base address'),
  })
  .describe('A PCI segment and the bus numbers it decodes (ACPI MCFG entry)');

export const acsSchema = z
  .strictObject({
    cap: uint(16, 'ACS Capability register'),
    ctrl: uint(16, 'ACS Control register (as firmware left it)'),
  })
  .describe('ACS extended capability; bits SV=0x01 TB=0x02 RR=0x04 CR=0x08 UF=0x10 EC=0x20 DT=0x40');

export const deviceSchema = z
  .strictObject({
    bdf,
    name: z.string().min(1),
    class: z
      .string()
      .regex(CLASS_RE, { error: 'PCI class code as 6 hex digits (base class, subclass, prog-if)' })
      .describe('PCI class code, 6 hex digits, e.g. "0c0330" for an xHCI controller'),
    ids: z
      .string()
      .regex(IDS_RE, { error: 'vendor:device as "vvvv:dddd" hex, e.g. "8086:a0ed"' })
      .optional()
      .describe('vendor:device ids as lspci -nn prints them; used for the ACS quirk table'),
    kind: z
      .enum(FUNCTION_KINDS)
      .describe('PCIe device/port type, or pci-bridge/pci-device for conventional PCI'),
    parent: bdf
      .nullable()
      .describe('the bridge or port whose secondary bus this function is on; null on a root bus'),
    secondary: busNumber('secondary bus number (bridges only)').optional(),
    subordinate: busNumber('subordinate bus number (bridges only)').optional(),
    multifunction: z.boolean().default(false).describe('header type bit 7: the slot has several functions'),
    acs: acsSchema.nullable().optional().describe('absent or null: no ACS capability'),
    pasidWidth: z.int().min(0).max(20).default(0).describe('PASID capability width in bits; 0 = no PASID'),
    ats: z.boolean().default(false),
    pri: z.boolean().default(false),
    tdisp: z.boolean().default(false).describe('TEE Device Interface Security Protocol capable'),
    dmaAliases: z
      .array(bdf)
      .default([])
      .describe('DMA alias quirks: requester IDs this function also uses (same segment and bus)'),
  })
  .describe('One PCI function');

export const capabilitiesSchema = z
  .strictObject({
    slLevels: z
      .array(z.union([z.literal(3), z.literal(4), z.literal(5)]))
      .min(1)
      .describe('supported second-level paging levels (SAGAW): 3 = 39-bit, 4 = 48-bit, 5 = 57-bit'),
    mgaw: z.int().min(32).max(64).describe('maximum guest address width in bits (CAP.MGAW + 1)'),
    haw: z.int().min(32).max(64).describe('host address width in bits (DMAR table HAW + 1)'),
    superpages: z
      .array(z.enum(['2M', '1G']))
      .default([])
      .describe('second-level superpage sizes (CAP.SLLPS)'),
    scalableMode: z.boolean().default(false).describe('ECAP.SMTS'),
    passThrough: z.boolean().default(true).describe('ECAP.PT'),
    nesting: z.boolean().default(false).describe('ECAP.NEST'),
    firstLevel: z.boolean().default(false).describe('ECAP.FLTS'),
    pasidBits: z.int().min(0).max(20).default(0).describe('ECAP.PSS + 1; 0 = no PASID support'),
    deviceTlb: z.boolean().default(false).describe('ECAP.DT: device-TLB (ATS) support'),
  })
  .describe('VT-d capability summary (CAP_REG / ECAP_REG)');

export const iommuSchema = z
  .strictObject({
    id: z.string().min(1).describe('a name for the unit, e.g. "dmar0"'),
    segment: z.int().min(0).max(0xffff),
    registerBase: hex64.describe('DRHD register base address'),
    scope: z
      .array(bdf)
      .optional()
      .describe('DRHD device scope; a bridge in scope covers its whole secondary..subordinate range'),
    includeAll: z
      .boolean()
      .default(false)
      .describe('DRHD INCLUDE_PCI_ALL: every function of the segment not in another scope'),
    mode: z.enum(['legacy', 'scalable']).describe('translation table format the OS programs'),
    capabilities: capabilitiesSchema,
  })
  .describe('One DMA remapping hardware unit (ACPI DMAR DRHD)');

export const rmrrSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    base: hex64.describe('first byte, 4 KiB aligned'),
    end: hex64.describe('last byte (inclusive, as in the DMAR RMRR structure); end + 1 4 KiB aligned'),
    scope: z
      .array(bdf)
      .min(1)
      .describe('functions (or bridges, covering everything below) needing the region'),
  })
  .describe('A reserved memory region (ACPI DMAR RMRR) that must stay identity-mapped for its devices');

export const memoryRangeSchema = z
  .strictObject({
    base: hex64,
    end: hex64.describe('last byte, inclusive'),
    type: z.enum(['ram', 'reserved']),
  })
  .describe('A system memory map range (e820 style)');

export const teeIoSchema = z
  .union(
    [
      z
        .strictObject({
          boundary: hex64.describe('addresses below are private, at or above shared (vTOM style)'),
        })
        .describe('private below a boundary'),
      z
        .strictObject({
          sharedBit: z
            .int()
            .min(12)
            .max(63)
            .describe('addresses with this bit set are shared (TDX GPA.SHARED style)'),
        })
        .describe('shared when one address bit is set'),
    ],
    { error: 'teeIo is {"boundary": "0x…"} or {"sharedBit": N} with N in 12..63' },
  )
  .describe('TEE-IO private/shared split of DMA addresses');

export const kernelSchema = z
  .strictObject({
    defaultDomain: z
      .enum(['identity', 'dma', 'dma-fq'])
      .default('dma-fq')
      .describe('default domain type (iommu.passthrough=, iommu.strict=); x86 default is dma-fq (lazy)'),
    strict: z.boolean().optional().describe('iommu.strict=; defaults to true only for defaultDomain "dma"'),
    floppyWorkaround: z
      .boolean()
      .default(true)
      .describe('CONFIG_INTEL_IOMMU_FLOPPY_WA (default y on x86): ISA bridges get 0-16 MiB direct-relaxable'),
  })
  .describe('Kernel command line / Kconfig choices that change the model');

export const platformSchema = z
  .strictObject({
    $schema: z.string().optional().describe('optional path or URL of this JSON Schema, for editors'),
    format: z.literal(PLATFORM_FORMAT),
    version: z.literal(PLATFORM_VERSION),
    name: z.string().min(1),
    description: z.string().optional(),
    segments: z.array(segmentSchema).min(1),
    devices: z.array(deviceSchema).min(1),
    iommus: z.array(iommuSchema).default([]),
    reservedMemory: z.array(rmrrSchema).default([]),
    memoryMap: z.array(memoryRangeSchema).default([]),
    teeIo: teeIoSchema.optional(),
    kernel: kernelSchema.default({ defaultDomain: 'dma-fq', floppyWorkaround: true }),
  })
  .describe('IOMMU Lab platform description: PCI hierarchy, VT-d units, RMRRs, memory map, TEE-IO split');

export type PlatformJson = z.input<typeof platformSchema>;
export type ParsedPlatformJson = z.output<typeof platformSchema>;
export type DeviceJson = z.output<typeof deviceSchema>;
export type IommuJson = z.output<typeof iommuSchema>;
export type RmrrJson = z.output<typeof rmrrSchema>;

/** The JSON Schema (draft 2020-12) of the input format, as written to docs/platform.schema.json. */
export function platformJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(platformSchema, { target: 'draft-2020-12', io: 'input' }) as Record<
    string,
    unknown
  >;
  return { ...schema, title: 'iommu-lab/platform version 1' };
}

/** Parses "0x1f" or 31 into a number; the schema has already checked the form. */
export function uintValue(v: number | string): number {
  return typeof v === 'number' ? v : parseInt(v.slice(2), 16);
}

/** Parses a schema-checked "0x…" string into a bigint. */
export function hexValue(v: string): bigint {
  return BigInt(v);
}
