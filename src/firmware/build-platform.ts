// buildPlatformReport: the whole `iommu-lab platform` pipeline on in-memory inputs. Each input is
// recognised by content (detect.ts) and read: ACPI tables (binary, acpidump text, iasl disassembly)
// are decoded and linted, lspci readings are merged into one PCI hierarchy, kernel logs give the
// e820 map, VT-d capabilities, kernel options, "[Firmware Bug]" lines and the kernel's own groups.
// With a hierarchy, the platform description is built (platform-model.ts), loaded by the engine, and
// the IOMMU groups and each device's reserved regions come from the engine's Linux rules (Intel) or from
// the AMD driver's unity maps (IVRS). Everything found wrong is a finding; nothing here throws on bad
// input. Pure: the caller reads the files.
import { formGroups, loadPlatform, reservedRegions, type Platform } from '../engine/platform/index';
import { readAcpidump } from './acpidump-text';
import { hex64 } from './bytes';
import { detectInput, type InputKind } from './detect';
import { resolveScope, scopePathBdf, type DmarDeviceScope } from './dmar-scope';
import { dmarUnits } from './dmar-units';
import { decodeDmar, type DmarTable } from './dmar';
import { finding, SEVERITY_ORDER, type Finding } from './findings';
import { readDsl } from './iasl-dsl';
import { ivhdCoverage, unityMaps } from './ivrs-devices';
import { decodeIvrs, devidBdf, type IvrsTable } from './ivrs';
import { readKernelLog, type KernelLogHints } from './kernel-log';
import { lintDmar } from './lint-dmar';
import { lintIvrs } from './lint-ivrs';
import { mergeLspci, readLspci, type LspciFunction, type LspciResult } from './lspci';
import { decodeMcfg } from './mcfg';
import { buildPlatformJson } from './platform-model';
import { PciTopology, shortBdf } from './pci-topology';
import {
  REPORT_FORMAT,
  REPORT_VERSION,
  type DeviceJsonOut,
  type DeviceRegionJson,
  type DmarScopeJson,
  type GroupJsonOut,
  type InputJson,
  type IvhdEntryJson,
  type PlatformReport,
  type RegionJson,
  type TableJson,
  type UnitJson,
} from './report';

export interface FirmwareInput {
  file: string;
  bytes: Uint8Array;
}

interface TableBytes {
  file: string;
  signature: string;
  bytes: Uint8Array;
  source: TableJson['source'];
  findings: Finding[];
}

/** Codes after which Linux runs without DMA remapping at all. */
const DMAR_FATAL = new Set([
  'acpi-header-truncated',
  'acpi-signature',
  'dmar-header-truncated',
  'dmar-struct-past-end',
  'dmar-haw-invalid',
  'dmar-no-drhd',
  'dmar-drhd-zero-base',
  'dmar-andd-unterminated',
  'dmar-scope-type-mismatch',
]);

