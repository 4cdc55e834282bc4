// DMAR device scope entries (Intel VT-d spec, 8.3.1): u8 type, u8 length, u8 flags, u8 reserved,
// u8 enumeration id, u8 start bus, then (device, function) byte pairs, one per hop from the start
// bus. decodeScopes reads the entries of one remapping structure with bounds checks; resolveScope
// turns a PCI path into a segment:bus:dev.fn through the PCI hierarchy, the way Linux matches it
// (drivers/iommu/intel/dmar.c dmar_match_pci_path): the start bus must be the device's root bus and
// the path must have one hop per level; a one-hop path that names the device's own bus directly
// matches only through the kernel's workaround, which prints
//   "[Firmware Bug]: RMRR entry for device %02x:%02x.%x is broken - applying workaround".
import { ByteReader, hex2 } from './bytes';
import { finding, type Finding } from './findings';
import type { FieldLog } from './fields';
import { bdfText, type PciTopology } from './pci-topology';

export type DmarScopeType = 'endpoint' | 'bridge' | 'ioapic' | 'hpet' | 'acpi-namespace' | 'unknown';

/** ACPI_DMAR_SCOPE_TYPE_*: 1 endpoint, 2 bridge, 3 IOAPIC, 4 HPET, 5 ACPI namespace device. */
export const SCOPE_TYPES: Record<number, DmarScopeType> = {
  1: 'endpoint',
  2: 'bridge',
  3: 'ioapic',
  4: 'hpet',
  5: 'acpi-namespace',
};

/** Device scope flags (VT-d 4.1, EDK2 EFI_ACPI_DEVICE_SCOPE_*), bit by bit. */
export const SCOPE_FLAG_NAMES = [
  'REQ_WO_PASID_NESTED_NOTALLOWED',
  'REQ_WO_PASID_PWSNP_NOTALLOWED',
  'REQ_WO_PASID_PGSNP_NOTALLOWED',
  'ATC_HARDENED',
  'ATC_REQUIRED',
] as const;

export interface PciHop {
  device: number;
  function: number;
}

export interface DmarDeviceScope {
  /** offset of the entry in the table */
  offset: number;
  type: DmarScopeType;
  typeCode: number;
  length: number;
  flags: number;
  reserved: number;
  enumerationId: number;
  startBus: number;
  path: PciHop[];
}

export interface ScopeDecode {
  scopes: DmarDeviceScope[];
  findings: Finding[];
}

/** Reads the device scope entries in [start, end) of the table. */
export function decodeScopes(
  r: ByteReader,
  start: number,
  end: number,
  owner: string,
  fields: FieldLog,
): ScopeDecode {
  const scopes: DmarDeviceScope[] = [];
  const findings: Finding[] = [];
  const at = (offset: number) => ({ offset, table: 'DMAR' });
  let p = start;
  while (p < end) {
    if (p + 2 > end) {
      findings.push(
        finding(
          'error',
          'dmar-scope-truncated',
          `${owner}: ${end - p} stray byte(s) at the end where a device scope entry should start; the structure's Length does not match its device scope entries`,
          at(p),
        ),
      );
      break;
    }
    const typeCode = r.u8(p);
    const length = r.u8(p + 1);
    if (length < 6) {
      findings.push(
        finding(
          'error',
          'dmar-scope-length',
          `${owner}: device scope entry with length ${length}; an entry is at least 6 bytes (plus 2 per path hop). Linux steps through scopes by this length (dmar_alloc_dev_scope), so a zero length hangs the boot and a short one misreads the rest; fix the entry's Length`,
          at(p + 1),
        ),
      );
      break;
    }
    if (p + length > end) {
      findings.push(
        finding(
          'error',
          'dmar-scope-truncated',
          `${owner}: device scope entry of ${length} bytes runs past the end of its structure (${end - p} bytes left); fix the entry's or the structure's Length`,
          at(p + 1),
        ),
      );
      break;
    }
    if ((length - 6) % 2 !== 0)
      findings.push(
        finding(
          'warning',
          'dmar-scope-odd-path',
          `${owner}: device scope entry length ${length} leaves an odd byte after the 6-byte header; the path is (device, function) pairs, so the length should be 6 + 2 × hops. Linux ignores the odd byte`,
          at(p + 1),
        ),
      );
    const type = SCOPE_TYPES[typeCode] ?? 'unknown';
    fields.push(p, 1, 'Device Scope Type', typeCode);
    fields.push(p + 1, 1, 'Entry Length', length);
    fields.push(p + 2, 1, 'Flags', r.u8(p + 2));
    fields.push(p + 3, 1, 'Reserved', r.u8(p + 3));
    fields.push(p + 4, 1, 'Enumeration ID', r.u8(p + 4));
    fields.push(p + 5, 1, 'PCI Bus Number', r.u8(p + 5));
    const path: PciHop[] = [];
    for (let q = p + 6; q + 2 <= p + length; q += 2) {
      path.push({ device: r.u8(q), function: r.u8(q + 1) });
      fields.push(q, 2, 'PCI Path', [r.u8(q), r.u8(q + 1)]);
    }
    if (type === 'unknown')
      findings.push(
        finding(
          'warning',
          'dmar-scope-unsupported',
          `${owner}: device scope type ${typeCode} is not defined (1 endpoint, 2 bridge, 3 IOAPIC, 4 HPET, 5 ACPI namespace); Linux prints "Unsupported device scope" and skips it`,
          at(p),
        ),
      );
    if (path.length === 0)
      findings.push(
        finding(
          'error',
          'dmar-scope-no-path',
          `${owner}: device scope entry has no PCI path; every entry names at least one (device, function) hop from its start bus`,
          at(p),
        ),
      );
    for (const [i, hop] of path.entries())
      if (hop.device > 0x1f || hop.function > 7)
        findings.push(
          finding(
            'error',
            'dmar-scope-bad-hop',
            `${owner}: path hop ${i} is device ${hex2(hop.device)} function ${hex2(hop.function)}; a PCI device number is 00-1f and a function 0-7`,
            at(p + 6 + 2 * i),
          ),
        );
    scopes.push({
      offset: p,
      type,
      typeCode,
      length,
      flags: r.u8(p + 2),
      reserved: r.u8(p + 3),
      enumerationId: r.u8(p + 4),
      startBus: r.u8(p + 5),
      path,
    });
    p += length;
  }
  return { scopes, findings };
}

