// The fault and hazard rows `iommu-lab replay` lists, read from a replay's fault table (a FaultQuery over
// the FaultColumns store every fault and hazard went into: fault-store.ts) instead of kept as objects
// while the replay runs. tableRows(table, max, filter?) gives the first `max` faults and the first `max`
// hazards matching `filter` (docs/filter.md; none: every fault and every hazard), in trace order, in the
// shapes src/report/summary.ts builds from a Replay's Fault and Hazard objects (faultRow, hazardRow),
// equal to them field for field and in key order (so the JSON output is the same), and how many faults
// and hazards match. Gap rows (rows a far seek skipped, which a play from the start never leaves) are
// neither listed nor counted. `filter` must parse (parseFilter); a bad one throws FilterError. Pure.
import { FLAG_GAP } from '../../query/fault-columns';
import type { FaultQuery } from '../../query/query';
import { faultRow } from '../../report/summary';
import type { FaultRow, HazardRow } from '../../shared/api';

export interface TableRows {
  /** the first `max` matching faults, as faultRow(fault) gives them */
  faultRows: FaultRow[];
  /** the first `max` matching hazards, as hazardRow(hazard) gives them */
  hazardRows: HazardRow[];
  /** faults and hazards matching the filter (all of them without one) */
  faults: number;
  hazards: number;
}

export function tableRows(table: FaultQuery, max: number, filter?: string): TableRows {
  const store = table.store;
  const flags = store.cols.flags;
  /** the first `max` matching rows of a kind (gap rows left out), and how many match */
  const matching = (kind: 'fault' | 'hazard'): { first: number[]; count: number } => {
    const first: number[] = [];
    let count = 0;
    for (const i of table.matching(filter === undefined ? kind : `${kind} && (${filter})`)) {
      if (flags[i]! & FLAG_GAP) continue;
      if (count++ < max) first.push(i);
    }
    return { first, count };
  };
  const faults = matching('fault');
  const hazards = matching('hazard');
  const faultRows = faults.first.map((i) => faultRow(store.fault(i)!));
  const hazardRows = hazards.first.map((i): HazardRow => {
    const r = store.row(i);
    const { unmapOrigin, unmapTime, age } = r.hazard!;
    return {
      kind: 'stale-iotlb',
      time: r.time,
      bdf: r.bdf,
      address: r.address,
      access: r.access,
      unmapOrigin,
      unmapTime,
      age,
    };
  });
  return { faultRows, hazardRows, faults: faults.count, hazards: hazards.count };
}