export function buildPlatformReport(inputs: readonly FirmwareInput[]): PlatformReport {
  const findings: Finding[] = [];
  const inputJson: InputJson[] = [];
  const tables: TableBytes[] = [];
  const lspci: LspciResult[] = [];
  const logs: { file: string; hints: KernelLogHints }[] = [];

  for (const input of inputs) {
    const { kind, text } = detectInput(input.bytes);
    const entry: InputJson = { file: input.file, kind: kind as InputKind };
    inputJson.push(entry);
    const tag = (fs: Finding[]) => fs.map((f) => ({ ...f, file: f.file ?? input.file }));
    switch (kind) {
      case 'acpi-binary': {
        const sig = String.fromCharCode(...input.bytes.subarray(0, 4));
        tables.push({ file: input.file, signature: sig, bytes: input.bytes, source: 'binary', findings: [] });
        entry.tables = [sig];
        break;
      }
      case 'acpidump': {
        const ts = readAcpidump(text!, input.file);
        entry.tables = ts.map((t) => t.signature);
        for (const t of ts)
          tables.push({
            file: input.file,
            signature: t.signature,
            bytes: t.bytes,
            source: 'acpidump',
            findings: tag(t.findings),
          });
        break;
      }
      case 'iasl-dsl': {
        const ts = readDsl(text!, input.file);
        entry.tables = ts.map((t) => t.signature);
        for (const t of ts)
          tables.push({
            file: input.file,
            signature: t.signature,
            bytes: t.bytes,
            source: 'iasl-dsl',
            findings: tag(t.findings),
          });
        break;
      }
      case 'lspci': {
        const r = readLspci(text!, input.file);
        lspci.push(r);
        findings.push(...tag(r.findings));
        break;
      }
      case 'kernel-log': {
        const r = readKernelLog(text!, input.file);
        logs.push({ file: input.file, hints: r.hints });
        findings.push(...tag(r.findings));
        break;
      }
      default:
        findings.push(
          finding(
            'error',
            'input-unrecognized',
            'not a recognised input: give a binary ACPI table (DMAR, IVRS), acpidump text, iasl disassembly (.dsl), lspci -vvv / lspci -tv output or a kernel log',
            { file: input.file },
          ),
        );
    }
  }

  const hints = mergeHints(logs.map((l) => l.hints));
  const e820 = hints?.e820 ?? null;
  const functions: LspciFunction[] = lspci.length > 0 ? mergeLspci(lspci) : [];
  const fullTopology = functions.length > 0 ? new PciTopology(functions) : null;

  // ACPI tables: pick one DMAR, one IVRS, MCFG allocations; report the others.
  const tableJson: TableJson[] = [];
  const pick = (sig: string) => {
    const all = tables.filter((t) => t.signature === sig);
    for (const extra of all.slice(1)) {
      const same =
        extra.bytes.length === all[0]!.bytes.length && extra.bytes.every((b, i) => b === all[0]!.bytes[i]);
      findings.push(
        finding(
          'info',
          'input-duplicate-table',
          same
            ? `${sig} from ${extra.file} is byte for byte the one from ${all[0]!.file}`
            : `two different ${sig} tables were given (${all[0]!.file}, ${extra.file}); the first is used`,
          { file: extra.file },
        ),
      );
    }
    return all[0] ?? null;
  };
  const ignored = [
    ...new Set(tables.map((t) => t.signature).filter((s) => s !== 'DMAR' && s !== 'IVRS' && s !== 'MCFG')),
  ];
  if (ignored.length > 0)
    findings.push(
      finding('info', 'input-tables-ignored', `ACPI tables not used here: ${ignored.join(', ')}`),
    );

  let dmar: DmarTable | null = null;
  let dmarFindings: Finding[] = [];
  const dmarIn = pick('DMAR');
  if (dmarIn) {
    const d = decodeDmar(dmarIn.bytes);
    dmar = d.table;
    dmarFindings = [...dmarIn.findings, ...d.findings];
    if (dmar) dmarFindings.push(...lintDmar({ table: dmar, topology: fullTopology, e820 }));
    dmarFindings = dmarFindings.map((f) => ({ ...f, file: f.file ?? dmarIn.file, table: f.table ?? 'DMAR' }));
    findings.push(...dmarFindings);
    if (dmar)
      tableJson.push({
        ...headerJson(dmarIn, dmar.header),
        hostAddressWidth: dmar.hostAddressWidth,
        flags: dmar.flags,
      });
  }
  let ivrs: IvrsTable | null = null;
  const ivrsIn = pick('IVRS');
  if (ivrsIn) {
    const d = decodeIvrs(ivrsIn.bytes);
    ivrs = d.table;
    const fs = [...ivrsIn.findings, ...d.findings];
    if (ivrs) fs.push(...lintIvrs({ table: ivrs, topology: fullTopology, e820 }));
    findings.push(...fs.map((f) => ({ ...f, file: f.file ?? ivrsIn.file, table: f.table ?? 'IVRS' })));
    if (ivrs)
      tableJson.push({ ...headerJson(ivrsIn, ivrs.header), ivinfo: ivrs.ivinfo, ivhdType: ivrs.targetType });
  }
  const mcfgIn = pick('MCFG');
  const mcfg = mcfgIn ? decodeMcfg(mcfgIn.bytes).allocations : [];
  if (dmar && ivrs)
    findings.push(
      finding(
        'info',
        'input-dmar-and-ivrs',
        'both a DMAR (Intel) and an IVRS (AMD) table were given; a machine has one kind. The platform is built from the DMAR',
      ),
    );

  // The kernel log's view of the same table.
  if (hints && dmar) findings.push(...crossCheckLog(hints, dmar, logs[0]?.file));
  // the kernel's own [Firmware Bug] lines: warnings when they concern DMA/interrupt remapping
  const IOMMU_LINE =
    /DMAR|IOMMU|iommu|AMD-Vi|IVRS|IVHD|IVMD|RMRR|DRHD|ATSR|ANDD|RHSA|intremap|x2apic|IOAPIC|ioapic|HPET/;
  for (const l of logs)
    for (const b of l.hints.firmwareBugs)
      findings.push(
        finding(
          IOMMU_LINE.test(b.text) ? 'warning' : 'info',
          'kernel-firmware-bug',
          `the kernel reported: ${b.text}`,
          { file: l.file, line: b.line },
        ),
      );

  const dmarDisabled = dmarFindings.find((f) => DMAR_FATAL.has(f.code)) ?? null;
  const units: UnitJson[] = [];
  const regions: RegionJson[] = [];
  if (dmar) {
    for (const u of dmarUnits(dmar))
      units.push({
        kind: 'drhd',
        id: u.id,
        segment: u.drhd.segment,
        base: hex64(u.drhd.base),
        flags: u.drhd.flags,
        includeAll: u.drhd.includeAll,
        size: u.drhd.size,
        offset: u.drhd.offset,
        scope: u.drhd.scopes.map((s) => scopeJson(fullTopology, u.drhd.segment, s)),
      });
    let i = 0;
    for (const s of dmar.structures)
      if (s.kind === 'rmrr')
        regions.push({
          kind: 'rmrr',
          index: i++,
          segment: s.segment,
          start: hex64(s.base),
          end: hex64(s.end),
          offset: s.offset,
          scope: s.scopes.map((x) => scopeJson(fullTopology, s.segment, x)),
        });
  } else if (ivrs) {
    const cov = ivhdCoverage(ivrs);
    for (const b of ivrs.blocks) {
      if (b.kind === 'ivhd') {
        const c = cov.find((x) => x.ivhd === b);
        units.push({
          kind: 'ivhd',
          id: c?.id ?? null,
          ivhdType: b.typeCode,
          used: b.used,
          segment: b.segment,
          base: hex64(b.base),
          flags: b.flags,
          includeAll: b.entries.some((e) => e.kind === 'all'),
          deviceId: devidBdf(b.segment, b.devid),
          capabilityOffset: b.capOffset,
          info: b.info,
          attributes: b.attributes,
          efr: b.efr === null ? null : hex64(b.efr),
          efr2: b.efr2 === null ? null : hex64(b.efr2),
          offset: b.offset,
          scope: b.entries.map((e) => {
            const o: IvhdEntryJson = {
              type: e.kind,
              typeCode: e.typeCode,
              offset: e.offset,
              setting: e.setting,
              bdf: devidBdf(b.segment, e.devid),
            };
            if (e.aliasTo !== undefined) o.aliasTo = devidBdf(b.segment, e.aliasTo);
            if (e.ext !== undefined) o.ext = e.ext;
            if (e.handle !== undefined) o.handle = e.handle;
            if (e.variety !== undefined)
              o.variety = e.variety === 1 ? 'ioapic' : e.variety === 2 ? 'hpet' : e.variety;
            if (e.source !== undefined) o.source = devidBdf(b.segment, e.source);
            if (e.hid !== undefined) o.hid = e.hid;
            if (e.cid !== undefined) o.cid = e.cid;
            if (e.uidFormat !== undefined) o.uidFormat = e.uidFormat;
            if (e.uid !== undefined) o.uid = e.uid;
            return o;
          }),
        });
      } else if (b.kind === 'ivmd') {
        const excl = (b.flags & 8) !== 0;
        regions.push({
          kind: 'ivmd',
          ivmdType: b.typeCode,
          flags: b.flags,
          unity: (b.flags & 1) !== 0,
          read: (b.flags & 2) !== 0,
          write: (b.flags & 4) !== 0,
          exclusion: excl,
          segment: b.segment,
          start: hex64(b.start),
          end: b.rangeLength === 0n ? null : hex64(b.start + b.rangeLength - 1n),
          length: hex64(b.rangeLength),
          offset: b.offset,
          scope:
            b.typeCode === 0x20
              ? 'all'
              : [
                  {
                    first: devidBdf(b.segment, b.devid),
                    last: devidBdf(b.segment, b.typeCode === 0x22 ? b.aux : b.devid),
                  },
                ],
        });
      }
    }
  }

  const report: PlatformReport = {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    inputs: inputJson,
    tables: tableJson,
    units,
    reservedRegions: regions,
    findings,
    platform: null,
  };

  if (functions.length > 0) {
    if (dmarDisabled)
      findings.push(
        finding(
          'info',
          'platform-no-remapping',
          `Linux runs without DMA remapping on this table (${dmarDisabled.code}), so no device has an IOMMU group`,
        ),
      );
    const model = buildPlatformJson({
      name: platformName(dmarIn ?? ivrsIn, functions.length),
      functions,
      dmar,
      dmarDisabled: dmarDisabled?.code ?? null,
      ivrs: dmar ? null : ivrs,
      hints,
      mcfg,
    });
    findings.push(...model.findings);
    const loaded = loadPlatform(model.json);
    report.platform = model.json;
    if (!loaded.ok) {
      for (const e of loaded.errors.slice(0, 20))
        findings.push(
          finding(
            'error',
            'platform-model-rejected',
            `the platform built from these inputs does not load: ${e.path}: ${e.message}`,
          ),
        );
      report.devices = [];
      report.groups = [];
    } else {
      const platform = loaded.value;
      const groups = formGroups(platform);
      const groupOf = new Map<string, number>();
      for (const g of groups) for (const m of g.members) groupOf.set(m, g.id);
      const kernelGroups = kernelGroupMap(hints, functions);
      report.groups = groups.map((g) => ({
        id: g.id,
        iommu: g.iommu,
        members: g.members,
        reason: g.reason,
        kernelGroup: kernelGroupFor(kernelGroups, g.members),
      }));
      if (kernelGroups.size > 0) findings.push(compareGroups(report.groups, kernelGroups));
      const amd = !dmar && ivrs ? amdRegions(ivrs) : null;
      report.devices = platform.scanOrder.map((bdf) => {
        const fn = platform.functions.get(bdf)!;
        const d: DeviceJsonOut = {
          bdf,
          name: fn.name,
          class: fn.classCode.toString(16).padStart(6, '0'),
          ids:
            fn.vendorId === null
              ? null
              : `${fn.vendorId.toString(16).padStart(4, '0')}:${fn.deviceId!.toString(16).padStart(4, '0')}`,
          kind: fn.kind,
          parent: fn.parent,
          iommu: fn.iommu,
          group: groupOf.get(bdf) ?? null,
          reservedRegions: amd ? amd(platform, bdf) : intelRegions(platform, bdf),
        };
        return d;
      });
    }
  }
  findings.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.offset ?? a.line ?? 0) - (b.offset ?? b.line ?? 0),
  );
  return report;
}

