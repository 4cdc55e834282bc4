// loadPlatform: validates a parsed JSON value as an iommu-lab/platform v1 description and builds the
// Platform model. Every problem is reported with its JSON path (e.g. "devices[2].acs.ctrl"): first the
// structural ones from the zod schema, then the semantic ones (duplicate functions, missing or
// non-bridge parents, buses outside a bridge's range, overlapping bus ranges, scopes naming absent
// functions, misaligned RMRRs, ...). Elements that are themselves malformed are left out of the
// semantic checks, so one bad field does not hide the other errors. Pure: no I/O.
import { formatBdf, parseBdf, rid, type Bdf } from '../bdf';
import {
  BRIDGE_KINDS,
  CONVENTIONAL_KINDS,
  type FunctionKind,
  type IommuUnit,
  type KernelOptions,
  type LoadResult,
  type LocatedError,
  type MemoryRange,
  type PciFunction,
  type PciSegment,
  type Platform,
  type Rmrr,
  type SlLevel,
  type TeeIoSplit,
} from './model';
import {
  BDF_TEXT_RE,
  deviceSchema,
  hexValue,
  iommuSchema,
  kernelSchema,
  memoryRangeSchema,
  platformSchema,
  rmrrSchema,
  segmentSchema,
  teeIoSchema,
  uintValue,
  type DeviceJson,
  type IommuJson,
  type RmrrJson,
} from './schema';
import { computeScanOrder, devfnOf, KIND_NAMES, lookupIommu, registrationOrder, shortName } from './topology';
import type { z } from 'zod';

type SegmentJson = z.output<typeof segmentSchema>;
type MemoryJson = z.output<typeof memoryRangeSchema>;
type TeeIoJson = z.output<typeof teeIoSchema>;
type KernelJson = z.output<typeof kernelSchema>;

interface Indexed<T> {
  i: number;
  v: T;
}

/** What survived parsing: the whole document, or its well-formed elements when some are not. */
interface Parts {
  name: string;
  description: string;
  segments: Indexed<SegmentJson>[];
  devices: Indexed<DeviceJson>[];
  iommus: Indexed<IommuJson>[];
  rmrrs: Indexed<RmrrJson>[];
  memoryMap: Indexed<MemoryJson>[];
  teeIo: TeeIoJson | null;
  kernel: KernelJson | null;
  /** normalised addresses of every device element with a well-formed bdf, malformed elements included */
  knownBdfs: Set<string>;
}

export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

const PAGE = 0x1000n;
const hex = (v: bigint | number) => `0x${v.toString(16)}`;
const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const norm = (text: string) => formatBdf(parseBdf(text)!);

/** Validates a parsed JSON value as a platform description; every error carries its JSON path. */
export function loadPlatform(json: unknown): LoadResult<Platform> {
  const parsed = platformSchema.safeParse(json);
  const errors: LocatedError[] = [];
  let parts: Parts | null;
  if (parsed.success) {
    const d = parsed.data;
    const all = <T>(xs: T[]) => xs.map((v, i) => ({ i, v }));
    parts = {
      name: d.name,
      description: d.description ?? '',
      segments: all(d.segments),
      devices: all(d.devices),
      iommus: all(d.iommus),
      rmrrs: all(d.reservedMemory),
      memoryMap: all(d.memoryMap),
      teeIo: d.teeIo ?? null,
      kernel: d.kernel,
      knownBdfs: new Set(d.devices.map((x) => norm(x.bdf))),
    };
  } else {
    for (const issue of parsed.error.issues)
      errors.push({ path: jsonPath(issue.path), message: issue.message });
    parts = salvage(json);
  }
  const checked = parts ? check(parts, errors) : null;
  if (errors.length > 0 || !checked || !parsed.success) return { ok: false, errors: dedupe(errors) };
  return { ok: true, value: checked };
}

