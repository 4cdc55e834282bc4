// The fault table's row store: every fault and use-after-unmap hazard of a replay, in trace order, as
// columns of typed arrays (about 40 bytes a row), so that ten million rows filter and sort without an
// object per row. Row i is always the trace's i-th fault-or-hazard; a seek back makes the replay send
// rows again from an earlier position, which truncate(n) prepares for. Rows become the API's row shape
// (FaultRow + FaultRowExtra) one at a time, only for the rows a page shows.
//
// Columns: time (f64, ns), rid (segment << 16 | requester ID), pasid (i32, -1 for none), address
// (hi/lo u32: a fault's page, a hazard's address), reason (u16; 0 for hazards), flags (write, T bit,
// T bit known, hazard, gap), stage and recording (u8 indices into the store's name lists), classes (u16
// bitmask over its class names) and ordinal (the fault's index among faults, a hazard's among hazards).
// A "gap" row stands for a fault or hazard the replay skipped (a seek far forward restores counts, not
// rows); it is kept so that later rows keep their positions.
//
// A RowBatch is a slice of a store in transferable form (the engine worker posts them); appendBatch
// maps its name lists onto the store's. Pure.
import { formatBdf, ridToBdf } from '../engine/bdf';
import { faultDmesg, faultText, type Fault, type Hazard } from '../engine/replay';
import { STAGE_NAMES } from '../engine/vtd/translate';
import type { FaultPageColumns, FaultRow } from '../shared/api';
import { hexAddressWords } from '../shared/hex-address';

export const FLAG_WRITE = 1;
export const FLAG_TBIT = 2;
/** the T bit is known (a TEE-IO fault, or a fault that carries its request's T bit) */
export const FLAG_TBIT_KNOWN = 4;
export const FLAG_HAZARD = 8;
export const FLAG_GAP = 16;

export const CLASS_NAMES: readonly string[] = [
  'rmrr-without-unity-map',
  'dma-while-blocked',
  'beyond-address-width',
  'firmware-reserved-memory',
  'unknown-requester',
];
export const RECORDING_NAMES: readonly string[] = [
  'recorded',
  'compressed',
  'overflow',
  'fpd',
  'not-recorded',
];
/** where the walk stopped; 'iotlb' is a hazard's (a stale IOTLB entry translated the request) */
export const STAGE_LIST: readonly string[] = [...STAGE_NAMES, 'tee-io', 'unknown', 'iotlb'];

/** TEE-IO reasons whose request had T=1 (0x101, 0x102) or T=0 (0x103): src/engine/tee.ts */
const TEE_T1 = new Set([0x101, 0x102]);
const TEE_T0 = 0x103;
const TWO_32 = 2 ** 32;
const MAX_CLASSES = 16;

export interface RowColumns {
  time: Float64Array;
  rid: Uint32Array;
  pasid: Int32Array;
  addrHi: Uint32Array;
  addrLo: Uint32Array;
  reason: Uint16Array;
  flags: Uint8Array;
  stage: Uint8Array;
  recording: Uint8Array;
  classes: Uint16Array;
  ordinal: Uint32Array;
}

type ColumnName = keyof RowColumns;
const COLUMN_NAMES: readonly ColumnName[] = [
  'time',
  'rid',
  'pasid',
  'addrHi',
  'addrLo',
  'reason',
  'flags',
  'stage',
  'recording',
  'classes',
  'ordinal',
];

function allocColumns(n: number): RowColumns {
  return {
    time: new Float64Array(n),
    rid: new Uint32Array(n),
    pasid: new Int32Array(n),
    addrHi: new Uint32Array(n),
    addrLo: new Uint32Array(n),
    reason: new Uint16Array(n),
    flags: new Uint8Array(n),
    stage: new Uint8Array(n),
    recording: new Uint8Array(n),
    classes: new Uint16Array(n),
    ordinal: new Uint32Array(n),
  };
}

/** A slice of a store, in transferable form: `base` is the table position of its first row. */
export interface RowBatch {
  base: number;
  length: number;
  columns: RowColumns;
  /** a hazard's unmap: its trace time and the origin's index in `origins`, per hazard row of the batch */
  unmapTime: Float64Array;
  unmapOrigin: Uint32Array;
  stages: string[];
  recordings: string[];
  classNames: string[];
  origins: string[];
  profile: string;
}

