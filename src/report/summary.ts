// The summary of a replay: per-device counts and fault rows, as the CLI prints it, the host serves
// it to the renderer and the exports write it. Pure: built from a Replay's state at any moment.
import { formatBdf, ridToBdf } from '../engine/bdf';
import { hexAddress } from '../engine/address';
import { faultReasonText } from '../engine/fault-reason';
import type { Platform } from '../engine/platform';
import { faultDmesg, type Fault, type Replay } from '../engine/replay';
import type { DeviceSummary, FaultRow } from '../shared/api';
import { stringify } from 'csv-stringify/sync';

export const SUMMARY_VERSION = 1;

export interface RunSummary {
  summaryVersion: number;
  platform: string;
  events: number;
  tlps: number;
  faults: number;
  badLines: number;
  devices: DeviceSummary[];
}

export function deviceSummaries(platform: Platform, replay: Replay | null): DeviceSummary[] {
  // Until groups are modelled (the model issue), every device is its own group, numbered as listed.
  return platform.devices.map((d, i) => ({
    bdf: d.bdfText,
    name: d.name,
    classCode: d.classCode,
    group: i,
    domainType: d.domainType,
    tlps: replay?.tlpsByDevice.get(d.requesterId) ?? 0,
    faults: replay?.faultsByDevice.get(d.requesterId) ?? 0,
  }));
}

export function faultRow(f: Fault): FaultRow {
  return {
    index: f.index,
    time: f.time,
    bdf: formatBdf(ridToBdf(0, f.requesterId)),
    pasid: f.pasid,
    access: f.write ? 'write' : 'read',
    address: hexAddress(f.pageAddr),
    reason: f.reason,
    reasonText: faultReasonText(f.reason),
    dmesg: faultDmesg(f),
  };
}

export function runSummary(platform: Platform, replay: Replay, events: number, badLines: number): RunSummary {
  return {
    summaryVersion: SUMMARY_VERSION,
    platform: platform.name,
    events,
    tlps: replay.tlps,
    faults: replay.faults.length,
    badLines,
    devices: deviceSummaries(platform, replay),
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