function dedupe(errors: LocatedError[]): LocatedError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.path}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function salvage(json: unknown): Parts | null {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const o = json as Record<string, unknown>;
  const each = <T>(value: unknown, schema: z.ZodType<T>): Indexed<T>[] => {
    if (!Array.isArray(value)) return [];
    const out: Indexed<T>[] = [];
    value.forEach((v, i) => {
      const r = schema.safeParse(v);
      if (r.success) out.push({ i, v: r.data });
    });
    return out;
  };
  const knownBdfs = new Set<string>();
  if (Array.isArray(o.devices)) {
    for (const d of o.devices) {
      const b = (d as { bdf?: unknown } | null)?.bdf;
      if (typeof b === 'string' && BDF_TEXT_RE.test(b)) knownBdfs.add(norm(b));
    }
  }
  const kernel = o.kernel === undefined ? kernelSchema.safeParse({}) : kernelSchema.safeParse(o.kernel);
  const tee = o.teeIo === undefined ? null : teeIoSchema.safeParse(o.teeIo);
  return {
    name: typeof o.name === 'string' ? o.name : '',
    description: typeof o.description === 'string' ? o.description : '',
    segments: each(o.segments, segmentSchema),
    devices: each(o.devices, deviceSchema),
    iommus: each(o.iommus, iommuSchema),
    rmrrs: each(o.reservedMemory, rmrrSchema),
    memoryMap: each(o.memoryMap, memoryRangeSchema),
    teeIo: tee?.success ? tee.data : null,
    kernel: kernel.success ? kernel.data : null,
    knownBdfs,
  };
}

interface Dev {
  i: number;
  d: DeviceJson;
  key: string;
  b: Bdf;
  isBridge: boolean;
  sec: number | null;
  sub: number | null;
  /** sec/sub present and ordered: usable for range checks */
  rangeOk: boolean;
}

/** Which kinds may sit directly below which parent kinds (null: on a root bus). */
const ALLOWED_BELOW: Record<string, ReadonlySet<FunctionKind>> = {
  root: new Set(['root-port', 'rciep', 'pci-device', 'pci-bridge']),
  // a PCIe link: below a root port or a switch downstream port
  link: new Set(['endpoint', 'switch-upstream', 'pcie-to-pci-bridge']),
  'switch-upstream': new Set(['switch-downstream']),
  // a conventional PCI bus
  pci: new Set(['pci-device', 'pci-bridge']),
};

function placeOf(parentKind: FunctionKind | null): string {
  if (parentKind === null) return 'root';
  if (parentKind === 'root-port' || parentKind === 'switch-downstream') return 'link';
  if (parentKind === 'switch-upstream') return 'switch-upstream';
  return 'pci';
}

const PLACE_TEXT: Record<string, string> = {
  root: 'a root bus',
  link: 'a PCIe link (below a root port or switch downstream port)',
  'switch-upstream': 'a switch internal bus (below a switch upstream port)',
  pci: 'a conventional PCI bus (below a PCIe-to-PCI or PCI-to-PCI bridge)',
};

