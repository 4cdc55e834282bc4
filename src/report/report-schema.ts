// The fault report's JSON shape (format "iommu-lab/fault-report", reportVersion 1), as a zod schema.
// The TypeScript type Report is derived from it, `iommu-lab diff` validates its inputs with it, and
// reportJsonSchema() derives docs/report.schema.json (a test keeps the file in step). Addresses are
// hex strings ("0x3e300000"), times are trace nanoseconds, counts are integers. A change that a
// reader of version 1 would misread bumps REPORT_VERSION. See docs/report.md.
import { z } from 'zod';

export const REPORT_FORMAT = 'iommu-lab/fault-report';
export const REPORT_VERSION = 1;

const hex = z.string().regex(/^0x[0-9a-f]+$/, { error: 'a lower-case hex string "0x…"' });
const bdf = z.string().describe('PCI function "SSSS:BB:DD.F"');
const count = z.int().min(0);
const ns = z.number().min(0).describe('trace time in ns');
const counts = z.record(z.string(), count);

/** Root-cause hint rules, in the order they are tried (src/report/hints.ts). */
export const HINT_RULES = [
  'unknown-requester',
  'tbit-mismatch',
  'beyond-address-width',
  'rmrr-user',
  'dma-while-blocked',
  'missing-rmrr',
  'stale-iotlb',
  'pasid-not-attached',
  'permission',
  'not-mapped',
  'other',
] as const;
export type HintRule = (typeof HINT_RULES)[number];

/** Who is expected to act on a hint. */
export const TEAMS = ['firmware', 'os', 'driver', 'platform', 'device'] as const;

