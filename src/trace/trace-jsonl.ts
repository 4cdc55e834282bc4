// The provisional text trace (JSON lines) of the first vertical slice; the binary chunked format of
// the trace issue supersedes it. Line 1 is a header naming the platform file; every other line is one
// event: a DMA request ({"op":"dma",…}) or any control event of a control script
// (src/trace/control-script.ts). A bad line is reported with its file and line number, counted and
// skipped: the lines after it still load. See docs/trace-jsonl.md.
import { z } from 'zod';
import { parseAddress } from '../engine/address';
import { parseBdf, rid } from '../engine/bdf';
import type { ReplayEvent } from '../engine/replay';
import { isProblem, parseControlLine } from './control-script';

export const TRACE_JSONL_FORMAT = 'iommu-lab/trace-jsonl';

export interface TraceHeader {
  format: typeof TRACE_JSONL_FORMAT;
  version: 1;
  /** platform file, relative to the trace file */
  platform?: string;
  description?: string;
  source?: 'hardware' | 'qemu';
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

const headerSchema = z.object({
  format: z.literal(TRACE_JSONL_FORMAT),
  version: z.literal(1),
  platform: z.string().min(1).optional(),
  description: z.string().optional(),
  /** where the capture comes from: real silicon, or QEMU's emulated VT-d (selects the fault profile) */
  source: z.enum(['hardware', 'qemu']).optional(),
});

const dmaSchema = z
  .object({
    op: z.literal('dma'),
    t: z.number().finite().min(0),
    bdf,
    addr: address,
    len: z.number().int().min(1).max(4096),
    access: z.enum(['read', 'write', 'atomic']),
    pasid: z.number().int().min(0).max(0xfffff).optional(),
    /** TEE-IO T bit */
    tbit: z.union([z.literal(0), z.literal(1)]).optional(),
    /** PCIe AT field */
    at: z.enum(['untranslated', 'translation-request', 'translated']).optional(),
    exec: z.boolean().optional(),
    priv: z.boolean().optional(),
  })
  .strict();

function describeIssue(err: z.ZodError): string {
  const i = err.issues[0]!;
  return i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message;
}

/** Parses one event line; a string is the problem with it. */
function parseEvent(raw: string, json: unknown, file: string, line: number): ReplayEvent | string {
  if ((json as { op?: unknown } | null)?.op === 'dma') {
    const d = dmaSchema.safeParse(json);
    if (!d.success) return describeIssue(d.error);
    const e = d.data;
    return {
      kind: 'dma',
      time: e.t,
      requesterId: e.bdf,
      pasid: e.pasid ?? null,
      addr: e.addr,
      len: e.len,
      write: e.access !== 'read',
      atomic: e.access === 'atomic',
      tbit: e.tbit ?? 0,
      at: e.at === 'translated' ? 2 : e.at === 'translation-request' ? 1 : 0,
      exec: e.exec ?? false,
      priv: e.priv ?? false,
    };
  }
  const c = parseControlLine(raw, line);
  if (isProblem(c)) return `${c.errno}: ${c.message}`;
  if (c.event.t === undefined) return 't: a trace event needs a time';
  return { kind: 'control', time: c.event.t, origin: `${file}:${line}`, event: c.event };
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
          message: `expected the header {"format":"${TRACE_JSONL_FORMAT}","version":1,…}: ${describeIssue(h.error)}`,
        });
        return { header: { format: TRACE_JSONL_FORMAT, version: 1 }, events, errors };
      }
      header = h.data;
      continue;
    }
    const ev = parseEvent(raw, json, file, line);
    if (typeof ev === 'string') {
      errors.push({ file, line, message: ev });
      continue;
    }
    if (ev.time < lastTime) {
      errors.push({ file, line, message: `time ${ev.time} goes back (previous event at ${lastTime})` });
      continue;
    }
    lastTime = ev.time;
    events.push(ev);
  }
  if (header === null) errors.push({ file, line: 1, message: 'empty trace: no header line' });
  return { header: header ?? { format: TRACE_JSONL_FORMAT, version: 1 }, events, errors };
}
