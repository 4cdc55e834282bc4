// Replays QEMU's DMA requests through the lab's VT-d model, in the capture's event order, and compares each
// answer with QEMU's. Contract:
// - Timeline (host clock; ties broken in this order): domain attachments (just before the context
//   invalidation that revealed them), the guest's map/unmap at their attribution.ts applyTime, the guest's
//   IOTLB / context invalidations as QEMU logged them, the guest fault handler's drains (its DMAR lines,
//   aligned), then QEMU's requests.
// - A request: the requester id and the exact byte address of QEMU's IOTLB line (or of the fault line),
//   1 byte long; the access is the fault line's write flag, or for a translation the access the leaf allows
//   (read when QEMU's leaf has R, else write; the 6.1 map tracepoint carries no protection, so the lab's
//   pages are read+write and the access never decides a translation).
// - A translation agrees when the lab translates and its page address equals QEMU's gpa (mask applied); a
//   fault agrees when the lab faults with QEMU's reason. Requests after the end of the guest console (a
//   truncated console) are not checked; they are counted as unchecked.
// - Every lab fault goes to the fault-recording model (fault-recording.ts, CAP.NFR + 1 records, QEMU's
//   16-bit PV under 'qemu-7.2'), unless FPD suppresses it; the guest's drains clear the records. Scalable
//   mode records the RID_PASID with PP = 1 as QEMU 7.2 does; legacy mode PP = 0 with QEMU's PCI_NO_PASID.
import { dmarFaultLine } from '../engine/vtd/dmar-log';
import { faultReasonText } from '../engine/vtd/fault-reasons';
import { FaultRecorder, outcomeKind, FaultOutcome } from '../engine/vtd/fault-recording';
import {
  ACCESS_READ,
  ACCESS_WRITE,
  STAGE_NAMES,
  STATUS_FAULT,
  STATUS_INTERRUPT,
  STATUS_OK,
  createRequest,
  createResult,
  isQualifiedFault,
  type FaultProfile,
} from '../engine/vtd/translate';
import type { Attribution } from './attribute';
import { CrosscheckDriver } from './driver';
import type { ReconstructedPlatform } from './platform';
import type {
  DisagreementJson,
  GuestEventJson,
  GuestReportJson,
  LabAnswerJson,
  QemuAnswerJson,
  RecordJson,
  RequestJson,
} from './result';
import type {
  GuestCapture,
  GuestOp,
  QemuCapture,
  QemuFaultEvent,
  QemuFrrEvent,
  QemuTranslationEvent,
} from './types';

export interface ReplayInput {
  guest: GuestCapture;
  qemu: QemuCapture;
  platform: ReconstructedPlatform;
  attribution: Attribution;
  offset: number;
  profile: FaultProfile;
  /** negative control: added to every map's paddr */
  paddrShift: bigint;
  maxDisagreements: number;
  /** requests later than this host time are unchecked (the guest console ended) */
  checkedUntil: number;
}

export interface ReplayOutput {
  translations: number;
  agree: number;
  disagree: number;
  unchecked: number;
  domainMismatches: number;
  faultsObserved: number;
  faultsReproduced: number;
  faultsUnchecked: number;
  byReason: Record<string, number>;
  observedByReason: Record<string, number>;
  recorder: FaultRecorder;
  fpdSuppressed: number;
  records: RecordJson[];
  guestReports: GuestReportJson[];
  disagreements: DisagreementJson[];
  refused: { line: number; message: string }[];
}

type Item =
  | { t: number; p: 0; k: 'attach'; sid: number; did: number }
  | { t: number; p: 1; k: 'op'; op: GuestOp; did: number }
  | { t: number; p: 2; k: 'qemu-inv'; i: number }
  | { t: number; p: 3; k: 'drain' }
  | { t: number; p: 4; k: 'req'; i: number };

export const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
export const reasonKey = (r: number): string => `0x${r.toString(16).padStart(2, '0')}`;

