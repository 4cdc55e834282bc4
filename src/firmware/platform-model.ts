// Turns the PCI hierarchy read from lspci, plus the IOMMU units of the DMAR or IVRS table, into an
// iommu-lab/platform description (docs/platform-format.md) that src/engine/platform's loadPlatform
// accepts, so the engine forms the IOMMU groups and reserved regions. Each adjustment the platform
// format needs is reported, never silent:
//   - PCI Express port types come from lspci's "Express … <type>" line; a function placed where the
//     format does not allow its type gets the nearest type with the same Linux behaviour (an Endpoint
//     on a root bus is an RCiEP to pci_acs_enabled; a bridge's kind keeps its aliasing), and functions
//     lspci shows without capabilities get a type guessed from the topology;
//   - functions the format cannot place (functions 1-7 without function 0, a bus no bridge leads to, a
//     device on a switch's internal bus) are left out, with a warning;
//   - DRHD scopes become `scope` lists of the functions the kernel matches (dmar_match_pci_path), each in
//     the unit Linux gives it; IVHD device entries become explicit scope lists and IVRS aliases on the
//     same bus become DMA aliases (setup_aliases → pci_add_dma_alias);
//   - RMRRs become reservedMemory (rounded out to pages, as the kernel maps them); VT-d capabilities
//     come from the kernel log's "dmarN: reg_base_addr … cap … ecap …" line when given.
// Pure.
import type { PlatformJson } from '../engine/platform/index';
import { decodeCap, decodeEcap } from '../engine/vtd/structures';
import { hex2, hex64, PAGE_SIZE } from './bytes';
import { resolveScope } from './dmar-scope';
import { dmarUnits, registrationOrder, type DmarUnit } from './dmar-units';
import type { DmarTable } from './dmar';
import { finding, type Finding } from './findings';
import { aliasOf, covers, ivhdCoverage } from './ivrs-devices';
import type { IvrsTable } from './ivrs';
import type { KernelLogHints } from './kernel-log';
import type { ExpressType, LspciFunction } from './lspci';
import { PciTopology, shortBdf } from './pci-topology';

type DeviceJson = PlatformJson['devices'][number];
type Kind = DeviceJson['kind'];
type IommuJson = NonNullable<PlatformJson['iommus']>[number];
type RmrrJson = NonNullable<PlatformJson['reservedMemory']>[number];

export interface ModelInput {
  name: string;
  functions: LspciFunction[];
  dmar: DmarTable | null;
  /** VT-d is off (the kernel rejects the table): no units in the model */
  dmarDisabled: string | null;
  ivrs: IvrsTable | null;
  hints: KernelLogHints | null;
  /** segment bus ranges from MCFG */
  mcfg: { segment: number; busStart: number; busEnd: number; base: bigint }[];
}

export interface ModelOutput {
  json: PlatformJson;
  findings: Finding[];
  topology: PciTopology;
}

/** Where a function sits, as load.ts's ALLOWED_BELOW sees it. */
type Place = 'root' | 'link' | 'switch-upstream' | 'pci';
const ALLOWED: Record<Place, readonly Kind[]> = {
  root: ['root-port', 'rciep', 'pci-device', 'pci-bridge'],
  link: ['endpoint', 'switch-upstream', 'pcie-to-pci-bridge'],
  'switch-upstream': ['switch-downstream'],
  pci: ['pci-device', 'pci-bridge'],
};
const BRIDGE_KINDS: readonly Kind[] = [
  'root-port',
  'switch-upstream',
  'switch-downstream',
  'pcie-to-pci-bridge',
  'pci-bridge',
];
const CONVENTIONAL: readonly Kind[] = ['pci-bridge', 'pci-device'];

function placeOf(parent: Kind | null): Place {
  if (parent === null) return 'root';
  if (parent === 'root-port' || parent === 'switch-downstream') return 'link';
  if (parent === 'switch-upstream') return 'switch-upstream';
  return 'pci';
}

const EXPRESS_KIND: Record<ExpressType, Kind | null> = {
  endpoint: 'endpoint',
  'legacy-endpoint': 'endpoint',
  'root-port': 'root-port',
  'upstream-port': 'switch-upstream',
  'downstream-port': 'switch-downstream',
  'pcie-to-pci-bridge': 'pcie-to-pci-bridge',
  'pci-to-pcie-bridge': 'pci-bridge',
  rciep: 'rciep',
  rcec: 'rciep',
  unknown: null,
};

