// The control part of a chunk: control events (src/trace/control-script.ts) with their time, each a
// MessagePack array [time, before, event] where `before` is how many of the chunk's TLP records come
// before it (this fixes the merge order, ties included) and `event` is the event in its control-script
// JSON form: u64 fields as "0x…" hex strings, so decoding validates it with the same zod schema as a
// script line. An `observed_fault` event (observed-fault.ts: a fault a log reported, not a control-script
// op) is validated by its own schema. The entries follow each other with no count or separator.
import { controlEventSchemas, type ControlEvent, type ControlOp } from '../control-script';
import { isU53 } from './layout';
import { pack, packr } from './msgpack';
import { OBSERVED_FAULT_OP, observedFaultEventSchema, type TraceControlEvent } from './observed-fault';

export interface ControlEntry {
  /** integer nanoseconds */
  time: number;
  /** how many of the chunk's records precede this event */
  before: number;
  event: TraceControlEvent;
}

/** The event as a control-script line would write it: bigints as hex strings, no undefined fields. */
export function scriptForm(v: unknown): unknown {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (Array.isArray(v)) return v.map(scriptForm);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = scriptForm(x);
    return out;
  }
  return v;
}

export function encodeControlEntry(time: number, before: number, event: TraceControlEvent): Uint8Array {
  return pack([time, before, scriptForm(event)]);
}

export interface ControlSection {
  entries: ControlEntry[];
  /** entries skipped because their event is not a valid control event: index and reason */
  skipped: { index: number; message: string }[];
}

/**
 * Decodes a chunk's control bytes. A structural problem (not MessagePack, not [time, before, event],
 * times or positions out of order or range) is a string: the chunk is unusable. An event that fails its
 * schema is skipped alone.
 */
export function decodeControlSection(
  bytes: Uint8Array,
  recordCount: number,
  firstTime: number,
  lastTime: number,
): ControlSection | string {
  const out: ControlSection = { entries: [], skipped: [] };
  if (bytes.length === 0) return out;
  let values: unknown[];
  try {
    values = packr.unpackMultiple(bytes) as unknown[];
  } catch (e) {
    return `control events are not MessagePack: ${(e as Error).message}`;
  }
  let prevBefore = 0;
  let prevTime = firstTime;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Array.isArray(v) || v.length !== 3) return `control event ${i} is not [time, before, event]`;
    const [time, before, raw] = v as [unknown, unknown, unknown];
    if (typeof time !== 'number' || !isU53(time) || time < prevTime || time > lastTime) {
      return `control event ${i}: time ${String(time)} out of order or outside the chunk's range`;
    }
    if (
      typeof before !== 'number' ||
      !Number.isInteger(before) ||
      before < prevBefore ||
      before > recordCount
    ) {
      return `control event ${i}: position ${String(before)} out of order or range`;
    }
    prevTime = time;
    prevBefore = before;
    const op = (raw as { op?: unknown } | null)?.op;
    if (op === OBSERVED_FAULT_OP) {
      const r = observedFaultEventSchema.safeParse(raw);
      if (r.success) out.entries.push({ time, before, event: r.data });
      else {
        const issue = r.error.issues[0]!;
        out.skipped.push({ index: i, message: `EINVAL: ${op}: ${issue.path.join('.')}: ${issue.message}` });
      }
      continue;
    }
    if (typeof op !== 'string' || !Object.hasOwn(controlEventSchemas, op)) {
      out.skipped.push({ index: i, message: `ENOTTY: unknown op ${JSON.stringify(op ?? null)}` });
      continue;
    }
    const r = controlEventSchemas[op as ControlOp].safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      out.skipped.push({ index: i, message: `EINVAL: ${op}: ${issue.path.join('.')}: ${issue.message}` });
      continue;
    }
    out.entries.push({ time, before, event: r.data as ControlEvent });
  }
  return out;
}
