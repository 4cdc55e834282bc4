// Replays a trace against a lab: control events change the kernel's and iommufd's state (the same
// events as control scripts), DMA requests are checked against the domain their device's group uses
// at that moment, and faults are collected with the VT-d reason a legacy-mode unit reports:
//   blocked domain (context entry cleared, as Linux's device_block_translation does) → 0x02;
//   requester without a context entry → 0x02, or 0x01 when no device sits on its bus;
//   paging domain without the needed permission on a page → 0x06 for reads, 0x05 for writes;
//   identity → passes.
// Provisional until the hardware walk lands: a paging domain is checked through its mapping list,
// not by walking the VT-d tables the domain keeps (src/engine/vtd). Multi-page requests are
// checked page by page and report the first faulting page.
import { pageOf, PAGE_SIZE } from './address';
import { formatBdf, ridToBdf } from './bdf';
import { applyControl } from './control';
import type { CoreDevice } from './iommu/core';
import { PagingDomain } from './iommu/domain';
import type { PlatformLab } from './lab';
import type { ControlEvent } from '../trace/control-script';
import { dmarFaultLine } from './vtd/dmar-log';
import { VTD_FR_CONTEXT_ENTRY_P, VTD_FR_READ, VTD_FR_ROOT_ENTRY_P, VTD_FR_WRITE } from './vtd/fault-reasons';

export interface DmaRequest {
  kind: 'dma';
  time: number;
  requesterId: number;
  pasid: number | null;
  addr: number;
  len: number;
  write: boolean;
}

export interface ControlStep {
  kind: 'control';
  time: number;
  /** where the event came from, e.g. "trace.jsonl:12" */
  origin: string;
  event: ControlEvent;
}

export type ReplayEvent = DmaRequest | ControlStep;

export interface Fault {
  index: number;
  time: number;
  requesterId: number;
  pasid: number | null;
  write: boolean;
  /** the faulting page's address */
  pageAddr: number;
  reason: number;
}

export interface RejectedControl {
  origin: string;
  op: string;
  errno: string;
  message: string;
}

export class Replay {
  readonly faults: Fault[] = [];
  readonly tlpsByDevice = new Map<number, number>();
  readonly faultsByDevice = new Map<number, number>();
  /** control events the model answered with an errno */
  readonly rejected: RejectedControl[] = [];
  tlps = 0;
  time = 0;
  private readonly buses = new Set<number>();
  private readonly byRid = new Map<number, CoreDevice>();

  constructor(readonly lab: PlatformLab) {
    for (const d of lab.core.devices.values()) {
      this.buses.add(d.requesterId >> 8);
      this.byRid.set(d.requesterId, d);
    }
  }

  /** Applies one event; returns the fault it raised, if any. */
  apply(e: ReplayEvent): Fault | null {
    this.time = e.time;
    if (e.kind === 'control') {
      const o = applyControl(this.lab, e.event, { event: e.origin, time: e.time });
      if (!o.ok) this.rejected.push({ origin: e.origin, op: e.event.op, errno: o.errno, message: o.message });
      return null;
    }
    this.tlps++;
    this.tlpsByDevice.set(e.requesterId, (this.tlpsByDevice.get(e.requesterId) ?? 0) + 1);
    const dev = this.byRid.get(e.requesterId);
    if (!dev) {
      return this.fault(
        e,
        e.addr,
        this.buses.has(e.requesterId >> 8) ? VTD_FR_CONTEXT_ENTRY_P : VTD_FR_ROOT_ENTRY_P,
      );
    }
    const domain = dev.group.domain;
    if (domain.type === 'identity') return null;
    if (!(domain instanceof PagingDomain)) return this.fault(e, e.addr, VTD_FR_CONTEXT_ENTRY_P);
    for (let p = pageOf(e.addr), end = pageOf(e.addr + Math.max(e.len, 1) - 1); p <= end; p++) {
      const page = BigInt(p * PAGE_SIZE);
      const m = domain.mappings.find((r) => page >= r.iova && page < r.iova + r.length);
      if (!m || !(e.write ? m.prot.write : m.prot.read))
        return this.fault(e, p * PAGE_SIZE, e.write ? VTD_FR_WRITE : VTD_FR_READ);
    }
    return null;
  }

  private fault(e: DmaRequest, addr: number, reason: number): Fault {
    const fault: Fault = {
      index: this.faults.length,
      time: e.time,
      requesterId: e.requesterId,
      pasid: e.pasid,
      write: e.write,
      pageAddr: pageOf(addr) * PAGE_SIZE,
      reason,
    };
    this.faults.push(fault);
    this.faultsByDevice.set(e.requesterId, (this.faultsByDevice.get(e.requesterId) ?? 0) + 1);
    return fault;
  }
}

export function faultDmesg(f: Fault): string {
  return dmarFaultLine({
    requesterId: f.requesterId,
    pasid: f.pasid,
    write: f.write,
    addrHi: Math.floor(f.pageAddr / 2 ** 32),
    addrLo: f.pageAddr % 2 ** 32,
    reason: f.reason,
  });
}

export function faultBdf(f: Fault): string {
  return formatBdf(ridToBdf(0, f.requesterId));
}
