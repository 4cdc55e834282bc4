// Lint of a decoded IVRS table: the checks Linux's AMD IOMMU driver makes while it parses the table
// (drivers/iommu/amd/init.c: check_ivrs_checksum, init_iommu_from_acpi, get_global_efr,
// check_ioapic_information, init_unity_map_range) and the IVMD rules Xen enforces, each with a code,
// a severity, the byte offset and a message quoting the kernel's text where it prints one. With an
// lspci hierarchy it also reports PCI functions no IOMMU translates; with an e820 map, IVMD ranges that
// are not firmware-reserved memory.
import { hex64, PAGE_SIZE } from './bytes';
import { e820AllOfTypes } from './e820';
import { finding, type Finding } from './findings';
import { covers, ivhdCoverage, unityMaps } from './ivrs-devices';
import { devidBdf, type Ivhd, type Ivmd, type IvrsTable } from './ivrs';
import type { E820Entry } from './kernel-log';
import { shortBdf, type PciTopology } from './pci-topology';

export interface IvrsLintInput {
  table: IvrsTable;
  topology?: PciTopology | null;
  e820?: readonly E820Entry[] | null;
}

const h = (n: number) => `${n.toString(16).padStart(2, '0')}h`;
const hexOff = (n: number) => `0x${n.toString(16)}`;

