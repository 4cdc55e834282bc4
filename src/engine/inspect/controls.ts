// The 'controls' view: the control events applied so far as timeline markers (time, op, a short
// label of the event's fields), evenly sampled down to `max` (default 1000) with the count left out.
import type { TimelineMarker } from '../../shared/views/timeline';
import { sampleEvenly } from '../../report/timeline';
import type { ControlStep } from '../replay';
import { InspectError, type InspectContext, type InspectQuery } from './index';

export const DEFAULT_MAX_MARKERS = 1000;
const MAX_LABEL = 160;

/** "op field=value …" for a control event (its `t`, `as` and `expect` left out), at most 160 characters. */
export function markerLabel(step: ControlStep): string {
  const parts: string[] = [step.event.op];
  for (const [k, v] of Object.entries(step.event)) {
    if (k === 'op' || k === 't' || k === 'as' || k === 'expect' || v === undefined) continue;
    parts.push(`${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  const label = parts.join(' ');
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}

export function controlsView(
  ctx: InspectContext,
  query: InspectQuery,
): { markers: TimelineMarker[]; moreMarkers: number } {
  const max = query['max'] ?? DEFAULT_MAX_MARKERS;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 0)
    throw new InspectError('controls: max must be an integer ≥ 0');
  const kept = sampleEvenly(ctx.controls, max);
  return {
    markers: kept.map((s) => ({ time: s.time, kind: s.event.op, label: markerLabel(s) })),
    moreMarkers: ctx.controls.length - kept.length,
  };
}