/** When the guest's fault handler cleared the records: its first DMAR fault line after each status line. */
export function drainTimes(guest: GuestCapture): number[] {
  const out: number[] = [];
  const status = guest.faultStatus;
  if (status.length === 0) {
    for (const f of guest.faults) if (f.time !== null) out.push(f.time);
    return out;
  }
  status.forEach((s, i) => {
    const nextLine = status[i + 1]?.line ?? Infinity;
    const f = guest.faults.find((x) => x.line > s.line && x.line < nextLine && x.time !== null);
    const t = f?.time ?? s.time;
    if (t !== null) out.push(t);
  });
  return out;
}

export function replayRequests(input: ReplayInput): ReplayOutput {
  const { guest, qemu, platform, attribution, offset } = input;
  const driver = new CrosscheckDriver(platform.unit, input.paddrShift);
  const translator = driver.translator(input.profile);
  const qemuProfile = input.profile === 'qemu-7.2';
  const recorder = new FaultRecorder({
    records: Math.min(Math.max(platform.unit.faultRecords, 1), 256),
    pasidValueBits: qemuProfile ? 16 : 20,
  });
  const scalable = platform.unit.mode === 'scalable';

  const items: Item[] = [];
  for (const a of platform.assignments)
    items.push({ t: a.time - 1e-6, p: 0, k: 'attach', sid: a.sid, did: a.did });
  for (const op of guest.ops) {
    const did = attribution.did[op.index];
    if (did !== null && did !== undefined)
      items.push({ t: attribution.applyTime[op.index]!, p: 1, k: 'op', op, did });
  }
  const ev = qemu.events;
  ev.forEach((e, i) => {
    if (e.type === 'iotlb-inv' || e.type === 'cc-inv') items.push({ t: e.time, p: 2, k: 'qemu-inv', i });
    else if (e.type === 'translation' || e.type === 'fault') items.push({ t: e.time, p: 4, k: 'req', i });
  });
  for (const t of drainTimes(guest)) items.push({ t: t + offset, p: 3, k: 'drain' });
  items.sort((a, b) => a.t - b.t || a.p - b.p);

  const out: ReplayOutput = {
    translations: 0,
    agree: 0,
    disagree: 0,
    unchecked: 0,
    domainMismatches: 0,
    faultsObserved: 0,
    faultsReproduced: 0,
    faultsUnchecked: 0,
    byReason: {},
    observedByReason: {},
    recorder,
    fpdSuppressed: 0,
    records: [],
    guestReports: [],
    disagreements: [],
    refused: [],
  };
  const frrs = ev.filter((e): e is QemuFrrEvent => e.type === 'frr');
  const modelRecords: { high: bigint; low: bigint }[] = [];
  const drained: {
    sid: number;
    reason: number;
    write: boolean;
    pasid: number | null;
    addrHi: number;
    addrLo: number;
  }[] = [];
  const req = createRequest({ len: 1 });
  const res = createResult();

  for (const it of items) {
    switch (it.k) {
      case 'attach':
        driver.attach(it.sid, it.did);
        break;
      case 'op': {
        const o = it.op;
        const err =
          o.op === 'map'
            ? driver.map(it.did, o.iova, o.paddr ?? o.iova, o.size)
            : driver.unmap(it.did, o.iova, o.size);
        if (err !== null)
          out.refused.push({ line: o.line, message: `${o.op} in domain ${hex(it.did)}: ${err}` });
        break;
      }
      case 'qemu-inv': {
        const e = ev[it.i]!;
        if (e.type === 'iotlb-inv') driver.invalidate(e);
        else if (e.type === 'cc-inv') driver.invalidateContext(e);
        break;
      }
      case 'drain':
        recorder.drain((r, i) => {
          drained.push({
            sid: r.sid(i),
            reason: r.reason(i),
            write: r.isWrite(i),
            pasid: r.pasidPresent(i) ? r.pasid(i) : null,
            addrHi: r.addrHi(i),
            addrLo: r.addrLo(i),
          });
        });
        break;
      case 'req': {
        const e = ev[it.i] as QemuTranslationEvent | QemuFaultEvent;
        const isFault = e.type === 'fault';
        if (isFault) {
          out.faultsObserved++;
          const k = reasonKey(e.reason);
          out.observedByReason[k] = (out.observedByReason[k] ?? 0) + 1;
        } else out.translations++;
        if (e.time > input.checkedUntil) {
          if (isFault) out.faultsUnchecked++;
          else out.unchecked++;
          break;
        }
        const addr = e.addr;
        req.sid = e.sid;
        req.addrHi = Number(addr >> 32n);
        req.addrLo = Number(addr & 0xffff_ffffn);
        req.access = isFault
          ? e.write
            ? ACCESS_WRITE
            : ACCESS_READ
          : e.pte === null || (e.pte & 1n) === 1n
            ? ACCESS_READ
            : ACCESS_WRITE;
        translator.translate(req, res);
        let ok: boolean;
        if (isFault) {
          ok = res.status === STATUS_FAULT && res.reason === e.reason;
          if (ok) {
            out.faultsReproduced++;
            const k = reasonKey(e.reason);
            out.byReason[k] = (out.byReason[k] ?? 0) + 1;
          }
        } else {
          const pa = BigInt(res.paHi) * 2n ** 32n + BigInt(res.paLo);
          ok = res.status === STATUS_OK && (pa & ~e.mask) === e.gpa;
          if (ok) out.agree++;
          else out.disagree++;
          if (ok && e.domain !== null && e.domain !== res.did) out.domainMismatches++;
        }
        if (res.status === STATUS_FAULT) {
          if (res.fpd && isQualifiedFault(res.reason)) out.fpdSuppressed++;
          else if (res.noRecord === 0) {
            const pasidPresent = scalable;
            const pasid = scalable ? Math.max(res.pasid, 0) : qemuProfile ? 0xffff_ffff : 0;
            const code = recorder.report(
              e.sid,
              pasidPresent,
              pasid,
              res.faultAddrHi,
              res.faultAddrLo,
              res.reason,
              req.access !== ACCESS_READ,
              false,
              0,
            );
            if (outcomeKind(code) === FaultOutcome.RECORDED) {
              const i = (recorder.nextIndex + recorder.capacity - 1) % recorder.capacity;
              const d = (n: number): bigint => BigInt(recorder.dword(i, n));
              // as vtd_frr_new prints it: written before F is set
              const high = ((d(3) << 32n) | d(2)) & ~(1n << 63n);
              modelRecords.push({ high, low: (d(1) << 32n) | d(0) });
            }
          }
        }
        if (!ok && out.disagreements.length < input.maxDisagreements) {
          out.disagreements.push(disagreement(e, res, input));
        }
        break;
      }
    }
  }

  const n = Math.max(frrs.length, modelRecords.length);
  for (let i = 0; i < n; i++) {
    const q = frrs[i];
    const m = modelRecords[i];
    out.records.push({
      qemuLine: q?.line ?? null,
      qemu: q ? { high: hex(q.high), low: hex(q.low) } : null,
      model: m ? { high: hex(m.high), low: hex(m.low) } : null,
      same: !!q && !!m && q.high === m.high && q.low === m.low,
    });
  }
  const g = Math.max(guest.faults.length, drained.length);
  for (let i = 0; i < g; i++) {
    const f = guest.faults[i];
    const d = drained[i];
    const model = d
      ? dmarFaultLine({
          requesterId: d.sid,
          pasid: d.pasid,
          write: d.write,
          addrHi: d.addrHi,
          addrLo: d.addrLo,
          reason: d.reason,
        })
      : null;
    const same =
      !!f &&
      !!d &&
      f.sid === d.sid &&
      f.reason === d.reason &&
      (f.access === 'write') === d.write &&
      f.address === ((BigInt(d.addrHi) << 32n) | BigInt((d.addrLo & 0xffff_f000) >>> 0)) &&
      f.pasid === d.pasid;
    out.guestReports.push({ line: f?.line ?? null, guest: f ? guestText(f.raw) : null, model, same });
  }
  return out;
}

