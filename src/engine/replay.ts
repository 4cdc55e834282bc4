// Replays a trace against a lab. Control events change the kernel's and iommufd's state (the same
// events as control scripts) and the intel-iommu driver model reprograms the VT-d structures; DMA
// requests go through the VT-d hardware model of the unit that translates their requester ID
// (src/engine/vtd/translate.ts): IOTLB and caches, the table walk, the fault reason, FPD and the
// fault recording registers. A translated request is then checked against the TEE-IO rules.
// Each fault is classified for the people who must act on it (firmware, driver, platform), and a DMA
// that succeeded only through a stale IOTLB entry is reported as a use-after-unmap hazard.
import { PAGE_SIZE } from './address';
import { applyControl } from './control';
import type { CoreDevice } from './iommu/core';
import type { PlatformLab } from './lab';
import { PrivacySplit, TEE_REASON_TEXT } from './tee';
import type { ControlEvent } from '../trace/control-script';
import { dmarFaultLine } from './vtd/dmar-log';
import { faultReasonText, isQualified } from './vtd/fault-reasons';
import { FaultOutcome, FaultRecorder, outcomeKind } from './vtd/fault-recording';
import type { CacheMode } from './vtd/iotlb';
import { IntelIommuDriver, type DriverUnit } from './vtd/intel-driver';
import {
  ACCESS_ATOMIC,
  ACCESS_READ,
  ACCESS_WRITE,
  createRequest,
  createResult,
  isQualifiedFault,
  STAGE_NAMES,
  STATUS_FAULT,
  STATUS_OK,
  VtdTranslator,
  type FaultProfile,
} from './vtd/translate';

export interface DmaRequest {
  kind: 'dma';
  time: number;
  requesterId: number;
  pasid: number | null;
  addr: number;
  len: number;
  write: boolean;
  /** an AtomicOp (checked like a write, which needs read and write permission) */
  atomic?: boolean;
  /** TEE-IO T bit (default 0) */
  tbit?: number;
  /** PCIe AT: 0 untranslated (default), 1 translation request, 2 translated */
  at?: number;
  /** PASID prefix Execute Requested / Privileged Mode Requested */
  exec?: boolean;
  priv?: boolean;
}

export interface ControlStep {
  kind: 'control';
  time: number;
  /** where the event came from, e.g. "trace.jsonl:12" */
  origin: string;
  event: ControlEvent;
}

export type ReplayEvent = DmaRequest | ControlStep;

/** What the hardware did with a fault: recorded in an FRCD, merged, dropped, or suppressed by FPD. */
export type FaultRecording = 'recorded' | 'compressed' | 'overflow' | 'fpd' | 'not-recorded';

export interface Fault {
  index: number;
  time: number;
  requesterId: number;
  pasid: number | null;
  write: boolean;
  /** the faulting page's address */
  pageAddr: number;
  /** VT-d fault reason, or a lab TEE-IO reason (> 0xff) */
  reason: number;
  /** where the walk stopped (root, context, second-level, …) */
  stage: string;
  recording: FaultRecording;
  /** firmware/platform classifications, e.g. "rmrr-without-unity-map", "dma-while-blocked" */
  classes: string[];
  /** the fault-semantics profile that produced it */
  profile: FaultProfile;
}

export interface Hazard {
  kind: 'stale-iotlb';
  time: number;
  requesterId: number;
  addr: number;
  write: boolean;
  /** the unmap whose IOTLB invalidation had not happened yet */
  unmapOrigin: string;
  unmapTime: number;
}

export interface RejectedControl {
  origin: string;
  op: string;
  errno: string;
  message: string;
}

export interface ReplayOptions {
  profile?: FaultProfile;
  /** 'hardware' (default): a stale IOTLB entry translates until invalidated; 'strict': never */
  iotlbMode?: CacheMode;
  /** time from a fault being recorded to Linux's dmar_fault() draining the registers */
  faultIrqLatencyNs?: number;
  /** keep every DMA's outcome (0 translated, else the fault reason) in `outcomes`, for comparisons */
  keepOutcomes?: boolean;
}

interface UnitState {
  unit: DriverUnit;
  translator: VtdTranslator;
  recorder: FaultRecorder;
  pendingSince: number;
}

/** A modelling assumption (documented): the DMAR fault interrupt is handled 2 µs after it is raised. */
export const DEFAULT_FAULT_IRQ_LATENCY_NS = 2_000;
const TWO_32 = 2 ** 32;
/** T, AT, execute and privileged bits of a TLP record's flags word (src/trace/native/tlp-record.ts) */
const F_SLOW = 0x0ce0_0000;
/** PASID present, and the access code (3: not a TLP) of a TLP record's flags word */
const F_PASID = 0x0010_0000;
const F_ACCESS_MASK = 0x0300_0000;

