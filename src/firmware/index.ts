// Firmware inputs: ACPI DMAR and IVRS tables (binary, acpidump text, iasl disassembly), lspci output and
// kernel logs, decoded, linted the way Linux checks them at boot, and turned into the platform model.
// The public surface; everything here is pure (common layer).
export { buildPlatformReport, type FirmwareInput } from './build-platform';
export { summarize } from './summary';
export { decodeDmar, type DmarTable, type DmarStructure, type DmarDecode } from './dmar';
export { decodeIvrs, type IvrsTable, type IvrsBlock, type Ivhd, type Ivmd, type IvhdEntry } from './ivrs';
export { decodeAcpiHeader, type AcpiHeader } from './acpi-header';
export { decodeMcfg } from './mcfg';
export { readAcpidump, type DumpedTable } from './acpidump-text';
export { readDsl, type DslTable } from './iasl-dsl';
export { readLspci, readLspciTree, mergeLspci, type LspciFunction, type LspciResult } from './lspci';
export { readKernelLog, stripEnvelope, type KernelLogHints } from './kernel-log';
export { lintDmar } from './lint-dmar';
export { lintIvrs } from './lint-ivrs';
export { detectInput, type InputKind } from './detect';
export { compareFields } from './compare-fields';
export { countBySeverity, type Finding, type Severity } from './findings';
export * from './report';
