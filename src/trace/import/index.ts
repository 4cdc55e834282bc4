// The importers' public API (see docs/import-json.md and docs/import-analyzer.md). Pure: no I/O here;
// src/host/import-file.ts reads files (gzip included) and feeds an ImportSession.
export type * from './types';
export { IMPORT_KINDS } from './types';
export { ImportSession, createImporter, importText } from './session';
export type { ImportCounts, ImportProgress, ImportSummary, SessionOptions } from './session';
export { detectBinary, detectFormat } from './detect';
export type { BinaryDetection, BinaryKind, Detection } from './detect';
export { ANALYZER_PRESETS, AnalyzerCsvImporter, mapHeader, normaliseHeader } from './analyzer-csv';
export type { AnalyzerColumn, AnalyzerPreset, TlpField } from './analyzer-csv';
export { TextLogImporter, recogniseLine } from './text-log';
export { cleanLine, parseEnvelope, ClockState } from './kernel-prefix';
export type { Envelope } from './kernel-prefix';
export { dmarReasonText } from './intel-dmar';
export { AMD_EVENT_TYPES, amdFlagNames } from './amd-vi';
export { SMMUV3_EVENTS } from './arm-smmu';
export { decodeTlpHeader } from './aer-tlp';