export class Replay {
  readonly faults: Fault[] = [];
  readonly hazards: Hazard[] = [];
  /** per requester ID (the 16-bit ID space; other segments fold in): TLPs and faults */
  readonly tlpsByRid = new Uint32Array(65536);
  readonly faultsByRid = new Uint32Array(65536);
  /**
   * The requester IDs (16-bit) this replay has counted in tlpsByRid or faultsByRid, each once, in the order it
   * first met them (noteRid): their entries are the only nonzero ones, so a checkpoint need not scan 65 536.
   */
  readonly ridsSeen: number[] = [];
  private readonly ridSeen = new Uint8Array(65536);
  /** control events the model answered with an errno */
  readonly rejected: RejectedControl[] = [];
  readonly driver: IntelIommuDriver;
  /** per DMA request in order, when keepOutcomes: 0 translated, else the fault reason */
  readonly outcomes: number[] = [];
  readonly profile: FaultProfile;
  tlps = 0;
  time = 0;
  private readonly keepOutcomes: boolean;
  /** which reasons FPD suppresses: QEMU's exact table for qemu-7.2, the spec's fuller set otherwise */
  private readonly qualified: (reason: number) => boolean;
  private readonly splitWide: boolean;
  private readonly noPasidValue: number;
  private readonly units = new Map<DriverUnit, UnitState>();
  /** requester ID (segment 0) → index into unitList + 1; 0 = not looked up yet, -1 = no unit */
  private readonly unitOfRid = new Int32Array(65536);
  private readonly unitList: UnitState[] = [];
  private readonly devOfRid = new Map<number, CoreDevice>();
  private readonly privacy: PrivacySplit;
  private readonly req = createRequest();
  private readonly res = createResult();
  private readonly latency: number;
  /** false when every translated request needs the TEE-IO check (a private/shared split) */
  private readonly quick: boolean;

  constructor(
    readonly lab: PlatformLab,
    options: ReplayOptions = {},
  ) {
    this.driver = new IntelIommuDriver(lab.platform, lab.core, lab.mem, { cacheMode: options.iotlbMode });
    const profile = options.profile ?? 'vtd-spec';
    this.profile = profile;
    this.keepOutcomes = options.keepOutcomes ?? false;
    this.qualified = profile === 'qemu-7.2' ? isQualified : isQualifiedFault;
    this.splitWide = profile === 'qemu-7.2';
    // QEMU's record keeps a 16-bit PASID value and 0xFFFF for requests without PASID (reference §12)
    this.noPasidValue = profile === 'qemu-7.2' ? 0xffff : 0;
    this.latency = options.faultIrqLatencyNs ?? DEFAULT_FAULT_IRQ_LATENCY_NS;
    for (const unit of this.driver.units.values()) {
      const st: UnitState = {
        unit,
        translator: new VtdTranslator(lab.mem, unit.regs, { profile, caches: unit.caches }),
        // QEMU has one fault recording register; real units have several (CAP.NFR). The platform does
        // not say how many, so the lab uses QEMU's one for the QEMU profile and 8 otherwise.
        recorder: new FaultRecorder(
          profile === 'qemu-7.2' ? { records: 1, pasidValueBits: 16 } : { records: 8 },
        ),
        pendingSince: -1,
      };
      this.units.set(unit, st);
      this.unitList.push(st);
    }
    for (const d of lab.core.devices.values()) {
      const fn = lab.platform.functions.get(d.bdf)!;
      this.devOfRid.set((fn.bdf.segment << 16) | fn.requesterId, d);
    }
    this.privacy = new PrivacySplit(lab.platform.teeIo);
    this.quick = !this.privacy.enabled;
  }

  /** Adds a requester ID (its low 16 bits) to ridsSeen unless it is there. */
  noteRid(rid: number): void {
    const r = rid & 0xffff;
    if (this.ridSeen[r] === 0) {
      this.ridSeen[r] = 1;
      this.ridsSeen.push(r);
    }
  }

