// The 'faultDensity' view: the faults so far counted by time bucket over [start, end] in `buckets`
// buckets (src/report/timeline.ts); the buckets sum to the faults so far. In the engine worker the
// Replay's faults are folded away after each batch, so the context carries the fault time log
// (src/report/fault-times.ts) and the count so far; on the host thread the Replay keeps every fault.
import { bucketTimes } from '../../report/timeline';
import { InspectError, type InspectContext, type InspectQuery } from './index';

export function faultDensityView(ctx: InspectContext, query: InspectQuery): Float64Array {
  const { start, end, buckets } = query;
  if (typeof start !== 'number' || typeof end !== 'number' || !(end >= start))
    throw new InspectError('faultDensity: start and end must be numbers with end ≥ start');
  if (typeof buckets !== 'number' || !Number.isInteger(buckets) || buckets < 1 || buckets > 4096)
    throw new InspectError('faultDensity: buckets must be an integer in 1..4096');
  const b = { start, end, buckets };
  if (ctx.faultTimes) return ctx.faultTimes.log.density(ctx.faultTimes.count, b);
  const faults = ctx.replay.faults;
  return bucketTimes(
    faults.map((f) => f.time),
    faults.length,
    b,
  );
}
