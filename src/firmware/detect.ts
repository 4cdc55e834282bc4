// Tells what an input file is from its content, not its name: a binary ACPI table (as read from
// /sys/firmware/acpi/tables, acpixtract or acpidump -b: a 4-character signature, a plausible Length and
// binary bytes), acpidump text, iasl disassembly or data-table source, lspci output (-vvv, plain or the
// -tv tree) or a kernel log. Pure.
import { looksLikeAcpiTable } from './acpi-header';
import { looksLikeAcpidump } from './acpidump-text';
import { looksLikeDsl } from './iasl-dsl';
import { looksLikeKernelLog } from './kernel-log';
import { looksLikeLspci } from './lspci';

export type InputKind = 'acpi-binary' | 'acpidump' | 'iasl-dsl' | 'lspci' | 'kernel-log' | 'unknown';

export function detectInput(bytes: Uint8Array): { kind: InputKind; text: string | null } {
  const head = bytes.subarray(0, Math.min(bytes.length, 64));
  const binary = head.includes(0);
  if (binary && looksLikeAcpiTable(bytes)) {
    const len = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! * 0x1000000);
    if (len >= 36 && len <= 16 * 1024 * 1024) return { kind: 'acpi-binary', text: null };
  }
  if (binary && bytes.length >= 4 && looksLikeAcpiTable(bytes)) return { kind: 'acpi-binary', text: null };
  const text = decodeText(bytes);
  if (looksLikeAcpidump(text)) return { kind: 'acpidump', text };
  if (looksLikeDsl(text)) return { kind: 'iasl-dsl', text };
  if (looksLikeLspci(text)) return { kind: 'lspci', text };
  if (looksLikeKernelLog(text)) return { kind: 'kernel-log', text };
  return { kind: 'unknown', text };
}

/** Bytes as text: UTF-8 when valid, else Latin-1 (logs pasted from odd terminals). */
export function decodeText(bytes: Uint8Array): string {
  const out: number[] = [];
  let i = 0;
  let ok = true;
  while (i < bytes.length && ok) {
    const b = bytes[i]!;
    const n =
      b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    if (n < 0) {
      ok = false;
      break;
    }
    let cp = n === 0 ? b : b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (cp > 0x10ffff) ok = false;
    out.push(cp);
    i += n + 1;
  }
  if (ok) {
    let s = '';
    for (let k = 0; k < out.length; k += 4096) s += String.fromCodePoint(...out.slice(k, k + 4096));
    return s;
  }
  let s = '';
  for (let k = 0; k < bytes.length; k++) s += String.fromCharCode(bytes[k]!);
  return s;
}
