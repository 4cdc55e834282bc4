// The timeline view: TLP and fault density over the trace's time span, and control events as markers.
import { z } from 'zod';

export const timelineParams = z.object({ buckets: z.number().int().min(1).max(4096) }).strict();

export interface TimelineMarker {
  time: number;
  /** the control event's op (map, unmap, attach…) */
  kind: string;
  label: string;
}

export interface TimelineView {
  start: number;
  end: number;
  /** per bucket of (end - start) / buckets ns */
  tlps: Float64Array;
  faults: Float64Array;
  markers: TimelineMarker[];
  /** markers left out beyond the cap */
  moreMarkers: number;
}
