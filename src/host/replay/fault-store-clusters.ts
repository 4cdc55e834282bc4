// The fault table's "group into clusters" rows: the clusters (src/report/clusters.ts, through the
// table's FaultQuery) of the faults matching a filter, each with a root-cause hint (src/report/hints.ts).
// The table holds no page walk, so a cluster's hint is judged on its classes, reason and the platform
// (RMRRs, e820) and on the hazards of the table; where the hint would need the page walk at the first
// fault (mapped without the permission, or not mapped at all) it says so, and the fault's details pane
// has the walk. `lab` gives the platform's devices (the shown state for text traces, a lab built from
// the platform for native ones).
import { formatBdf, ridToBdf } from '../../engine/bdf';
import type { CoreDevice } from '../../engine/iommu/core';
import type { PlatformLab } from '../../engine/lab';
import { faultText, type Hazard } from '../../engine/replay';
import { chooseHint, PERMISSION_REASONS } from '../../report/hints';
import type { FaultColumns } from '../../query/fault-columns';
import type { FaultQuery } from '../../query/query';
import type { ClusterRow } from '../../shared/api';

/** hazards considered for the stale-IOTLB hint */
const MAX_HAZARDS = 10_000;

const hex = (v: number): string => `0x${v.toString(16)}`;

function hazardsOf(store: FaultColumns, ids: Uint32Array): Hazard[] {
  const out: Hazard[] = [];
  for (let p = 0; p < ids.length && out.length < MAX_HAZARDS; p++) {
    const r = store.row(ids[p]!);
    if (!r.hazard) continue;
    out.push({
      kind: 'stale-iotlb',
      time: r.time,
      requesterId: store.cols.rid[ids[p]!]! & 0xffff,
      addr: Number(r.address),
      write: r.access === 'write',
      unmapOrigin: r.hazard.unmapOrigin,
      unmapTime: r.hazard.unmapTime,
    });
  }
  return out;
}

/** The clusters of the faults matching `filter` among the first `visible` rows, in the order opened. */
export function clusterRows(
  query: FaultQuery,
  filter: string | undefined,
  visible: number,
  lab: PlatformLab,
): ClusterRow[] {
  const clusters = query.clusters(filter, visible);
  if (!clusters.length) return [];
  const hazards = hazardsOf(query.store, query.matching('hazard', visible));
  const devOfRid = new Map<number, CoreDevice>();
  for (const d of lab.core.devices.values()) {
    const fn = lab.platform.functions.get(d.bdf);
    if (fn) devOfRid.set(fn.requesterId, d);
  }
  return clusters.map((c) => {
    const f = c.first;
    const device = devOfRid.get(f.requesterId);
    const h = chooseHint(
      c,
      { walk: null, domainType: device?.group.domain.type ?? null, ownedByUser: false, pasidAttached: null },
      { lab, device, hazards, unmaps: [], unitId: null },
    );
    const needsWalk =
      PERMISSION_REASONS.has(f.reason) && (h.rule === 'not-mapped' || h.rule === 'permission');
    const hint = needsWalk
      ? {
          rule: 'permission',
          text:
            `${faultText(f)}: whether ${hex(f.pageAddr)} is mapped without the ${f.write ? 'write' : 'read'} ` +
            'permission or not mapped at all shows in the page walk at the first fault (its details).',
        }
      : { rule: h.rule, text: `${h.title}: ${h.detail}` };
    const bdf = formatBdf(ridToBdf(0, f.requesterId));
    return {
      id: `${bdf}/${f.pasid ?? '-'}/${hex(f.reason)}/${f.index}`,
      bdf,
      pasid: f.pasid,
      reason: f.reason,
      reasonText: faultText(f),
      start: hex(c.lowestPage),
      end: hex(c.highestPage + 0xfff),
      count: c.count,
      firstTime: c.firstTime,
      lastTime: c.lastTime,
      firstIndex: f.index,
      hint,
    };
  });
}
