// The crosscheck of one capture: reconstruct the platform, align the clocks, attribute the guest's ops,
// replay QEMU's requests, and assemble the CrosscheckResult (result.ts). Contract:
// - crosscheck(guest, qemu, opts) is pure and deterministic; it never throws on capture content: what it
//   cannot use becomes an issue, and the counts cover what could be checked (complete = false otherwise).
// - Clock: the map/invalidation vote (align.ts) within reach of the NVMe-marker bound, else the marker
//   bound alone, then clamped into the translation bracket. Without any of them the logs cannot be
//   aligned: an error issue, and no request is checked.
// - opts.profile picks the fault semantics ('qemu-7.2' by default, the profile QEMU captures need);
//   opts.shiftMapsPages moves every guest map's paddr by whole pages (the negative control: agreement must
//   collapse).
import type { FaultProfile } from '../engine/vtd/translate';
import {
  attachBound,
  bracketOffset,
  markerBound,
  markerPairs,
  searchRange,
  voteOffset,
  type Bracket,
  type VoteResult,
} from './align';
import { attributeOps, bracketSamples, directRegionDids, type Attribution } from './attribute';
import { reconstructPlatform, sidOfBdf, type ReconstructedPlatform } from './platform';
import { hex, replayRequests } from './replay';
import { CROSSCHECK_VERSION, type CrosscheckResult } from './result';
import type { GuestCapture, Issue, QemuCapture, QemuInvalidationEvent, QemuTranslationEvent } from './types';

export interface CrosscheckOptions {
  /** fault semantics of the lab's model (default 'qemu-7.2') */
  profile?: FaultProfile;
  /** negative control: shift every guest map's paddr by this many 4 KiB pages (default 0) */
  shiftMapsPages?: number;
  /** disagreements listed in full (default 10) */
  maxDisagreements?: number;
}

export const PROFILES: readonly FaultProfile[] = ['qemu-7.2', 'vtd-spec'];

/** Time after the console's last line during which QEMU's requests are still checked (seconds). */
const END_MARGIN = 0;

interface Clock {
  offset: number | null;
  method: string;
  vote: VoteResult | null;
  bracket: Bracket | null;
}

function align(
  guest: GuestCapture,
  qemu: QemuCapture,
  invs: QemuInvalidationEvent[],
  issues: Issue[],
): Clock {
  const pairs = markerPairs(guest.phases, qemu.nvmeReads);
  const bound = markerBound(pairs);
  const attaches = guest.devices.filter((d) => d.op === 'attach_device_to_domain');
  const cc = qemu.events.flatMap((e) =>
    e.type === 'cc-inv' && e.scope === 'device' && e.sid !== null ? [{ sid: e.sid, time: e.time }] : [],
  );
  const lower = attachBound(attaches, cc, sidOfBdf);
  let vote = voteOffset(guest.ops, invs, searchRange(bound, lower));
  if (vote && bound !== null && vote.matched < vote.maps / 2) {
    // the markers may be off (another workload): vote without them
    const wide = voteOffset(guest.ops, invs, searchRange(null, lower));
    if (wide && wide.matched > vote.matched) {
      issues.push({
        level: 'warning',
        source: 'both',
        line: null,
        message: `the NVMe markers (bound ${bound.toFixed(6)}) disagree with the map/invalidation order; markers ignored`,
      });
      vote = wide;
    }
  }
  const usable = vote !== null && vote.matched >= Math.min(3, vote.maps) && vote.matched > 0;
  if (usable) return { offset: vote!.offset, method: 'map-invalidation vote', vote, bracket: null };
  if (bound !== null) {
    issues.push({
      level: 'warning',
      source: 'both',
      line: null,
      message:
        'no guest map is followed by a matching QEMU invalidation: clocks aligned by the NVMe markers only',
    });
    return { offset: bound, method: 'nvme-markers', vote, bracket: null };
  }
  issues.push({
    level: 'error',
    source: 'both',
    line: null,
    message:
      'cannot align the two clocks: no NVMe marker pair and no guest map followed by a QEMU invalidation ' +
      '(are the two files from the same run?)',
  });
  return { offset: null, method: 'none', vote, bracket: null };
}

function attribute(
  guest: GuestCapture,
  invs: QemuInvalidationEvent[],
  platform: ReconstructedPlatform,
  offset: number,
  coarse: boolean,
): Attribution {
  const direct = (op: (typeof guest.ops)[number]): number[] =>
    directRegionDids(op, platform.groups, platform.devices, platform.assignments);
  return attributeOps(guest.ops, invs, offset, direct, coarse ? { before: 0.05 } : {});
}

