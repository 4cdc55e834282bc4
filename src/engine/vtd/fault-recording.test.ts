import { describe, expect, it } from 'vitest';
import { dmarFaultLine, dmarFaultStatusLine } from './dmar-log';
import {
  FaultOutcome,
  FaultRecorder,
  FECTL_IM,
  FECTL_IP,
  FLAG_INTERRUPT,
  FLAG_PENDING_MASKED,
  FLAG_SET_PFO,
  FSTS_IQE,
  outcomeKind,
} from './fault-recording';

// Every expected state below is worked out by hand from QEMU hw/i386/intel_iommu.c
// (patchew-project/qemu @ 67695efc4a16):
// - vtd_report_frcd_fault: (1) FSTS.PFO set → drop; (2) vtd_try_collapse_fault: any FRCD with F=1 and
//   the same SID → drop; (3) vtd_is_frcd_set(next_frcd_reg) → set PFO, drop; (4) vtd_record_frcd, then
//   if the old FSTS had PPF: set F, update PPF, next++ (no FRI update, no event); else FRI := next, set F
//   (PPF := 1), next++, vtd_generate_fault_event(old FSTS).
// - vtd_generate_fault_event: no event if old FSTS has PPF|PFO|IQE; else FECTL.IP := 1, then if FECTL.IM
//   "irq is not generated" (IP stays), else MSI and IP := 0.
// - FRCD hi word: F bit 63, T bit 62 (set when !is_write), FR bits 39:32, PV bits 40+ (VTD_FRCD_PV),
//   PP bit 31, SID bits 15:0; lo word: FI = addr & ~0xfff, or IR index << 48 (VTD_FRCD_IR_IDX).
//   In dwords: dw3 = hi >> 32, dw2 = hi & 0xffffffff, dw1 = lo >> 32, dw0 = lo & 0xffffffff.
// - FSTS: PFO bit 0, PPF bit 1 (read-only, OR of the F bits), IQE bit 4, FRI bits 15:8; RW1C mask 0x11.
// And Linux's dmar_fault(): read FSTS; return if !PPF; from FRI, while F: read, write F to clear,
// index = (index + 1) % nfr; finally write PFO|PPF|PRO to FSTS.

const PPF = 0x2;
const PFO_PPF = 0x3;

/** A read DMA fault without PASID at 4 KiB page `page`. */
function dmaRead(r: FaultRecorder, sid: number, page: number, reason = 0x06): number {
  return r.report(sid, false, 0, 0, page, reason, false, false, 0);
}

describe('FaultRecorder with QEMU’s single record', () => {
  it('records, compresses the same SID, overflows, drains and records again', () => {
    const r = new FaultRecorder(); // DMAR_FRCD_REG_NR = 1
    expect(r.capacity).toBe(1);

    // First fault: FSTS was 0 → FRI 0, PPF set, event fires (IM clear).
    expect(dmaRead(r, 0x0010, 0x70ad5000, 0x07)).toBe(FaultOutcome.RECORDED | FLAG_INTERRUPT);
    expect(r.fsts).toBe(PPF);
    expect(r.fectl).toBe(0); // IP set then cleared after the MSI
    expect([0, 1, 2, 3].map((d) => r.dword(0, d))).toEqual([0x70ad5000, 0, 0x0010, 0xc0000007]); // F|T|FR 7

    // Same SID again, other page and reason: collapsed.
    expect(dmaRead(r, 0x0010, 0x7c346000, 0x06)).toBe(FaultOutcome.COMPRESSED);
    expect(r.fsts).toBe(PPF);

    // Another SID: the only record is busy → PFO.
    expect(dmaRead(r, 0x0600, 0x1000)).toBe(FaultOutcome.OVERFLOW | FLAG_SET_PFO);
    expect(r.fsts).toBe(PFO_PPF);

    // With PFO set even the pending SID is an overflow (the PFO check comes first).
    expect(dmaRead(r, 0x0010, 0x2000)).toBe(FaultOutcome.OVERFLOW);
    expect([r.recorded, r.compressed, r.overflowed, r.interrupts]).toEqual([1, 1, 2, 1]);

    // Linux's handler: prints "fault status reg 3" and the one record, clears it and PFO.
    const seen: string[] = [];
    const fsts = r.drain((rec, i) =>
      seen.push(
        dmarFaultLine({
          requesterId: rec.sid(i),
          pasid: rec.pasidPresent(i) ? rec.pasid(i) : null,
          write: rec.isWrite(i),
          addrHi: rec.addrHi(i),
          addrLo: rec.addrLo(i),
          reason: rec.reason(i),
        }),
      ),
    );
    expect(dmarFaultStatusLine(fsts)).toBe('DMAR: DRHD: handling fault status reg 3');
    // The journal sample's line (sof-test issue 744) re-printed in the current style.
    expect(seen).toEqual([
      'DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x70ad5000 [fault reason 0x07] Next page table ptr is invalid',
    ]);
    expect(r.fsts).toBe(0);
    expect(r.isPending(0)).toBe(false);

    // Recording resumes: a write with PASID above 4 GiB.
    expect(r.report(0x0600, true, 0x2a, 0x6, 0xdf084abc, 0x05, true, false, 0)).toBe(
      FaultOutcome.RECORDED | FLAG_INTERRUPT,
    );
    // dw0 = 0xdf084abc & ~0xfff; dw1 = 6; dw2 = PP | 0x0600; dw3 = F | PV 0x2a << 8 | FR 5 (T=0: write).
    expect([0, 1, 2, 3].map((d) => r.dword(0, d))).toEqual([0xdf084000, 0x6, 0x80000600, 0x80002a05]);
    expect(r.interrupts).toBe(2);
  });
});