function guestText(raw: string): string {
  const i = raw.indexOf('DMAR:');
  return (i >= 0 ? raw.slice(i) : raw).trim();
}

function disagreement(
  e: QemuTranslationEvent | QemuFaultEvent,
  res: ReturnType<typeof createResult>,
  input: ReplayInput,
): DisagreementJson {
  const write = e.type === 'fault' ? e.write : e.pte !== null && (e.pte & 1n) === 0n;
  const request: RequestJson = {
    kind: e.type,
    line: e.line,
    hostTime: e.time,
    guestTime: e.time - input.offset,
    bdf: e.type === 'translation' ? e.bdf : bdfOf(e.sid),
    sid: hex(e.sid),
    addr: hex(e.addr),
    access: write ? 'write' : 'read',
    raw: e.raw,
  };
  const qemu: QemuAnswerJson =
    e.type === 'translation'
      ? {
          result: 'translated',
          gpa: hex(e.gpa),
          mask: hex(e.mask),
          domain: e.domain === null ? null : hex(e.domain),
          pte: e.pte === null ? null : hex(e.pte),
          iotlb: e.result,
        }
      : { result: 'fault', reason: reasonKey(e.reason), reasonText: faultReasonText(e.reason) };
  const pa = BigInt(res.paHi) * 2n ** 32n + BigInt(res.paLo);
  const lab: LabAnswerJson = {
    result: res.status === STATUS_OK ? 'translated' : res.status === STATUS_INTERRUPT ? 'interrupt' : 'fault',
    pa: res.status === STATUS_OK ? hex(pa) : null,
    reason: res.status === STATUS_FAULT ? reasonKey(res.reason) : null,
    reasonText: res.status === STATUS_FAULT ? faultReasonText(res.reason) : null,
    domain: res.did > 0 ? hex(res.did) : null,
    stage: STAGE_NAMES[res.stage] ?? String(res.stage),
    cached: res.cached === 1,
  };
  const did = res.did > 0 ? res.did : null;
  return { request, qemu, lab, guestEvents: explain(input, e.addr, did, e.time) };
}