/** The fields of a fault the store keeps (src/engine/replay.ts Fault; `tbit` when the model records it). */
export type FaultLike = Pick<
  Fault,
  'time' | 'requesterId' | 'pasid' | 'write' | 'pageAddr' | 'reason' | 'stage' | 'recording' | 'classes'
> & { tbit?: number; segment?: number };

export type HazardLike = Pick<
  Hazard,
  'time' | 'requesterId' | 'addr' | 'write' | 'unmapOrigin' | 'unmapTime'
> & { segment?: number };

/** FaultPageColumns.kind (src/shared/views/faults.ts PAGE_KIND_*; not imported: that module pulls zod in) */
const PAGE_KIND_FAULT = 0;
const PAGE_KIND_HAZARD = 1;
const PAGE_KIND_GAP = 2;
const GAP_TEXT = 'not replayed: a seek skipped this part of the trace (replay it from before to list it)';
const HAZARD_TEXT = 'use-after-unmap (stale IOTLB)';

/** A hazard's dmesg-style line. */
function hazardDmesg(
  ridSeg: number,
  write: boolean,
  hi: number,
  lo: number,
  origin: string,
  age: number,
): string {
  const bdf = formatBdf(ridToBdf(ridSeg >>> 16, ridSeg & 0xffff));
  return (
    `iommu-lab: [DMA ${write ? 'Write' : 'Read'}] Request device [${bdf.slice(5)}] addr ${hexAddressWords(hi, lo)}: ` +
    `use after unmap: ${origin} unmapped it ${age} ns before, the IOTLB was not invalidated yet`
  );
}

/** A row of the table as the API carries it. */
export type TableRow = FaultRow;

class Names {
  readonly list: string[];
  private readonly index = new Map<string, number>();
  constructor(initial: readonly string[]) {
    this.list = [...initial];
    this.list.forEach((n, i) => this.index.set(n, i));
  }
  id(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(name);
      this.index.set(name, i);
    }
    return i;
  }
  find(name: string): number {
    return this.index.get(name) ?? -1;
  }
}

export class FaultColumns {
  /** rows held */
  length = 0;
  /** the fault-semantics profile of the replay the rows come from */
  profile = 'vtd-spec';
  cols: RowColumns;
  /** how many times rows were dropped (truncate); see lowestSince */
  epoch = 0;
  private readonly cuts: number[] = [];
  private readonly stageNames = new Names(STAGE_LIST);
  private readonly recordingNames = new Names(RECORDING_NAMES);
  private readonly classNameList = new Names(CLASS_NAMES);
  private readonly originNames = new Names([]);
  /** per hazard (slot: see hazardSlot): its unmap's time and origin */
  private unmapTime = new Float64Array(16);
  private unmapOrigin = new Uint32Array(16);
  /** the lowest hazard ordinal held (slot 0), -1 before the first hazard */
  private hazardBase = -1;
  private hazardsHeld = 0;
  private faultsHeld = 0;

  constructor(capacity = 1024) {
    this.cols = allocColumns(Math.max(16, capacity));
  }

  get capacity(): number {
    return this.cols.time.length;
  }
  get stages(): readonly string[] {
    return this.stageNames.list;
  }
  get recordings(): readonly string[] {
    return this.recordingNames.list;
  }
  get classNames(): readonly string[] {
    return this.classNameList.list;
  }
  /** index of a stage, recording or class name in this store, -1 when no row can have it */
  stageId(name: string): number {
    return this.stageNames.find(name);
  }
  recordingId(name: string): number {
    return this.recordingNames.find(name);
  }
  classBit(name: string): number {
    const i = this.classNameList.find(name);
    return i < 0 || i >= MAX_CLASSES ? 0 : 1 << i;
  }

  /** Faults and hazards among the rows held (the next ordinals when appending without explicit ones). */
  get faults(): number {
    return this.faultsHeld;
  }
  get hazards(): number {
    return this.hazardsHeld;
  }