function check(p: Parts, errors: LocatedError[]): Platform | null {
  const err = (path: string, message: string) => errors.push({ path, message });

  // Segments.
  const segments = new Map<number, SegmentJson & { i: number; start: number; end: number }>();
  for (const { i, v } of p.segments) {
    const start = uintValue(v.busStart);
    const end = uintValue(v.busEnd);
    const first = segments.get(v.segment);
    if (first) err(`segments[${i}].segment`, `segment ${v.segment} already defined at segments[${first.i}]`);
    else segments.set(v.segment, { ...v, i, start, end });
    if (end < start) err(`segments[${i}].busEnd`, `busEnd ${hex2(end)} is below busStart ${hex2(start)}`);
  }

  // Devices: identity, own fields.
  const devs = new Map<string, Dev>();
  for (const { i, v } of p.devices) {
    const b = parseBdf(v.bdf)!;
    const key = formatBdf(b);
    const at = (f: string) => `devices[${i}].${f}`;
    const isBridge = BRIDGE_KINDS.has(v.kind);
    const sec = v.secondary === undefined ? null : uintValue(v.secondary);
    const sub = v.subordinate === undefined ? null : uintValue(v.subordinate);
    const first = devs.get(key);
    if (first) {
      err(at('bdf'), `${key} already defined at devices[${first.i}]`);
      continue;
    }
    let rangeOk = false;
    const seg = segments.get(b.segment);
    if (!seg) err(at('bdf'), `segment ${b.segment} of ${key} is not listed in segments`);
    else if (b.bus < seg.start || b.bus > seg.end)
      err(
        at('bdf'),
        `bus ${hex2(b.bus)} is outside segment ${b.segment}'s buses ${hex2(seg.start)}..${hex2(seg.end)}`,
      );
    const classCode = parseInt(v.class, 16);
    if (isBridge) {
      const cls = classCode >> 8;
      if (cls !== 0x0604 && cls !== 0x0609)
        err(
          at('class'),
          `a ${KIND_NAMES[v.kind]} has a PCI-to-PCI bridge class (0604xx or 0609xx), not ${v.class}`,
        );
      if (sec === null) err(at('secondary'), `a ${KIND_NAMES[v.kind]} needs its secondary bus number`);
      if (sub === null) err(at('subordinate'), `a ${KIND_NAMES[v.kind]} needs its subordinate bus number`);
      if (sec !== null && sub !== null) {
        rangeOk = true;
        if (sec <= b.bus) {
          err(
            at('secondary'),
            `secondary bus ${hex2(sec)} must be above the bridge's own bus ${hex2(b.bus)}`,
          );
          rangeOk = false;
        }
        if (sub < sec) {
          err(at('subordinate'), `subordinate bus ${hex2(sub)} is below secondary bus ${hex2(sec)}`);
          rangeOk = false;
        }
        if (seg && sub > seg.end) {
          err(
            at('subordinate'),
            `subordinate bus ${hex2(sub)} is beyond segment ${b.segment}'s last bus ${hex2(seg.end)}`,
          );
          rangeOk = false;
        }
      }
    } else {
      if (v.secondary !== undefined)
        err(at('secondary'), `only bridges have a secondary bus; this is a ${KIND_NAMES[v.kind]}`);
      if (v.subordinate !== undefined)
        err(at('subordinate'), `only bridges have a subordinate bus; this is a ${KIND_NAMES[v.kind]}`);
    }
    if (CONVENTIONAL_KINDS.has(v.kind)) {
      const what = `a ${KIND_NAMES[v.kind]} has no PCI Express capability, so no`;
      if (v.acs) err(at('acs'), `${what} ACS (a PCIe extended capability)`);
      if (v.pasidWidth > 0) err(at('pasidWidth'), `${what} PASID`);
      if (v.ats) err(at('ats'), `${what} ATS`);
      if (v.pri) err(at('pri'), `${what} PRI`);
      if (v.tdisp) err(at('tdisp'), `${what} TDISP`);
    }
    if (v.pri && !v.ats) err(at('pri'), 'PRI needs ATS (page requests answer translation requests)');
    if (v.tdisp && v.kind !== 'endpoint' && v.kind !== 'rciep')
      err(at('tdisp'), `TDISP interfaces are endpoints; this is a ${KIND_NAMES[v.kind]}`);
    v.dmaAliases.forEach((a, k) => {
      const ab = parseBdf(a)!;
      if (ab.segment !== b.segment || ab.bus !== b.bus)
        err(
          at(`dmaAliases[${k}]`),
          `a DMA alias is a device/function on ${key}'s own bus ${hex2(b.bus)} (Linux pci_add_dma_alias takes a devfn)`,
        );
      else if (formatBdf(ab) === key) err(at(`dmaAliases[${k}]`), `${key} cannot alias itself`);
    });
    devs.set(key, { i, d: v, key, b, isBridge, sec, sub, rangeOk });
  }

  // Parents and placement.
  for (const dev of devs.values()) {
    const at = (f: string) => `devices[${dev.i}].${f}`;
    const parentText = dev.d.parent;
    if (parentText === null) {
      if (!ALLOWED_BELOW.root!.has(dev.d.kind))
        err(
          at('parent'),
          `a ${KIND_NAMES[dev.d.kind]} cannot sit on ${PLACE_TEXT.root}: give its upstream port or bridge`,
        );
      continue;
    }
    const pkey = norm(parentText);
    const parent = devs.get(pkey);
    if (!parent) {
      if (!p.knownBdfs.has(pkey)) err(at('parent'), `parent ${pkey} is not a device of this platform`);
      continue;
    }
    if (pkey === dev.key) {
      err(at('parent'), `${dev.key} cannot be its own parent`);
      continue;
    }
    if (!parent.isBridge) {
      err(at('parent'), `parent ${pkey} is a ${KIND_NAMES[parent.d.kind]}, not a bridge or port`);
      continue;
    }
    if (parent.b.segment !== dev.b.segment) {
      err(
        at('parent'),
        `parent ${pkey} is on segment ${parent.b.segment}, ${dev.key} on segment ${dev.b.segment}`,
      );
      continue;
    }
    const place = placeOf(parent.d.kind);
    if (!ALLOWED_BELOW[place]!.has(dev.d.kind))
      err(
        at('kind'),
        `a ${KIND_NAMES[dev.d.kind]} cannot sit on ${PLACE_TEXT[place]} (parent ${pkey} is a ${KIND_NAMES[parent.d.kind]})`,
      );
    if (parent.rangeOk && parent.sec !== null && parent.sub !== null && dev.b.bus !== parent.sec) {
      const range = `${hex2(parent.sec)}..${hex2(parent.sub)}`;
      if (dev.b.bus < parent.sec || dev.b.bus > parent.sub)
        err(
          at('bdf'),
          `bus ${hex2(dev.b.bus)} is outside parent ${shortName(pkey)}'s secondary..subordinate range ${range}`,
        );
      else
        err(
          at('parent'),
          `bus ${hex2(dev.b.bus)} is below ${shortName(pkey)} (${range}) but is not its secondary bus ${hex2(parent.sec)}: the parent is the bridge whose secondary bus is ${hex2(dev.b.bus)}`,
        );
    }
  }

  // Bus ranges: siblings disjoint, children inside their parent's range, root buses outside every range.
  const siblingsOf = new Map<string, Dev[]>();
  for (const dev of devs.values()) {
    if (!dev.isBridge || !dev.rangeOk) continue;
    const parentKey = dev.d.parent === null ? `root:${dev.b.segment}` : norm(dev.d.parent);
    const list = siblingsOf.get(parentKey) ?? [];
    list.push(dev);
    siblingsOf.set(parentKey, list);
    const parent = dev.d.parent === null ? undefined : devs.get(norm(dev.d.parent));
    if (parent?.rangeOk && parent.sec !== null && parent.sub !== null && dev.b.bus === parent.sec) {
      if (dev.sub! > parent.sub)
        err(
          `devices[${dev.i}].subordinate`,
          `bus range ${hex2(dev.sec!)}..${hex2(dev.sub!)} is not inside parent ${shortName(parent.key)}'s range ${hex2(parent.sec)}..${hex2(parent.sub)}`,
        );
    }
  }
  for (const list of siblingsOf.values()) {
    const sorted = [...list].sort((a, b) => a.i - b.i);
    for (let x = 0; x < sorted.length; x++) {
      for (let y = 0; y < x; y++) {
        const a = sorted[x]!;
        const o = sorted[y]!;
        if (a.sec! <= o.sub! && o.sec! <= a.sub!)
          err(
            `devices[${a.i}].secondary`,
            `bus range ${hex2(a.sec!)}..${hex2(a.sub!)} overlaps ${shortName(o.key)}'s range ${hex2(o.sec!)}..${hex2(o.sub!)}`,
          );
      }
    }
  }
  for (const dev of devs.values()) {
    if (dev.d.parent !== null) continue;
    for (const br of siblingsOf.get(`root:${dev.b.segment}`) ?? []) {
      if (dev.b.bus >= br.sec! && dev.b.bus <= br.sub!)
        err(
          `devices[${dev.i}].parent`,
          `bus ${hex2(dev.b.bus)} is inside ${shortName(br.key)}'s range ${hex2(br.sec!)}..${hex2(br.sub!)}, so it is not a root bus: give the parent`,
        );
    }
  }

  // Slots: functions 1-7 need function 0; several functions need the multifunction bit.
  const slots = new Map<string, Dev[]>();
  for (const dev of devs.values()) {
    const k = `${dev.b.segment}:${dev.b.bus}:${dev.b.dev}`;
    slots.set(k, [...(slots.get(k) ?? []), dev]);
  }
  for (const fns of slots.values()) {
    const slot = `${shortName(fns[0]!.key).slice(0, -2)}`;
    if (!fns.some((f) => f.b.fn === 0))
      for (const f of fns)
        err(
          `devices[${f.i}].bdf`,
          `slot ${slot} has no function 0; Linux scans functions 1-7 only behind function 0`,
        );
    if (fns.length > 1)
      for (const f of fns)
        if (!f.d.multifunction)
          err(
            `devices[${f.i}].multifunction`,
            `slot ${slot} has ${fns.length} functions, so each has the multifunction bit`,
          );
  }

  // IOMMU units.
  const unitIds = new Map<string, number>();
  const includeAllOf = new Map<number, number>();
  for (const { i, v } of p.iommus) {
    const at = (f: string) => `iommus[${i}].${f}`;
    const first = unitIds.get(v.id);
    if (first !== undefined) err(at('id'), `unit id "${v.id}" already used by iommus[${first}]`);
    else unitIds.set(v.id, i);
    if (!segments.has(v.segment)) err(at('segment'), `segment ${v.segment} is not listed in segments`);
    const base = hexValue(v.registerBase);
    if (base % PAGE !== 0n) err(at('registerBase'), `register base ${v.registerBase} is not 4 KiB aligned`);
    const scope = v.scope ?? [];
    if (v.includeAll && scope.length > 0)
      err(
        at('scope'),
        'an INCLUDE_PCI_ALL unit lists no PCI device scope (it covers every function not in another scope)',
      );
    if (!v.includeAll && scope.length === 0)
      err(at('scope'), 'a unit needs a device scope, or includeAll: true');
    if (v.includeAll) {
      const other = includeAllOf.get(v.segment);
      if (other !== undefined)
        err(at('includeAll'), `segment ${v.segment} already has an INCLUDE_PCI_ALL unit (iommus[${other}])`);
      else includeAllOf.set(v.segment, i);
    }
    scope.forEach((s, k) => {
      const key = norm(s);
      const dev = devs.get(key);
      if (!dev) {
        if (!p.knownBdfs.has(key)) err(at(`scope[${k}]`), `${key} is not a device of this platform`);
      } else if (dev.b.segment !== v.segment)
        err(at(`scope[${k}]`), `${key} is on segment ${dev.b.segment}, the unit on segment ${v.segment}`);
    });
    const c = v.capabilities;
    const seen = new Set<number>();
    c.slLevels.forEach((l, k) => {
      if (seen.has(l)) err(at(`capabilities.slLevels[${k}]`), `level ${l} listed twice`);
      seen.add(l);
    });
    if (v.mode === 'scalable' && !c.scalableMode)
      err(at('mode'), 'scalable mode needs capabilities.scalableMode (ECAP.SMTS)');
    if (c.firstLevel && !c.scalableMode)
      err(
        at('capabilities.firstLevel'),
        'first-level translation exists only in scalable mode (ECAP.FLTS needs ECAP.SMTS)',
      );
    if (c.nesting && !(c.scalableMode && c.firstLevel))
      err(at('capabilities.nesting'), 'nesting needs scalable mode and first-level translation (ECAP.NEST)');
    if (c.pasidBits > 0 && !c.scalableMode)
      err(at('capabilities.pasidBits'), 'PASID needs scalable mode (ECAP.PASID needs ECAP.SMTS)');
  }
  // A function may be in at most one unit's device scope (exactly or below a bridge in scope).
  const coveredBy = new Map<string, { unit: number; path: string }>();
  for (const { i, v } of p.iommus) {
    (v.scope ?? []).forEach((s, k) => {
      const scopeDev = devs.get(norm(s));
      if (!scopeDev) return;
      const here = `iommus[${i}].scope[${k}]`;
      for (const dev of devs.values()) {
        const below =
          scopeDev.rangeOk &&
          dev.b.segment === scopeDev.b.segment &&
          dev.b.bus >= scopeDev.sec! &&
          dev.b.bus <= scopeDev.sub!;
        if (dev.key !== scopeDev.key && !below) continue;
        const prev = coveredBy.get(dev.key);
        if (prev === undefined) coveredBy.set(dev.key, { unit: i, path: here });
        else if (prev.unit !== i) {
          err(here, `covers ${dev.key}, which ${prev.path} already puts under iommus[${prev.unit}]`);
          break;
        }
      }
    });
  }

  // RMRRs.
  for (const { i, v } of p.rmrrs) {
    const at = (f: string) => `reservedMemory[${i}].${f}`;
    const base = hexValue(v.base);
    const end = hexValue(v.end);
    if (base % PAGE !== 0n) err(at('base'), `base ${v.base} is not 4 KiB aligned`);
    if (end < base) err(at('end'), `end ${v.end} is below base ${v.base}`);
    else if ((end + 1n) % PAGE !== 0n)
      err(at('end'), `end ${v.end} + 1 is not 4 KiB aligned (an RMRR ends on …fff)`);
    let segment: number | null = null;
    v.scope.forEach((s, k) => {
      const key = norm(s);
      const dev = devs.get(key);
      if (!dev) {
        if (!p.knownBdfs.has(key)) err(at(`scope[${k}]`), `${key} is not a device of this platform`);
        return;
      }
      if (segment === null) segment = dev.b.segment;
      else if (dev.b.segment !== segment)
        err(
          at(`scope[${k}]`),
          `an RMRR belongs to one segment; ${key} is on ${dev.b.segment}, the rest on ${segment}`,
        );
    });
  }

  // Memory map.
  const ranges = p.memoryMap.map(({ i, v }) => ({
    i,
    base: hexValue(v.base),
    end: hexValue(v.end),
    type: v.type,
  }));
  for (const r of ranges)
    if (r.end < r.base) err(`memoryMap[${r.i}].end`, `end ${hex(r.end)} is below base ${hex(r.base)}`);
  const okRanges = ranges.filter((r) => r.end >= r.base);
  for (let x = 0; x < okRanges.length; x++)
    for (let y = 0; y < x; y++) {
      const a = okRanges[x]!;
      const o = okRanges[y]!;
      if (a.base <= o.end && o.base <= a.end)
        err(
          `memoryMap[${a.i}].base`,
          `${hex(a.base)}-${hex(a.end)} overlaps memoryMap[${o.i}] (${hex(o.base)}-${hex(o.end)})`,
        );
    }

  // TEE-IO split and kernel options.
  if (p.teeIo && 'boundary' in p.teeIo) {
    const boundary = hexValue(p.teeIo.boundary);
    if (boundary === 0n) err('teeIo.boundary', 'a boundary of 0 leaves no private addresses');
    else if (boundary % PAGE !== 0n)
      err('teeIo.boundary', `boundary ${p.teeIo.boundary} is not 4 KiB aligned`);
  }
  const k = p.kernel;
  if (k?.strict === true && k.defaultDomain === 'dma-fq')
    err('kernel.strict', 'iommu.strict=1 turns a dma-fq default domain into dma (iommu_set_dma_strict)');
  if (k?.strict === false && k.defaultDomain === 'dma')
    err('kernel.strict', 'a lazy (non-strict) dma default domain is dma-fq; say defaultDomain "dma-fq"');

  if (errors.length > 0 || !k) return null;
  return build(p, devs, segments, k);
}