export function crosscheck(
  guest: GuestCapture,
  qemu: QemuCapture,
  opts: CrosscheckOptions = {},
): CrosscheckResult {
  const profile = opts.profile ?? 'qemu-7.2';
  const issues: Issue[] = [
    ...guest.issues.filter((i) => i.source === 'guest'),
    ...qemu.issues.filter((i) => i.source === 'qemu'),
  ];
  const platform = reconstructPlatform(guest, qemu, issues);
  const invs = qemu.events.filter((e): e is QemuInvalidationEvent => e.type === 'iotlb-inv');
  const translations = qemu.events.filter((e): e is QemuTranslationEvent => e.type === 'translation');
  const clock = align(guest, qemu, invs, issues);
  let offset = clock.offset ?? 0;
  let attribution = attribute(guest, invs, platform, offset, clock.vote === null);
  if (clock.offset !== null) {
    clock.bracket = bracketOffset(bracketSamples(guest.ops, attribution, translations, platform.assignments));
    const b = clock.bracket;
    if (b && b.lo <= b.hi) {
      const clamped = Math.min(Math.max(offset, b.lo), b.hi);
      if (clamped !== offset) {
        offset = clamped;
        clock.method += ', clamped into the translation bracket';
        attribution = attribute(guest, invs, platform, offset, clock.vote === null);
      }
    } else if (b) {
      issues.push({
        level: 'warning',
        source: 'both',
        line: null,
        message: `translation bracket is empty (lo ${b.lo.toFixed(6)} > hi ${b.hi.toFixed(6)}): some DMA lies outside its map/unmap`,
      });
    }
  }
  const guestEnd = guest.lastTime === null ? -Infinity : guest.lastTime + offset + END_MARGIN;
  const checkedUntil = clock.offset === null ? -Infinity : guestEnd;
  const shift = BigInt(Math.trunc(opts.shiftMapsPages ?? 0)) * 4096n;
  const r = replayRequests({
    guest,
    qemu,
    platform,
    attribution,
    offset,
    profile,
    paddrShift: shift,
    maxDisagreements: opts.maxDisagreements ?? 10,
    checkedUntil,
  });

  if (clock.offset !== null && r.unchecked + r.faultsUnchecked > 0)
    issues.push({
      level: 'error',
      source: 'guest',
      line: guest.lines,
      message: `the guest console ends at ${guest.lastTime?.toFixed(6)} s (host ${(guestEnd - END_MARGIN).toFixed(6)}) but QEMU logs ${r.unchecked} translation(s) and ${r.faultsUnchecked} fault(s) after it: truncated console? those are not checked`,
    });
  const qemuEnd = qemu.lastTime ?? -Infinity;
  const late = guest.ops.filter((o) => o.time + offset > qemuEnd + END_MARGIN).length;
  if (clock.offset !== null && late > 0)
    issues.push({
      level: 'error',
      source: 'qemu',
      line: qemu.lines,
      message: `the QEMU trace ends at ${qemuEnd.toFixed(6)} but the guest logs ${late} map/unmap(s) after it: truncated trace? they cannot be attributed`,
    });
  if (attribution.unattributed.length > 0)
    issues.push({
      level: 'warning',
      source: 'guest',
      line: guest.ops[attribution.unattributed[0]!]!.line,
      message: `${attribution.unattributed.length} guest map/unmap(s) matched no QEMU invalidation and no domain state: not replayed`,
    });
  if (r.refused.length > 0)
    issues.push({
      level: 'warning',
      source: 'guest',
      line: r.refused[0]!.line,
      message: `${r.refused.length} map/unmap(s) refused by the lab's page tables (first: ${r.refused[0]!.message})`,
    });

  const byEvidence: Record<string, number> = {};
  attribution.evidence.forEach((e) => {
    const k = e ?? 'none';
    byEvidence[k] = (byEvidence[k] ?? 0) + 1;
  });
  const checked = r.agree + r.disagree;
  const complete =
    !issues.some((i) => i.level === 'error') &&
    r.unchecked === 0 &&
    r.faultsUnchecked === 0 &&
    attribution.unattributed.length === 0;
  const rec = r.recorder;
  return {
    crosscheckVersion: CROSSCHECK_VERSION,
    profile,
    guestLog: { file: guest.file, lines: guest.lines, badLines: guest.badLines },
    qemuTrace: { file: qemu.file, lines: qemu.lines, badLines: qemu.badLines },
    complete,
    translations: r.translations,
    agree: r.agree,
    disagree: r.disagree,
    unchecked: r.unchecked,
    agreement: checked === 0 ? 1 : r.agree / checked,
    domainMismatches: r.domainMismatches,
    faults: {
      observed: r.faultsObserved,
      reproduced: r.faultsReproduced,
      unchecked: r.faultsUnchecked,
      byReason: r.byReason,
      observedByReason: r.observedByReason,
    },
    recorded: {
      observed: qemu.events.filter((e) => e.type === 'frr').length,
      model: rec.recorded,
      suppressed: rec.compressed + rec.overflowed + r.fpdSuppressed,
      compressed: rec.compressed,
      overflowed: rec.overflowed,
      fpdSuppressed: r.fpdSuppressed,
      records: r.records,
      guestReports: {
        observed: guest.faults.length,
        model: r.guestReports.filter((g) => g.model !== null).length,
        same: r.guestReports.filter((g) => g.same).length,
        lines: r.guestReports,
      },
    },
    platform: platformJson(platform, guest, attribution),
    alignment: {
      offset,
      method: clock.method,
      markers: markerPairs(guest.phases, qemu.nvmeReads).map((p) => ({ ...p, lba: hex(p.lba) })),
      markerBound: markerBound(markerPairs(guest.phases, qemu.nvmeReads)),
      vote: clock.vote,
      bracket: clock.bracket && {
        lo: Number.isFinite(clock.bracket.lo) ? clock.bracket.lo : null,
        hi: Number.isFinite(clock.bracket.hi) ? clock.bracket.hi : null,
        translations: clock.bracket.translations,
      },
    },
    attribution: {
      maps: guest.ops.filter((o) => o.op === 'map').length,
      unmaps: guest.ops.filter((o) => o.op === 'unmap').length,
      byEvidence,
      unattributed: attribution.unattributed.length,
      conflicts: attribution.conflicts.length,
      refused: r.refused.length,
    },
    disagreements: r.disagreements,
    issues,
  };
}

