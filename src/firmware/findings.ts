// Findings: what the decoders, readers and lint checks report. Each has a severity, a stable code (the
// list is in docs/platform-json.md), a plain-language message that says what is wrong and how to fix
// it, and where: the byte offset into the ACPI table for table findings, a 1-based line for text
// inputs, and the file it came from. Severity policy:
//   error    Linux rejects or misreads the table or a structure (the IOMMU or the structure is lost,
//            or the kernel would hang or walk garbage), or an input is damaged where it matters
//            (bytes missing from a dump, lines that could not be used)
//   warning  Linux prints "[Firmware Bug]" (or FW_WARN) and works around it, or the spec is broken in a
//            way the kernel tolerates
//   info     worth knowing; nothing is wrong with the firmware (how an input was read, what lspci could
//            not show, the groups compared with the kernel's)

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  code: string;
  message: string;
  /** byte offset into the table (table findings), null otherwise */
  offset: number | null;
  /** the input file, when known */
  file?: string;
  /** 1-based line in a text input */
  line?: number;
  /** ACPI signature of the table the offset refers to */
  table?: string;
}

export function finding(
  severity: Severity,
  code: string,
  message: string,
  where: { offset?: number | null; file?: string; line?: number; table?: string } = {},
): Finding {
  const f: Finding = { severity, code, message, offset: where.offset ?? null };
  if (where.file !== undefined) f.file = where.file;
  if (where.line !== undefined) f.line = where.line;
  if (where.table !== undefined) f.table = where.table;
  return f;
}

export const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const c: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) c[f.severity]++;
  return c;
}

/** Thrown by readers when an input cannot be decoded at all; carries a located reason. */
export class DecodeError extends Error {
  constructor(
    message: string,
    readonly offset: number | null,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}
