// Reconstructs the platform the capture ran on, from the capture alone. Contract:
// - Unit: the guest's "DMAR: dmar0: reg_base_addr … cap … ecap …" line (CAP/ECAP decoded with structures.ts)
//   and "Host address width N". Table mode: QEMU's vtd_reg_dmar_root "scalable 0|1" (what the guest wrote
//   to RTADDR); without it, scalable when ECAP.SMTS. Page-table type, as Linux 6.1 picks it for DMA domains
//   (first_level_by_default): second level in legacy mode; in scalable mode first level when ECAP.FLTS, unless
//   only SLTS is set. Levels: the widest SAGAW width that does not exceed max(MGAW, 39) (iommu_calculate_agaw).
// - Devices and groups: iommu:add_device_to_group (or "Adding to iommu group N"), completed by the
//   workload's PCI and group listings (vendor/device/class/driver, group type, reserved regions).
// - Domain ids: when the guest attaches a device, its driver invalidates that device's context-cache entry and
//   then the new domain's IOTLB (domain_context_mapping_one under caching mode); QEMU logs both, so each
//   device-selective context invalidation followed (within `attachWindow`) by a domain-selective IOTLB
//   invalidation assigns that domain id to the device from that moment. Devices without such a pair fall
//   back to the domain QEMU's IOTLB lines show for them (marked as such). Devices of one group must share a
//   domain id; a disagreement is a warning.
import { decodeCap, decodeEcap, type VtdCap, type VtdEcap } from '../engine/vtd/structures';
import type { GuestCapture, Issue, QemuCapture, ReservedRegion } from './types';

export interface DidAssignment {
  time: number;
  sid: number;
  did: number;
  /** QEMU trace line of the domain invalidation (or of the first IOTLB line, for the fallback) */
  line: number;
  evidence: 'attach-invalidation' | 'iotlb-lines';
}

export interface PlatformDevice {
  bdf: string;
  sid: number;
  group: number | null;
  vendor: number | null;
  device: number | null;
  classCode: number | null;
  driver: string | null;
}

export interface PlatformGroup {
  id: number;
  type: string | null;
  devices: string[];
  reserved: ReservedRegion[];
}

export interface ReconstructedUnit {
  name: string;
  base: bigint;
  cap: bigint;
  ecap: bigint;
  capFields: VtdCap;
  ecapFields: VtdEcap;
  haw: number;
  mode: 'legacy' | 'scalable';
  modeEvidence: string;
  pageTable: 'second-level' | 'first-level';
  levels: number;
  /** fault recording registers (CAP.NFR + 1) */
  faultRecords: number;
}

export interface ReconstructedPlatform {
  unit: ReconstructedUnit;
  devices: PlatformDevice[];
  groups: PlatformGroup[];
  assignments: DidAssignment[];
}

/** QEMU's intel-iommu defaults (aw-bits 39), used only when the guest console lacks its DMAR lines. */
const FALLBACK_CAP = 0xd2008c22260286n;
const FALLBACK_ECAP = 0xf00f4an;

/** "0000:00:03.0" → requester id 0x18 (null when not a PCI address). */
export function sidOfBdf(bdf: string): number | null {
  const m = /^(?:[0-9a-f]{4}:)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(bdf);
  if (!m) return null;
  const dev = parseInt(m[2]!, 16);
  if (dev > 31) return null;
  return (parseInt(m[1]!, 16) << 8) | (dev << 3) | +m[3]!;
}

function slLevels(cap: VtdCap): number {
  const widths: number[] = [];
  for (let bit = 1; bit <= 3; bit++) if (cap.sagaw & (1 << bit)) widths.push(30 + 9 * bit);
  const fit = widths.filter((w) => w <= Math.max(cap.mgaw, 39));
  const w = fit.length ? Math.max(...fit) : widths.length ? Math.min(...widths) : 48;
  return (w - 12) / 9;
}

export function reconstructUnit(guest: GuestCapture, qemu: QemuCapture, issues: Issue[]): ReconstructedUnit {
  const u = guest.units[0];
  if (!u)
    issues.push({
      level: 'warning',
      source: 'guest',
      line: null,
      message: 'no "DMAR: dmar0: reg_base_addr … cap … ecap …" line: assuming QEMU intel-iommu defaults',
    });
  if (guest.units.length > 1)
    issues.push({
      level: 'warning',
      source: 'guest',
      line: guest.units[1]!.line,
      message: `${guest.units.length} DMAR units: the crosscheck models the first one only`,
    });
  const cap = u?.cap ?? FALLBACK_CAP;
  const ecap = u?.ecap ?? FALLBACK_ECAP;
  const capFields = decodeCap(cap);
  const ecapFields = decodeEcap(ecap);
  const root = qemu.events.find((e) => e.type === 'root');
  let mode: ReconstructedUnit['mode'];
  let modeEvidence: string;
  if (root && root.type === 'root') {
    mode = root.scalable ? 'scalable' : 'legacy';
    modeEvidence = `QEMU vtd_reg_dmar_root scalable ${root.scalable ? 1 : 0} (line ${root.line})`;
  } else {
    mode = ecapFields.smts ? 'scalable' : 'legacy';
    modeEvidence = `ECAP.SMTS = ${ecapFields.smts ? 1 : 0} (no vtd_reg_dmar_root line)`;
  }
  if (mode === 'scalable' && !ecapFields.smts) {
    issues.push({
      level: 'warning',
      source: 'both',
      line: null,
      message: 'scalable-mode tables on a unit whose ECAP lacks SMTS: assuming SMTS',
    });
    ecapFields.smts = true;
    ecapFields.slts = true;
  }
  // first_level_by_default(): FL when it is the only level, and for DMA domains when both are
  const firstLevel = mode === 'scalable' && ecapFields.flts;
  return {
    name: u?.name ?? 'dmar0',
    base: u?.base ?? 0xfed90000n,
    cap,
    ecap,
    capFields,
    ecapFields,
    haw: guest.haw ?? capFields.mgaw,
    mode,
    modeEvidence,
    pageTable: firstLevel ? 'first-level' : 'second-level',
    levels: firstLevel ? (capFields.fl5lp && slLevels(capFields) === 5 ? 5 : 4) : slLevels(capFields),
    faultRecords: Number((cap >> 40n) & 0xffn) + 1,
  };
}

