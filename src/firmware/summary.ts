// The readable form of a platform report (`iommu-lab platform` without --json): the tables read, the
// remapping units with their device scopes, the reserved regions, the IOMMU groups with the reason each
// formed, the devices that have firmware-reserved regions, and the findings, errors first. Pure.
import { countBySeverity, type Finding } from './findings';
import { DMAR_FLAG_NAMES, flagNames } from './dmar';
import { shortBdf } from './pci-topology';
import type { DmarScopeJson, IvhdEntryJson, PlatformReport } from './report';

const pad = (s: string, n: number) => s.padEnd(n);

function scopeText(s: DmarScopeJson): string {
  if (s.type === 'ioapic' || s.type === 'hpet')
    return `${s.type.toUpperCase()} ${s.enumerationId} (${s.startBus.toString(16).padStart(2, '0')}:${s.path.map((h) => `${h.device.toString(16).padStart(2, '0')}.${h.function}`).join('/')})`;
  if (s.type === 'acpi-namespace') return `ACPI device ${s.enumerationId}`;
  const where = s.bdf
    ? shortBdf(s.bdf)
    : `bus ${s.startBus.toString(16)} path ${s.path.map((h) => `${h.device.toString(16)}.${h.function}`).join('/')}`;
  const status = s.status === 'resolved' || s.status === 'no-hierarchy' ? '' : ` [${s.status}]`;
  return `${where} (${s.type})${status}`;
}

function entryText(e: IvhdEntryJson): string {
  switch (e.type) {
    case 'all':
      return 'all devices';
    case 'select':
    case 'ext-select':
      return shortBdf(e.bdf);
    case 'range-start':
    case 'ext-range-start':
      return `${shortBdf(e.bdf)}…`;
    case 'alias-range-start':
      return `${shortBdf(e.bdf)}… as ${shortBdf(e.aliasTo!)}`;
    case 'range-end':
      return `…${shortBdf(e.bdf)}`;
    case 'alias-select':
      return `${shortBdf(e.bdf)} as ${shortBdf(e.aliasTo!)}`;
    case 'special':
      return `${e.variety === 'ioapic' ? 'IOAPIC' : e.variety === 'hpet' ? 'HPET' : 'special'} ${e.handle} at ${shortBdf(e.source!)}`;
    case 'acpi-hid':
      return `${e.hid}${e.uid ? ` (${e.uid})` : ''} at ${shortBdf(e.bdf)}`;
    default:
      return '';
  }
}

function findingLine(f: Finding): string {
  const where: string[] = [];
  if (f.file) where.push(f.file);
  if (f.offset !== null) where.push(`${f.table ?? 'table'}+0x${f.offset.toString(16)}`);
  if (f.line !== undefined) where.push(`line ${f.line}`);
  return `  ${pad(f.severity, 8)} ${f.code}${where.length ? ` (${where.join(', ')})` : ''}\n           ${f.message}`;
}

export function summarize(r: PlatformReport): string {
  const out: string[] = [];
  out.push(
    `Inputs: ${r.inputs.map((i) => `${i.file} (${i.kind}${i.tables ? `: ${i.tables.join(', ')}` : ''})`).join(', ')}`,
  );
  for (const t of r.tables) {
    const extra =
      t.signature === 'DMAR'
        ? `, host address width ${t.hostAddressWidth}, flags 0x${(t.flags ?? 0).toString(16).padStart(2, '0')}${t.flags ? ` (${flagNames(t.flags, DMAR_FLAG_NAMES).join(', ')})` : ''}`
        : t.signature === 'IVRS'
          ? `, IVinfo 0x${(t.ivinfo ?? 0).toString(16).padStart(8, '0')}, IVHD type used ${t.ivhdType === null || t.ivhdType === undefined ? 'none' : `${t.ivhdType.toString(16)}h`}`
          : '';
    out.push(
      `${t.signature} rev ${t.revision}, ${t.length} bytes, ${t.oemId.trim()} ${t.oemTableId.trim()}, checksum ${t.checksumValid ? 'valid' : 'WRONG'}${extra}`,
    );
  }
  out.push('');
  out.push(`Remapping units (${r.units.length})`);
  for (const u of r.units) {
    if (u.kind === 'drhd') {
      const scope = u.includeAll ? ['INCLUDE_PCI_ALL', ...u.scope.map(scopeText)] : u.scope.map(scopeText);
      out.push(
        `  ${pad(u.id, 6)} DRHD  segment ${u.segment}  base ${pad(u.base, 12)} flags 0x${u.flags.toString(16).padStart(2, '0')}  ${scope.join(', ') || '(empty scope)'}`,
      );
    } else {
      const items = u.scope.map(entryText).filter((x) => x !== '');
      out.push(
        `  ${pad(u.id ?? '-', 6)} IVHD ${u.ivhdType.toString(16)}h${u.used ? '' : ' (not used by Linux)'}  segment ${u.segment}  base ${u.base}  IOMMU ${shortBdf(u.deviceId)}  ${items.join(', ')}`,
      );
    }
  }
  out.push('');
  out.push(`Reserved regions (${r.reservedRegions.length})`);
  for (const g of r.reservedRegions) {
    if (g.kind === 'rmrr')
      out.push(
        `  RMRR ${g.index}  ${g.start}-${g.end}  segment ${g.segment}  ${g.scope.map(scopeText).join(', ')}`,
      );
    else {
      const scope =
        g.scope === 'all'
          ? 'all devices'
          : g.scope
              .map((s) =>
                s.first === s.last ? shortBdf(s.first) : `${shortBdf(s.first)}-${shortBdf(s.last)}`,
              )
              .join(', ');
      const kind = [g.unity && 'unity', g.read && 'R', g.write && 'W', g.exclusion && 'exclusion']
        .filter(Boolean)
        .join(' ');
      out.push(`  IVMD ${g.ivmdType.toString(16)}h  ${g.start}-${g.end ?? '(empty)'}  ${kind}  ${scope}`);
    }
  }
  if (r.groups) {
    out.push('');
    out.push(`IOMMU groups (${r.groups.length})`);
    for (const g of r.groups)
      out.push(
        `  ${String(g.id).padStart(3)}  ${pad(g.iommu, 6)} ${g.members.map(shortBdf).join(' ')}\n       ${g.reason}`,
      );
    const ungrouped = (r.devices ?? []).filter((d) => d.group === null);
    if (ungrouped.length > 0) out.push(`  no IOMMU: ${ungrouped.map((d) => shortBdf(d.bdf)).join(' ')}`);
  } else out.push('', 'IOMMU groups: give lspci -vvv output to build the PCI hierarchy and the groups');
  if (r.devices) {
    const withRegions = r.devices.filter((d) => d.reservedRegions.some((x) => x.type !== 'msi'));
    out.push('');
    out.push(
      `Devices with firmware-reserved regions (${withRegions.length}; every translated device also has the MSI window 0xfee00000-0xfeefffff)`,
    );
    for (const d of withRegions)
      for (const x of d.reservedRegions.filter((y) => y.type !== 'msi'))
        out.push(`  ${pad(shortBdf(d.bdf), 8)} ${x.start}-${x.end}  ${pad(x.type, 16)} ${x.source}`);
  }
  const c = countBySeverity(r.findings);
  out.push('');
  out.push(`Findings: ${c.error} error(s), ${c.warning} warning(s), ${c.info} note(s)`);
  for (const f of r.findings) out.push(findingLine(f));
  return out.join('\n');
}