function platformJson(
  p: ReconstructedPlatform,
  guest: GuestCapture,
  attribution: Attribution,
): CrosscheckResult['platform'] {
  const u = p.unit;
  const h = (v: number | null, w: number): string | null =>
    v === null ? null : `0x${v.toString(16).padStart(w, '0')}`;
  const domains = new Map<
    number,
    { devices: Set<string>; groups: Set<number>; maps: number; unmaps: number; evidence: Set<string> }
  >();
  const dom = (did: number) => {
    let d = domains.get(did);
    if (!d) {
      d = { devices: new Set(), groups: new Set(), maps: 0, unmaps: 0, evidence: new Set() };
      domains.set(did, d);
    }
    return d;
  };
  for (const a of p.assignments) {
    const dev = p.devices.find((d) => d.sid === a.sid);
    const d = dom(a.did);
    d.devices.add(dev?.bdf ?? hex(a.sid));
    if (dev?.group !== null && dev?.group !== undefined) d.groups.add(dev.group);
    d.evidence.add(a.evidence);
  }
  for (const op of guest.ops) {
    const did = attribution.did[op.index];
    if (did === null || did === undefined) continue;
    const d = dom(did);
    if (op.op === 'map') d.maps++;
    else d.unmaps++;
  }
  return {
    unit: {
      name: u.name,
      base: hex(u.base),
      cap: hex(u.cap),
      ecap: hex(u.ecap),
      haw: u.haw,
      mode: u.mode,
      modeEvidence: u.modeEvidence,
      pageTable: u.pageTable,
      levels: u.levels,
      faultRecords: u.faultRecords,
    },
    devices: p.devices.map((d) => ({
      bdf: d.bdf,
      sid: hex(d.sid),
      group: d.group,
      vendor: h(d.vendor, 4),
      device: h(d.device, 4),
      class: h(d.classCode, 6),
      driver: d.driver,
    })),
    groups: p.groups.map((g) => ({
      id: g.id,
      type: g.type,
      devices: g.devices,
      reserved: g.reserved.map((r) => ({ start: hex(r.start), end: hex(r.end), type: r.type })),
    })),
    domains: [...domains.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([did, d]) => ({
        domain: hex(did),
        devices: [...d.devices],
        groups: [...d.groups],
        maps: d.maps,
        unmaps: d.unmaps,
        evidence: [...d.evidence].join(', ') || 'invalidations',
      })),
  };
}