export function lintIvrs({ table, topology, e820 }: IvrsLintInput): Finding[] {
  const out: Finding[] = [];
  const add = (severity: Finding['severity'], code: string, message: string, offset: number) =>
    out.push(finding(severity, code, message, { offset, table: 'IVRS' }));
  const ivhds = table.blocks.filter((b): b is Ivhd => b.kind === 'ivhd');
  const used = ivhds.filter((b) => b.used);
  if (ivhds.length === 0)
    add(
      'error',
      'ivrs-no-ivhd',
      'the IVRS table has no IVHD block: Linux finds no AMD IOMMU to initialise',
      48,
    );
  else if (used.length === 0)
    add(
      'error',
      'ivrs-no-usable-ivhd',
      `Linux picks the IVHD type of the first IOMMU's last block (get_highest_supported_ivhd_type) and none of that type is usable; put the IVHDs first and use types 10h, 11h or 40h`,
      48,
    );
  const superseded = ivhds.filter((b) => !b.used);
  if (superseded.length > 0 && used.length > 0)
    add(
      'info',
      'ivrs-ivhd-superseded',
      `Linux uses the type ${h(used[0]!.typeCode)} IVHD(s) and ignores ${superseded.length} block(s) of type ${[...new Set(superseded.map((b) => h(b.typeCode)))].join(', ')} that describe the same IOMMU(s) for older OSes; this is normal`,
      superseded[0]!.offset,
    );

  for (const b of used) {
    const who = `IVHD ${h(b.typeCode)} at ${hexOff(b.offset)} (IOMMU ${shortBdf(devidBdf(b.segment, b.devid))})`;
    if (b.base === 0n)
      add(
        'error',
        'ivhd-base-zero',
        `${who} has MMIO base 0: Linux cannot map the IOMMU's registers ("Can not reserve memory region 0-…", "This is a BIOS bug. Please contact your hardware vendor") and AMD-Vi fails. Fill in the IOMMU base address`,
        b.offset + 8,
      );
    else if (b.base % 0x4000n !== 0n)
      add(
        'warning',
        'ivhd-base-unaligned',
        `${who} MMIO base ${hex64(b.base)} is not 16 KiB aligned, as the IOMMU register block requires (AMD IOMMU spec, IOMMU Base Address bits 13:0 are reserved)`,
        b.offset + 8,
      );
    let pending: { offset: number; devid: number } | null = null;
    let hadStart = false;
    for (const e of b.entries) {
      if (e.kind === 'range-start' || e.kind === 'alias-range-start' || e.kind === 'ext-range-start') {
        if (pending)
          add(
            'warning',
            'ivhd-range-unterminated',
            `${who}: the range starting at device ${shortBdf(devidBdf(b.segment, pending.devid))} (entry at ${hexOff(pending.offset)}) has no range-end (04h) before the next range start; Linux ignores it, so those devices get no IOMMU`,
            pending.offset,
          );
        pending = { offset: e.offset, devid: e.devid };
        hadStart = true;
      } else if (e.kind === 'range-end') {
        if (!pending)
          add(
            'error',
            'ivhd-range-end-without-start',
            `${who}: range-end entry for device ${shortBdf(devidBdf(b.segment, e.devid))} with no range start before it: Linux reuses the previous start (${hadStart ? 'the last range' : 'device 0'}), so it maps a range the firmware did not mean. Add the 03h/43h/47h start entry`,
            e.offset,
          );
        else if (e.devid < pending.devid)
          add(
            'warning',
            'ivhd-range-reversed',
            `${who}: range ${shortBdf(devidBdf(b.segment, pending.devid))} to ${shortBdf(devidBdf(b.segment, e.devid))} ends before it starts; Linux covers no device with it`,
            e.offset,
          );
        pending = null;
      } else if (e.kind === 'acpi-hid') {
        if (!e.hid)
          add(
            'warning',
            'ivhd-hid-invalid',
            `${who}: ACPI HID device entry with an empty HID: Linux prints "[Firmware Bug]: Invalid HID." and skips it`,
            e.offset + 4,
          );
        if (e.uidFormat === 0 && (e.uidLength ?? 0) !== 0)
          add(
            'warning',
            'ivhd-uid-length',
            `${who}: ACPI HID device entry says there is no UID (format 0) but gives a UID length of ${e.uidLength}: Linux prints "[Firmware Bug]: Invalid UID length."`,
            e.offset + 21,
          );
      }
    }
    if (pending)
      add(
        'warning',
        'ivhd-range-unterminated',
        `${who}: the range starting at device ${shortBdf(devidBdf(b.segment, pending.devid))} has no range-end (04h) entry; Linux ignores it, so those devices get no IOMMU`,
        pending.offset,
      );
  }

  // get_global_efr: EFR images of the IVHDs in use must agree
  if (table.ivinfo & 1) {
    const withEfr = used.filter((b) => b.efr !== null);
    const first = withEfr[0];
    for (const b of withEfr.slice(1))
      if (b.efr !== first!.efr || b.efr2 !== first!.efr2)
        add(
          'warning',
          'ivhd-efr-inconsistent',
          `"[Firmware Bug]: Found inconsistent EFR/EFR2 ${hex64(b.efr!)},${hex64(b.efr2!)} (global ${hex64(first!.efr!)},${hex64(first!.efr2!)}) on iommu${used.indexOf(b)} (${devidBdf(b.segment, b.devid)})": Linux uses only the features every IOMMU reports. The EFR image must copy each IOMMU's Extended Feature Register`,
          b.offset + 24,
        );
  }

  // check_ioapic_information: the southbridge IOAPIC must be listed
  if (used.length > 0 && !used.some((b) => b.entries.some((e) => e.kind === 'special' && e.variety === 1)))
    add(
      'warning',
      'ivrs-no-ioapic',
      'no IVHD in use lists an IOAPIC (special device entry 48h, variety 1): Linux prints "AMD-Vi: [Firmware Bug]: : No southbridge IOAPIC found" and "AMD-Vi: Disabling interrupt remapping". List every IOAPIC with its handle (APIC id) and PCI requester id',
      used[0]!.offset,
    );

  // IVMDs
  const ivmds = table.blocks.filter((b): b is Ivmd => b.kind === 'ivmd');
  for (const m of ivmds) {
    const range = `[${hex64(m.start)}, +${hex64(m.rangeLength)}]`;
    const who = `IVMD ${h(m.typeCode)} at ${hexOff(m.offset)} ${range}`;
    if (!(m.flags & 0x09))
      add(
        'warning',
        'ivmd-no-effect',
        `${who} sets neither unity (bit 0) nor exclusion (bit 3); Linux ignores it (init_memory_definitions)`,
        m.offset + 1,
      );
    if (m.rangeLength === 0n)
      add(
        'warning',
        'ivmd-zero-length',
        `${who} has length 0: Linux maps nothing for it, and Xen rejects the table ("IVMD: [${m.start.toString(16)}, ${m.start.toString(16)}] is not (entirely) in reserved memory", AMD-Vi disabled). Give the region's length or remove the IVMD`,
        m.offset + 24,
      );
    else if (m.start % PAGE_SIZE !== 0n || m.rangeLength % PAGE_SIZE !== 0n)
      add(
        'warning',
        'ivmd-unaligned',
        `${who} is not page aligned: Linux rounds the start up to the next page (init_unity_map_range: PAGE_ALIGN(range_start)), so the first bytes are not mapped and the end moves. Align start and length to 4 KiB`,
        m.start % PAGE_SIZE !== 0n ? m.offset + 16 : m.offset + 24,
      );
    if (m.typeCode === 0x22 && m.aux < m.devid)
      add(
        'warning',
        'ivmd-range-reversed',
        `${who}: device range ${shortBdf(devidBdf(m.segment, m.devid))} to ${shortBdf(devidBdf(m.segment, m.aux))} ends before it starts; the region applies to no device`,
        m.offset + 6,
      );
    if (e820 && e820.length > 0 && m.rangeLength > 0n && m.flags & 0x01) {
      const endIncl = m.start + m.rangeLength - 1n;
      if (!e820AllOfTypes(e820, m.start, endIncl, ['reserved', 'ACPI NVS', 'ACPI data']))
        add(
          'warning',
          'ivmd-not-reserved',
          `${who} unity-maps memory the e820 map does not reserve (Xen: "IVMD: [${m.start.toString(16)}, ${endIncl.toString(16)}] is not (entirely) in reserved memory"): the OS may allocate it while devices DMA into it. Mark it reserved in the memory map`,
          m.offset + 16,
        );
    }
  }
  const maps = unityMaps(table);
  for (let i = 0; i < maps.length; i++)
    for (let j = 0; j < i; j++) {
      const a = maps[i]!;
      const b = maps[j]!;
      if (a.segment !== b.segment || a.devidEnd < b.devidStart || b.devidEnd < a.devidStart) continue;
      if (a.addressEnd <= b.addressStart || b.addressEnd <= a.addressStart) continue;
      const same = a.addressStart === b.addressStart && a.addressEnd === b.addressEnd;
      const conflict = a.read !== b.read || a.write !== b.write || a.exclusion !== b.exclusion;
      add(
        'warning',
        'ivmd-conflict',
        `IVMD at ${hexOff(a.offset)} ${same ? 'repeats' : 'overlaps'} the IVMD at ${hexOff(b.offset)} for the same devices${conflict ? ' with different flags (unity/read/write/exclusion)' : ''}: the device gets two direct regions over the same memory. Describe each range once`,
        a.offset + 16,
      );
    }
  const exclusions = ivmds.filter((m) => m.flags & 0x08);
  if (exclusions.length > 1)
    add(
      'info',
      'ivmd-exclusion-multiple',
      `${exclusions.length} IVMDs set the exclusion flag; an IOMMU has one exclusion range register, so Linux treats every exclusion range as a read/write unity map instead (since 5.x, "buggy BIOSes might lead to the overwritten exclusion range")`,
      exclusions[1]!.offset + 1,
    );

  // PCI functions no IOMMU translates
  if (topology && used.length > 0) {
    const cov = ivhdCoverage(table);
    const iommuIds = new Set(used.map((b) => devidBdf(b.segment, b.devid)));
    for (const f of topology.functions.values()) {
      if (iommuIds.has(f.bdf)) continue;
      const devid = (f.bus << 8) | (f.dev << 3) | f.fn;
      if (!cov.some((c) => c.ivhd.segment === f.segment && covers(c, devid)))
        add(
          'warning',
          'ivrs-device-not-covered',
          `${shortBdf(f.bdf)} is present but no IVHD in use names it: Linux gives it no IOMMU (no group), and its DMA is blocked by the default device table entry. Add a select or range entry for its requester id ${devid.toString(16).padStart(4, '0')}`,
          used[0]!.offset,
        );
    }
    for (const c of cov)
      for (const e of c.ivhd.entries)
        if (
          (e.kind === 'select' || e.kind === 'ext-select') &&
          !topology.functions.has(devidBdf(c.ivhd.segment, e.devid))
        )
          add(
            'info',
            'ivhd-device-absent',
            `${c.id}: select entry names ${shortBdf(devidBdf(c.ivhd.segment, e.devid))}, which is not in the PCI hierarchy (absent, hidden or hot-pluggable)`,
            e.offset,
          );
  }
  return out;
}
