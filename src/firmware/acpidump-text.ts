// Reader for acpidump's text output (the default of `acpidump`, `acpidump -n DMAR`), the form a whole
// machine's ACPI tables take in bug reports and in collections such as linux-surface/acpidumps:
//   DMAR @ 0x000000008f42a000
//       0000: 44 4D 41 52 B8 00 00 00 02 94 4C 45 4E 4F 56 4F  DMAR......LENOVO
//       …
//   (blank line)
// Offsets are table-relative. Each table becomes its bytes; a gap or a repeated offset is reported with
// its line, and a short last block is kept as is (decoders then report the truncation with its offset).
// This is what `acpixtract -s DMAR` does, without the tool. Pure.
import { finding, type Finding } from './findings';

export interface DumpedTable {
  signature: string;
  /** physical address acpidump printed */
  address: bigint;
  bytes: Uint8Array;
  /** 1-based line of the "SIG @ 0x…" header */
  line: number;
  findings: Finding[];
}

const HEAD = /^\s*([A-Za-z0-9_!]{4}) @ 0x([0-9A-Fa-f]+)\s*$/;
const HEX = /^\s*([0-9A-Fa-f]{4,8}):((?:\s[0-9A-Fa-f]{2}){1,16})(?:\s|$)/;

export function looksLikeAcpidump(text: string): boolean {
  return (
    /^\s*[A-Za-z0-9_!]{4} @ 0x[0-9A-Fa-f]+\s*$/m.test(text) &&
    /^\s*[0-9A-Fa-f]{4,8}:(?:\s[0-9A-Fa-f]{2}){4}/m.test(text)
  );
}

/** Every table in an acpidump text, in file order. */
export function readAcpidump(text: string, file?: string): DumpedTable[] {
  const lines = text.split(/\r?\n/);
  const tables: DumpedTable[] = [];
  let cur: {
    sig: string;
    address: bigint;
    line: number;
    chunks: Map<number, number>;
    findings: Finding[];
    next: number;
  } | null = null;
  const close = () => {
    if (!cur) return;
    let size = 0;
    for (const k of cur.chunks.keys()) size = Math.max(size, k + 1);
    const bytes = new Uint8Array(size);
    for (const [k, v] of cur.chunks) bytes[k] = v;
    tables.push({ signature: cur.sig, address: cur.address, bytes, line: cur.line, findings: cur.findings });
    cur = null;
  };
  lines.forEach((l, i) => {
    const lineNo = i + 1;
    const h = HEAD.exec(l);
    if (h) {
      close();
      cur = {
        sig: h[1]!,
        address: BigInt(`0x${h[2]!}`),
        line: lineNo,
        chunks: new Map(),
        findings: [],
        next: 0,
      };
      return;
    }
    if (!cur) return;
    const m = HEX.exec(l);
    if (!m) {
      if (l.trim() === '') close();
      return;
    }
    const off = parseInt(m[1]!, 16);
    const bytes = m[2]!.trim().split(/\s+/);
    if (off !== cur.next)
      cur.findings.push(
        finding(
          'error',
          'acpidump-gap',
          off > cur.next
            ? `${cur.sig}: the hex dump jumps from offset 0x${cur.next.toString(16)} to 0x${off.toString(16)}; the missing bytes read as 0 (lines were lost in the paste)`
            : `${cur.sig}: offset 0x${off.toString(16)} appears again; the later bytes win`,
          { file, line: lineNo, offset: cur.next, table: cur.sig },
        ),
      );
    bytes.forEach((b, k) => cur!.chunks.set(off + k, parseInt(b, 16)));
    cur.next = off + bytes.length;
  });
  close();
  return tables;
}