export type ScopeResolution =
  /** the path leads to a present function and Linux matches it */
  | { status: 'resolved'; bdf: string }
  /** Linux matches it only through its "RMRR entry ... is broken - applying workaround" fallback */
  | { status: 'workaround'; bdf: string }
  /** the path leads to a present function but Linux never matches it (start bus or depth wrong) */
  | { status: 'mismatch'; bdf: string; why: string }
  /** a bridge on the way or the function itself is absent */
  | { status: 'absent'; bdf: string | null; why: string }
  /** a hop is out of range, or the path is empty */
  | { status: 'invalid'; bdf: null; why: string };

/** Where a scope path leads (no hierarchy: the bdf the path names when it has one hop). */
export function scopePathBdf(segment: number, scope: DmarDeviceScope): string | null {
  if (scope.path.length !== 1) return null;
  const hop = scope.path[0]!;
  if (hop.device > 0x1f || hop.function > 7) return null;
  return bdfText(segment, scope.startBus, hop.device, hop.function);
}

/** Resolves a PCI device scope (endpoint or bridge) through the hierarchy. */
export function resolveScope(topo: PciTopology, segment: number, scope: DmarDeviceScope): ScopeResolution {
  if (scope.path.length === 0) return { status: 'invalid', bdf: null, why: 'the path is empty' };
  let bus = scope.startBus;
  for (let i = 0; i < scope.path.length; i++) {
    const hop = scope.path[i]!;
    if (hop.device > 0x1f || hop.function > 7)
      return { status: 'invalid', bdf: null, why: `hop ${i} is not a valid device/function` };
    const here = bdfText(segment, bus, hop.device, hop.function);
    const f = topo.functions.get(here);
    if (i === scope.path.length - 1) {
      if (!f) return { status: 'absent', bdf: here, why: `no function ${here} is present` };
      const fromRoot = topo.pathFromRoot(f);
      const strict =
        fromRoot.rootBus === scope.startBus &&
        fromRoot.path.length === scope.path.length &&
        fromRoot.path.every(
          (h, k) => h.device === scope.path[k]!.device && h.function === scope.path[k]!.function,
        );
      if (strict) return { status: 'resolved', bdf: here };
      if (scope.path.length === 1) return { status: 'workaround', bdf: here };
      return {
        status: 'mismatch',
        bdf: here,
        why: `${here} sits ${fromRoot.path.length} level(s) below root bus ${hex2(fromRoot.rootBus)}, but the path starts at bus ${hex2(scope.startBus)} with ${scope.path.length} hop(s)`,
      };
    }
    if (!f) return { status: 'absent', bdf: null, why: `bridge ${here} (hop ${i}) is not present` };
    if (!f.isBridge || f.secondary === null)
      return { status: 'absent', bdf: null, why: `hop ${i}, ${here}, is not a bridge` };
    bus = f.secondary;
  }
  return { status: 'invalid', bdf: null, why: 'unreachable' };
}