/** The kind lspci says, or a guess from the place when it cannot say. */
function rawKind(f: LspciFunction, bridge: boolean, place: Place): { kind: Kind; guessed: boolean } {
  if (f.express) {
    const k = EXPRESS_KIND[f.express];
    if (k && BRIDGE_KINDS.includes(k) === bridge) return { kind: k, guessed: false };
  } else if (f.capabilitiesKnown) return { kind: bridge ? 'pci-bridge' : 'pci-device', guessed: false };
  const guess: Record<Place, [Kind, Kind]> = {
    root: ['root-port', 'rciep'],
    link: ['switch-upstream', 'endpoint'],
    'switch-upstream': ['switch-downstream', 'endpoint'],
    pci: ['pci-bridge', 'pci-device'],
  };
  return { kind: guess[place][bridge ? 0 : 1], guessed: true };
}

/** The allowed kind closest in Linux behaviour to `k` at `place`, or null when there is none. */
function fitKind(k: Kind, place: Place): Kind | null {
  if (ALLOWED[place].includes(k)) return k;
  const bridge = BRIDGE_KINDS.includes(k);
  switch (place) {
    case 'root':
      return bridge ? (k === 'switch-downstream' ? 'root-port' : 'pci-bridge') : 'rciep';
    case 'link':
      return bridge ? (k === 'pci-bridge' ? 'pcie-to-pci-bridge' : 'switch-upstream') : 'endpoint';
    case 'switch-upstream':
      return bridge ? 'switch-downstream' : null;
    case 'pci':
      return bridge ? 'pci-bridge' : 'pci-device';
  }
}

const h4 = (n: number) => n.toString(16).padStart(4, '0');

