// The fault report model (docs/report.md, schema docs/report.schema.json): what one replay found, in a
// form that stands on its own and can be reproduced. The run's identity (SHA-256 of the trace and the
// platform, the lab's version, the options and what-if edits), a summary, sections per device, IOMMU
// group and PASID, the fault clusters (clusters.ts) each with its first occurrence, count, the page
// walk at the first fault, the dmesg line and a root-cause hint (hints.ts), the hazards, rejected
// control events, bad trace lines, and firmware findings when tables were given.
//
// runReport() drives the replay itself, event by event, so that when a fault opens a cluster it can
// walk the VT-d tables (walkDetailed) and read the group's state as they are at that moment; the
// state changes as the replay goes on. buildReport() turns a finished replay into a report (with
// the captures runReport made, or without walks when given only the replay). Pure; no clock or
// randomness, so the same inputs give the same report byte for byte.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { hexAddress } from '../engine/address';
import type { CoreDevice } from '../engine/iommu/core';
import { isPaging } from '../engine/iommu/domain';
import { buildLab, type PlatformLab } from '../engine/lab';
import type { Platform } from '../engine/platform/index';
import {
  DEFAULT_FAULT_IRQ_LATENCY_NS,
  faultBdf,
  faultDmesg,
  faultText,
  Replay,
  type DmaRequest,
  type Fault,
  type ReplayEvent,
} from '../engine/replay';
import type { DriverUnit } from '../engine/vtd/intel-driver';
import {
  ACCESS_ATOMIC,
  ACCESS_READ,
  ACCESS_WRITE,
  createRequest,
  STAGE_NAMES,
  STATUS_FAULT,
  STATUS_OK,
  walkDetailed,
  type FaultProfile,
} from '../engine/vtd/translate';
import type { Finding } from '../firmware/findings';
import type { LineError } from '../trace/trace-jsonl';
import { Clusterer, CLUSTER_WINDOW_BYTES, type FaultCluster } from './clusters';
import { chooseHint, type FirstState } from './hints';
import {
  REPORT_FORMAT,
  REPORT_VERSION,
  type Report,
  type ReportCluster,
  type ReportDevice,
  type ReportGroup,
  type ReportPasid,
  type ReportWalk,
} from './report-schema';
import { deviceSummaries, hazardRow } from './summary';

export * from './report-schema';

export interface ReportOptions {
  profile?: FaultProfile;
  iotlb?: 'hardware' | 'strict';
  faultIrqLatencyNs?: number;
  /** what-if edits applied to the inputs, as the user wrote them */
  edits?: string[];
}

export interface ReportInputs {
  traceBytes: Uint8Array;
  platformBytes: Uint8Array;
  traceName: string;
  platformName: string;
  options: ReportOptions;
  labVersion: string;
  /** findings of `iommu-lab platform` on the machine's tables, when given */
  firmwareFindings?: Finding[];
  /** events loaded from the trace (default: what the replay saw) and the trace lines skipped */
  events?: number;
  errors?: LineError[];
}

/** What runReport saw while driving the replay. */
export interface RunCapture {
  clusters: FaultCluster[];
  firsts: Map<FaultCluster, FirstState>;
  /** "rid/pasid" → DMA requests with that PASID */
  pasidTlps: Map<string, number>;
  events: number;
}

const MAX_MAPPINGS = 256;
const TWO_32 = 2 ** 32;

export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

const hx = (v: bigint | number): string => `0x${v.toString(16)}`;

/** The CLI exit bitmask a run earns (README, Exit codes): faults 1, hazards 2, firmware warnings 4, errors 8. */
export function exitBits(r: {
  faults: number;
  hazards: number;
  badLines: number;
  firmware: { error: number; warning: number } | null;
}): number {
  return (
    (r.faults ? 1 : 0) |
    (r.hazards ? 2 : 0) |
    (r.firmware?.warning ? 4 : 0) |
    (r.badLines || r.firmware?.error ? 8 : 0)
  );
}

