// The 'walk' view: the VT-d page walk of one request as the tables stand now, every entry read with
// its physical address, raw value and decoded fields named as the VT-d spec names them. It runs
// walkDetailed (src/engine/vtd/translate.ts), the translator without caches and without A/D updates,
// on the unit that translates the requester, so the IOTLB, the fault registers and the counts are
// untouched. Also the helpers the other views share: the device or requester a query names, its unit.
// Query: { bdf, pasid?, address (hex or decimal), access? ('read' default) }.
import { formatBdf, parseBdf, rid as ridOf, type Bdf } from '../bdf';
import type { CoreDevice } from '../iommu/core';
import type { Replay } from '../replay';
import { TEE_REASON_TEXT } from '../tee';
import type { DriverUnit } from '../vtd/intel-driver';
import { faultReasonText } from '../vtd/fault-reasons';
import {
  ACCESS_READ,
  ACCESS_WRITE,
  createRequest,
  STAGE_NAMES,
  STATUS_FAULT,
  STATUS_INTERRUPT,
  STATUS_OK,
  walkDetailed,
  type DetailedStep,
} from '../vtd/translate';
import type { WalkLevel, WalkView } from '../../shared/views/address-space';
import { InspectError, type InspectContext, type InspectQuery } from './index';

const TWO_32 = 2 ** 32;
export const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** The requester a query names: its address, requester ID and the device, when the platform has it. */
export interface Requester {
  bdf: string;
  segment: number;
  rid: number;
  device: CoreDevice | undefined;
}

/** Resolves a "SSSS:BB:DD.F" or "BB:DD.F"; a platform function's DMA uses its requester ID. */
export function requesterOf(replay: Replay, text: unknown): Requester {
  const b: Bdf | null = typeof text === 'string' ? parseBdf(text) : null;
  if (!b) throw new InspectError(`bdf: ${JSON.stringify(text)} is not a PCI address (SSSS:BB:DD.F)`);
  const bdf = formatBdf(b);
  const fn = replay.lab.platform.functions.get(bdf);
  return {
    bdf,
    segment: b.segment,
    rid: fn ? fn.requesterId : ridOf(b),
    device: replay.lab.core.devices.get(bdf),
  };
}

/** The unit translating a requester: the one the driver programmed for it, else its segment's include-all unit. */
export function unitOf(replay: Replay, segment: number, rid: number): DriverUnit | null {
  const u = replay.driver.unitOfRid.get((segment << 16) | rid);
  if (u) return u;
  let found: DriverUnit | null = null;
  for (const unit of replay.driver.units.values())
    if (unit.unit.includeAll && unit.unit.segment === segment) found = unit;
  return found;
}

export function pasidParam(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xfffff)
    throw new InspectError(`pasid: ${JSON.stringify(v)} is not a PASID (0..0xfffff)`);
  return v;
}

export function addressParam(v: unknown): bigint {
  if (typeof v !== 'string' || !/^(0x[0-9a-f]{1,16}|[0-9]{1,20})$/i.test(v))
    throw new InspectError(`address: ${JSON.stringify(v)} is not a hex (0x…) or decimal address`);
  const a = BigInt(v);
  if (a >= 1n << 64n) throw new InspectError(`address: ${v} is beyond 64 bits`);
  return a;
}

// ---------- naming ----------

const PAGING_NAMES = ['', 'PTE', 'PDE', 'PDPE', 'PML4E', 'PML5E'];

/** The spec's name of the structure a step read. */
export function levelName(s: Pick<DetailedStep, 'structure' | 'level'>): string {
  switch (s.structure) {
    case 'root-entry':
      return 'root entry';
    case 'scalable-root-entry':
      return 'scalable-mode root entry';
    case 'context-entry':
      return 'context entry';
    case 'scalable-context-entry':
      return 'scalable-mode context entry';
    case 'pasid-dir-entry':
      return 'PASID-directory entry';
    case 'pasid-entry':
      return 'PASID-table entry';
    case 'first-level-pte':
      return `FL-${PAGING_NAMES[s.level] ?? s.level}`;
    case 'second-level-pte':
      return `SL-${PAGING_NAMES[s.level] ?? s.level}`;
    case 'nested-second-level-pte':
      return `SL-${PAGING_NAMES[s.level] ?? s.level} (nested)`;
  }
}

