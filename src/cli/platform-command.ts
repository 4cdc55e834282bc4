// `iommu-lab platform FILE… [--json]`: reads ACPI tables (DMAR/IVRS binaries, acpidump text, iasl
// disassembly), lspci output and kernel logs, and prints the platform they describe: remapping units,
// reserved regions, IOMMU groups, each device's reserved regions and the firmware findings
// (docs/platform-json.md for --json). File reading happens here; decoding in src/firmware.
// Exit code: 4 when findings include warnings, 8 when they include errors (both: 12), 64 when an
// input cannot be read at all (missing file, or content that is none of the kinds above).
import { readFile } from 'node:fs/promises';
import { buildPlatformReport, countBySeverity, summarize, type FirmwareInput } from '../firmware/index';
import { EXIT } from './exit-codes';

export async function platformCommand(
  files: string[],
  opts: { json?: boolean },
  out: (s: string) => void,
): Promise<number> {
  if (files.length === 0) {
    out(
      'iommu-lab platform: give at least one file (ACPI table, acpidump text, iasl .dsl, lspci output, kernel log)',
    );
    return EXIT.FATAL;
  }
  const inputs: FirmwareInput[] = [];
  const unreadable: string[] = [];
  for (const file of files) {
    try {
      inputs.push({ file, bytes: new Uint8Array(await readFile(file)) });
    } catch (e) {
      unreadable.push(
        `iommu-lab platform: ${file}: ${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim(),
      );
    }
  }
  if (unreadable.length > 0) {
    for (const u of unreadable) out(u);
    return EXIT.FATAL;
  }
  const report = buildPlatformReport(inputs);
  out(opts.json ? JSON.stringify(report, null, 2) : summarize(report));
  if (report.inputs.some((i) => i.kind === 'unknown')) return EXIT.FATAL;
  const c = countBySeverity(report.findings);
  return (c.warning > 0 ? EXIT.FIRMWARE_WARNINGS : 0) | (c.error > 0 ? EXIT.ERRORS : 0);
}
