// Control scripts: JSON lines, one control event per line, named after the iommufd uAPI
// (ioas_map, hwpt_alloc, device_attach…), the kernel (driver_bind, default_domain, dma_map…) and
// TEE-IO (tdisp_lock…). The same events form the control part of traces. Parsing never throws: a
// bad line becomes a LineProblem naming the line and the field, and the lines after it still parse.
// 64-bit values are hex strings ("0xffffffffffffffff") or JSON numbers below 2^53. See
// docs/control-script.md.
import { z } from 'zod';

const U64_MAX = (1n << 64n) - 1n;

const u64 = z.union([z.string(), z.number()]).transform((v, ctx): bigint => {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    ctx.addIssue({
      code: 'custom',
      message: `${v} is not an integer in 0..2^53 (write larger values as hex strings)`,
    });
    return 0n;
  }
  const t = v.trim();
  if (/^0x[0-9a-f]{1,16}$/i.test(t) || /^[0-9]{1,20}$/.test(t)) {
    const b = BigInt(t);
    if (b <= U64_MAX) return b;
  }
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a 64-bit value` });
  return 0n;
});
/** an object id, or "$name" bound earlier with "as" */
const objRef = z.union([
  z.number().int().min(0),
  z.string().regex(/^\$[A-Za-z_][\w-]*$/, 'an id or a $name'),
]);
const bdf = z.string().min(1);
const flags = z.array(z.string()).default([]);
const pasid = z.number().int().min(0).max(0xfffff);
const range = z.object({ start: u64, last: u64 }).strict();

const base = {
  t: z.number().finite().min(0).optional(),
  /** binds the id the event returns to a name, used later as "$name" */
  as: z
    .string()
    .regex(/^[A-Za-z_][\w-]*$/)
    .optional(),
  /** the outcome the script expects: "ok" or an errno; a different outcome is reported as a mismatch */
  expect: z
    .string()
    .regex(/^(ok|E[A-Z0-9]+)$/, '"ok" or an errno such as "EINVAL"')
    .optional(),
};
const ev = <O extends string, T extends z.ZodRawShape>(op: O, shape: T) =>
  z.object({ ...base, op: z.literal(op), ...shape }).strict();

export const controlEventSchemas = {
  ioas_alloc: ev('ioas_alloc', { flags: z.number().int().min(0).default(0) }),
  ioas_map: ev('ioas_map', {
    ioas: objRef,
    flags,
    iova: u64.optional(),
    length: u64,
    user_va: u64,
    pa: u64.optional(),
    readonly_memory: z.boolean().optional(),
  }),
  ioas_unmap: ev('ioas_unmap', { ioas: objRef, iova: u64, length: u64 }),
  ioas_copy: ev('ioas_copy', {
    src_ioas: objRef,
    dst_ioas: objRef,
    flags,
    src_iova: u64,
    dst_iova: u64.optional(),
    length: u64,
  }),
  ioas_iova_ranges: ev('ioas_iova_ranges', {
    ioas: objRef,
    num_iovas: z.number().int().min(0).max(65536).default(64),
  }),
  ioas_allow_iovas: ev('ioas_allow_iovas', { ioas: objRef, ranges: z.array(range) }),
  hwpt_alloc: ev('hwpt_alloc', {
    dev: objRef,
    pt: objRef,
    flags,
    data_type: z.enum(['none', 'vtd_s1']).default('none'),
    data: z
      .object({ flags: z.number().int().min(0).default(0), pgtbl_addr: u64, addr_width: z.number().int() })
      .strict()
      .optional(),
  }),
  hwpt_invalidate: ev('hwpt_invalidate', {
    hwpt: objRef,
    entries: z.array(z.object({ addr: u64, npages: u64, flags }).strict()),
  }),
  device_bind: ev('device_bind', { bdf }),
  device_unbind: ev('device_unbind', { dev: objRef }),
  device_attach: ev('device_attach', { dev: objRef, pt: objRef }),
  device_replace: ev('device_replace', { dev: objRef, pt: objRef }),
  device_detach: ev('device_detach', { dev: objRef }),
  pasid_attach: ev('pasid_attach', { dev: objRef, pasid, pt: objRef }),
  pasid_replace: ev('pasid_replace', { dev: objRef, pasid, pt: objRef }),
  pasid_detach: ev('pasid_detach', { dev: objRef, pasid }),
  destroy: ev('destroy', { id: objRef }),
  driver_bind: ev('driver_bind', { bdf, driver: z.string().min(1) }),
  driver_unbind: ev('driver_unbind', { bdf }),
  default_domain: ev('default_domain', {
    group: z.number().int().min(0).optional(),
    bdf: bdf.optional(),
    type: z.enum(['identity', 'DMA', 'DMA-FQ']),
  }),
  dma_map: ev('dma_map', {
    bdf,
    iova: u64,
    length: u64,
    pa: u64.optional(),
    prot: z.enum(['r', 'w', 'rw']).default('rw'),
  }),
  dma_unmap: ev('dma_unmap', { bdf, iova: u64, length: u64 }),
  tdisp_lock: ev('tdisp_lock', { bdf }),
  tdisp_run: ev('tdisp_run', { bdf }),
  tdisp_stop: ev('tdisp_stop', { bdf }),
} as const;

export type ControlOp = keyof typeof controlEventSchemas;
export type ControlEvent = { [K in ControlOp]: z.output<(typeof controlEventSchemas)[K]> }[ControlOp];
export type ObjRef = number | string;

export const CONTROL_OPS = Object.keys(controlEventSchemas) as ControlOp[];

export interface ParsedLine {
  line: number;
  event: ControlEvent;
}

export interface LineProblem {
  line: number;
  op: string | null;
  /** ENOTTY: unknown op (as for an unknown ioctl); EINVAL: a field is missing or of the wrong type */
  errno: 'ENOTTY' | 'EINVAL';
  message: string;
}

function describe(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** Parses one line (already known to be non-blank). */
export function parseControlLine(text: string, line: number): ParsedLine | LineProblem {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { line, op: null, errno: 'EINVAL', message: `not JSON: ${(e as Error).message}` };
  }
  const op = (json as { op?: unknown } | null)?.op;
  if (typeof op !== 'string') return { line, op: null, errno: 'EINVAL', message: 'missing "op"' };
  if (!Object.hasOwn(controlEventSchemas, op)) {
    return { line, op, errno: 'ENOTTY', message: `unknown op "${op}" (known: ${CONTROL_OPS.join(', ')})` };
  }
  const r = controlEventSchemas[op as ControlOp].safeParse(json);
  if (!r.success) return { line, op, errno: 'EINVAL', message: describe(r.error) };
  return { line, event: r.data as ControlEvent };
}

/** Parses a whole script: events in order and the problems of the lines that were skipped. */
export function parseControlScript(text: string): Array<ParsedLine | LineProblem> {
  const out: Array<ParsedLine | LineProblem> = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '' || t.startsWith('#') || t.startsWith('//')) continue;
    out.push(parseControlLine(t, i + 1));
  }
  return out;
}

export function isProblem(x: ParsedLine | LineProblem): x is LineProblem {
  return 'errno' in x;
}