/** Decoder field names (src/engine/vtd/structures.ts) → the spec's field names. */
const FIELD_NAMES: Record<string, string> = {
  present: 'P',
  ctp: 'CTP',
  reservedLow: 'Reserved[11:1]',
  hiNonZero: 'Reserved[127:64] set',
  lowerPresent: 'LP',
  lowerCtp: 'LCTP',
  upperPresent: 'UP',
  upperCtp: 'UCTP',
  fpd: 'FPD',
  tt: 'TT',
  slptptr: 'SLPTPTR',
  aw: 'AW',
  avail: 'AVAIL',
  did: 'DID',
  dte: 'DTE',
  paside: 'PASIDE',
  pre: 'PRE',
  pdts: 'PDTS',
  pasidDirPtr: 'PASIDDIRPTR',
  ridPasid: 'RID_PASID',
  ridPriv: 'RID_PRIV',
  tablePtr: 'SMPTBLPTR',
  pgtt: 'PGTT',
  ssade: 'SSADE',
  pwsnp: 'PWSNP',
  pgsnp: 'PGSNP',
  sre: 'SRE',
  ere: 'ERE',
  flpm: 'FLPM',
  wpe: 'WPE',
  eafe: 'EAFE',
  flptptr: 'FLPTPTR',
  r: 'R',
  w: 'W',
  ps: 'PS',
  snp: 'SNP',
  tm: 'TM',
  addr: 'ADDR',
  p: 'P',
  rw: 'R/W',
  us: 'U/S',
  pwt: 'PWT',
  pcd: 'PCD',
  a: 'A',
  d: 'D',
  g: 'G',
  xd: 'XD',
};
const ADDRESS_FIELDS = new Set([
  'ctp',
  'lowerCtp',
  'upperCtp',
  'slptptr',
  'pasidDirPtr',
  'tablePtr',
  'flptptr',
  'addr',
]);

/** One step in the view's form: spec names, addresses in hex, the value split into 64-bit words. */
export function walkLevel(s: DetailedStep): WalkLevel {
  const fields: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(s.fields)) {
    const name = FIELD_NAMES[k] ?? k.toUpperCase();
    fields[name] = ADDRESS_FIELDS.has(k) && typeof v === 'number' ? hex(v) : v;
  }
  const digits = s.raw.slice(2);
  const words: string[] = [];
  for (let i = 0; i < digits.length; i += 16) words.push(digits.slice(i, i + 16));
  return {
    level: levelName(s),
    entryAddress: hex(s.entryAddr),
    value: `0x${words.join(':')}`,
    fields,
  };
}

export function reasonText(reason: number): string {
  return reason > 0xff ? (TEE_REASON_TEXT[reason] ?? 'TEE-IO violation') : faultReasonText(reason);
}

// ---------- the view ----------

export interface WalkTarget {
  requester: Requester;
  pasid: number | null;
  address: bigint;
  access: 'read' | 'write';
}

/** Walks one request on the replay's tables now. Read-only. */
export function walkOf(replay: Replay, t: WalkTarget): WalkView {
  const { requester: q, pasid, address, access } = t;
  const base = { bdf: q.bdf, pasid, address: hex(address), access };
  const unit = unitOf(replay, q.segment, q.rid);
  if (!unit) {
    return {
      ...base,
      unit: null,
      levels: [],
      status: 'untranslated',
      stage: null,
      result: hex(address),
      pageSize: null,
      reason: null,
      reasonText: null,
    };
  }
  const req = createRequest({
    sid: q.rid,
    pasidPresent: pasid === null ? 0 : 1,
    pasid: pasid ?? 0,
    addrHi: Number(address >> 32n),
    addrLo: Number(address & 0xffff_ffffn),
    len: 4,
    access: access === 'write' ? ACCESS_WRITE : ACCESS_READ,
  });
  const { result: r, steps } = walkDetailed(replay.lab.mem, unit.regs, req, { profile: replay.profile });
  const ok = r.status === STATUS_OK;
  const fault = r.status === STATUS_FAULT;
  return {
    ...base,
    unit: unit.unit.id,
    levels: steps.map(walkLevel),
    status: ok ? 'translated' : fault ? 'fault' : r.status === STATUS_INTERRUPT ? 'interrupt' : 'fault',
    stage: STAGE_NAMES[r.stage] ?? null,
    result: ok ? hex(r.paHi * TWO_32 + r.paLo) : null,
    pageSize: ok && r.pageShift > 0 ? 2 ** r.pageShift : null,
    reason: fault ? r.reason : null,
    reasonText: fault ? reasonText(r.reason) : null,
  };
}

export function walkView({ replay }: InspectContext, q: InspectQuery): WalkView {
  const access = q.access ?? 'read';
  if (access !== 'read' && access !== 'write')
    throw new InspectError(`access: ${JSON.stringify(access)} is not read or write`);
  return walkOf(replay, {
    requester: requesterOf(replay, q.bdf),
    pasid: pasidParam(q.pasid),
    address: addressParam(q.address),
    access,
  });
}
