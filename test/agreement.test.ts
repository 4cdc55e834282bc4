// Agreement indexes model faults by (requester, page) only once the first observed fault arrives:
// model faults queued before it must match exactly as if they had been indexed all along (also in a
// checkpoint's copy). Expected verdicts follow the rule in src/host/replay/agreement.ts: same requester,
// same 4 KiB page, at most windowNs apart; same reason → agree.
import { describe, expect, it } from 'vitest';
import type { Fault } from '../src/engine/replay';
import { Agreement } from '../src/host/replay/agreement';
import type { ObservedFaultEvent } from '../src/trace/native/index';

const fault = (time: number, rid: number, pageAddr: number, reason: number): Fault => ({
  index: 0,
  time,
  requesterId: rid,
  pasid: null,
  write: false,
  pageAddr,
  reason,
  stage: 'second-level',
  recording: 'recorded',
  classes: [],
  profile: 'vtd-spec',
});

const observed = (bdf: string, address: string, reason: number): ObservedFaultEvent => ({
  op: 'observed_fault',
  source: 'intel',
  origin: 'linux',
  format: 'dmar-2021',
  segment: 0,
  bdf,
  sid: null,
  pasid: null,
  access: 'read',
  address,
  reason,
  reasonText: 'test',
});

describe('Agreement before and after the first observed fault', () => {
  it('matches model faults queued before the first observed fault, in a copy too', () => {
    for (const copy of [false, true]) {
      let a = new Agreement(1000);
      a.onModelFault(fault(100, 0x0100, 0x5000, 6)); // 01:00.0, page 5
      a.onModelFault(fault(150, 0x0200, 0x5000, 6)); // another requester: never observed
      a.onModelFault(fault(200, 0x0100, 0x6000, 5)); // page 6: observed with another reason
      if (copy) a = a.clone();
      a.onObserved(300, observed('0000:01:00.0', '0x5000', 6), 'o1');
      a.onObserved(320, observed('0000:01:00.0', '0x6000', 6), 'o2');
      a.onModelFault(fault(400, 0x0100, 0x7000, 6)); // after the index: matched by o3
      a.onObserved(450, observed('0000:01:00.0', '0x7000', 6), 'o3');
      a.onObserved(2000, observed('0000:01:00.0', '0x5000', 6), 'o4'); // 1900 ns after: too late
      const r = a.finish();
      expect(r).toMatchObject({
        observed: 4,
        agree: 2,
        reasonDiffers: 1,
        modelNoFault: 1,
        modelFaults: 4,
        reported: 3,
        unreported: 1,
      });
      expect(r.unreportedRows).toEqual([{ time: 150, bdf: '0000:02:00.0', address: '0x5000', reason: 6 }]);
      expect(r.disagreements.map((d) => [d.origin, d.verdict])).toEqual([
        ['o2', 'reason-differs'],
        ['o4', 'model-no-fault'],
      ]);
    }
  });
});
