// Lint of a decoded DMAR table: the checks Linux makes while it parses the table at boot
// (drivers/iommu/intel/dmar.c, drivers/iommu/intel/iommu.c, arch/x86/include/asm/iommu.h), plus the
// VT-d spec rules the kernel relies on, each with a code, a severity, the offending byte offset and a
// message that quotes the kernel's own text where it prints one and says how to fix the table. The PCI
// hierarchy (lspci) and the e820 map (kernel log) are optional: the checks that need them run only when
// they are given. The codes and the kernel function each mirrors are listed in docs/platform-json.md.
import { hex18, hex2, hex64, PAGE_SIZE } from './bytes';
import { resolveScope, scopePathBdf, type DmarDeviceScope } from './dmar-scope';
import { dmarUnits, registrationOrder, scopeFunctions } from './dmar-units';
import { DMAR_TYPE_NAMES, structureLabel, type DmarStructure, type DmarTable, type Rmrr } from './dmar';
import { e820CoveringType } from './e820';
import { finding, type Finding } from './findings';
import type { E820Entry } from './kernel-log';
import { shortBdf, type PciTopology } from './pci-topology';

export interface DmarLintInput {
  table: DmarTable;
  topology?: PciTopology | null;
  e820?: readonly E820Entry[] | null;
}

const hexOff = (n: number) => `0x${n.toString(16)}`;

