// Fault clusters: the grouping rules of docs/report.md on faults made by hand.
import { describe, expect, it } from 'vitest';
import type { Fault } from '../engine/replay';
import { CLUSTER_GAP_NS, clusterFaults } from './clusters';

let index = 0;
function fault(time: number, pageAddr: number, over: Partial<Fault> = {}): Fault {
  return {
    index: index++,
    time,
    requesterId: 0x00a0,
    pasid: null,
    write: false,
    pageAddr,
    reason: 6,
    stage: 'second-level',
    recording: 'recorded',
    classes: [],
    profile: 'vtd-spec',
    ...over,
  };
}

describe('clusterFaults', () => {
  it('merges faults of one requester and reason in the same or adjacent 64 KiB windows', () => {
    const cs = clusterFaults([
      fault(100, 0x3e300000),
      fault(200, 0x3e300000),
      fault(300, 0x3e30f000),
      fault(400, 0x3e310000), // next window: adjacent, merges
      fault(500, 0x3e330000), // two windows further than the cluster's last: a new cluster
    ]);
    expect(cs.map((c) => c.faults.length)).toEqual([4, 1]);
    expect(cs[0]).toMatchObject({
      lowestPage: 0x3e300000,
      highestPage: 0x3e310000,
      firstTime: 100,
      lastTime: 400,
    });
    expect(cs[0]!.pages.size).toBe(3);
  });

  it('splits on a gap of more than 100 ms, on the reason, the PASID and the requester', () => {
    const cs = clusterFaults([
      fault(0, 0x1000),
      fault(CLUSTER_GAP_NS, 0x1000), // exactly 100 ms: same cluster
      fault(2 * CLUSTER_GAP_NS + 1, 0x1000), // 100 ms + 1 ns after the last: new
      fault(2 * CLUSTER_GAP_NS + 2, 0x1000, { reason: 5 }),
      fault(2 * CLUSTER_GAP_NS + 3, 0x1000, { pasid: 1 }),
      fault(2 * CLUSTER_GAP_NS + 4, 0x1000, { requesterId: 0x0100 }),
    ]);
    expect(cs.map((c) => c.faults.length)).toEqual([2, 1, 1, 1, 1]);
  });

  it('lets a fault rejoin an older cluster of its key when it fits that one', () => {
    const cs = clusterFaults([fault(0, 0x100000), fault(10, 0x900000), fault(20, 0x101000)]);
    expect(cs.map((c) => c.faults.map((f) => f.time))).toEqual([[0, 20], [10]]);
  });
});