function devicesByRid(lab: PlatformLab): Map<number, CoreDevice> {
  const m = new Map<number, CoreDevice>();
  for (const d of lab.core.devices.values()) {
    const fn = lab.platform.functions.get(d.bdf)!;
    if (fn.bdf.segment === 0) m.set(fn.requesterId, d);
  }
  return m;
}

/** The unit translating a requester ID on segment 0, as the replay finds it. */
function unitOf(replay: Replay, rid: number): DriverUnit | null {
  const u = replay.driver.unitOfRid.get(rid);
  if (u) return u;
  for (const unit of replay.driver.units.values())
    if (unit.unit.includeAll && unit.unit.segment === 0) return unit;
  return null;
}

/** Walks the tables for a DMA request as they are now (no caches), in the report's form. */
export function walkNow(replay: Replay, e: DmaRequest): ReportWalk | null {
  const unit = unitOf(replay, e.requesterId);
  if (!unit) return null;
  const req = createRequest({
    sid: e.requesterId,
    pasidPresent: e.pasid === null ? 0 : 1,
    pasid: e.pasid ?? 0,
    addrHi: Math.floor(e.addr / TWO_32),
    addrLo: e.addr % TWO_32,
    len: e.len,
    access: e.atomic ? ACCESS_ATOMIC : e.write ? ACCESS_WRITE : ACCESS_READ,
    at: e.at ?? 0,
    exec: e.exec ? 1 : 0,
    priv: e.priv ? 1 : 0,
  });
  const w = walkDetailed(replay.lab.mem, unit.regs, req, { profile: replay.profile });
  const r = w.result;
  return {
    unit: unit.unit.id,
    steps: w.steps.map((s) => ({
      structure: s.structure,
      level: s.level,
      entryAddr: hx(s.entryAddr),
      raw: s.raw,
      fields: { ...s.fields },
    })),
    outcome: {
      status: r.status === STATUS_OK ? 'translated' : r.status === STATUS_FAULT ? 'fault' : 'interrupt',
      reason: r.status === STATUS_FAULT ? r.reason : null,
      stage: STAGE_NAMES[r.stage] ?? 'unknown',
      address: r.status === STATUS_OK ? hx(r.paHi * TWO_32 + r.paLo) : null,
    },
  };
}

function stateNow(replay: Replay, dev: CoreDevice | undefined, f: Fault, e: DmaRequest | null): FirstState {
  return {
    walk: e ? walkNow(replay, e) : null,
    domainType: dev ? dev.group.domain.type : null,
    ownedByUser: dev ? dev.group.owner !== null : false,
    pasidAttached: f.pasid === null ? null : dev ? dev.group.pasids.has(f.pasid) : false,
  };
}

/**
 * Replays `events` on a lab built from `platform`, capturing the page walk and the group's state when
 * each fault cluster opens, and returns the report and the finished replay.
 */
export function runReport(
  platform: Platform,
  events: readonly ReplayEvent[],
  inputs: ReportInputs,
): { report: Report; replay: Replay } {
  const lab = buildLab(platform);
  const replay = new Replay(lab, {
    profile: inputs.options.profile,
    iotlbMode: inputs.options.iotlb,
    faultIrqLatencyNs: inputs.options.faultIrqLatencyNs,
  });
  const devs = devicesByRid(lab);
  const clusterer = new Clusterer();
  const firsts = new Map<FaultCluster, FirstState>();
  const pasidTlps = new Map<string, number>();
  for (const e of events) {
    const before = replay.faults.length;
    replay.apply(e);
    if (e.kind !== 'dma') continue;
    if (e.pasid !== null) {
      const k = `${e.requesterId}/${e.pasid}`;
      pasidTlps.set(k, (pasidTlps.get(k) ?? 0) + 1);
    }
    for (let i = before; i < replay.faults.length; i++) {
      const f = replay.faults[i]!;
      const { cluster, opened } = clusterer.add(f);
      if (opened) firsts.set(cluster, stateNow(replay, devs.get(f.requesterId), f, e));
    }
  }
  const capture: RunCapture = { clusters: clusterer.clusters, firsts, pasidTlps, events: events.length };
  return { report: buildReport(replay, inputs, capture), replay };
}

