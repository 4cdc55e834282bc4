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

/** A skipped part of the trace: a bad line of a text trace, a damaged part of a native one. */
export type ReportInputError = LineError | { file: string; offset: number; length: number; message: string };

export interface ReportInputs {
  /** the trace's bytes, or (for a large native trace, hashed as it streams) its hash and size */
  traceBytes: Uint8Array | { sha256: string; bytes: number };
  platformBytes: Uint8Array;
  traceName: string;
  platformName: string;
  options: ReportOptions;
  labVersion: string;
  /** findings of `iommu-lab platform` on the machine's tables, when given */
  firmwareFindings?: Finding[];
  /** events loaded from the trace (default: what the replay saw) and the parts skipped */
  events?: number;
  errors?: ReportInputError[];
}

/** Fault counts kept as faults happen (the Replay's fault list may have been emptied). */
export interface FaultTotals {
  faults: number;
  recording: Map<string, number>;
  /** "rid/pasid" → faults of requests with that PASID */
  byRidPasid: Map<string, number>;
}

/** What a ReportRun saw while driving the replay. */
export interface RunCapture {
  clusters: FaultCluster[];
  firsts: Map<FaultCluster, FirstState>;
  /** "rid/pasid" → DMA requests with that PASID */
  pasidTlps: Map<string, number>;
  events: number;
  /** fault counts; without them, the Replay's fault list is counted */
  totals?: FaultTotals;
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

const F_PASID_PRESENT = 1 << 20;
const ridPasidKey = (rid: number, pasid: number): string => `${rid}/${pasid}`;

/** The DMA request a native TLP record (docs/trace-format.md) stands for, to walk it. */
export function dmaOfTlpWords(words: Uint32Array, at: number): DmaRequest {
  const flags = words[at + 3]!;
  const access = (flags >>> 24) & 3;
  return {
    kind: 'dma',
    time: words[at + 1]! * TWO_32 + words[at]!,
    requesterId: words[at + 2]! & 0xffff,
    pasid: flags & F_PASID_PRESENT ? flags & 0xfffff : null,
    addr: words[at + 5]! * TWO_32 + words[at + 4]!,
    len: words[at + 6]!,
    write: access === 1,
    atomic: access === 2,
    tbit: (flags >>> 21) & 1,
    at: (flags >>> 22) & 3,
    exec: ((flags >>> 26) & 1) === 1,
    priv: ((flags >>> 27) & 1) === 1,
  };
}

/**
 * Drives a replay for a report, one event or TLP record at a time: when a fault opens a cluster it
 * walks the VT-d tables and reads the group's state as they are at that moment. Text traces feed it
 * ReplayEvents (apply), native traces their TLP records in place (tlpWords) and control events
 * (apply); both give the same clusters. With a finite `keepFaults` the Replay's fault list is emptied
 * after each request (clusters keep their counts and that many Fault objects each), so memory does not
 * grow with the number of faults; no count is lost.
 */
export class ReportRun {
  readonly replay: Replay;
  /** TLPs and control events applied */
  events = 0;
  private readonly devs: Map<number, CoreDevice>;
  private readonly clusterer: Clusterer;
  private readonly firsts = new Map<FaultCluster, FirstState>();
  private readonly pasidTlps = new Map<string, number>();
  private readonly totals: FaultTotals = { faults: 0, recording: new Map(), byRidPasid: new Map() };

  constructor(
    platform: Platform,
    options: ReportOptions,
    private readonly keepFaults = Infinity,
  ) {
    const lab = buildLab(platform);
    this.replay = new Replay(lab, {
      profile: options.profile,
      iotlbMode: options.iotlb,
      faultIrqLatencyNs: options.faultIrqLatencyNs,
    });
    this.devs = devicesByRid(lab);
    this.clusterer = new Clusterer(keepFaults);
  }

  /** Applies one event (a DMA request or a control event). */
  apply(e: ReplayEvent): void {
    this.events++;
    const before = this.replay.faults.length;
    this.replay.apply(e);
    if (e.kind !== 'dma') return;
    if (e.pasid !== null) this.pasidTlp(e.requesterId, e.pasid);
    if (this.replay.faults.length > before) this.took(before, e);
  }

  /** Applies one native TLP record at words[at..at+7]. */
  tlpWords(words: Uint32Array, at: number): void {
    this.events++;
    const before = this.replay.faults.length;
    this.replay.applyTlpWords(words, at);
    const flags = words[at + 3]!;
    if (flags & F_PASID_PRESENT) this.pasidTlp(words[at + 2]! & 0xffff, flags & 0xfffff);
    if (this.replay.faults.length > before) this.took(before, dmaOfTlpWords(words, at));
  }

  private pasidTlp(rid: number, pasid: number): void {
    const k = ridPasidKey(rid, pasid);
    this.pasidTlps.set(k, (this.pasidTlps.get(k) ?? 0) + 1);
  }