export function lintDmar({ table, topology, e820 }: DmarLintInput): Finding[] {
  const out: Finding[] = [];
  const add = (severity: Finding['severity'], code: string, message: string, offset: number) =>
    out.push(finding(severity, code, message, { offset, table: 'DMAR' }));

  // parse_dmar_table
  if (table.hostAddressWidthField < 11)
    add(
      'error',
      'dmar-haw-invalid',
      `host address width field is ${table.hostAddressWidthField} (${table.hostAddressWidth} bits), below the 12 bits of a page: Linux prints "Invalid DMAR haw" and ignores the whole table. The field holds the CPU's physical address width minus one (e.g. 0x26 for 39 bits)`,
      36,
    );
  const drhds = table.structures.filter((s) => s.kind === 'drhd');
  if (drhds.length === 0)
    add(
      'error',
      'dmar-no-drhd',
      '[Firmware Bug]: No DRHD structure found in DMAR table: without a remapping hardware unit Linux finds no DMAR devices and runs without an IOMMU; describe each VT-d unit with a DRHD',
      48,
    );

  // VT-d 8.1: structures in type order
  let lastType = -1;
  for (const s of table.structures) {
    if (s.kind === 'unknown') continue;
    if (s.typeCode < lastType)
      add(
        'warning',
        'dmar-struct-order',
        `${structureLabel(s)} (type ${s.typeCode}) comes after a type ${lastType} structure; the VT-d spec (8.1) requires all DRHDs, then RMRRs, ATSRs, RHSAs, ANDDs, SATCs and SIDPs, in that order. Linux does not mind, other OSes and tools may`,
        s.offset,
      );
    lastType = Math.max(lastType, s.typeCode);
  }

  // DRHDs: dmar_validate_one_drhd / alloc_iommu / dmar_find_dmaru / dmar_register_drhd_unit
  const units = dmarUnits(table);
  for (const u of units) {
    const d = u.drhd;
    if (d.base === 0n)
      add(
        'error',
        'dmar-drhd-zero-base',
        `${u.id} (DRHD at ${hexOff(d.offset)}) has register base 0: Linux prints "[Firmware Bug]: Your BIOS is broken; DMAR reported at address 0!" and disables VT-d altogether (dmar_validate_one_drhd). Firmware must fill in the unit's register base (VTBAR)`,
        d.offset + 8,
      );
    else if (d.base % PAGE_SIZE !== 0n)
      add(
        'error',
        'dmar-drhd-unaligned',
        `${u.id} register base ${hex64(d.base)} is not 4 KiB aligned; the VT-d registers start on a page boundary, so Linux would read CAP/ECAP from the wrong place. Fix the Register Base Address`,
        d.offset + 8,
      );
    for (const dup of u.duplicates)
      add(
        'warning',
        'dmar-drhd-duplicate',
        `DRHD at ${hexOff(dup.offset)} repeats ${u.id} (segment ${d.segment}, base ${hex64(d.base)}); Linux keeps the first (dmar_find_dmaru) and ignores this one with its device scope. Remove the duplicate or merge the scopes`,
        dup.offset,
      );
    const pciScopes = d.scopes.filter((s) => s.type === 'endpoint' || s.type === 'bridge');
    if (d.includeAll && pciScopes.length > 0)
      add(
        'warning',
        'dmar-include-all-scope',
        `${u.id} is INCLUDE_PCI_ALL but its device scope lists ${pciScopes.length} PCI device(s); such a unit may only list IOAPIC, HPET and ACPI namespace devices (VT-d 8.3). Linux skips the PCI entries of INCLUDE_PCI_ALL units (dmar_pci_bus_add_dev)`,
        pciScopes[0]!.offset,
      );
    if (!d.includeAll && d.scopes.length === 0)
      add(
        'warning',
        'dmar-drhd-empty-scope',
        `${u.id} (DRHD at ${hexOff(d.offset)}) is neither INCLUDE_PCI_ALL nor lists any device: it translates nothing. Set INCLUDE_PCI_ALL (flags bit 0) or list its devices`,
        d.offset + 4,
      );
  }
  const bySegment = new Map<number, typeof units>();
  for (const u of units) bySegment.set(u.drhd.segment, [...(bySegment.get(u.drhd.segment) ?? []), u]);
  for (const [segment, us] of bySegment) {
    const all = us.filter((u) => u.drhd.includeAll);
    for (const extra of all.slice(1))
      add(
        'error',
        'dmar-include-all-duplicate',
        `${extra.id} is a second INCLUDE_PCI_ALL unit on segment ${segment} (after ${all[0]!.id}); Linux matches every unlisted function to the first one, so ${extra.id} translates nothing. Only one unit per segment may set INCLUDE_PCI_ALL`,
        extra.drhd.offset + 4,
      );
    const first = all[0];
    if (first) {
      const later = us.filter((u) => !u.drhd.includeAll && u.drhd.offset > first.drhd.offset);
      if (later.length > 0)
        add(
          'warning',
          'dmar-include-all-not-last',
          `${first.id}, the INCLUDE_PCI_ALL unit of segment ${segment}, is listed before ${later.map((u) => u.id).join(', ')}; the VT-d spec (8.3) requires it to come after every other DRHD of its segment. Linux reorders units itself, but firmware and other OSes that take the first match would send devices to the wrong unit. Move it last`,
          first.drhd.offset,
        );
    }
  }

  // RMRRs: rmrr_sanity_check / arch_rmrr_sanity_check
  const rmrrs = table.structures.filter((s): s is Rmrr => s.kind === 'rmrr');
  const haveDrhdSeg = new Set(units.map((u) => u.drhd.segment));
  for (const r of rmrrs) {
    const range = `[${hex18(r.base)}-${hex18(r.end)}]`;
    const bad = `"[Firmware Bug]: Your BIOS is broken; bad RMRR ${range}"`;
    if (r.end < r.base)
      add(
        'error',
        'dmar-rmrr-end-before-start',
        `RMRR ${range} ends before it starts: Linux prints ${bad}, taints the kernel and still builds a region from it, whose length wraps around. The End Address is the last byte of the region (inclusive), at or above the Base Address`,
        r.offset + 16,
      );
    else if (r.end === r.base || r.base % PAGE_SIZE !== 0n || (r.end + 1n) % PAGE_SIZE !== 0n)
      add(
        'warning',
        'dmar-rmrr-unaligned',
        `RMRR ${range} is not page aligned (the base must end in 000 and the end in fff): Linux prints ${bad}, taints the kernel and maps the whole pages around it anyway. Round the base down and the end up to 4 KiB`,
        r.base % PAGE_SIZE !== 0n ? r.offset + 8 : r.offset + 16,
      );
    else if (e820 && e820.length > 0) {
      const type = e820CoveringType(e820, r.base, r.end);
      if (type !== 'reserved' && type !== 'ACPI NVS')
        add(
          'warning',
          'dmar-rmrr-not-reserved',
          `"[Firmware Bug]: No firmware reserved region can cover this RMRR ${range}, contact BIOS vendor for fixes", then ${bad}: the e820 map ${type === null ? 'does not cover all of it' : `ends the coverage with a "${type}" range`}, so the OS may hand the memory to something else while devices still DMA into it. Mark the range reserved in the e820/UEFI memory map`,
          r.offset + 8,
        );
    }
    if (r.scopes.length === 0)
      add(
        'warning',
        'dmar-rmrr-no-scope',
        `RMRR ${range} names no device; the region applies to nothing. Every RMRR lists the devices that need it (VT-d 8.4)`,
        r.offset,
      );
    for (const s of r.scopes)
      if (s.type !== 'endpoint' && s.type !== 'bridge')
        add(
          'warning',
          'dmar-rmrr-scope-type',
          `RMRR ${range} lists a ${s.type} device scope; an RMRR applies to PCI endpoints or bridges only, so Linux never matches this entry`,
          s.offset,
        );
    if (!haveDrhdSeg.has(r.segment))
      add(
        'warning',
        'dmar-rmrr-segment',
        `RMRR ${range} is on segment ${r.segment}, which no DRHD serves; no device there is translated, so the RMRR has no effect`,
        r.offset + 6,
      );
  }
  for (let i = 0; i < rmrrs.length; i++)
    for (let j = 0; j < i; j++) {
      const a = rmrrs[i]!;
      const b = rmrrs[j]!;
      if (a.end < a.base || b.end < b.base || a.segment !== b.segment) continue;
      if (a.base <= b.end && b.base <= a.end) {
        const same = a.base === b.base && a.end === b.end;
        add(
          'warning',
          'dmar-rmrr-overlap',
          same
            ? `RMRR at ${hexOff(a.offset)} repeats the range of the RMRR at ${hexOff(b.offset)} [${hex64(a.base)}-${hex64(a.end)}]; list the devices in one RMRR instead`
            : `RMRR [${hex64(a.base)}-${hex64(a.end)}] at ${hexOff(a.offset)} overlaps RMRR [${hex64(b.base)}-${hex64(b.end)}] at ${hexOff(b.offset)}: the same memory is reserved twice for different device lists, and a device in both gets overlapping identity maps. Merge or split the ranges so they do not overlap`,
          a.offset + 8,
        );
      }
    }

  // ANDD / RHSA / namespace scopes: dmar_parse_one_andd, dmar_parse_one_rhsa, dmar_acpi_insert_dev_scope
  const andds = table.structures.filter((s) => s.kind === 'andd');
  const nsScopes = units.flatMap((u) => u.drhd.scopes.filter((s) => s.type === 'acpi-namespace'));
  for (const a of andds) {
    if (a.kind !== 'andd') continue;
    if (!a.nameTerminated)
      add(
        'error',
        'dmar-andd-unterminated',
        `ANDD ${a.deviceNumber} object name "${a.name}" is not NUL-terminated within its structure: Linux prints "[Firmware Bug]: Your BIOS is broken; ANDD object name is not NUL-terminated" and the DMAR parse fails ("Parse DMAR table failure."), so there is no DMA remapping. End the name with a 0 byte inside the structure's Length`,
        a.offset + 8,
      );
    if (!nsScopes.some((s) => s.enumerationId === a.deviceNumber))
      add(
        'warning',
        'dmar-andd-no-scope',
        `ANDD ${a.deviceNumber} (${a.name}) is named by no DRHD's ACPI namespace device scope: Linux prints "No IOMMU scope found for ANDD enumeration ID ${a.deviceNumber} (${a.name})" and the device gets no IOMMU. Add a type 5 device scope with enumeration ID ${a.deviceNumber} to the DRHD that translates it`,
        a.offset + 7,
      );
  }
  for (const s of nsScopes)
    if (!andds.some((a) => a.kind === 'andd' && a.deviceNumber === s.enumerationId))
      add(
        'warning',
        'dmar-namespace-no-andd',
        `an ACPI namespace device scope uses enumeration ID ${s.enumerationId}, but no ANDD structure has that device number; the scope names nothing`,
        s.offset + 4,
      );
  for (const s of table.structures)
    if (s.kind === 'rhsa' && !units.some((u) => u.drhd.base === s.base))
      add(
        'warning',
        'dmar-rhsa-no-drhd',
        `"[Firmware Bug]: Your BIOS is broken; RHSA refers to non-existent DMAR unit at ${s.base.toString(16)}": no DRHD has that register base, so the NUMA proximity is lost. Use the DRHD's Register Base Address`,
        s.offset + 8,
      );
  for (const s of table.structures) {
    if (s.kind === 'atsr') {
      if (s.allPorts && s.scopes.length > 0)
        add(
          'warning',
          'dmar-atsr-scope',
          `ATSR for segment ${s.segment} sets ALL_PORTS and also lists ${s.scopes.length} device(s); with ALL_PORTS the list must be empty (VT-d 8.5)`,
          s.offset + 4,
        );
      for (const sc of s.scopes)
        if (sc.type !== 'bridge')
          add(
            'warning',
            'dmar-atsr-scope',
            `ATSR for segment ${s.segment} lists a ${sc.type} device; ATSR scopes name root ports (bridge entries)`,
            sc.offset,
          );
    }
    if (s.kind === 'satc')
      for (const sc of s.scopes)
        if (sc.type !== 'endpoint')
          add(
            'warning',
            'dmar-satc-scope',
            `SATC for segment ${s.segment} lists a ${sc.type} device; SATC scopes name root-complex integrated endpoints`,
            sc.offset,
          );
  }
  if (table.flags & 1 && !units.some((u) => u.drhd.scopes.some((s) => s.type === 'ioapic')))
    add(
      'warning',
      'dmar-no-ioapic-scope',
      'the table sets INTR_REMAP but no DRHD lists an IOAPIC: Linux cannot tie the IOAPICs to a remapping unit ("[Firmware Bug]: ioapic N has no mapping iommu, interrupt remapping will be disabled") and runs without interrupt remapping (and without x2APIC). List each IOAPIC in the device scope of the unit that remaps it',
      37,
    );

  // Scopes against the PCI hierarchy: dmar_insert_dev_scope / dmar_match_pci_path
  if (topology) {
    const scoped: { s: DmarDeviceScope; owner: DmarStructure; segment: number }[] = [];
    for (const s of table.structures)
      if (
        s.kind === 'drhd' ||
        s.kind === 'rmrr' ||
        s.kind === 'atsr' ||
        s.kind === 'satc' ||
        s.kind === 'sidp'
      )
        for (const sc of s.scopes)
          if (sc.type === 'endpoint' || sc.type === 'bridge')
            scoped.push({ s: sc, owner: s, segment: s.segment });
    for (const { s, owner, segment } of scoped) {
      if (owner.kind === 'drhd' && owner.includeAll) continue;
      const label = `${DMAR_TYPE_NAMES[owner.typeCode]} at ${hexOff(owner.offset)}`;
      const r = resolveScope(topology, segment, s);
      const named =
        r.bdf ??
        scopePathBdf(segment, s) ??
        `bus ${hex2(s.startBus)} path ${s.path.map((h) => `${hex2(h.device)}.${h.function}`).join('/')}`;
      if (r.status === 'absent')
        add(
          'warning',
          'dmar-scope-absent',
          `${label}: the ${s.type} scope names ${shortBdf(named)}, which is not in the PCI hierarchy (${r.why}); the entry has no effect. Remove it, or fix its start bus and path (the path starts at the root bus and has one device/function hop per bridge level)`,
          s.offset,
        );
      else if (r.status === 'workaround')
        add(
          'warning',
          'dmar-scope-broken-path',
          `${label}: the scope names ${shortBdf(r.bdf)} by its own bus instead of a path from the root bus; Linux matches it only through a workaround and prints "[Firmware Bug]: RMRR entry for device ${hex2(s.startBus)}:${hex2(s.path[0]!.device)}.${s.path[0]!.function} is broken - applying workaround". Write the path from the root bus, one hop per bridge`,
          s.offset + 5,
        );
      else if (r.status === 'mismatch')
        add(
          'warning',
          'dmar-scope-unmatched',
          `${label}: the scope path leads to ${shortBdf(r.bdf)}, but ${r.why}, so Linux never matches it (dmar_match_pci_path); the entry has no effect. Start the path at the root bus with one hop per level`,
          s.offset + 5,
        );
      if (r.status === 'resolved' || r.status === 'workaround' || r.status === 'mismatch') {
        const f = topology.functions.get(r.bdf)!;
        const isBridgeClass = f.classCode !== null && f.classCode >> 16 === 0x06;
        if (
          (s.type === 'endpoint' && f.isBridge) ||
          (s.type === 'bridge' && !f.isBridge && f.classCode !== null && !isBridgeClass)
        )
          add(
            'error',
            'dmar-scope-type-mismatch',
            `${label}: ${shortBdf(r.bdf)} is listed as a PCI ${s.type} but is ${f.isBridge ? 'a bridge' : 'not a bridge'}: Linux prints "Device scope type does not match for ${r.bdf}" and the DMAR device scope setup fails, which disables VT-d (intel_iommu_init → dmar_dev_scope_init). Use type ${f.isBridge ? 2 : 1}`,
            s.offset,
          );
      }
    }
    // a function in two units' scopes: the first unit in registration order wins
    const ordered = registrationOrder(units).filter((u) => !u.drhd.includeAll);
    const owner = new Map<string, string>();
    for (const u of ordered)
      for (const f of scopeFunctions(topology, u)) {
        const prev = owner.get(f.bdf);
        if (prev && prev !== u.id)
          add(
            'warning',
            'dmar-scope-duplicate',
            `${shortBdf(f.bdf)} is in the device scope of both ${prev} and ${u.id}; Linux uses ${prev} (the later DRHD in the table registers first) and ignores the other entry. A device belongs to one remapping unit`,
            u.drhd.scopes.find((s) => resolveScope(topology, u.drhd.segment, s).bdf === f.bdf)?.offset ??
              u.drhd.offset,
          );
        else owner.set(f.bdf, u.id);
      }
  }
  return out;
}