function bdfOf(sid: number): string {
  const b = (sid >> 8).toString(16).padStart(2, '0');
  const d = ((sid >> 3) & 0x1f).toString(16).padStart(2, '0');
  return `0000:${b}:${d}.${sid & 7}`;
}

/** The guest ops touching the page: in the lab's domain first (3 before the request, 1 after), else any. */
function explain(input: ReplayInput, addr: bigint, did: number | null, t: number): GuestEventJson[] {
  const page = addr >> 12n;
  const { attribution } = input;
  const touching = input.guest.ops.filter(
    (o) => o.iova >> 12n <= page && page < (o.iova + o.size + 0xfffn) >> 12n,
  );
  const inDomain = did === null ? [] : touching.filter((o) => attribution.did[o.index] === did);
  const pool = inDomain.length ? inDomain : touching;
  const before = pool.filter((o) => attribution.applyTime[o.index]! <= t).slice(-3);
  const after = pool.filter((o) => attribution.applyTime[o.index]! > t).slice(0, 1);
  return [...before, ...after].map((o) => {
    const d = attribution.did[o.index];
    return {
      line: o.line,
      op: o.op,
      guestTime: o.time,
      appliedAt: attribution.applyTime[o.index]!,
      domain: d === null || d === undefined ? null : hex(d),
      iova: hex(o.iova),
      size: Number(o.size),
      paddr: o.paddr === null ? null : hex(o.paddr + (o.op === 'map' ? input.paddrShift : 0n)),
      raw: o.raw.trim(),
    };
  });
}