function build(
  p: Parts,
  devs: Map<string, Dev>,
  segs: Map<number, SegmentJson & { start: number; end: number }>,
  k: KernelJson,
): Platform {
  const functions = new Map<string, PciFunction>();
  for (const dev of devs.values()) {
    const d = dev.d;
    const [vendor, device] = d.ids ? d.ids.split(':').map((x) => parseInt(x, 16)) : [null, null];
    functions.set(dev.key, {
      bdf: dev.b,
      bdfText: dev.key,
      requesterId: rid(dev.b),
      name: d.name,
      classCode: parseInt(d.class, 16),
      vendorId: vendor ?? null,
      deviceId: device ?? null,
      kind: d.kind,
      isBridge: dev.isBridge,
      isPcie: !CONVENTIONAL_KINDS.has(d.kind),
      parent: d.parent === null ? null : norm(d.parent),
      secondaryBus: dev.sec,
      subordinateBus: dev.sub,
      children: [],
      multifunction: d.multifunction,
      acs: d.acs ? { cap: uintValue(d.acs.cap), ctrl: uintValue(d.acs.ctrl) } : null,
      pasidWidth: d.pasidWidth,
      ats: d.ats,
      pri: d.pri,
      tdisp: d.tdisp,
      dmaAliasDevfns: [...new Set(d.dmaAliases.map((a) => devfnOf(parseBdf(a)!)))].sort((a, b) => a - b),
      iommu: null,
    });
  }
  for (const fn of functions.values())
    if (fn.parent !== null) functions.get(fn.parent)!.children.push(fn.bdfText);
  for (const fn of functions.values())
    fn.children.sort((a, b) => devfnOf(functions.get(a)!.bdf) - devfnOf(functions.get(b)!.bdf));
  const scanOrder = computeScanOrder(functions);

  const tableUnits: IommuUnit[] = p.iommus.map(({ v }) => ({
    id: v.id,
    segment: v.segment,
    registerBase: hexValue(v.registerBase),
    includeAll: v.includeAll,
    scope: (v.scope ?? []).map(norm),
    mode: v.mode,
    capabilities: {
      slLevels: [...v.capabilities.slLevels].sort((a, b) => a - b) as SlLevel[],
      mgaw: v.capabilities.mgaw,
      haw: v.capabilities.haw,
      superpages: [...new Set(v.capabilities.superpages)],
      scalableMode: v.capabilities.scalableMode,
      passThrough: v.capabilities.passThrough,
      nesting: v.capabilities.nesting,
      firstLevel: v.capabilities.firstLevel,
      pasidBits: v.capabilities.pasidBits,
      deviceTlb: v.capabilities.deviceTlb,
    },
    functions: [],
  }));
  const iommus = registrationOrder(tableUnits).map((i) => tableUnits[i]!);
  const unitById = new Map(iommus.map((u) => [u.id, u]));
  for (const key of scanOrder) {
    const fn = functions.get(key)!;
    fn.iommu = lookupIommu(functions, iommus, fn);
    if (fn.iommu !== null) unitById.get(fn.iommu)!.functions.push(key);
  }

  const segments: PciSegment[] = [...segs.values()]
    .sort((a, b) => a.segment - b.segment)
    .map((s) => ({
      segment: s.segment,
      busStart: s.start,
      busEnd: s.end,
      ecamBase: s.ecamBase === undefined ? null : hexValue(s.ecamBase),
      rootBuses: [
        ...new Set(
          [...functions.values()]
            .filter((f) => f.parent === null && f.bdf.segment === s.segment)
            .map((f) => f.bdf.bus),
        ),
      ].sort((a, b) => a - b),
    }));

  const rmrrs: Rmrr[] = p.rmrrs.map(({ i, v }) => {
    const scope = v.scope.map(norm);
    return {
      index: i,
      name: v.name ?? `RMRR ${i}`,
      segment: functions.get(scope[0]!)!.bdf.segment,
      base: hexValue(v.base),
      end: hexValue(v.end),
      scope,
    };
  });
  const memoryMap: MemoryRange[] = p.memoryMap
    .map(({ v }) => ({ base: hexValue(v.base), end: hexValue(v.end), type: v.type }))
    .sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));

  let teeIo: TeeIoSplit | null = null;
  if (p.teeIo && 'boundary' in p.teeIo) teeIo = { kind: 'boundary', boundary: hexValue(p.teeIo.boundary) };
  else if (p.teeIo)
    teeIo = { kind: 'shared-bit', sharedBit: p.teeIo.sharedBit, sharedMask: 1n << BigInt(p.teeIo.sharedBit) };

  const kernel: KernelOptions = {
    defaultDomain: k.defaultDomain,
    strict: k.strict ?? k.defaultDomain === 'dma',
    floppyWorkaround: k.floppyWorkaround,
  };

  // x86 arch_rmrr_sanity_check: an RMRR should lie in firmware-reserved memory; Linux warns and goes on.
  const warnings: LocatedError[] = [];
  if (memoryMap.length > 0) {
    for (const r of rmrrs) {
      const inside = memoryMap.some((m) => m.type === 'reserved' && m.base <= r.base && r.end <= m.end);
      if (!inside)
        warnings.push({
          path: `reservedMemory[${r.index}]`,
          message: `[Firmware Bug]: Your BIOS is broken; bad RMRR [${hex(r.base)}-${hex(r.end)}]: no reserved memory-map range covers it (arch_rmrr_sanity_check)`,
        });
    }
  }

  return {
    name: p.name,
    description: p.description,
    segments,
    functions,
    scanOrder,
    iommus,
    rmrrs,
    memoryMap,
    teeIo,
    kernel,
    warnings,
  };
}