  /**
   * The unit translating a requester ID: the one programmed for it, else its segment's include-all unit.
   * Every TLP's requester ID comes here before its TLP is counted (the hot paths skip it only for a
   * requester whose unit it has cached), so it notes the ID in ridsSeen.
   */
  private unitFor(rid: number, segment = 0): UnitState | null {
    this.noteRid(rid);
    if (segment === 0) {
      const cached = this.unitOfRid[rid]!;
      if (cached > 0) return this.unitList[cached - 1]!;
      if (cached < 0) return null;
    }
    let found: UnitState | null = null;
    const u = this.driver.unitOfRid.get((segment << 16) | rid);
    if (u) found = this.units.get(u)!;
    else {
      for (const st of this.unitList)
        if (st.unit.unit.includeAll && st.unit.unit.segment === segment) found = st;
    }
    if (segment === 0) this.unitOfRid[rid] = found ? this.unitList.indexOf(found) + 1 : -1;
    return found;
  }

  /** The fault recording registers of the unit translating a requester ID (for views and tests). */
  recorderOf(rid: number, segment = 0): FaultRecorder | null {
    return this.unitFor(rid, segment)?.recorder ?? null;
  }

  /**
   * The hot path: one TLP record straight from a Uint32Array (a native trace chunk or the ring), in the
   * layout of src/trace/native/tlp-record.ts. Allocates nothing unless the request faults.
   */
  applyTlpWords(words: Uint32Array, w: number): Fault | null {
    const time = words[w]! + words[w + 1]! * TWO_32;
    this.time = time;
    if (time >= this.driver.nextFlushDeadline) this.driver.advance(time);
    const ridSeg = words[w + 2]!;
    const rid = ridSeg & 0xffff;
    const flags = words[w + 3]!;
    this.tlps++;
    this.tlpsByRid[rid]!++;
    const cached = ridSeg >>> 16 === 0 ? this.unitOfRid[rid]! : 0;
    const unit = cached > 0 ? this.unitList[cached - 1]! : this.unitFor(rid, ridSeg >>> 16);
    if (!unit) {
      if (this.keepOutcomes) this.outcomes.push(0);
      return null;
    }
    if (unit.pendingSince >= 0) this.drain(unit, time);
    // The common case: an untranslated request without T, execute or privileged bits (no TEE-IO check to
    // make) that is a clean IOTLB hit: nothing to judge, nothing to record. Read from the record in place.
    if (
      (flags & F_SLOW) === 0 &&
      this.quick &&
      unit.translator.hitRun(words, w, 1, null, 0, Infinity, null, this.splitWide, false) === 1
    ) {
      if (this.keepOutcomes) this.outcomes.push(0);
      return null;
    }
    const req = this.req;
    req.sid = rid;
    req.pasidPresent = (flags >>> 20) & 1;
    req.pasid = flags & 0xfffff;
    req.addrLo = words[w + 4]!;
    req.addrHi = words[w + 5]!;
    req.len = words[w + 6]!;
    req.access = (flags >>> 24) & 3;
    req.at = (flags >>> 22) & 3;
    req.exec = (flags >>> 26) & 1;
    req.priv = (flags >>> 27) & 1;
    const f = this.judge(unit, time, (flags >>> 21) & 1);
    if (this.keepOutcomes) this.outcomes.push(f ? f.reason : 0);
    return f;
  }

  /**
   * applyTlpWords() over a run of up to `count` records from word offset `at` of `words`, wrapping to 0 at
   * its end (a ring), in order; stops before a record whose access code is 3 (no TLP has it: the worker
   * player's marker records) and returns how many records it applied. onPasid, when given, is called with
   * the PASID of each record that carries one, before it is applied. The same effects as applyTlpWords() on
   * each record (faults come out in `faults`), with the common case in this loop: a clean IOTLB hit of a
   * requester whose unit is known, with no DMA-FQ flush due, judged in place a run at a time
   * (VtdTranslator.hitRun).
   */
  applyTlpRun(
    words: Uint32Array,
    at: number,
    count: number,
    onPasid: ((pasid: number) => void) | null = null,
  ): number {
    const end = words.length;
    const unitOfRid = this.unitOfRid;
    const units = this.unitList;
    const byRid = this.tlpsByRid;
    const fast = this.quick;
    const splitWide = this.splitWide;
    const keep = this.keepOutcomes;
    let deadline = this.driver.nextFlushDeadline;
    // this.tlps and this.time of the clean hits, kept here and written back before anything else runs
    let tlps = this.tlps;
    let time = this.time;
    let j = 0;
    for (; j < count; j++) {
      const flags = words[at + 3]!;
      if ((flags & F_ACCESS_MASK) === F_ACCESS_MASK) break;
      if (onPasid !== null && (flags & F_PASID) !== 0) onPasid(flags & 0xfffff);
      const t = words[at]! + words[at + 1]! * TWO_32;
      const ridSeg = words[at + 2]!;
      // segment 0, unit known, no flush due, no T/AT/execute/privileged bit, no TEE-IO check
      const u = ridSeg < 0x1_0000 ? unitOfRid[ridSeg]! : 0;
      let done = false;
      if (u > 0 && t < deadline && (flags & F_SLOW) === 0 && fast) {
        const unit = units[u - 1]!;
        if (unit.pendingSince >= 0) this.drain(unit, t);
        // this record and the clean hits of the same unit after it, in one go (one record while a fault
        // record waits to be drained: each record's time may drain it); this record's PASID is counted
        const n = unit.translator.hitRun(
          words,
          at,
          unit.pendingSince >= 0 ? 1 : count - j,
          unitOfRid,
          u,
          deadline,
          byRid,
          splitWide,
          onPasid !== null,
        );
        if (n > 0) {
          tlps += n;
          if (keep) for (let k = 0; k < n; k++) this.outcomes.push(0);
          j += n - 1;
          at += (n - 1) * 8;
          if (at >= end) at -= end;
          time = words[at]! + words[at + 1]! * TWO_32;
          done = true;
        }
      }
      if (!done) {
        this.tlps = tlps;
        this.time = time;
        this.applyTlpWords(words, at);
        tlps = this.tlps;
        time = this.time;
        deadline = this.driver.nextFlushDeadline;
      }
      at += 8;
      if (at === end) at = 0;
    }
    this.tlps = tlps;
    this.time = time;
    return j;
  }

