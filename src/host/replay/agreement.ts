// Where the model and the real kernel agree: a trace that carries observed faults (observed_fault
// events, docs/trace-format.md) is checked against the faults the model raised. The rule
// (docs/replay-json.md, "agreement"):
//   an observed fault and a model fault match when they name the same requester ID (bus, device,
//   function; the segment is not compared) and the same 4 KiB page, and their times are at most
//   `windowNs` apart (default 10 ms).
// Each observed fault is then
//   agree            matched by a model fault with the same reason (Intel DMAR reasons are compared;
//                    AMD-Vi event types and SMMU event ids are not in VT-d's code space, so for them
//                    any matching model fault agrees)
//   reason-differs   matched, but only by model faults with another reason
//   model-no-fault   no model fault matches it
//   not-comparable   it names no page or no requester (interrupt-remapping faults, StreamIDs only)
// and each model fault the fault recording registers recorded (the ones Linux's dmar_fault() prints) and
// no observed fault matches is `unreported`. Model faults that were compressed, dropped (overflow),
// suppressed by FPD or are the lab's own TEE-IO reasons are not expected in a log and are only counted
// (`notLogged`). Works online with bounded memory: each side waits `windowNs` of trace time for its
// match, at most MAX_PENDING model faults wait at once (the oldest are settled early).
import { parseBdf, rid } from '../../engine/bdf';
import type { Fault } from '../../engine/replay';
import type { ObservedFaultEvent } from '../../trace/native/index';

export const DEFAULT_MATCH_WINDOW_NS = 10_000_000;
const MAX_PENDING = 100_000;
const MAX_ROWS = 100;

export type ObservedVerdict = 'agree' | 'reason-differs' | 'model-no-fault' | 'not-comparable';

export interface AgreementRow {
  verdict: ObservedVerdict;
  time: number;
  bdf: string | null;
  address: string | null;
  observedReason: number;
  observedText: string;
  source: string;
  /** the matching model fault's reason and time, when one matched */
  modelReason: number | null;
  modelTime: number | null;
  origin: string;
}

export interface UnreportedRow {
  time: number;
  bdf: string;
  address: string;
  reason: number;
}

export interface AgreementReport {
  windowNs: number;
  observed: number;
  agree: number;
  reasonDiffers: number;
  modelNoFault: number;
  notComparable: number;
  modelFaults: number;
  /** model faults matched by an observed fault */
  reported: number;
  unreported: number;
  notLogged: number;
  /** the first rows of each kind (observed faults that did not agree; unreported model faults) */
  disagreements: AgreementRow[];
  agreements: AgreementRow[];
  unreportedRows: UnreportedRow[];
}

interface PendingModel {
  time: number;
  /** `${rid}:${page}`, set once the model faults are indexed */
  key: string;
  reason: number;
  logged: boolean;
  matched: boolean;
  rid: number;
  page: number;
}

interface PendingObserved {
  time: number;
  key: string;
  event: ObservedFaultEvent;
  origin: string;
  /** VT-d reasons are comparable */
  comparable: boolean;
  match: { reason: number; time: number } | null;
  agree: boolean;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const bdfText = (r: number): string =>
  `0000:${(r >> 8).toString(16).padStart(2, '0')}:${((r >> 3) & 31).toString(16).padStart(2, '0')}.${r & 7}`;

export class Agreement {
  private readonly report: AgreementReport;
  private models: PendingModel[] = [];
  private modelHead = 0;
  private observed: PendingObserved[] = [];
  private observedHead = 0;
  private modelsByKey = new Map<string, PendingModel[]>();
  private observedByKey = new Map<string, PendingObserved[]>();
  /** whether modelsByKey is kept (from the first observed fault on) */
  private indexed = false;

  constructor(readonly windowNs = DEFAULT_MATCH_WINDOW_NS) {
    this.report = {
      windowNs,
      observed: 0,
      agree: 0,
      reasonDiffers: 0,
      modelNoFault: 0,
      notComparable: 0,
      modelFaults: 0,
      reported: 0,
      unreported: 0,
      notLogged: 0,
      disagreements: [],
      agreements: [],
      unreportedRows: [],
    };
  }

  /** True once the trace has carried an observed fault: only then is there anything to report. */
  get active(): boolean {
    return this.report.observed > 0;
  }

  onModelFault(f: Fault): void {
    this.expire(f.time);
    this.report.modelFaults++;
    const page = Math.floor(f.pageAddr / 4096);
    const rid = f.requesterId & 0xffff;
    const logged = f.reason <= 0xff && f.recording === 'recorded';
    const m: PendingModel = { time: f.time, key: '', reason: f.reason, logged, matched: false, rid, page };
    if (this.indexed) {
      m.key = `${rid}:${page}`;
      for (const o of this.observedByKey.get(m.key) ?? []) {
        if (f.time - o.time > this.windowNs) continue;
        this.match(o, m);
      }
      push(this.modelsByKey, m.key, m);
    }
    this.models.push(m);
    if (this.models.length - this.modelHead > MAX_PENDING) this.settleModel();
  }

