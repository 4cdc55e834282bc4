// The provisional text trace (JSON lines) of the first vertical slice; the binary chunked format of
// the trace issue supersedes it. Line 1 is a header naming the platform file; every other line is
// one event. A bad line is reported with its file and line number, counted and skipped: the lines
// after it still load. See docs/trace-jsonl.md.
import { z } from 'zod';
import { parseAddress } from '../engine/address';
import { parseBdf, rid } from '../engine/bdf';
import type { ReplayEvent } from '../engine/replay';

export const TRACE_JSONL_FORMAT = 'iommu-lab/trace-jsonl';

export interface TraceHeader {
  format: typeof TRACE_JSONL_FORMAT;
  version: 0;
  /** platform file, relative to the trace file */
  platform?: string;
  description?: string;
}

export interface LineError {
  file: string;
  line: number;
  message: string;
}

export interface ParsedTrace {
  header: TraceHeader;
  events: ReplayEvent[];
  errors: LineError[];
}

const address = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseAddress(v);
  if (n === null)
    ctx.addIssue({ code: 'custom', message: `not an address below 2^53: ${JSON.stringify(v)}` });
  return n ?? 0;
});
const bdf = z.string().transform((v, ctx) => {
  const b = parseBdf(v);
  if (!b) ctx.addIssue({ code: 'custom', message: `not a PCI address: ${JSON.stringify(v)}` });
  return b ? rid(b) : 0;
});
const time = z.number().finite().min(0);

const headerSchema = z.object({
  format: z.literal(TRACE_JSONL_FORMAT),
  version: z.literal(0),
  platform: z.string().min(1).optional(),
  description: z.string().optional(),
});

const eventSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('map'),
      t: time,
      bdf,
      iova: address,
      size: address,
      perm: z.enum(['r', 'w', 'rw']),
    })
    .strict(),
  z.object({ op: z.literal('unmap'), t: time, bdf, iova: address, size: address }).strict(),
  z
    .object({
      op: z.literal('dma'),
      t: time,
      bdf,
      addr: address,
      len: z.number().int().min(1).max(4096),
      access: z.enum(['read', 'write']),
      pasid: z.number().int().min(0).max(0xfffff).optional(),
    })
    .strict(),
]);

function toEvent(e: z.output<typeof eventSchema>): ReplayEvent {
  switch (e.op) {
    case 'map':
      return {
        kind: 'map',
        time: e.t,
        requesterId: e.bdf,
        iova: e.iova,
        size: e.size,
        read: e.perm.includes('r'),
        write: e.perm.includes('w'),
      };
    case 'unmap':
      return { kind: 'unmap', time: e.t, requesterId: e.bdf, iova: e.iova, size: e.size };
    case 'dma':
      return {
        kind: 'dma',
        time: e.t,
        requesterId: e.bdf,
        pasid: e.pasid ?? null,
        addr: e.addr,
        len: e.len,
        write: e.access === 'write',
      };
  }
}

function describeIssue(err: z.ZodError): string {
  const i = err.issues[0]!;
  return i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message;
}

/** Parses a whole JSONL trace. Never throws on bad content: every problem is a LineError. */
export function parseTraceJsonl(text: string, file: string): ParsedTrace {
  const errors: LineError[] = [];
  const events: ReplayEvent[] = [];
  const lines = text.split(/\r?\n/);
  let header: TraceHeader | null = null;
  let lastTime = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const line = i + 1;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      errors.push({ file, line, message: `not JSON: ${(e as Error).message}` });
      continue;
    }
    if (header === null) {
      const h = headerSchema.safeParse(json);
      if (!h.success) {
        errors.push({
          file,
          line,
          message: `expected the header {"format":"${TRACE_JSONL_FORMAT}","version":0,…}: ${describeIssue(h.error)}`,
        });
        return { header: { format: TRACE_JSONL_FORMAT, version: 0 }, events, errors };
      }
      header = h.data;
      continue;
    }
    const ev = eventSchema.safeParse(json);
    if (!ev.success) {
      errors.push({ file, line, message: describeIssue(ev.error) });
      continue;
    }
    if (ev.data.t < lastTime) {
      errors.push({ file, line, message: `time ${ev.data.t} goes back (previous event at ${lastTime})` });
      continue;
    }
    lastTime = ev.data.t;
    events.push(toEvent(ev.data));
  }
  if (header === null) errors.push({ file, line: 1, message: 'empty trace: no header line' });
  return { header: header ?? { format: TRACE_JSONL_FORMAT, version: 0 }, events, errors };
}
