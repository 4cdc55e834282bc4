// The engine core of the worker player with the fault time log the timeline's fault density reads
// (src/report/fault-times.ts): before each fold of the Replay's faults into the counts, their times are
// logged by fault index. Faults replayed while a seek warms up are not counted, so not logged either.
import { FaultTimeLog } from '../../report/fault-times';
import { EngineCore } from './engine-core';

export class FaultTimesCore extends EngineCore {
  readonly faultTimes = new FaultTimeLog();

  override fold(): void {
    if (!this.warming) {
      let index = this.agg.faults;
      for (const f of this.replay.faults) this.faultTimes.record(index++, f.time);
    }
    super.fold();
  }
}
