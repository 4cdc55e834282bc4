// The `iommu-lab platform --json` report: the stable contract documented in docs/platform-json.md.
// Plain JSON (no bigint): 64-bit values are "0x…" strings, ranges are inclusive as in the tables.
import type { PlatformJson } from '../engine/platform/index';
import type { Finding } from './findings';

export const REPORT_FORMAT = 'iommu-lab/platform-report';
export const REPORT_VERSION = 1;

export type InputKindJson = 'acpi-binary' | 'acpidump' | 'iasl-dsl' | 'lspci' | 'kernel-log' | 'unknown';

export interface InputJson {
  file: string;
  kind: InputKindJson;
  /** ACPI tables found in it (signatures) */
  tables?: string[];
}

export interface TableJson {
  file: string;
  signature: string;
  source: 'binary' | 'acpidump' | 'iasl-dsl';
  revision: number;
  length: number;
  checksum: number;
  checksumValid: boolean;
  oemId: string;
  oemTableId: string;
  oemRevision: number;
  creatorId: string;
  creatorRevision: number;
  /** DMAR: host address width in bits (field + 1) */
  hostAddressWidth?: number;
  /** DMAR: flags byte */
  flags?: number;
  /** IVRS: IVinfo */
  ivinfo?: number;
  /** IVRS: the IVHD type Linux uses */
  ivhdType?: number | null;
}

export type ScopeStatus =
  'resolved' | 'workaround' | 'unmatched' | 'absent' | 'invalid' | 'not-pci' | 'no-hierarchy';

export interface DmarScopeJson {
  type: 'endpoint' | 'bridge' | 'ioapic' | 'hpet' | 'acpi-namespace' | 'unknown';
  typeCode: number;
  enumerationId: number;
  startBus: number;
  path: { device: number; function: number }[];
  flags: number;
  /** "SSSS:BB:DD.F" the path leads to (one-hop paths without a hierarchy too), or null */
  bdf: string | null;
  status: ScopeStatus;
  offset: number;
}

export interface IvhdEntryJson {
  type: string;
  typeCode: number;
  offset: number;
  setting: number;
  /** the device id as "SSSS:BB:DD.F" */
  bdf: string;
  aliasTo?: string;
  ext?: number;
  handle?: number;
  variety?: 'ioapic' | 'hpet' | number;
  source?: string;
  hid?: string;
  cid?: string;
  uidFormat?: number;
  uid?: string;
}

export interface DrhdUnitJson {
  kind: 'drhd';
  id: string;
  segment: number;
  base: string;
  flags: number;
  includeAll: boolean;
  size: number;
  offset: number;
  scope: DmarScopeJson[];
}

export interface IvhdUnitJson {
  kind: 'ivhd';
  /** "ivhd0" for the IVHDs Linux uses, null for the others */
  id: string | null;
  ivhdType: number;
  used: boolean;
  segment: number;
  base: string;
  flags: number;
  includeAll: boolean;
  deviceId: string;
  capabilityOffset: number;
  info: number;
  attributes: number;
  efr: string | null;
  efr2: string | null;
  offset: number;
  scope: IvhdEntryJson[];
}

export type UnitJson = DrhdUnitJson | IvhdUnitJson;

export interface RmrrRegionJson {
  kind: 'rmrr';
  index: number;
  segment: number;
  start: string;
  /** inclusive, as in the table */
  end: string;
  offset: number;
  scope: DmarScopeJson[];
}

export interface IvmdRegionJson {
  kind: 'ivmd';
  ivmdType: number;
  flags: number;
  unity: boolean;
  read: boolean;
  write: boolean;
  exclusion: boolean;
  segment: number;
  start: string;
  /** inclusive (start + length - 1); null when the length is 0 */
  end: string | null;
  length: string;
  offset: number;
  /** the device ids the IVMD applies to ("all": type 20h) */
  scope: 'all' | { first: string; last: string }[];
}

export type RegionJson = RmrrRegionJson | IvmdRegionJson;

export interface DeviceRegionJson {
  start: string;
  end: string;
  type: 'direct' | 'direct-relaxable' | 'reserved' | 'msi' | 'sw-msi';
  source: string;
}

export interface DeviceJsonOut {
  bdf: string;
  name: string;
  class: string;
  ids: string | null;
  kind: string;
  parent: string | null;
  iommu: string | null;
  group: number | null;
  reservedRegions: DeviceRegionJson[];
}

export interface GroupJsonOut {
  id: number;
  iommu: string;
  members: string[];
  reason: string;
  /** the kernel's number for the same set of functions, when a log or lspci gives it */
  kernelGroup: number | null;
}

export interface PlatformReport {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  inputs: InputJson[];
  tables: TableJson[];
  units: UnitJson[];
  reservedRegions: RegionJson[];
  /** present when the PCI hierarchy is known (lspci given) */
  devices?: DeviceJsonOut[];
  groups?: GroupJsonOut[];
  findings: Finding[];
  /** the iommu-lab/platform description built (docs/platform-format.md), null without lspci */
  platform: PlatformJson | null;
}