const fileIdentity = z
  .strictObject({
    name: z.string().describe('the file as given (path or upload name)'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: count,
  })
  .describe('an input file, by content hash');

export const runSchema = z
  .strictObject({
    labVersion: z.string(),
    trace: fileIdentity,
    platform: fileIdentity.extend({ title: z.string().describe("the platform's name") }),
    options: z.strictObject({
      profile: z.enum(['vtd-spec', 'qemu-7.2']),
      iotlb: z.enum(['hardware', 'strict']),
      faultIrqLatencyNs: ns,
      edits: z.array(z.string()).describe('what-if edits applied to the platform and trace, in order'),
    }),
  })
  .describe('what was run: enough to reproduce the report');

export const summarySchema = z.strictObject({
  platform: z.string(),
  profile: z.string(),
  events: count,
  tlps: count,
  faults: count,
  recording: counts.describe('faults by fault-recording outcome: recorded, compressed, overflow, fpd…'),
  hazards: count,
  badLines: count,
  rejectedControl: count,
  clusters: count,
  devicesWithFaults: count,
  hints: counts.describe('clusters by hint rule'),
  firmware: z
    .strictObject({ error: count, warning: count, info: count })
    .nullable()
    .describe('firmware findings by severity; null when no tables were given'),
  exitCode: z.int().min(0).max(15).describe('the CLI exit bitmask this run earns (README, Exit codes)'),
});

const regionSchema = z.strictObject({
  start: hex,
  end: hex.describe('last byte'),
  type: z.string(),
  source: z.string(),
});

const mappingSchema = z.strictObject({
  iova: hex,
  length: hex,
  pa: hex,
  prot: z.enum(['', 'r', 'w', 'rw']),
  origin: z.string(),
});

export const deviceSchema = z.strictObject({
  bdf,
  name: z.string(),
  classCode: z.string(),
  group: count,
  domainType: z.string().describe('domain in force for requests without PASID at the end of the run'),
  driver: z.string().nullable(),
  tlps: count,
  faults: count,
  clusters: z.array(z.string()).describe('ids of the clusters of this device'),
  regions: z.array(regionSchema).describe('reserved regions (RMRR unity maps, MSI window…)'),
  mappings: z.array(mappingSchema).describe('live mappings of its domain at the end (at most 256)'),
  mappingsTotal: count,
});

export const groupSchema = z.strictObject({
  id: count,
  reason: z.string(),
  members: z.array(bdf),
  domainType: z.string(),
  defaultDomainType: z.string(),
  owner: z.enum(['none', 'kernel', 'user']).describe('DMA owner: none, kernel drivers, or user space'),
  pasids: z.array(z.strictObject({ pasid: count, domainType: z.string() })),
  faults: count,
});

export const pasidSchema = z.strictObject({
  bdf,
  pasid: count,
  attached: z.string().nullable().describe('the domain attached to this PASID at the end, or null'),
  tlps: count,
  faults: count,
  clusters: z.array(z.string()),
});

export const walkStepSchema = z.strictObject({
  structure: z.string(),
  level: count,
  entryAddr: hex,
  raw: z.string(),
  fields: z.record(z.string(), z.union([z.number(), z.boolean()])),
});

export const walkSchema = z
  .strictObject({
    unit: z.string(),
    steps: z.array(walkStepSchema),
    outcome: z.strictObject({
      status: z.enum(['translated', 'fault', 'interrupt']),
      reason: z.int().nullable(),
      stage: z.string(),
      address: hex.nullable().describe('translated address, when translated'),
    }),
  })
  .describe("the table walk of the first fault's request, on the tables as they were at that moment");

export const hintSchema = z.strictObject({
  rule: z.enum(HINT_RULES),
  title: z.string(),
  team: z.enum(TEAMS),
  detail: z.string(),
});

export const clusterSchema = z.strictObject({
  id: z.string().describe('stable within a report: bdf/pasid/reason/first page'),
  bdf,
  requesterId: z.int().min(0).max(0xffff),
  deviceName: z.string().nullable().describe('null for a requester ID no device owns'),
  pasid: count.nullable(),
  reason: z.int().min(0),
  reasonText: z.string(),
  access: z.enum(['read', 'write', 'mixed']),
  stage: z.string(),
  classes: z.array(z.string()),
  range: z
    .strictObject({ start: hex, end: hex })
    .describe('the 64 KiB-aligned window holding every faulting page'),
  pages: z.strictObject({ lowest: hex, highest: hex, distinct: count }),
  time: z.strictObject({ first: ns, last: ns }),
  count,
  recording: counts,
  first: z.strictObject({
    index: count.describe('index of the fault in the run'),
    time: ns,
    address: hex,
    access: z.enum(['read', 'write']),
    dmesg: z.string(),
  }),
  walk: walkSchema.nullable(),
  hint: hintSchema,
});

const hazardSchema = z.strictObject({
  kind: z.literal('stale-iotlb'),
  time: ns,
  bdf,
  address: hex,
  access: z.enum(['read', 'write']),
  unmapOrigin: z.string(),
  unmapTime: ns,
  age: ns,
});

const findingSchema = z.strictObject({
  severity: z.enum(['error', 'warning', 'info']),
  code: z.string(),
  message: z.string(),
  offset: z.int().nullable(),
  file: z.string().optional(),
  line: z.int().optional(),
  table: z.string().optional(),
});

export const reportSchema = z
  .strictObject({
    $schema: z.string().optional(),
    format: z.literal(REPORT_FORMAT),
    reportVersion: z.literal(REPORT_VERSION),
    run: runSchema,
    summary: summarySchema,
    devices: z.array(deviceSchema).describe('every translated device, in PCI scan order'),
    groups: z.array(groupSchema),
    pasids: z.array(pasidSchema),
    clusters: z.array(clusterSchema).describe('fault clusters, by time of first occurrence'),
    hazards: z.array(hazardSchema),
    rejected: z.array(
      z.strictObject({ origin: z.string(), op: z.string(), errno: z.string(), message: z.string() }),
    ),
    errors: z
      .array(
        z.union([
          z.strictObject({ file: z.string(), line: z.int(), message: z.string() }),
          z.strictObject({ file: z.string(), offset: count, length: count, message: z.string() }),
        ]),
      )
      .describe(
        'parts of the trace skipped: bad lines of a text trace, damaged parts (by file offset) of a native one',
      ),
    firmware: z
      .strictObject({ findings: z.array(findingSchema) })
      .nullable()
      .describe('firmware findings (iommu-lab platform), when tables were given'),
  })
  .describe('IOMMU Lab fault report: one replay, its fault clusters with root-cause hints');

export type Report = z.output<typeof reportSchema>;
export type ReportCluster = z.output<typeof clusterSchema>;
export type ReportDevice = z.output<typeof deviceSchema>;
export type ReportGroup = z.output<typeof groupSchema>;
export type ReportPasid = z.output<typeof pasidSchema>;
export type ReportWalk = z.output<typeof walkSchema>;
export type ReportHint = z.output<typeof hintSchema>;
export type ReportRun = z.output<typeof runSchema>;

export function reportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(reportSchema, { target: 'draft-2020-12', io: 'input' }) as Record<
    string,
    unknown
  >;
  return { ...schema, title: `${REPORT_FORMAT} version ${REPORT_VERSION}` };
}

/** Validates a parsed JSON document as a report; the message names the first bad field. */
export function parseReport(json: unknown): { ok: true; report: Report } | { ok: false; message: string } {
  const r = reportSchema.safeParse(json);
  if (r.success) return { ok: true, report: r.data };
  const i = r.error.issues[0];
  const where = i && i.path.length ? i.path.join('.') : 'document';
  return {
    ok: false,
    message: `not an ${REPORT_FORMAT} v${REPORT_VERSION}: ${where}: ${i?.message ?? 'rejected'}`,
  };
}
