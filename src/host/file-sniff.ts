// What an opened file is, from its first bytes (never its name), so the session knows how to open it:
//   native     a native trace (its magic)
//   json       JSON text: a platform or a lab text trace (src/host/inputs.ts reads those)
//   firmware   an ACPI table (DMAR/IVRS… binary, acpidump text, iasl .dsl) or lspci output (src/firmware)
//   capture    a kernel log, ftrace output, QEMU vtd_* trace or analyzer CSV (src/trace/import), or a
//              gzip file (the import decompresses it and detects what is inside)
//   unknown    none of these; `reason` says what was seen
// Pure: the caller reads the head (HEAD_BYTES is enough) and the whole file only when it needs to.
import { detectInput, type InputKind } from '../firmware/index';
import { detectBinary, detectFormat, type ImportKind } from '../trace/import/index';

export const HEAD_BYTES = 64 * 1024;

/** The native trace magic "\x89IOMMU\r\n" (src/trace/native/layout.ts FILE_MAGIC). */
const NATIVE_MAGIC = [0x89, 0x49, 0x4f, 0x4d, 0x4d, 0x55, 0x0d, 0x0a];

export type Sniffed =
  | { kind: 'native' }
  | { kind: 'json' }
  | { kind: 'firmware'; what: Exclude<InputKind, 'kernel-log' | 'unknown'> }
  | { kind: 'capture'; importKind: ImportKind | null }
  | { kind: 'unknown'; reason: string };

/** The first line that is neither blank nor a "#" comment. */
function firstLine(lines: readonly string[]): string | null {
  for (const l of lines) {
    const t = l.trim();
    if (t !== '' && !t.startsWith('#')) return t;
  }
  return null;
}

/** `head` is the file's first bytes; `complete` says whether it is the whole file. */
export function sniff(head: Uint8Array, complete: boolean): Sniffed {
  if (head.length >= NATIVE_MAGIC.length && NATIVE_MAGIC.every((b, i) => head[i] === b))
    return { kind: 'native' };
  const bin = detectBinary(head);
  if (bin.kind === 'gzip') return { kind: 'capture', importKind: null };
  if (bin.kind === 'zstd' || bin.kind === 'keysight-pad') return { kind: 'capture', importKind: null };
  const fw = detectInput(head);
  if (fw.kind === 'acpi-binary') return { kind: 'firmware', what: fw.kind };
  if (bin.kind === 'binary') return { kind: 'unknown', reason: bin.note };
  const text = new TextDecoder(bin.encoding ?? 'utf-8', { fatal: false }).decode(head);
  const lines = text.split(/\r?\n/);
  if (!complete && lines.length > 1) lines.pop(); // the last line may be cut short
  if (firstLine(lines)?.startsWith('{')) return { kind: 'json' };
  if (fw.kind === 'acpidump' || fw.kind === 'iasl-dsl' || fw.kind === 'lspci')
    return { kind: 'firmware', what: fw.kind };
  const d = detectFormat(lines.slice(0, 200));
  if (d.kind === 'unknown')
    return {
      kind: 'unknown',
      reason: `not a platform, trace, firmware table, kernel log, ftrace, QEMU trace or analyzer CSV (${d.reason})`,
    };
  return { kind: 'capture', importKind: d.kind };
}