function headerJson(t: TableBytes, h: DmarTable['header']): TableJson {
  return {
    file: t.file,
    signature: h.signature,
    source: t.source,
    revision: h.revision,
    length: h.length,
    checksum: h.checksum,
    checksumValid: h.checksumValid,
    oemId: h.oemId.replace(/\0+$/, ''),
    oemTableId: h.oemTableId.replace(/\0+$/, ''),
    oemRevision: h.oemRevision,
    creatorId: h.creatorId.replace(/\0+$/, ''),
    creatorRevision: h.creatorRevision,
  };
}

function platformName(t: TableBytes | null, n: number): string {
  return t ? `${t.file} and lspci (${n} functions)` : `lspci (${n} functions)`;
}

function scopeJson(topo: PciTopology | null, segment: number, s: DmarDeviceScope): DmarScopeJson {
  const base = {
    type: s.type,
    typeCode: s.typeCode,
    enumerationId: s.enumerationId,
    startBus: s.startBus,
    path: s.path,
    flags: s.flags,
    offset: s.offset,
  };
  if (s.type !== 'endpoint' && s.type !== 'bridge') return { ...base, bdf: null, status: 'not-pci' };
  if (!topo) return { ...base, bdf: scopePathBdf(segment, s), status: 'no-hierarchy' };
  const r = resolveScope(topo, segment, s);
  const status = r.status === 'mismatch' ? 'unmatched' : r.status;
  return { ...base, bdf: r.bdf, status };
}