export function reconstructDevices(guest: GuestCapture): {
  devices: PlatformDevice[];
  groups: PlatformGroup[];
} {
  const byBdf = new Map<string, PlatformDevice>();
  const add = (bdf: string, group: number | null): PlatformDevice | null => {
    const key = bdf.toLowerCase();
    let d = byBdf.get(key);
    if (!d) {
      const sid = sidOfBdf(key);
      if (sid === null) return null;
      d = { bdf: key, sid, group: null, vendor: null, device: null, classCode: null, driver: null };
      byBdf.set(key, d);
    }
    if (group !== null) d.group = group;
    return d;
  };
  for (const e of guest.devices) if (e.op === 'add_device_to_group') add(e.bdf, e.group);
  for (const h of guest.groupHints) add(h.bdf, h.group);
  for (const g of guest.groups) for (const bdf of g.devices) add(bdf, g.id);
  for (const p of guest.pci) {
    const d = add(p.bdf, null);
    if (!d) continue;
    d.vendor = p.vendor;
    d.device = p.device;
    d.classCode = p.classCode;
    d.driver = p.driver;
  }
  const devices = [...byBdf.values()].sort((a, b) => a.sid - b.sid);
  const groups = new Map<number, PlatformGroup>();
  for (const d of devices) {
    if (d.group === null) continue;
    let g = groups.get(d.group);
    if (!g) {
      g = { id: d.group, type: null, devices: [], reserved: [] };
      groups.set(d.group, g);
    }
    g.devices.push(d.bdf);
  }
  for (const w of guest.groups) {
    const g = groups.get(w.id);
    if (!g) continue;
    g.type = w.type;
    g.reserved = w.reserved;
  }
  return { devices, groups: [...groups.values()].sort((a, b) => a.id - b.id) };
}

/** Domain id per device over time (see the header). */
export function domainAssignments(
  qemu: QemuCapture,
  devices: readonly PlatformDevice[],
  issues: Issue[],
  attachWindow = 0.01,
): DidAssignment[] {
  const out: DidAssignment[] = [];
  let pending: { sid: number; time: number }[] = [];
  for (const e of qemu.events) {
    if (e.type === 'cc-inv' && e.scope === 'device' && e.sid !== null) {
      pending = pending.filter((p) => p.sid !== e.sid && e.time - p.time <= attachWindow);
      pending.push({ sid: e.sid, time: e.time });
    } else if (e.type === 'iotlb-inv' && e.scope === 'domain' && e.did !== null) {
      for (const p of pending) {
        if (e.time - p.time <= attachWindow)
          out.push({ time: p.time, sid: p.sid, did: e.did, line: e.line, evidence: 'attach-invalidation' });
      }
      pending = [];
    }
  }
  const seen = new Set(out.map((a) => a.sid));
  const fromLines = new Map<number, DidAssignment>();
  for (const e of qemu.events) {
    if (e.type !== 'translation' || e.domain === null) continue;
    if (!seen.has(e.sid) && !fromLines.has(e.sid)) {
      fromLines.set(e.sid, {
        time: -Infinity,
        sid: e.sid,
        did: e.domain,
        line: e.line,
        evidence: 'iotlb-lines',
      });
    }
  }
  for (const a of fromLines.values()) {
    issues.push({
      level: 'warning',
      source: 'qemu',
      line: a.line,
      message: `no attach-time invalidation for sid 0x${a.sid.toString(16)}: its domain id 0x${a.did.toString(16)} comes from QEMU's IOTLB lines`,
    });
    out.push(a);
  }
  // devices of one group share their domain
  const didOf = new Map<number, number>();
  for (const a of out) didOf.set(a.sid, a.did);
  const byGroup = new Map<number, Set<number>>();
  for (const d of devices) {
    const did = didOf.get(d.sid);
    if (d.group === null || did === undefined) continue;
    const s = byGroup.get(d.group) ?? new Set<number>();
    s.add(did);
    byGroup.set(d.group, s);
  }
  for (const [g, s] of byGroup) {
    if (s.size > 1)
      issues.push({
        level: 'warning',
        source: 'both',
        line: null,
        message: `group ${g} devices end up in different domains (${[...s].map((d) => `0x${d.toString(16)}`).join(', ')})`,
      });
  }
  return out.sort((a, b) => a.time - b.time);
}

export function reconstructPlatform(
  guest: GuestCapture,
  qemu: QemuCapture,
  issues: Issue[],
): ReconstructedPlatform {
  const unit = reconstructUnit(guest, qemu, issues);
  const { devices, groups } = reconstructDevices(guest);
  const assignments = domainAssignments(qemu, devices, issues);
  return { unit, devices, groups, assignments };
}