export function buildPlatformJson(input: ModelInput): ModelOutput {
  const findings: Finding[] = [];
  const note = (severity: Finding['severity'], code: string, message: string) =>
    findings.push(finding(severity, code, message));

  // 1. Which functions can be placed, and their parents.
  let fns = [...input.functions];
  const slotHasFn0 = new Set(fns.filter((f) => f.fn === 0).map((f) => `${f.segment}:${f.bus}:${f.dev}`));
  const orphans = fns.filter((f) => f.fn !== 0 && !slotHasFn0.has(`${f.segment}:${f.bus}:${f.dev}`));
  for (const f of orphans)
    note(
      'info',
      'platform-function-dropped',
      `${shortBdf(f.bdf)} is left out of the model: its slot has no function 0 in the lspci output (Linux scans functions 1-7 only behind function 0; was the listing filtered?)`,
    );
  fns = fns.filter((f) => !orphans.includes(f));
  // a bridge's bus range must be usable for it to have children
  const validRange = (f: LspciFunction) =>
    f.isBridge &&
    f.secondary !== null &&
    f.subordinate !== null &&
    f.secondary > f.bus &&
    f.subordinate >= f.secondary;
  for (const f of fns)
    if (f.isBridge && !validRange(f))
      note(
        'info',
        'platform-bridge-unconfigured',
        `${shortBdf(f.bdf)} is a bridge with no usable bus range (secondary ${hex2(f.secondary ?? 0)}, subordinate ${hex2(f.subordinate ?? 0)}); it is modelled as a device with nothing below it`,
      );
  const topo = new PciTopology(fns.map((f) => ({ ...f, isBridge: validRange(f) })));
  const kept = new Map<string, { f: LspciFunction; kind: Kind; parent: string | null; bridge: boolean }>();
  // place functions top-down: parents before children
  const depths = new Map(fns.map((f) => [f.bdf, topo.pathFromRoot(topo.functions.get(f.bdf)!).path.length]));
  const depth = (f: LspciFunction) => depths.get(f.bdf)!;
  const ordered = [...fns].sort(
    (a, b) => depth(a) - depth(b) || a.segment - b.segment || a.bus - b.bus || a.dev - b.dev || a.fn - b.fn,
  );
  const guessed: string[] = [];
  const adjusted: string[] = [];
  for (const f of ordered) {
    const parentInfo = topo.parentOf(topo.functions.get(f.bdf)!);
    const parent = parentInfo ? kept.get(parentInfo.bdf) : undefined;
    if (parentInfo && !parent) {
      note(
        'info',
        'platform-function-dropped',
        `${shortBdf(f.bdf)} is left out of the model: its bridge ${shortBdf(parentInfo.bdf)} is`,
      );
      continue;
    }
    if (!parentInfo) {
      const inside = fns.find(
        (b) => validRange(b) && b.segment === f.segment && f.bus >= b.secondary! && f.bus <= b.subordinate!,
      );
      if (inside) {
        note(
          'info',
          'platform-function-dropped',
          `${shortBdf(f.bdf)} is left out of the model: bus ${hex2(f.bus)} lies behind ${shortBdf(inside.bdf)} (buses ${hex2(inside.secondary!)}-${hex2(inside.subordinate!)}) but no bridge in the listing has it as its secondary bus`,
        );
        continue;
      }
    }
    const bridge = validRange(f);
    const place = placeOf(parent?.kind ?? null);
    const raw = rawKind(f, bridge, place);
    const kind = fitKind(raw.kind, place);
    if (kind === null) {
      note(
        'info',
        'platform-function-dropped',
        `${shortBdf(f.bdf)} (a ${raw.kind}) sits on a switch's internal bus, where the platform format allows only downstream ports; it is left out of the model`,
      );
      continue;
    }
    if (raw.guessed) guessed.push(shortBdf(f.bdf));
    else if (kind !== raw.kind) adjusted.push(`${shortBdf(f.bdf)} ${raw.kind} → ${kind}`);
    kept.set(f.bdf, { f, kind, parent: parentInfo?.bdf ?? null, bridge });
  }
  if (guessed.length > 0)
    note(
      'info',
      'platform-kind-guessed',
      `lspci gave no PCI Express capability for ${guessed.length} function(s), so their port types are guessed from the topology: ${guessed.slice(0, 12).join(', ')}${guessed.length > 12 ? ', …' : ''}`,
    );
  if (adjusted.length > 0)
    note(
      'info',
      'platform-kind-adjusted',
      `PCI Express types the platform format does not allow where they sit were mapped to the nearest kind with the same Linux behaviour: ${adjusted.join('; ')}`,
    );

  // 2. Segments.
  const segIds = [...new Set([...kept.values()].map((k) => k.f.segment))].sort((a, b) => a - b);
  const segments = segIds.map((segment) => {
    const src =
      input.mcfg.find((m) => m.segment === segment) ??
      input.hints?.mmconfig.find((m) => m.segment === segment) ??
      input.hints?.rootBridges.find((m) => m.segment === segment);
    const buses = [...kept.values()]
      .filter((k) => k.f.segment === segment)
      .flatMap((k) => [k.f.bus, k.f.subordinate ?? k.f.bus]);
    const lo = Math.min(src?.busStart ?? 0, ...buses);
    const hi = Math.max(src?.busEnd ?? 0xff, ...buses);
    const s: NonNullable<PlatformJson['segments']>[number] = { segment, busStart: lo, busEnd: hi };
    const base = (src as { base?: bigint } | undefined)?.base;
    if (base !== undefined) s.ecamBase = hex64(base);
    return s;
  });

  // 3. Devices.
  const slots = new Map<string, number>();
  for (const k of kept.values())
    slots.set(
      `${k.f.segment}:${k.f.bus}:${k.f.dev}`,
      (slots.get(`${k.f.segment}:${k.f.bus}:${k.f.dev}`) ?? 0) + 1,
    );
  const devices: PlatformJson['devices'] = [];
  const deviceByBdf = new Map<string, (typeof devices)[number]>();
  for (const k of kept.values()) {
    const f = k.f;
    const conventional = CONVENTIONAL.includes(k.kind);
    let cls = f.classCode === null ? (k.bridge ? 0x060400 : 0xff0000) : f.classCode;
    if (k.bridge && cls >> 8 !== 0x0604 && cls >> 8 !== 0x0609) {
      note(
        'info',
        'platform-bridge-class',
        `${shortBdf(f.bdf)} has bridge buses but class ${cls.toString(16).padStart(6, '0')}; modelled with the PCI bridge class 060400`,
      );
      cls = 0x060400;
    }
    const d: DeviceJson = {
      bdf: f.bdf,
      name: f.name || shortBdf(f.bdf),
      class: cls.toString(16).padStart(6, '0'),
      kind: k.kind,
      parent: k.parent,
      multifunction: (slots.get(`${f.segment}:${f.bus}:${f.dev}`) ?? 0) > 1,
      acs: conventional ? null : f.acs,
      pasidWidth: conventional ? 0 : Math.min(f.pasidWidth, 20),
      ats: !conventional && f.ats,
      pri: !conventional && f.ats && f.pri,
      tdisp: false,
      dmaAliases: [],
    };
    if (f.vendorId !== null && f.deviceId !== null) d.ids = `${h4(f.vendorId)}:${h4(f.deviceId)}`;
    if (k.bridge) {
      d.secondary = f.secondary!;
      d.subordinate = f.subordinate!;
    }
    devices.push(d);
    deviceByBdf.set(f.bdf, d);
  }

  // 4. IOMMU units and reserved memory.
  const iommus: IommuJson[] = [];
  const reservedMemory: RmrrJson[] = [];
  const keptTopo = new PciTopology(
    [...kept.values()].map((k) => ({ ...topo.functions.get(k.f.bdf)!, isBridge: k.bridge })),
  );
  if (input.dmar && !input.dmarDisabled) {
    const units = dmarUnits(input.dmar);
    const claimed = new Set<string>();
    const includeAllSeg = new Set<number>();
    // Linux's registration order decides which unit keeps a function two scopes name
    const order = registrationOrder(units);
    const scopes = new Map<DmarUnit, string[]>();
    for (const u of order) {
      if (u.drhd.includeAll) continue;
      const list: string[] = [];
      for (const sc of u.drhd.scopes) {
        if (sc.type !== 'endpoint' && sc.type !== 'bridge') continue;
        const r = resolveScope(keptTopo, u.drhd.segment, sc);
        if (
          (r.status === 'resolved' || r.status === 'workaround') &&
          deviceByBdf.has(r.bdf) &&
          !claimed.has(r.bdf)
        ) {
          list.push(r.bdf);
          claimed.add(r.bdf);
        }
      }
      scopes.set(u, list);
    }
    for (const u of units) {
      const d = u.drhd;
      if (d.base === 0n || d.base % PAGE_SIZE !== 0n) continue;
      if (!segIds.includes(d.segment)) continue;
      if (d.includeAll) {
        if (includeAllSeg.has(d.segment)) continue;
        includeAllSeg.add(d.segment);
      } else if ((scopes.get(u) ?? []).length === 0) {
        note(
          'info',
          'platform-unit-empty',
          `${u.id} names no function present in the PCI hierarchy; it translates nothing and is left out of the model`,
        );
        continue;
      }
      const unit: IommuJson = {
        id: u.id,
        segment: d.segment,
        registerBase: hex64(d.base),
        mode: 'legacy',
        capabilities: vtdCapabilities(
          input.dmar.hostAddressWidth,
          input.hints?.units.find((x) => x.base === d.base) ?? null,
        ),
      };
      if (d.includeAll) unit.includeAll = true;
      else unit.scope = scopes.get(u)!;
      iommus.push(unit);
    }
    for (const s of input.dmar.structures) {
      if (s.kind !== 'rmrr' || s.end < s.base) continue;
      const scope: string[] = [];
      for (const sc of s.scopes) {
        if (sc.type !== 'endpoint' && sc.type !== 'bridge') continue;
        const r = resolveScope(keptTopo, s.segment, sc);
        if (
          (r.status === 'resolved' || r.status === 'workaround') &&
          deviceByBdf.has(r.bdf) &&
          !scope.includes(r.bdf)
        )
          scope.push(r.bdf);
      }
      if (scope.length === 0) continue;
      const base = s.base & ~(PAGE_SIZE - 1n);
      const end = s.end | (PAGE_SIZE - 1n);
      reservedMemory.push({
        name: `DMAR+0x${s.offset.toString(16)}`,
        base: hex64(base),
        end: hex64(end),
        scope,
      });
    }
  } else if (input.ivrs) {
    const cov = ivhdCoverage(input.ivrs);
    const owner = new Map<string, string>();
    for (const c of cov) {
      if (c.ivhd.base === 0n || c.ivhd.base % PAGE_SIZE !== 0n) continue;
      for (const k of kept.values()) {
        const f = k.f;
        if (f.segment !== c.ivhd.segment) continue;
        if (covers(c, (f.bus << 8) | (f.dev << 3) | f.fn)) owner.set(f.bdf, c.id); // the last writer of rlookup wins
      }
      for (const k of kept.values()) {
        const from = (k.f.bus << 8) | (k.f.dev << 3) | k.f.fn;
        const to = k.f.segment === c.ivhd.segment ? aliasOf(c, from) : null;
        if (to === null || from === to || from >> 8 !== to >> 8) continue;
        const src = deviceByBdf.get(k.f.bdf)!;
        const target = bdfOf(c.ivhd.segment, to);
        if (!src.dmaAliases!.includes(target)) src.dmaAliases!.push(target);
      }
    }
    for (const c of cov) {
      const scope = [...owner].filter(([, id]) => id === c.id).map(([bdf]) => bdf);
      if (scope.length === 0 || !segIds.includes(c.ivhd.segment)) continue;
      iommus.push({
        id: c.id,
        segment: c.ivhd.segment,
        registerBase: hex64(c.ivhd.base),
        scope,
        mode: 'legacy',
        // the platform format describes VT-d units; an AMD IOMMU's paging is summarised as 4-level, 48-bit
        capabilities: { slLevels: [4], mgaw: 48, haw: 48, superpages: ['2M', '1G'] },
      });
    }
  }

  // 5. Memory map and kernel options.
  const memoryMap: NonNullable<PlatformJson['memoryMap']> = [];
  const e820 = [...(input.hints?.e820 ?? [])].sort((a, b) =>
    a.start < b.start ? -1 : a.start > b.start ? 1 : 0,
  );
  const overlapping = e820.some((e, i) => i > 0 && e.start <= e820[i - 1]!.end);
  if (overlapping)
    note(
      'info',
      'platform-e820-overlap',
      'the BIOS-e820 ranges overlap; the memory map is left out of the model',
    );
  else
    for (const e of e820) {
      const type =
        e.type === 'usable' ? 'ram' : e.type === 'reserved' || e.type === 'ACPI NVS' ? 'reserved' : null;
      if (type && e.end >= e.start) memoryMap.push({ base: hex64(e.start), end: hex64(e.end), type });
    }
  const kernel: NonNullable<PlatformJson['kernel']> = {};
  if (input.hints?.defaultDomain === 'identity') kernel.defaultDomain = 'identity';
  else if (input.hints?.defaultDomain === 'translated')
    kernel.defaultDomain = input.hints.lazy === false ? 'dma' : 'dma-fq';

  const json: PlatformJson = {
    format: 'iommu-lab/platform',
    version: 1,
    name: input.name,
    description: 'built by iommu-lab platform from ACPI tables, lspci and the kernel log',
    segments,
    devices,
    iommus,
    reservedMemory,
    memoryMap,
    kernel,
  };
  return { json, findings, topology: keptTopo };
}