  /** Applies one event; returns the fault it raised, if any. */
  apply(e: ReplayEvent): Fault | null {
    const f = this.step(e);
    if (this.keepOutcomes && e.kind === 'dma') this.outcomes.push(f ? f.reason : 0);
    return f;
  }

  private step(e: ReplayEvent): Fault | null {
    this.time = e.time;
    this.driver.advance(e.time);
    if (e.kind === 'control') {
      const o = applyControl(this.lab, e.event, { event: e.origin, time: e.time });
      if (!o.ok) this.rejected.push({ origin: e.origin, op: e.event.op, errno: o.errno, message: o.message });
      this.driver.sync();
      return null;
    }
    this.tlps++;
    this.tlpsByRid[e.requesterId & 0xffff]!++;
    const unit = this.unitFor(e.requesterId);
    if (!unit) return null; // no DMA remapping for this requester: the request is not translated
    this.drain(unit, e.time);
    const req = this.req;
    req.sid = e.requesterId;
    req.pasidPresent = e.pasid === null ? 0 : 1;
    req.pasid = e.pasid ?? 0;
    req.addrHi = Math.floor(e.addr / TWO_32);
    req.addrLo = e.addr % TWO_32;
    req.len = e.len;
    req.access = e.atomic ? ACCESS_ATOMIC : e.write ? ACCESS_WRITE : ACCESS_READ;
    req.at = e.at ?? 0;
    req.exec = e.exec ? 1 : 0;
    req.priv = e.priv ? 1 : 0;
    return this.judge(unit, e.time, e.tbit ?? 0);
  }

  /**
   * Judges this.req. QEMU 7.2 splits an 8-byte DMA into two 4-byte accesses (reference §12): each is
   * translated and its fault reported, so the second merges into the first's pending record.
   */
  private judge(unit: UnitState, time: number, tbit: number): Fault | null {
    const req = this.req;
    if (!this.wide(req.len)) return this.judgeOne(unit, time, tbit);
    const len = req.len;
    const lo = req.addrLo;
    const hi = req.addrHi;
    req.len = 4;
    const first = this.judgeOne(unit, time, tbit);
    req.addrLo = (lo + 4) >>> 0;
    if (req.addrLo < lo) req.addrHi = (hi + 1) >>> 0;
    const second = this.judgeOne(unit, time, tbit);
    req.len = len;
    req.addrLo = lo;
    req.addrHi = hi;
    return first ?? second;
  }

  /** Whether a request of len bytes is split in two (QEMU 7.2 and an 8-byte DMA). */
  private wide(len: number): boolean {
    return this.splitWide && len > 4 && len <= 8;
  }

