// The summary of a replay: per-device counts and fault rows, as the CLI prints it, the host serves
// it to the renderer and the exports write it. Pure: built from a Replay's state at any moment.
import { hexAddress } from '../engine/address';
import type { PlatformLab } from '../engine/lab';
import { faultBdf, faultDmesg, faultText, type Fault, type Hazard, type Replay } from '../engine/replay';
import type { DeviceSummary, FaultRow, HazardRow } from '../shared/api';
import { stringify } from 'csv-stringify/sync';

export const SUMMARY_VERSION = 1;

export interface RunSummary {
  summaryVersion: number;
  /** the fault-semantics profile: vtd-spec (real hardware) or qemu-7.2 */
  profile: string;
  platform: string;
  events: number;
  tlps: number;
  faults: number;
  /** what the fault recording registers did with the faults */
  recording: Record<string, number>;
  hazards: number;
  badLines: number;
  /** control events the model answered with an errno */
  rejectedControl: number;
  devices: DeviceSummary[];
}

/** Every device the IOMMU translates, in PCI scan order, with its group's domain and its counts. */
export function deviceSummaries(lab: PlatformLab, replay: Replay | null): DeviceSummary[] {
  const out: DeviceSummary[] = [];
  for (const bdf of lab.platform.scanOrder) {
    const d = lab.core.devices.get(bdf);
    if (!d) continue;
    out.push({
      bdf,
      name: d.name,
      classCode: lab.platform.functions.get(bdf)!.classCode.toString(16).padStart(6, '0'),
      group: d.group.id,
      domainType: d.group.domain.type,
      driver: d.driver,
      tlps: replay?.tlpsByRid[d.requesterId] ?? 0,
      faults: replay?.faultsByRid[d.requesterId] ?? 0,
    });
  }
  return out;
}

export function faultRow(f: Fault): FaultRow {
  return {
    index: f.index,
    time: f.time,
    bdf: faultBdf(f),
    pasid: f.pasid,
    access: f.write ? 'write' : 'read',
    address: hexAddress(f.pageAddr),
    reason: f.reason,
    reasonText: faultText(f),
    stage: f.stage,
    recording: f.recording,
    classes: f.classes,
    dmesg: faultDmesg(f),
    profile: f.profile,
  };
}

export function hazardRow(h: Hazard): HazardRow {
  return {
    kind: h.kind,
    time: h.time,
    bdf: faultBdf({ requesterId: h.requesterId } as Fault),
    address: hexAddress(h.addr),
    access: h.write ? 'write' : 'read',
    unmapOrigin: h.unmapOrigin,
    unmapTime: h.unmapTime,
    age: h.time - h.unmapTime,
  };
}

function countBy(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

export function runSummary(replay: Replay, events: number, badLines: number): RunSummary {
  return {
    summaryVersion: SUMMARY_VERSION,
    profile: replay.profile,
    platform: replay.lab.platform.name,
    events,
    tlps: replay.tlps,
    faults: replay.faults.length,
    recording: countBy(replay.faults.map((f) => f.recording)),
    hazards: replay.hazards.length,
    badLines,
    rejectedControl: replay.rejected.length,
    devices: deviceSummaries(replay.lab, replay),
  };
}

/** CSV of fault rows, one per line, with a header (RFC 4180 quoting by csv-stringify). */
export function faultsCsv(rows: FaultRow[]): string {
  return stringify(
    rows.map((r) => [
      r.index,
      r.time,
      r.bdf,
      r.pasid ?? '',
      r.access,
      r.address,
      `0x${r.reason.toString(16).padStart(2, '0')}`,
      r.reasonText,
      r.dmesg,
    ]),
    {
      header: true,
      columns: ['index', 'time_ns', 'bdf', 'pasid', 'access', 'address', 'reason', 'reason_text', 'dmesg'],
      record_delimiter: 'windows',
    },
  );
}