function mergeHints(all: KernelLogHints[]): KernelLogHints | null {
  if (all.length === 0) return null;
  const first = all[0]!;
  const out: KernelLogHints = { ...first };
  for (const h of all.slice(1)) {
    if (out.e820.length === 0) out.e820 = h.e820;
    out.units = [...out.units, ...h.units];
    out.groups = out.groups.length > 0 ? out.groups : h.groups;
    out.rootBridges = [...out.rootBridges, ...h.rootBridges];
    out.mmconfig = [...out.mmconfig, ...h.mmconfig];
    out.defaultDomain ??= h.defaultDomain;
    out.lazy ??= h.lazy;
  }
  return out;
}

/** The kernel log's DRHD/RMRR lines against the table: a different firmware version shows here. */
function crossCheckLog(hints: KernelLogHints, dmar: DmarTable, file?: string): Finding[] {
  const out: Finding[] = [];
  const tableRmrrs = dmar.structures
    .filter((s) => s.kind === 'rmrr')
    .map((s) => `${hex64(s.base)}-${hex64(s.end)}`);
  const logRmrrs = hints.rmrrs.map((r) => `${hex64(r.base)}-${hex64(r.end)}`);
  const tableDrhds = dmarUnits(dmar).map((u) => hex64(u.drhd.base));
  const logDrhds = hints.drhds.map((d) => hex64(d.base));
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (
    (logDrhds.length > 0 && !same(tableDrhds, logDrhds)) ||
    (logRmrrs.length > 0 && !same(tableRmrrs, logRmrrs))
  )
    out.push(
      finding(
        'info',
        'kernel-log-table-mismatch',
        `the kernel log's DMAR lines (DRHD ${logDrhds.join(', ') || 'none'}; RMRR ${logRmrrs.join(', ') || 'none'}) do not match the table (DRHD ${tableDrhds.join(', ')}; RMRR ${tableRmrrs.join(', ') || 'none'}): the log and the table come from different machines or firmware versions`,
        { file, line: hints.drhds[0]?.line ?? hints.rmrrs[0]?.line },
      ),
    );
  const acpi = hints.tables.find((t) => t.signature === 'DMAR');
  if (
    acpi &&
    (acpi.length !== dmar.header.length || acpi.oemId.trim() !== dmar.header.oemId.replace(/\0/g, '').trim())
  )
    out.push(
      finding(
        'info',
        'kernel-log-table-mismatch',
        `the kernel's "ACPI: DMAR" line says ${acpi.length} bytes from ${acpi.oemId.trim()}, the table given is ${dmar.header.length} bytes from ${dmar.header.oemId.trim()}: not the same table`,
        { file, line: acpi.line },
      ),
    );
  return out;
}