  /**
   * Until the first observed fault there is nothing to match: pending model faults are only queued, and
   * indexed by key (in queue order, as if pushed one by one) when the first observed fault arrives.
   */
  private index(): void {
    this.indexed = true;
    for (let i = this.modelHead; i < this.models.length; i++) {
      const m = this.models[i]!;
      m.key = `${m.rid}:${m.page}`;
      push(this.modelsByKey, m.key, m);
    }
  }

  onObserved(time: number, event: ObservedFaultEvent, origin: string): void {
    this.expire(time);
    if (!this.indexed) this.index();
    this.report.observed++;
    const b = event.bdf ? parseBdf(event.bdf) : null;
    const r = b ? rid(b) : event.sid !== null && event.source !== 'smmu' ? event.sid & 0xffff : null;
    let page: number | null = null;
    if (event.address !== null) {
      const a = BigInt(event.address) >> 12n;
      if (a < 1n << 52n) page = Number(a);
    }
    if (r === null || page === null || event.access === 'interrupt') {
      this.report.notComparable++;
      this.row('not-comparable', time, event, origin, null);
      return;
    }
    const key = `${r}:${page}`;
    const o: PendingObserved = {
      time,
      key,
      event,
      origin,
      comparable: event.source === 'intel',
      match: null,
      agree: false,
    };
    for (const m of this.modelsByKey.get(key) ?? []) {
      if (time - m.time > this.windowNs) continue;
      this.match(o, m);
    }
    this.observed.push(o);
    push(this.observedByKey, key, o);
  }

  /** Settles everything older than the window before `now` (call as trace time advances). */
  expire(now: number): void {
    const limit = now - this.windowNs;
    while (this.modelHead < this.models.length && this.models[this.modelHead]!.time < limit)
      this.settleModel();
    while (this.observedHead < this.observed.length && this.observed[this.observedHead]!.time < limit) {
      this.settleObserved();
    }
  }

  /** The report once the trace is over (settles everything still waiting). */
  finish(): AgreementReport {
    while (this.modelHead < this.models.length) this.settleModel();
    while (this.observedHead < this.observed.length) this.settleObserved();
    return structuredClone(this.report);
  }

  /** A copy of the whole state (for the player's checkpoints). */
  clone(): Agreement {
    const a = new Agreement(this.windowNs);
    Object.assign(a.report, structuredClone(this.report));
    const models = this.models.slice(this.modelHead).map((m) => ({ ...m }));
    const observed = this.observed.slice(this.observedHead).map((o) => ({ ...o }));
    a.models = models;
    a.observed = observed;
    a.indexed = this.indexed;
    if (this.indexed) for (const m of models) push(a.modelsByKey, m.key, m);
    for (const o of observed) push(a.observedByKey, o.key, o);
    return a;
  }

  private match(o: PendingObserved, m: PendingModel): void {
    m.matched = true;
    const same = !o.comparable || o.event.reason === m.reason;
    if (!o.match || (same && !o.agree)) o.match = { reason: m.reason, time: m.time };
    if (same) o.agree = true;
  }

  private settleModel(): void {
    const m = this.models[this.modelHead++]!;
    if (this.indexed) drop(this.modelsByKey, m.key, m);
    if (m.matched) this.report.reported++;
    else if (!m.logged) this.report.notLogged++;
    else {
      this.report.unreported++;
      if (this.report.unreportedRows.length < MAX_ROWS) {
        this.report.unreportedRows.push({
          time: m.time,
          bdf: bdfText(m.rid),
          address: hex(m.page * 4096),
          reason: m.reason,
        });
      }
    }
    if (this.modelHead > 4096 && this.modelHead * 2 > this.models.length) {
      this.models = this.models.slice(this.modelHead);
      this.modelHead = 0;
    }
  }

  private settleObserved(): void {
    const o = this.observed[this.observedHead++]!;
    drop(this.observedByKey, o.key, o);
    const verdict: ObservedVerdict = o.agree ? 'agree' : o.match ? 'reason-differs' : 'model-no-fault';
    if (verdict === 'agree') this.report.agree++;
    else if (verdict === 'reason-differs') this.report.reasonDiffers++;
    else this.report.modelNoFault++;
    this.row(verdict, o.time, o.event, o.origin, o.match);
    if (this.observedHead > 4096 && this.observedHead * 2 > this.observed.length) {
      this.observed = this.observed.slice(this.observedHead);
      this.observedHead = 0;
    }
  }

  private row(
    verdict: ObservedVerdict,
    time: number,
    e: ObservedFaultEvent,
    origin: string,
    match: { reason: number; time: number } | null,
  ): void {
    const list = verdict === 'agree' ? this.report.agreements : this.report.disagreements;
    if (list.length >= MAX_ROWS) return;
    list.push({
      verdict,
      time,
      bdf: e.bdf,
      address: e.address,
      observedReason: e.reason,
      observedText: e.reasonText,
      source: e.source,
      modelReason: match?.reason ?? null,
      modelTime: match?.time ?? null,
      origin,
    });
  }
}

function push<T>(map: Map<string, T[]>, key: string, v: T): void {
  const list = map.get(key);
  if (list) list.push(v);
  else map.set(key, [v]);
}

function drop<T>(map: Map<string, T[]>, key: string, v: T): void {
  const list = map.get(key);
  if (!list) return;
  const i = list.indexOf(v);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}