  private took(before: number, e: DmaRequest): void {
    const r = this.replay;
    const t = this.totals;
    for (let i = before; i < r.faults.length; i++) {
      const f = r.faults[i]!;
      f.index = t.faults; // its index in the run, though the list may have been emptied before
      const { cluster, opened } = this.clusterer.add(f);
      if (opened) this.firsts.set(cluster, stateNow(r, this.devs.get(f.requesterId), f, e));
      t.faults++;
      t.recording.set(f.recording, (t.recording.get(f.recording) ?? 0) + 1);
      if (f.pasid !== null) {
        const k = ridPasidKey(f.requesterId, f.pasid);
        t.byRidPasid.set(k, (t.byRidPasid.get(k) ?? 0) + 1);
      }
    }
    if (this.keepFaults !== Infinity) r.faults.length = 0;
  }

  /** What the run saw, for buildReport. */
  capture(): RunCapture {
    return {
      clusters: this.clusterer.clusters,
      firsts: this.firsts,
      pasidTlps: this.pasidTlps,
      events: this.events,
      totals: this.totals,
    };
  }

  /** The report of the run so far (normally: once every event is applied). */
  report(inputs: ReportInputs): Report {
    return buildReport(this.replay, inputs, this.capture());
  }
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
  const run = new ReportRun(platform, inputs.options);
  for (const e of events) run.apply(e);
  return { report: run.report(inputs), replay: run.replay };
}

function clusterId(c: FaultCluster): string {
  const bdf = faultBdf(c.first);
  return `${bdf}/${c.pasid === null ? 'nopasid' : `pasid${c.pasid}`}/0x${c.reason.toString(16).padStart(2, '0')}/${hexAddress(c.lowestPage)}`;
}

function countBy(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

function faultTotals(faults: readonly Fault[]): FaultTotals {
  const t: FaultTotals = { faults: faults.length, recording: new Map(), byRidPasid: new Map() };
  for (const f of faults) {
    t.recording.set(f.recording, (t.recording.get(f.recording) ?? 0) + 1);
    if (f.pasid === null) continue;
    const k = ridPasidKey(f.requesterId, f.pasid);
    t.byRidPasid.set(k, (t.byRidPasid.get(k) ?? 0) + 1);
  }
  return t;
}

/** The report of a finished replay. Without `capture`, clusters carry no walk and hints read the final state. */
export function buildReport(replay: Replay, inputs: ReportInputs, capture?: RunCapture): Report {
  const lab = replay.lab;
  const devs = devicesByRid(lab);
  const totals = capture?.totals ?? faultTotals(replay.faults);
  let clusters = capture?.clusters;
  if (!clusters) {
    const c = new Clusterer();
    for (const f of replay.faults) c.add(f);
    clusters = c.clusters;
  }
  // Clusters in order of first occurrence; ids made unique should two share a first page.
  const seen = new Map<string, number>();
  const out: ReportCluster[] = clusters.map((c) => {
    const f = c.first;
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
    return {
      id,
      bdf: faultBdf(f),
      requesterId: f.requesterId,
      deviceName: dev?.name ?? null,
      pasid: c.pasid,
      reason: c.reason,
      reasonText: faultText(f),
      access: c.writes === 0 ? 'read' : c.writes === c.count ? 'write' : 'mixed',
      stage: f.stage,
      classes: [...c.classes],
      range: {
        start: hexAddress(c.firstWindow * CLUSTER_WINDOW_BYTES),
        end: hexAddress((c.lastWindow + 1) * CLUSTER_WINDOW_BYTES - 1),
      },
      pages: { lowest: hexAddress(c.lowestPage), highest: hexAddress(c.highestPage), distinct: c.pages.size },
      time: { first: c.firstTime, last: c.lastTime },
      count: c.count,
      recording: Object.fromEntries(c.recording),
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
  for (const k of totals.byRidPasid.keys()) {
    const [rid, pasid] = k.split('/').map(Number) as [number, number];
    pasidKeys.set(k, { rid, pasid });
  }
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
        faults: totals.byRidPasid.get(k) ?? 0,
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
    faults: totals.faults,
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
        ...(inputs.traceBytes instanceof Uint8Array
          ? { sha256: sha256Hex(inputs.traceBytes), bytes: inputs.traceBytes.byteLength }
          : inputs.traceBytes),
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
      faults: totals.faults,
      recording: Object.fromEntries(totals.recording),
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
    errors: errors.map((e) =>
      'line' in e
        ? { file: e.file, line: e.line, message: e.message }
        : { file: e.file, offset: e.offset, length: e.length, message: e.message },
    ),
    firmware: findings ? { findings: findings.map((f) => ({ ...f })) } : null,
  };
}
