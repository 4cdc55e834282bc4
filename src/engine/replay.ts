// Replays control events (map/unmap) and DMA requests against a platform and collects faults.
//
// Provisional domain model for the first vertical slice: each device's DMA domain is a set of 4 KiB
// pages with R/W bits, and an identity domain passes everything. A DMA is checked page by page; the
// first page without the needed permission faults with the VT-d legacy reason a second-level walk
// gives for it (a non-present or read-only leaf: 0x06 for reads, 0x05 for writes). The VT-d page
// tables, groups and iommufd objects of the model issues replace the page set.
import { hexAddress, pageOf, PAGE_SIZE } from './address';
import { dmarFaultLine } from './dmesg';
import { FR } from './fault-reason';
import type { Platform, PlatformDevice } from './platform';

export type ReplayEvent =
  | {
      kind: 'map';
      time: number;
      requesterId: number;
      iova: number;
      size: number;
      read: boolean;
      write: boolean;
    }
  | { kind: 'unmap'; time: number; requesterId: number; iova: number; size: number }
  | {
      kind: 'dma';
      time: number;
      requesterId: number;
      pasid: number | null;
      addr: number;
      len: number;
      write: boolean;
    };

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

const PERM_R = 1;
const PERM_W = 2;

export class Replay {
  readonly faults: Fault[] = [];
  readonly tlpsByDevice = new Map<number, number>();
  readonly faultsByDevice = new Map<number, number>();
  tlps = 0;
  time = 0;
  /** map/unmap events naming a device the platform does not have */
  rejectedControl = 0;
  private readonly devices = new Map<number, PlatformDevice>();
  private readonly pages = new Map<number, Map<number, number>>();
  private readonly buses = new Set<number>();

  constructor(readonly platform: Platform) {
    for (const d of platform.devices) {
      this.devices.set(d.requesterId, d);
      this.pages.set(d.requesterId, new Map());
      this.buses.add(d.bdf.bus);
    }
  }

  /** Applies one event; returns the fault it raised, if any. */
  apply(e: ReplayEvent): Fault | null {
    this.time = e.time;
    const table = this.pages.get(e.requesterId);
    if (!table) {
      if (e.kind !== 'dma') {
        this.rejectedControl++;
        return null;
      }
      // A requester with no context entry: its bus's root entry is absent too when no known
      // device sits on that bus.
      this.tlps++;
      return this.fault(e, e.addr, this.buses.has(e.requesterId >> 8) ? FR.CONTEXT_ENTRY_P : FR.ROOT_ENTRY_P);
    }
    if (e.kind === 'map') {
      const perm = (e.read ? PERM_R : 0) | (e.write ? PERM_W : 0);
      for (let p = pageOf(e.iova), end = pageOf(e.iova + e.size - 1); p <= end; p++) table.set(p, perm);
      return null;
    }
    if (e.kind === 'unmap') {
      for (let p = pageOf(e.iova), end = pageOf(e.iova + e.size - 1); p <= end; p++) table.delete(p);
      return null;
    }
    this.tlps++;
    this.tlpsByDevice.set(e.requesterId, (this.tlpsByDevice.get(e.requesterId) ?? 0) + 1);
    if (this.devices.get(e.requesterId)!.domainType === 'identity') return null;
    const need = e.write ? PERM_W : PERM_R;
    for (let p = pageOf(e.addr), end = pageOf(e.addr + Math.max(e.len, 1) - 1); p <= end; p++) {
      if (((table.get(p) ?? 0) & need) === 0)
        return this.fault(e, p * PAGE_SIZE, e.write ? FR.WRITE : FR.READ);
    }
    return null;
  }

  private fault(e: Extract<ReplayEvent, { kind: 'dma' }>, addr: number, reason: number): Fault {
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
    addressHex: hexAddress(f.pageAddr).slice(2),
    reason: f.reason,
  });
}