  /** Translates this.req and judges the outcome: stale IOTLB, TEE-IO, FPD and fault recording. */
  private judgeOne(unit: UnitState, time: number, tbit: number): Fault | null {
    const req = this.req;
    const res = this.res;
    unit.translator.translate(req, res);
    if (res.status === STATUS_OK) {
      if (res.stale === 1) this.hazard(time);
      if (tbit || this.privacy.enabled) {
        const dev = this.devOfRid.get(req.sid);
        const tee = this.privacy.check(tbit, dev?.tdisp?.state === 'RUN', res.paHi, res.paLo);
        if (tee) {
          dev?.tdisp?.error(time, TEE_REASON_TEXT[tee]!);
          return this.fault(time, req.addrHi * TWO_32 + req.addrLo, tee, 'tee-io', 'not-recorded');
        }
      }
      return null;
    }
    if (res.status !== STATUS_FAULT) return null; // an interrupt request (MSI), not DMA
    let recording: FaultRecording;
    if (res.fpd && this.qualified(res.reason)) recording = 'fpd';
    else if (res.noRecord) recording = 'not-recorded';
    else {
      const write = req.access !== ACCESS_READ;
      const outcome = unit.recorder.report(
        req.sid,
        req.pasidPresent === 1,
        req.pasidPresent === 1 ? req.pasid : this.noPasidValue,
        res.faultAddrHi,
        res.faultAddrLo,
        res.reason,
        write,
        false,
        0,
      );
      const kind = outcomeKind(outcome);
      recording =
        kind === FaultOutcome.RECORDED
          ? 'recorded'
          : kind === FaultOutcome.COMPRESSED
            ? 'compressed'
            : 'overflow';
      if (unit.pendingSince < 0) unit.pendingSince = time;
    }
    const page = res.faultAddrHi * TWO_32 + res.faultAddrLo;
    return this.fault(time, page, res.reason, STAGE_NAMES[res.stage] ?? 'unknown', recording);
  }

  private hazard(time: number): void {
    const req = this.req;
    const res = this.res;
    const rec = this.driver.unmaps[res.staleEvent];
    this.hazards.push({
      kind: 'stale-iotlb',
      time,
      requesterId: req.sid,
      addr: req.addrHi * TWO_32 + req.addrLo,
      write: req.access !== ACCESS_READ,
      unmapOrigin: rec ? rec.origin.event : `unmap #${res.staleEvent}`,
      unmapTime: res.staleTime,
    });
  }

  /** Linux's dmar_fault() runs once the interrupt latency has passed since the first pending record. */
  private drain(unit: UnitState, time: number): void {
    if (unit.pendingSince >= 0 && time - unit.pendingSince >= this.latency) {
      unit.recorder.drain();
      unit.pendingSince = -1;
    }
  }

  private fault(time: number, addr: number, reason: number, stage: string, recording: FaultRecording): Fault {
    const req = this.req;
    const fault: Fault = {
      index: this.faults.length,
      time,
      requesterId: req.sid,
      pasid: req.pasidPresent ? req.pasid : null,
      write: req.access !== ACCESS_READ,
      pageAddr: Math.floor(addr / PAGE_SIZE) * PAGE_SIZE,
      reason,
      stage,
      recording,
      classes: this.classify(req.sid, addr, reason),
      profile: this.profile,
    };
    this.faults.push(fault);
    this.faultsByRid[req.sid & 0xffff]!++;
    return fault;
  }

  /** The firmware- and platform-relevant classes of a fault (what a BIOS engineer must act on). */
  private classify(rid: number, addr: number, reason: number): string[] {
    const out: string[] = [];
    const a = BigInt(addr);
    const dev = this.devOfRid.get(rid);
    if (!dev) out.push('unknown-requester');
    if (reason === 0x4 || reason === 0x83) out.push('beyond-address-width');
    let direct = false;
    if (dev) {
      if (dev.group.domain.type === 'blocked') out.push('dma-while-blocked');
      for (const r of dev.regions) {
        if ((r.type === 'direct' || r.type === 'direct-relaxable') && a >= r.start && a <= r.end) {
          direct = true;
          break;
        }
      }
      if (direct) out.push('rmrr-without-unity-map');
    }
    if (!direct) {
      for (const m of this.lab.platform.memoryMap) {
        if (m.type === 'reserved' && a >= m.base && a <= m.end) {
          out.push('firmware-reserved-memory');
          break;
        }
      }
    }
    return out;
  }
}

export function faultText(f: Fault): string {
  return f.reason > 0xff ? (TEE_REASON_TEXT[f.reason] ?? 'TEE-IO violation') : faultReasonText(f.reason);
}

/** The line Linux prints for a DMA-remapping fault (TEE-IO violations have no Linux line: the lab's own). */
export function faultDmesg(f: Fault): string {
  if (f.reason > 0xff) {
    return `iommu-lab: [TEE-IO ${f.write ? 'Write' : 'Read'}] Request device [${faultBdf(f).slice(5)}] addr 0x${f.pageAddr.toString(16)}: ${faultText(f)}`;
  }
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
  const b = f.requesterId;
  const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `0000:${hex(b >> 8, 2)}:${hex((b >> 3) & 0x1f, 2)}.${b & 7}`;
}