describe('FaultRecorder as a ring of several records', () => {
  it('fills the ring with different SIDs, raising one event, then overflows', () => {
    const r = new FaultRecorder({ records: 4 });
    // Only the first fault finds PPF clear: FRI = 0 and one event. The others land in 1, 2, 3 silently.
    expect(dmaRead(r, 0x0100, 0x1000)).toBe(FaultOutcome.RECORDED | FLAG_INTERRUPT);
    expect(dmaRead(r, 0x0200, 0x2000)).toBe(FaultOutcome.RECORDED);
    expect(dmaRead(r, 0x0300, 0x3000)).toBe(FaultOutcome.RECORDED);
    expect(dmaRead(r, 0x0400, 0x4000)).toBe(FaultOutcome.RECORDED);
    expect(r.fsts).toBe(PPF); // FRI 0
    expect(r.nextIndex).toBe(0); // wrapped
    // Ring full: record 0 is busy → PFO, dropped.
    expect(dmaRead(r, 0x0500, 0x5000)).toBe(FaultOutcome.OVERFLOW | FLAG_SET_PFO);
    // A pending SID is still collapsed? No: PFO is checked first → overflow.
    expect(outcomeKind(dmaRead(r, 0x0200, 0x6000))).toBe(FaultOutcome.OVERFLOW);
    expect(r.fsts).toBe(PFO_PPF);

    const order: [number, number][] = [];
    expect(r.drain((rec, i) => order.push([i, rec.sid(i)]))).toBe(PFO_PPF);
    expect(order).toEqual([
      [0, 0x0100],
      [1, 0x0200],
      [2, 0x0300],
      [3, 0x0400],
    ]);
    expect(r.fsts).toBe(0);

    // Resumes at the internal index (0 after the wrap) with a fresh event.
    expect(dmaRead(r, 0x0500, 0x5000)).toBe(FaultOutcome.RECORDED | FLAG_INTERRUPT);
    expect(r.isPending(0)).toBe(true);
    expect([r.recorded, r.compressed, r.overflowed, r.interrupts]).toEqual([5, 0, 2, 2]);
  });

  it('compresses by SID only while that SID has a pending record', () => {
    const r = new FaultRecorder({ records: 4 });
    dmaRead(r, 0x0100, 0x1000);
    expect(dmaRead(r, 0x0100, 0x9000, 0x05)).toBe(FaultOutcome.COMPRESSED);
    dmaRead(r, 0x0200, 0x2000);
    r.drain();
    // After the drain nothing is pending: the same SID is recorded again, at index 2.
    expect(dmaRead(r, 0x0100, 0x1000)).toBe(FaultOutcome.RECORDED | FLAG_INTERRUPT);
    expect(r.sid(2)).toBe(0x0100);
  });

  it('reports FRI in FSTS bits 15:8 (the "fault status reg 102" seen in the wild)', () => {
    const r = new FaultRecorder({ records: 2 });
    dmaRead(r, 0x0100, 0x1000); // index 0
    expect(r.drain()).toBe(PPF); // FRI 0
    dmaRead(r, 0x0200, 0x2000); // index 1, PPF was clear → FRI = 1
    expect(r.fsts).toBe(0x102);
    const visited: number[] = [];
    expect(dmarFaultStatusLine(r.drain((_, i) => visited.push(i)))).toBe(
      'DMAR: DRHD: handling fault status reg 102',
    );
    expect(visited).toEqual([1]);
  });

  it('drain stops at the first clear record from FRI, as Linux’s loop does', () => {
    const r = new FaultRecorder({ records: 4 });
    dmaRead(r, 0x0100, 0x1000); // index 0, FRI 0
    dmaRead(r, 0x0200, 0x2000); // index 1
    r.clear(0); // software clears only record 0; PPF stays (record 1 pending)
    expect(r.fsts).toBe(PPF);
    const visited: number[] = [];
    expect(r.drain((_, i) => visited.push(i))).toBe(PPF);
    expect(visited).toEqual([]); // FRI 0 has F=0: the loop ends at once
    expect(r.isPending(1)).toBe(true);
    expect(r.fsts).toBe(PPF); // writing PPF does nothing: it is read-only
  });
});

