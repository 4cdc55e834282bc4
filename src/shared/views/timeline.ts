// The timeline view: TLP and fault density over the trace's time span, and control events as markers.
// TLP density covers the whole trace (native traces: from the footer's chunk index, each chunk's
// records spread evenly over its span; text traces: the DMA events); fault density and markers cover
// what has been replayed so far (the faults and control events up to the current time).
import { z } from 'zod';

export const timelineParams = z
  .object({
    buckets: z.number().int().min(1).max(4096),
    /** markers shown at most (evenly sampled beyond); default 1000 */
    maxMarkers: z.number().int().min(0).max(10_000).optional(),
  })
  .strict();

export interface TimelineMarker {
  time: number;
  /** the control event's op (map, unmap, attach…) */
  kind: string;
  label: string;
}

export interface TimelineView {
  /** the trace's first and last event times, ns */
  start: number;
  end: number;
  /** per bucket of (end - start) / buckets ns: bucket i covers [start + i·w, start + (i+1)·w) */
  tlps: Float64Array;
  /** faults so far per bucket (sums to the faults so far) */
  faults: Float64Array;
  /** control events applied so far, in time order */
  markers: TimelineMarker[];
  /** markers left out beyond the cap */
  moreMarkers: number;
}
