// Firmware files opened in the lab (ACPI DMAR/IVRS tables as binaries, acpidump text or iasl .dsl, and
// lspci output): every one opened so far is read together, as `iommu-lab platform` reads its arguments
// (src/firmware buildPlatformReport), giving the findings and, once the PCI hierarchy (lspci) and a
// remapping table are both there, a platform that loads in the engine. Pure: the caller reads the files.
import { loadPlatform, type Platform } from '../engine/platform/index';
import { buildPlatformReport, countBySeverity, type FirmwareInput } from '../firmware/index';
import type { FileFinding } from '../shared/api';

/** At most this many findings go to the renderer with an opened firmware file. */
const MAX_FINDINGS = 200;

export interface FirmwareState {
  /** the platform built, when the inputs hold enough for one */
  platform: { platform: Platform; json: Record<string, unknown>; name: string } | null;
  findings: FileFinding[];
  /** one line: what the inputs gave and what is missing */
  note: string;
}

export function firmwareState(inputs: readonly FirmwareInput[]): FirmwareState {
  const report = buildPlatformReport(inputs);
  const findings = report.findings.slice(0, MAX_FINDINGS).map((f): FileFinding => ({
    severity: f.severity,
    code: f.code,
    message: f.file ? `${f.file}: ${f.message}` : f.message,
    ...(f.file !== undefined ? { file: f.file } : {}),
    ...(f.table !== undefined ? { table: f.table } : {}),
    ...(f.offset !== null ? { offset: f.offset } : {}),
    ...(f.line !== undefined ? { line: f.line } : {}),
  }));
  const c = countBySeverity(report.findings);
  const tally = `${c.error} errors, ${c.warning} warnings, ${c.info} notes`;
  const tables = report.tables.map((t) => t.signature).join(', ') || 'no ACPI table';
  const names = inputs.map((i) => i.file.split(/[\\/]/).pop()).join(' + ');
  let platform: FirmwareState['platform'] = null;
  let why: string;
  if (!report.platform) why = 'open the machine’s lspci -vvv output too to build its platform';
  else if ((report.platform.iommus?.length ?? 0) === 0)
    why = 'no DMA remapping unit yet: open its DMAR (or IVRS) table too';
  else {
    const loaded = loadPlatform(report.platform);
    if (loaded.ok) {
      platform = {
        platform: loaded.value,
        json: report.platform as unknown as Record<string, unknown>,
        name: `firmware: ${names}`,
      };
      why = `platform built (${report.platform.iommus?.length} units)`;
    } else why = `the platform built does not load: ${loaded.errors[0]?.path}: ${loaded.errors[0]?.message}`;
  }
  return { platform, findings, note: `${tables}; ${tally}; ${why}` };
}