const ridPasidKey = (rid: number, pasid: number): string => `${rid}/${pasid}`;

function clusterId(c: FaultCluster): string {
  const bdf = faultBdf(c.faults[0]!);
  return `${bdf}/${c.pasid === null ? 'nopasid' : `pasid${c.pasid}`}/0x${c.reason.toString(16).padStart(2, '0')}/${hexAddress(c.lowestPage)}`;
}

function countBy(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

/** The report of a finished replay. Without `capture`, clusters carry no walk and hints read the final state. */
export function buildReport(replay: Replay, inputs: ReportInputs, capture?: RunCapture): Report {
  const lab = replay.lab;
  const devs = devicesByRid(lab);
  let clusters = capture?.clusters;
  if (!clusters) {
    const c = new Clusterer();
    for (const f of replay.faults) c.add(f);
    clusters = c.clusters;
  }
  // Clusters in order of first occurrence; ids made unique should two share a first page.
  const seen = new Map<string, number>();
  const out: ReportCluster[] = clusters.map((c) => {
    const f = c.faults[0]!;
    const dev = devs.get(f.requesterId);
    const state = capture?.firsts.get(c) ?? stateNow(replay, dev, f, null);
    const unit = unitOf(replay, f.requesterId);
    const hint = chooseHint(c, state, {
      lab,
      device: dev,
      hazards: replay.hazards,
      unmaps: replay.driver.unmaps,
      unitId: unit?.unit.id ?? null,
    });
    let id = clusterId(c);
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    if (n) id = `${id}#${n + 1}`;
    const writes = c.faults.filter((x) => x.write).length;
    return {
      id,
      bdf: faultBdf(f),
      requesterId: f.requesterId,
      deviceName: dev?.name ?? null,
      pasid: c.pasid,
      reason: c.reason,
      reasonText: faultText(f),
      access: writes === 0 ? 'read' : writes === c.faults.length ? 'write' : 'mixed',
      stage: f.stage,
      classes: [...new Set(c.faults.flatMap((x) => x.classes))],
      range: {
        start: hexAddress(c.firstWindow * CLUSTER_WINDOW_BYTES),
        end: hexAddress((c.lastWindow + 1) * CLUSTER_WINDOW_BYTES - 1),
      },
      pages: { lowest: hexAddress(c.lowestPage), highest: hexAddress(c.highestPage), distinct: c.pages.size },
      time: { first: c.firstTime, last: c.lastTime },
      count: c.faults.length,
      recording: countBy(c.faults.map((x) => x.recording)),
      first: {
        index: f.index,
        time: f.time,
        address: hexAddress(f.pageAddr),
        access: f.write ? 'write' : 'read',
        dmesg: faultDmesg(f),
      },
      walk: state.walk,
      hint,
    };
  });
  const clustersOf = (pred: (c: ReportCluster) => boolean): string[] => out.filter(pred).map((c) => c.id);

  const devices: ReportDevice[] = deviceSummaries(lab, replay).map((s) => {
    const d = lab.core.devices.get(s.bdf)!;
    const dom = d.group.domain;
    const maps = isPaging(dom) ? dom.mappings : [];
    return {
      ...s,
      clusters: clustersOf((c) => c.bdf === s.bdf),
      regions: d.regions.map((r) => ({ start: hx(r.start), end: hx(r.end), type: r.type, source: r.source })),
      mappings: maps.slice(0, MAX_MAPPINGS).map((m) => ({
        iova: hx(m.iova),
        length: hx(m.length),
        pa: hx(m.pa),
        prot: `${m.prot.read ? 'r' : ''}${m.prot.write ? 'w' : ''}` as '' | 'r' | 'w' | 'rw',
        origin: m.origin.event,
      })),
      mappingsTotal: maps.length,
    };
  });

  const groups: ReportGroup[] = lab.core.groups.map((g) => ({
    id: g.id,
    reason: g.reason,
    members: g.devices.map((d) => d.bdf),
    domainType: g.domain.type,
    defaultDomainType: g.defaultDomain.type,
    owner: g.owner ? 'user' : g.ownerCnt ? 'kernel' : 'none',
    pasids: [...g.pasids].sort((a, b) => a[0] - b[0]).map(([pasid, d]) => ({ pasid, domainType: d.type })),
    faults: g.devices.reduce((n, d) => n + (replay.faultsByRid[d.requesterId & 0xffff] ?? 0), 0),
  }));

  // PASIDs: every (requester, PASID) that issued DMA or has an attachment at the end.
  const pasidKeys = new Map<string, { rid: number; pasid: number }>();
  for (const k of capture?.pasidTlps.keys() ?? []) {
    const [rid, pasid] = k.split('/').map(Number) as [number, number];
    pasidKeys.set(k, { rid, pasid });
  }
  for (const f of replay.faults)
    if (f.pasid !== null)
      pasidKeys.set(ridPasidKey(f.requesterId, f.pasid), { rid: f.requesterId, pasid: f.pasid });
  for (const g of lab.core.groups)
    for (const d of g.devices)
      for (const pasid of g.pasids.keys())
        pasidKeys.set(ridPasidKey(d.requesterId, pasid), { rid: d.requesterId, pasid });
  const pasids: ReportPasid[] = [...pasidKeys.entries()]
    .sort((a, b) => a[1].rid - b[1].rid || a[1].pasid - b[1].pasid)
    .map(([k, { rid, pasid }]) => {
      const bdf = faultBdf({ requesterId: rid } as Fault);
      const dev = devs.get(rid);
      return {
        bdf,
        pasid,
        attached: dev?.group.pasids.get(pasid)?.type ?? null,
        tlps: capture?.pasidTlps.get(k) ?? 0,
        faults: replay.faults.filter((f) => f.requesterId === rid && f.pasid === pasid).length,
        clusters: clustersOf((c) => c.requesterId === rid && c.pasid === pasid),
      };
    });

  const findings = inputs.firmwareFindings ?? null;
  const firmware = findings
    ? {
        error: findings.filter((f) => f.severity === 'error').length,
        warning: findings.filter((f) => f.severity === 'warning').length,
        info: findings.filter((f) => f.severity === 'info').length,
      }
    : null;
  const errors = inputs.errors ?? [];
  const counts = {
    faults: replay.faults.length,
    hazards: replay.hazards.length,
    badLines: errors.length,
    firmware,
  };
  return {
    format: REPORT_FORMAT,
    reportVersion: REPORT_VERSION,
    run: {
      labVersion: inputs.labVersion,
      trace: {
        name: inputs.traceName,
        sha256: sha256Hex(inputs.traceBytes),
        bytes: inputs.traceBytes.byteLength,
      },
      platform: {
        name: inputs.platformName,
        title: lab.platform.name,
        sha256: sha256Hex(inputs.platformBytes),
        bytes: inputs.platformBytes.byteLength,
      },
      options: {
        profile: replay.profile,
        iotlb: inputs.options.iotlb ?? 'hardware',
        faultIrqLatencyNs: inputs.options.faultIrqLatencyNs ?? DEFAULT_FAULT_IRQ_LATENCY_NS,
        edits: inputs.options.edits ?? [],
      },
    },
    summary: {
      platform: lab.platform.name,
      profile: replay.profile,
      events: inputs.events ?? capture?.events ?? 0,
      tlps: replay.tlps,
      faults: replay.faults.length,
      recording: countBy(replay.faults.map((f) => f.recording)),
      hazards: replay.hazards.length,
      badLines: errors.length,
      rejectedControl: replay.rejected.length,
      clusters: out.length,
      devicesWithFaults: new Set(out.map((c) => c.bdf)).size,
      hints: countBy(out.map((c) => c.hint.rule)),
      firmware,
      exitCode: exitBits(counts),
    },
    devices,
    groups,
    pasids,
    clusters: out,
    hazards: replay.hazards.map(hazardRow),
    rejected: replay.rejected.map((r) => ({ ...r })),
    errors: errors.map((e) => ({ file: e.file, line: e.line, message: e.message })),
    firmware: findings ? { findings: findings.map((f) => ({ ...f })) } : null,
  };
}
