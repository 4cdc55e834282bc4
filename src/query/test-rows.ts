// A small hand-made fault table for the query modules' tests (six rows whose every field is known).
import { FaultColumns } from './fault-columns';

/**
 *   0 fault   t=1000 ns      00:14.0       no PASID  write  0xfff01000       0x05   second-level recorded
 *   1 fault   t=1.5 ms       02:00.0       PASID 3   read   0x1000           0x06   second-level compressed  rmrr-without-unity-map
 *   2 hazard  t=1.6 ms       00:14.0       no PASID  write  0x200000000000   (unmap trace.jsonl:7 at 1.59 ms)
 *   3 fault   t=2 ms         00:14.0       no PASID  read   0xfedcb0000000   0x101  tee-io       not-recorded  (T=1)
 *   4 fault   t=3 s          0001:00:02.0  PASID 0   write  0x0              0x04   root         fpd  beyond-address-width (T=0 given)
 *   5 fault   t=3 s          00:1f.3       no PASID  read   0x7000           0x06   second-level recorded
 */
export function sampleStore(): FaultColumns {
  const s = new FaultColumns(4);
  const f = (
    o: Partial<Parameters<FaultColumns['appendFault']>[0]>,
  ): Parameters<FaultColumns['appendFault']>[0] => ({
    time: 0,
    requesterId: 0,
    pasid: null,
    write: false,
    pageAddr: 0,
    reason: 0,
    stage: 'second-level',
    recording: 'recorded',
    classes: [],
    ...o,
  });
  s.appendFault(f({ time: 1000, requesterId: 0xa0, write: true, pageAddr: 0xfff01000, reason: 5 }));
  s.appendFault(
    f({
      time: 1_500_000,
      requesterId: 0x200,
      pasid: 3,
      pageAddr: 0x1000,
      reason: 6,
      recording: 'compressed',
      classes: ['rmrr-without-unity-map'],
    }),
  );
  s.appendHazard({
    time: 1_600_000,
    requesterId: 0xa0,
    addr: 0x2000_0000_0000,
    write: true,
    unmapOrigin: 'trace.jsonl:7',
    unmapTime: 1_590_000,
  });
  s.appendFault(
    f({
      time: 2_000_000,
      requesterId: 0xa0,
      pageAddr: 0xfedc_b000_0000,
      reason: 0x101,
      stage: 'tee-io',
      recording: 'not-recorded',
    }),
  );
  s.appendFault(
    f({
      time: 3e9,
      requesterId: 0x10,
      segment: 1,
      pasid: 0,
      write: true,
      pageAddr: 0,
      reason: 4,
      stage: 'root',
      recording: 'fpd',
      classes: ['beyond-address-width'],
      tbit: 0,
    }),
  );
  s.appendFault(f({ time: 3e9, requesterId: 0xfb, pageAddr: 0x7000, reason: 6 }));
  return s;
}