  private reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.capacity) return;
    let cap = this.capacity;
    while (cap < need) cap = cap < 1 << 20 ? cap * 2 : Math.ceil(cap * 1.5);
    const next = allocColumns(cap);
    for (const k of COLUMN_NAMES)
      (next[k] as Uint32Array).set((this.cols[k] as Uint32Array).subarray(0, this.length));
    this.cols = next;
  }

  /** The slot of a hazard's unmap in unmapTime/unmapOrigin: its ordinal less the lowest one held. */
  private hazardSlot(ordinal: number): number {
    if (this.hazardBase < 0) this.hazardBase = ordinal;
    let shift = 0;
    if (ordinal < this.hazardBase) {
      shift = this.hazardBase - ordinal;
      this.hazardBase = ordinal;
    }
    const slot = ordinal - this.hazardBase;
    if (shift || slot >= this.unmapTime.length) {
      let cap = this.unmapTime.length;
      while (cap <= slot || cap < this.unmapTime.length + shift) cap *= 2;
      const t = new Float64Array(cap);
      t.set(this.unmapTime.subarray(0, cap - shift), shift);
      const o = new Uint32Array(cap);
      o.set(this.unmapOrigin.subarray(0, cap - shift), shift);
      this.unmapTime = t;
      this.unmapOrigin = o;
    }
    return slot;
  }

  private setAddress(i: number, v: number): void {
    const hi = Math.floor(v / TWO_32);
    this.cols.addrHi[i] = hi;
    this.cols.addrLo[i] = v - hi * TWO_32;
  }

  /** Appends a fault; `ordinal` is its index among the trace's faults (default: the next one). */
  appendFault(f: FaultLike, ordinal = this.faultsHeld): void {
    this.reserve(1);
    const c = this.cols;
    const i = this.length++;
    c.time[i] = f.time;
    c.rid[i] = (((f.segment ?? 0) & 0xffff) << 16) | (f.requesterId & 0xffff);
    c.pasid[i] = f.pasid === null ? -1 : f.pasid;
    this.setAddress(i, f.pageAddr);
    c.reason[i] = f.reason;
    let flags = f.write ? FLAG_WRITE : 0;
    if (f.tbit !== undefined) flags |= FLAG_TBIT_KNOWN | (f.tbit ? FLAG_TBIT : 0);
    else if (TEE_T1.has(f.reason)) flags |= FLAG_TBIT_KNOWN | FLAG_TBIT;
    else if (f.reason === TEE_T0) flags |= FLAG_TBIT_KNOWN;
    c.flags[i] = flags;
    c.stage[i] = this.stageNames.id(f.stage);
    c.recording[i] = this.recordingNames.id(f.recording);
    let bits = 0;
    for (const k of f.classes) {
      const b = this.classNameList.id(k);
      if (b < MAX_CLASSES) bits |= 1 << b;
    }
    c.classes[i] = bits;
    c.ordinal[i] = ordinal;
    this.faultsHeld = ordinal + 1;
  }

  /** Appends a use-after-unmap hazard; `ordinal` is its index among the trace's hazards. */
  appendHazard(h: HazardLike, ordinal = this.hazardsHeld): void {
    this.reserve(1);
    const c = this.cols;
    const i = this.length++;
    c.time[i] = h.time;
    c.rid[i] = (((h.segment ?? 0) & 0xffff) << 16) | (h.requesterId & 0xffff);
    c.pasid[i] = -1;
    this.setAddress(i, h.addr);
    c.reason[i] = 0;
    c.flags[i] = FLAG_HAZARD | (h.write ? FLAG_WRITE : 0);
    c.stage[i] = this.stageNames.id('iotlb');
    c.recording[i] = this.recordingNames.id('not-recorded');
    c.classes[i] = 0;
    c.ordinal[i] = ordinal;
    const slot = this.hazardSlot(ordinal);
    this.unmapTime[slot] = h.unmapTime;
    this.unmapOrigin[slot] = this.originNames.id(h.unmapOrigin);
    this.hazardsHeld = ordinal + 1;
  }

  /** Appends `n` rows the replay skipped (see the header); their fields read as zero. */
  appendGap(n: number): void {
    if (n <= 0) return;
    this.reserve(n);
    const c = this.cols;
    for (const k of COLUMN_NAMES) (c[k] as Uint32Array).fill(0, this.length, this.length + n);
    c.pasid.fill(-1, this.length, this.length + n);
    c.flags.fill(FLAG_GAP, this.length, this.length + n);
    this.length += n;
  }

  /** Drops the rows from position n on. */
  truncate(n: number): void {
    if (n >= this.length) return;
    this.length = Math.max(0, n);
    this.epoch++;
    this.cuts.push(this.length);
    // the next ordinals: after the last fault and the last hazard still held
    const f = this.cols.flags;
    let faults = -1;
    let hazards = -1;
    for (let i = this.length - 1; i >= 0 && (faults < 0 || hazards < 0); i--) {
      if (f[i]! & FLAG_GAP) continue;
      if (f[i]! & FLAG_HAZARD) {
        if (hazards < 0) hazards = this.cols.ordinal[i]! + 1;
      } else if (faults < 0) faults = this.cols.ordinal[i]! + 1;
    }
    this.faultsHeld = Math.max(0, faults);
    this.hazardsHeld = Math.max(0, hazards);
  }

  /** The fewest rows held at any time since `epoch` (a cache built then is valid below it). */
  lowestSince(epoch: number): number {
    let low = Infinity;
    for (let e = epoch; e < this.epoch; e++) low = Math.min(low, this.cuts[e]!);
    return low;
  }

  /**
   * Rows [from, to) as a batch for another thread (copies; transfer its buffers), in the order of
   * `order` (positions from `from`) when given.
   */
  batch(base: number, from = 0, to = this.length, order?: Uint32Array): RowBatch {
    const columns = {} as RowColumns;
    for (const k of COLUMN_NAMES) {
      const col = this.cols[k] as Uint32Array;
      if (!order) (columns[k] as Uint32Array) = col.slice(from, to);
      else {
        const out = new (col.constructor as Uint32ArrayConstructor)(to - from);
        for (let j = 0; j < out.length; j++) out[j] = col[from + order[j]!]!;
        (columns[k] as Uint32Array) = out;
      }
    }
    const hz: number[] = [];
    for (let j = 0; j < to - from; j++) {
      const i = from + (order ? order[j]! : j);
      if (this.cols.flags[i]! & FLAG_HAZARD) hz.push(this.cols.ordinal[i]!);
    }
    return {
      base,
      length: to - from,
      columns,
      unmapTime: Float64Array.from(hz, (o) => this.unmapTime[o - this.hazardBase]!),
      unmapOrigin: Uint32Array.from(hz, (o) => this.unmapOrigin[o - this.hazardBase]!),
      stages: [...this.stageNames.list],
      recordings: [...this.recordingNames.list],
      classNames: [...this.classNameList.list],
      origins: [...this.originNames.list],
      profile: this.profile,
    };
  }

  /** The buffers of a batch, for postMessage's transfer list. */
  static transferables(b: RowBatch): ArrayBuffer[] {
    const out: ArrayBuffer[] = [b.unmapTime.buffer as ArrayBuffer, b.unmapOrigin.buffer as ArrayBuffer];
    for (const k of COLUMN_NAMES) out.push(b.columns[k].buffer as ArrayBuffer);
    return out;
  }

  /**
   * Writes a batch at its position: rows from b.base on are replaced (a seek back sends rows again),
   * and rows a seek skipped before it become gap rows.
   */
  appendBatch(b: RowBatch): void {
    if (b.base < this.length) this.truncate(b.base);
    if (b.base > this.length) this.appendGap(b.base - this.length);
    this.profile = b.profile;
    const n = b.length;
    if (n === 0) return;
    this.reserve(n);
    const at = this.length;
    for (const k of COLUMN_NAMES) (this.cols[k] as Uint32Array).set(b.columns[k] as Uint32Array, at);
    const remap = (ids: Uint8Array | Uint16Array, from: string[], names: Names, bits: boolean): void => {
      const map = from.map((name) => names.id(name));
      if (map.every((v, i) => v === i)) return;
      for (let i = at; i < at + n; i++) {
        if (!bits) ids[i] = map[ids[i]!]!;
        else {
          let out = 0;
          for (let v = ids[i]!, j = 0; v; v >>>= 1, j++)
            if (v & 1 && map[j]! < MAX_CLASSES) out |= 1 << map[j]!;
          ids[i] = out;
        }
      }
    };
    remap(this.cols.stage, b.stages, this.stageNames, false);
    remap(this.cols.recording, b.recordings, this.recordingNames, false);
    remap(this.cols.classes, b.classNames, this.classNameList, true);
    const origins = b.origins.map((o) => this.originNames.id(o));
    let h = 0;
    const f = this.cols.flags;
    for (let i = at; i < at + n; i++) {
      const o = this.cols.ordinal[i]!;
      if (f[i]! & FLAG_HAZARD) {
        const slot = this.hazardSlot(o);
        this.unmapTime[slot] = b.unmapTime[h]!;
        this.unmapOrigin[slot] = origins[b.unmapOrigin[h]!]!;
        h++;
        this.hazardsHeld = o + 1;
      } else this.faultsHeld = o + 1;
    }
    this.length = at + n;
  }

  /** Row i in the API's shape. */
  row(i: number): TableRow {
    const c = this.cols;
    const flags = c.flags[i]!;
    const hi = c.addrHi[i]!;
    const lo = c.addrLo[i]!;
    const address = hexAddressWords(hi, lo);
    const ridSeg = c.rid[i]!;
    const bdf = formatBdf(ridToBdf(ridSeg >>> 16, ridSeg & 0xffff));
    const pasid = c.pasid[i]! < 0 ? null : c.pasid[i]!;
    const write = (flags & FLAG_WRITE) !== 0;
    const time = c.time[i]!;
    const tbit = flags & FLAG_TBIT_KNOWN ? (flags & FLAG_TBIT ? 1 : 0) : null;
    const base = {
      index: c.ordinal[i]!,
      row: i,
      time,
      bdf,
      pasid,
      access: write ? ('write' as const) : ('read' as const),
      address,
      profile: this.profile,
      tbit,
    };
    if (flags & FLAG_GAP) {
      return {
        ...base,
        kind: 'fault',
        reason: 0,
        reasonText: GAP_TEXT,
        stage: 'unknown',
        recording: 'not-recorded',
        classes: [],
        dmesg: '',
      };
    }
    if (flags & FLAG_HAZARD) {
      const o = c.ordinal[i]!;
      const unmapTime = this.unmapTime[o - this.hazardBase]!;
      const unmapOrigin = this.originNames.list[this.unmapOrigin[o - this.hazardBase]!] ?? '?';
      const age = time - unmapTime;
      return {
        ...base,
        kind: 'hazard',
        reason: 0,
        reasonText: HAZARD_TEXT,
        stage: 'iotlb',
        recording: 'not-recorded',
        classes: [],
        dmesg: hazardDmesg(ridSeg, write, hi, lo, unmapOrigin, age),
        hazard: { unmapOrigin, unmapTime, age },
      };
    }
    const fault = {
      requesterId: ridSeg & 0xffff,
      pasid,
      write,
      pageAddr: hi * TWO_32 + lo,
      reason: c.reason[i]!,
    } as Fault;
    const classes: string[] = [];
    for (let v = c.classes[i]!, j = 0; v; v >>>= 1, j++) if (v & 1) classes.push(this.classNameList.list[j]!);
    return {
      ...base,
      kind: 'fault',
      reason: fault.reason,
      reasonText: faultText(fault),
      stage: this.stageNames.list[c.stage[i]!] ?? 'unknown',
      recording: this.recordingNames.list[c.recording[i]!] ?? 'not-recorded',
      classes,
      dmesg: faultDmesg(fault),
    };
  }

  /**
   * Rows `ids` (in that order) as a columns page (src/shared/views/faults.ts FaultPageColumns): what
   * row() gives for each, without an object per row. `colorRule` gives each row's rule (-1 for none).
   */
  page(ids: ArrayLike<number>, colorRule?: (i: number) => number): FaultPageColumns {
    const n = ids.length;
    const c = this.cols;
    const out: FaultPageColumns = {
      length: n,
      row: new Uint32Array(n),
      index: new Uint32Array(n),
      time: new Float64Array(n),
      rid: new Uint32Array(n),
      pasid: new Int32Array(n),
      addrHi: new Uint32Array(n),
      addrLo: new Uint32Array(n),
      reason: new Uint16Array(n),
      access: new Uint8Array(n),
      tbit: new Int8Array(n),
      kind: new Uint8Array(n),
      colorRule: new Int8Array(n).fill(-1),
      reasonText: new Uint16Array(n),
      stage: new Uint8Array(n),
      recording: new Uint8Array(n),
      classes: new Uint16Array(n),
      unmapTime: new Float64Array(n),
      unmapOrigin: new Int32Array(n).fill(-1),
      dmesgText: '',
      dmesgEnd: new Uint32Array(n),
      reasonTexts: [],
      stages: [...this.stageNames.list],
      recordings: [...this.recordingNames.list],
      classNames: [...this.classNameList.list],
      origins: [],
      profile: this.profile,
    };
    const texts = new Map<string, number>();
    const origins = new Map<string, number>();
    const code = (m: Map<string, number>, list: string[], v: string): number => {
      let k = m.get(v);
      if (k === undefined) m.set(v, (k = list.push(v) - 1));
      return k;
    };
    const dmesg: string[] = [];
    let end = 0;
    const unknownStage = this.stageNames.find('unknown');
    const notRecorded = this.recordingNames.find('not-recorded');
    const iotlb = this.stageNames.find('iotlb');
    for (let k = 0; k < n; k++) {
      const i = ids[k]!;
      const flags = c.flags[i]!;
      const hi = c.addrHi[i]!;
      const lo = c.addrLo[i]!;
      const ridSeg = c.rid[i]!;
      const write = (flags & FLAG_WRITE) !== 0;
      out.row[k] = i;
      out.index[k] = c.ordinal[i]!;
      out.time[k] = c.time[i]!;
      out.rid[k] = ridSeg;
      out.pasid[k] = c.pasid[i]!;
      out.addrHi[k] = hi;
      out.addrLo[k] = lo;
      out.access[k] = write ? 1 : 0;
      out.tbit[k] = flags & FLAG_TBIT_KNOWN ? (flags & FLAG_TBIT ? 1 : 0) : -1;
      if (colorRule) out.colorRule[k] = colorRule(i);
      if (flags & FLAG_GAP) {
        out.kind[k] = PAGE_KIND_GAP;
        out.reasonText[k] = code(texts, out.reasonTexts, GAP_TEXT);
        out.stage[k] = unknownStage;
        out.recording[k] = notRecorded;
        dmesg.push('');
      } else if (flags & FLAG_HAZARD) {
        const o = c.ordinal[i]!;
        const unmapTime = this.unmapTime[o - this.hazardBase]!;
        const origin = this.originNames.list[this.unmapOrigin[o - this.hazardBase]!] ?? '?';
        out.kind[k] = PAGE_KIND_HAZARD;
        out.reasonText[k] = code(texts, out.reasonTexts, HAZARD_TEXT);
        out.stage[k] = iotlb;
        out.recording[k] = notRecorded;
        out.unmapTime[k] = unmapTime;
        out.unmapOrigin[k] = code(origins, out.origins, origin);
        dmesg.push(hazardDmesg(ridSeg, write, hi, lo, origin, c.time[i]! - unmapTime));
      } else {
        const fault = {
          requesterId: ridSeg & 0xffff,
          pasid: c.pasid[i]! < 0 ? null : c.pasid[i]!,
          write,
          pageAddr: hi * TWO_32 + lo,
          reason: c.reason[i]!,
        } as Fault;
        out.kind[k] = PAGE_KIND_FAULT;
        out.reason[k] = fault.reason;
        out.reasonText[k] = code(texts, out.reasonTexts, faultText(fault));
        out.stage[k] = c.stage[i]!;
        out.recording[k] = c.recording[i]!;
        out.classes[k] = c.classes[i]!;
        dmesg.push(faultDmesg(fault));
      }
      end += dmesg[k]!.length;
      out.dmesgEnd[k] = end;
    }
    out.dmesgText = dmesg.join('');
    return out;
  }

  /** Row i as a Fault (what src/report/clusters.ts groups), or null for hazards and gap rows. */
  fault(i: number): Fault | null {
    const c = this.cols;
    const flags = c.flags[i]!;
    if (flags & (FLAG_HAZARD | FLAG_GAP)) return null;
    const classes: string[] = [];
    for (let v = c.classes[i]!, j = 0; v; v >>>= 1, j++) if (v & 1) classes.push(this.classNameList.list[j]!);
    return {
      index: c.ordinal[i]!,
      time: c.time[i]!,
      requesterId: c.rid[i]! & 0xffff,
      pasid: c.pasid[i]! < 0 ? null : c.pasid[i]!,
      write: (flags & FLAG_WRITE) !== 0,
      pageAddr: c.addrHi[i]! * TWO_32 + c.addrLo[i]!,
      reason: c.reason[i]!,
      stage: this.stageNames.list[c.stage[i]!] ?? 'unknown',
      recording: (this.recordingNames.list[c.recording[i]!] ?? 'not-recorded') as Fault['recording'],
      classes,
      profile: this.profile as Fault['profile'],
    };
  }
}
