// The platform model's public surface: load a description, form its IOMMU groups, list a device's
// reserved regions. (src/engine/platform.ts is the provisional v1 loader this folder replaces.)
export { loadPlatform, jsonPath } from './load';
export { formGroups, type IommuGroup } from './groups';
export {
  reservedRegions,
  requiresDirect,
  rmrrIsRelaxable,
  RESV_TYPE_ORDER,
  type ReservedRegion,
  type ResvType,
} from './resv-regions';
export { acsEnabled, acsPathEnabled, effectiveAcsCtrl, type AcsVerdict } from './acs';
export { ACS_QUIRKS, type AcsQuirk } from './acs-quirks';
export {
  platformSchema,
  platformJsonSchema,
  PLATFORM_FORMAT,
  PLATFORM_VERSION,
  type PlatformJson,
} from './schema';
export { shortName, normalizeBdf } from './topology';
export * from './model';
