// Where a fault or hazard is in a fault table (FaultColumns): the row of the `ordinal`-th fault (or
// hazard) of the trace, among rows [0, n). Rows are in trace order and a kind's ordinals grow along
// them, so a binary search finds it; each probe moves forward past rows of the other kind and gap rows
// (a seek skipped them), which costs at most one pass over the rows in all. The fault numbered k sits
// at row k or later (the rows before it hold the k faults before it and any hazards). -1 when the rows
// do not hold it (not replayed yet, or skipped by a seek). Pure.
import { FLAG_GAP, FLAG_HAZARD, type FaultColumns } from './fault-columns';

export function rowOf(
  store: FaultColumns,
  kind: 'fault' | 'hazard',
  ordinal: number,
  n = store.length,
): number {
  const flags = store.cols.flags;
  const ord = store.cols.ordinal;
  const want = kind === 'hazard' ? FLAG_HAZARD : 0;
  let lo = Math.min(ordinal, n);
  let hi = Math.min(n, store.length);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    let q = mid;
    while (q < hi && (flags[q]! & (FLAG_HAZARD | FLAG_GAP)) !== want) q++;
    if (q === hi) {
      hi = mid;
      continue;
    }
    const o = ord[q]!;
    if (o === ordinal) return q;
    if (o < ordinal) lo = q + 1;
    else hi = mid;
  }
  return -1;
}