function bdfOf(segment: number, devid: number): string {
  return `${h4(segment)}:${hex2(devid >> 8)}:${hex2((devid >> 3) & 0x1f)}.${devid & 7}`;
}

/** Capabilities from the kernel's CAP/ECAP line, or a conservative summary when the log is absent. */
function vtdCapabilities(haw: number, unit: { cap: bigint; ecap: bigint } | null): IommuJson['capabilities'] {
  const clamp = (n: number) => Math.min(64, Math.max(32, n));
  if (!unit) return { slLevels: [4], mgaw: 48, haw: clamp(haw), superpages: ['2M'] };
  const cap = decodeCap(unit.cap);
  const ecap = decodeEcap(unit.ecap);
  const levels = ([3, 4, 5] as const).filter((l) => cap.sagaw & (1 << (l - 2)));
  const smts = ecap.smts;
  return {
    slLevels: levels.length > 0 ? [...levels] : [4],
    mgaw: clamp(cap.mgaw),
    haw: clamp(haw),
    superpages: [...(cap.sllps2m ? (['2M'] as const) : []), ...(cap.sllps1g ? (['1G'] as const) : [])],
    scalableMode: smts,
    passThrough: ecap.pt,
    nesting: smts && ecap.flts && ecap.nest,
    firstLevel: smts && ecap.flts,
    pasidBits: smts && ecap.pasid ? Math.min(20, ecap.pss + 1) : 0,
    deviceTlb: ecap.dt,
  };
}