describe('fault event masking and IQE', () => {
  it('keeps the event pending in FECTL.IP while IM is set, and fires it on unmask', () => {
    const r = new FaultRecorder({ interruptMasked: true }); // QEMU's reset value of FECTL
    expect(dmaRead(r, 0x0010, 0x1000)).toBe(FaultOutcome.RECORDED | FLAG_PENDING_MASKED);
    expect(r.fectl >>> 0).toBe((FECTL_IM | FECTL_IP) >>> 0);
    expect(r.interrupts).toBe(0);
    expect(r.writeFectl(0)).toBe(true); // vtd_handle_fectl_write: IP && !IM → MSI, IP cleared
    expect(r.fectl).toBe(0);
    expect(r.interrupts).toBe(1);
  });

  it('clears a pending IP when software services every status condition', () => {
    const r = new FaultRecorder({ interruptMasked: true });
    dmaRead(r, 0x0010, 0x1000);
    r.drain(); // ends with the FSTS write: nothing pending → vtd_handle_fsts_write clears IP
    expect(r.fectl >>> 0).toBe(FECTL_IM >>> 0);
    expect(r.writeFectl(0)).toBe(false);
  });

  it('raises no fault event for a new fault while IQE is set', () => {
    const r = new FaultRecorder();
    expect(r.raiseInvalidationQueueError()).toBe(FLAG_INTERRUPT);
    expect(r.fsts).toBe(FSTS_IQE);
    // PPF was clear so FRI is set, but the old FSTS had IQE: vtd_generate_fault_event returns early.
    expect(dmaRead(r, 0x0010, 0x1000)).toBe(FaultOutcome.RECORDED);
    expect(r.fsts).toBe(FSTS_IQE | PPF);
    r.writeFsts(FSTS_IQE); // RW1C
    expect(r.fsts).toBe(PPF);
  });
});

describe('record encoding', () => {
  it('stores an interrupt-remapping fault as QEMU does and renders the sample line', () => {
    const r = new FaultRecorder();
    // vtd_report_ir_fault: lo = index << 48, hi = SID | FR (no T, PP, PV).
    expect(r.report(0x6500, false, 0, 0xffff, 0xffff_f000, 0x22, false, true, 0x25)).toBe(
      FaultOutcome.RECORDED | FLAG_INTERRUPT,
    );
    expect([0, 1, 2, 3].map((d) => r.dword(0, d))).toEqual([0, 0x00250000, 0x6500, 0x80000022]);
    expect(r.irIndex(0)).toBe(0x25);
    const lines: string[] = [dmarFaultStatusLine(r.fsts)];
    r.drain((rec, i) =>
      lines.push(
        dmarFaultLine({
          requesterId: rec.sid(i),
          pasid: null,
          write: rec.isWrite(i),
          addrHi: rec.addrHi(i),
          addrLo: rec.addrLo(i),
          reason: rec.reason(i),
        }),
      ),
    );
    // Both lines as in samples/intel-dmar/dmesg-intel-dmar-intr-remap-reason0x22-irte-with-ftrace-vector.txt.
    expect(lines).toEqual([
      'DMAR: DRHD: handling fault status reg 2',
      'DMAR: [INTR-REMAP] Request device [65:00.0] fault index 0x25 [fault reason 0x22] Present field in the IRTE entry is clear',
    ]);
  });

  it('keeps 20 PASID bits by default and 16 like QEMU’s VTD_FRCD_PV when asked', () => {
    const spec = new FaultRecorder();
    spec.report(0x0010, true, 0xfffff, 0, 0x1000, 0x06, false, false, 0);
    expect(spec.pasid(0)).toBe(0xfffff);
    expect(spec.pasidPresent(0)).toBe(true);
    // QEMU legacy mode: pasid = PCI_NO_PASID (all ones), PP = 0 → PV reads 0xffff (shared reference §12).
    const qemu = new FaultRecorder({ pasidValueBits: 16 });
    qemu.report(0x0010, false, 0xffffffff, 0, 0x1000, 0x06, false, false, 0);
    expect(qemu.pasid(0)).toBe(0xffff);
    expect(qemu.pasidPresent(0)).toBe(false);
  });

  it('validates capacity and indexes', () => {
    expect(() => new FaultRecorder({ records: 0 })).toThrow(RangeError);
    expect(() => new FaultRecorder({ records: 257 })).toThrow(RangeError);
    expect(new FaultRecorder({ records: 256 }).capacity).toBe(256);
    expect(() => new FaultRecorder().clear(1)).toThrow(RangeError);
  });

  it('reset() returns to power-on state', () => {
    const r = new FaultRecorder({ records: 2 });
    dmaRead(r, 0x0100, 0x1000);
    dmaRead(r, 0x0200, 0x2000);
    r.reset();
    expect([r.fsts, r.nextIndex, r.recorded, r.isPending(0), r.isPending(1)]).toEqual([
      0,
      0,
      0,
      false,
      false,
    ]);
  });
});