function kernelGroupMap(hints: KernelLogHints | null, functions: LspciFunction[]): Map<string, number> {
  const m = new Map<string, number>();
  if (hints && hints.groups.length > 0) for (const g of hints.groups) m.set(g.bdf, g.group);
  else for (const f of functions) if (f.iommuGroup !== null) m.set(f.bdf, f.iommuGroup);
  return m;
}

function kernelGroupFor(kernel: Map<string, number>, members: string[]): number | null {
  const ids = new Set(members.map((m) => kernel.get(m)));
  if (ids.size !== 1) return null;
  const [id] = ids;
  if (id === undefined) return null;
  const all = [...kernel].filter(([, g]) => g === id).map(([b]) => b);
  return all.length === members.length && all.every((b) => members.includes(b)) ? id : null;
}

function compareGroups(groups: GroupJsonOut[], kernel: Map<string, number>): Finding {
  const ours = new Map<string, number>();
  for (const g of groups) for (const m of g.members) ours.set(m, g.id);
  const diffs: string[] = [];
  const seen = new Set<string>();
  for (const [bdf, k] of kernel) {
    if (seen.has(bdf)) continue;
    const kSet = [...kernel].filter(([, g]) => g === k).map(([b]) => b);
    const o = ours.get(bdf);
    const oSet = o === undefined ? [] : groups.find((g) => g.id === o)!.members.filter((m) => kernel.has(m));
    kSet.forEach((b) => seen.add(b));
    if (kSet.length !== oSet.length || !kSet.every((b) => oSet.includes(b)))
      diffs.push(
        `kernel group ${k} {${kSet.map(shortBdf).join(', ')}} vs here {${oSet.map(shortBdf).join(', ') || 'none'}}`,
      );
  }
  return diffs.length === 0
    ? finding(
        'info',
        'groups-match-kernel',
        `the IOMMU groups formed here partition the devices exactly as the kernel did (${new Set(kernel.values()).size} groups)`,
      )
    : finding(
        'info',
        'groups-differ-from-kernel',
        `the groups formed here differ from the kernel's in ${diffs.length} place(s): ${diffs.slice(0, 6).join('; ')}${diffs.length > 6 ? '; …' : ''}. Common causes: ACS quirks this model lacks, or functions whose header does not set the multifunction bit (lspci does not show it)`,
      );
}

function intelRegions(platform: Platform, bdf: string): DeviceRegionJson[] {
  return reservedRegions(platform, bdf).map((r) => ({
    start: hex64(r.start),
    end: hex64(r.end),
    type: r.type,
    source: r.source,
  }));
}

const MSI_START = 0xfee00000n;
const MSI_END = 0xfeefffffn;
const HT_START = 0xfd_0000_0000n;
const HT_END = 0xff_ffff_ffffn;

/** amd_iommu_get_resv_regions: unity maps (direct), the MSI window, the HyperTransport hole. */
function amdRegions(ivrs: IvrsTable): (platform: Platform, bdf: string) => DeviceRegionJson[] {
  const maps = unityMaps(ivrs);
  const used = ivrs.blocks.filter((b) => b.kind === 'ivhd' && b.used);
  const first = used[0];
  const htIgnore =
    first?.kind === 'ivhd' &&
    (ivrs.ivinfo & 1) !== 0 &&
    first.efr2 !== null &&
    (first.efr2 & (1n << 11n)) !== 0n;
  return (platform, bdf) => {
    const fn = platform.functions.get(bdf)!;
    if (fn.iommu === null) return [];
    const devid = fn.requesterId;
    const out: DeviceRegionJson[] = [];
    for (const m of maps)
      if (
        m.segment === fn.bdf.segment &&
        devid >= m.devidStart &&
        devid <= m.devidEnd &&
        m.addressEnd > m.addressStart
      )
        out.push({
          start: hex64(m.addressStart),
          end: hex64(m.addressEnd - 1n),
          type: 'direct',
          source: `IVMD at 0x${m.offset.toString(16)} (${m.exclusion ? 'exclusion range, mapped read/write' : 'unity map'})`,
        });
    out.push({
      start: hex64(MSI_START),
      end: hex64(MSI_END),
      type: 'msi',
      source: 'interrupt (MSI) address window',
    });
    if (!htIgnore)
      out.push({
        start: hex64(HT_START),
        end: hex64(HT_END),
        type: 'reserved',
        source: 'HyperTransport reserved range',
      });
    return out.sort((a, b) =>
      BigInt(a.start) < BigInt(b.start) ? -1 : BigInt(a.start) > BigInt(b.start) ? 1 : 0,
    );
  };
}
