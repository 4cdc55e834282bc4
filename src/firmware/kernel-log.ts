// Hints from a kernel log (dmesg, journalctl -k, syslog, a paste in a mail) that complete what the ACPI
// tables and lspci say. Each line is first freed of its envelope (formats.md §0: e-mail quotes, syslog
// and journal prefixes, "kernel: ", dmesg timestamps in monotonic, ctime or relative form, caller ids,
// Xen's "(XEN) "), then matched against the kernel's own format strings:
//   arch/x86/kernel/e820.c      "BIOS-e820: [mem %#018Lx-%#018Lx] <type>" (inclusive end), and the
//                               pre-3.x "BIOS-e820: 0000000000000000 - 000000000009f000 (usable)" (exclusive)
//   drivers/iommu/intel/dmar.c  "DMAR: Host address width %d", "DMAR: DRHD base: %#016Lx flags: %#x",
//                               "DMAR: RMRR base: %#016Lx end: %#016Lx",
//                               "DMAR: %s: reg_base_addr %llx ver %d:%d cap %llx ecap %llx"
//   drivers/iommu/iommu.c       "%s: Adding to iommu group %d", "iommu: Default domain type: %s",
//                               "iommu: DMA domain TLB invalidation policy: %s mode"
//   drivers/acpi/pci_root.c     "ACPI: PCI Root Bridge [%s] (domain %04x %pR)"
//   arch/x86/pci/mmconfig-shared.c "PCI: MMCONFIG for domain %04x [bus %02x-%02x] at %pR (base %#lx)"
//   drivers/acpi/acpica/tbprint.c  "ACPI: DMAR 0x000000008F42A000 0000B8 (v02 LENOVO TP-N32 …)"
// and every line carrying "[Firmware Bug]" or "[Firmware Warn]" (FW_BUG / FW_WARN), kept verbatim with
// its line number. Pure.
import type { Finding } from './findings';
import { finding } from './findings';

export interface E820Entry {
  start: bigint;
  /** inclusive */
  end: bigint;
  /** as printed: "usable", "reserved", "ACPI data", "ACPI NVS", "unusable", "type 20", … */
  type: string;
  line: number;
}

export interface KernelLogHints {
  e820: E820Entry[];
  hostAddressWidth: number | null;
  drhds: { base: bigint; flags: number; line: number }[];
  rmrrs: { base: bigint; end: bigint; line: number }[];
  units: { name: string; base: bigint; cap: bigint; ecap: bigint; line: number }[];
  /** "Adding to iommu group N" lines: the kernel's groups */
  groups: { bdf: string; group: number; line: number }[];
  rootBridges: { segment: number; busStart: number; busEnd: number; line: number }[];
  mmconfig: { segment: number; busStart: number; busEnd: number; base: bigint; line: number }[];
  tables: {
    signature: string;
    address: bigint;
    length: number;
    oemId: string;
    oemTableId: string;
    line: number;
  }[];
  /** [Firmware Bug] / [Firmware Warn] lines, verbatim after the envelope */
  firmwareBugs: { text: string; line: number; warn: boolean }[];
  defaultDomain: 'identity' | 'translated' | null;
  lazy: boolean | null;
  commandLine: string | null;
}

const ENVELOPES: RegExp[] = [
  /^(?:>\s?)+/,
  /^\s+/,
  /^\w{3} [ \d]\d \d\d:\d\d:\d\d(?:\.\d{6})? \S+ kernel: /,
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:?\d\d|Z)? \S+ kernel: /,
  /^kernel: /,
  /^\[\s*\d+\.\d+\] /,
  /^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] /,
  /^\[\s*\+\d+\.\d+\] /,
  /^\[\s*[TC]\d+\] /,
  /^(?:\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] )?\(XEN\) /,
  /^<\d>/,
];

/** A kernel line without its envelope. */
export function stripEnvelope(line: string): string {
  let s = line;
  for (let pass = 0; pass < 3; pass++) {
    const before = s;
    for (const re of ENVELOPES) s = s.replace(re, '');
    if (s === before) break;
  }
  return s;
}

export function looksLikeKernelLog(text: string): boolean {
  return /BIOS-e820|Linux version \d|Kernel command line:|DMAR:|AMD-Vi:|Adding to iommu group|\[Firmware Bug\]|ACPI: (?:DMAR|IVRS|RSDP)/.test(
    text,
  );
}

const hexBig = (s: string) => BigInt(`0x${s}`);

export function readKernelLog(text: string, file?: string): { hints: KernelLogHints; findings: Finding[] } {
  const hints: KernelLogHints = {
    e820: [],
    hostAddressWidth: null,
    drhds: [],
    rmrrs: [],
    units: [],
    groups: [],
    rootBridges: [],
    mmconfig: [],
    tables: [],
    firmwareBugs: [],
    defaultDomain: null,
    lazy: null,
    commandLine: null,
  };
  const findings: Finding[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.length > 8192) return; // no kernel line is this long; keeps the regexes linear
    const l = stripEnvelope(raw).trimEnd();
    let m: RegExpExecArray | null;
    if ((m = /BIOS-e820: \[mem 0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)\] (.+)$/.exec(l))) {
      hints.e820.push({ start: hexBig(m[1]!), end: hexBig(m[2]!), type: m[3]!.trim(), line });
      return;
    }
    if ((m = /BIOS-e820: ([0-9a-fA-F]{8,16}) - ([0-9a-fA-F]{8,16}) \((.+)\)$/.exec(l))) {
      const end = hexBig(m[2]!);
      if (end > 0n) hints.e820.push({ start: hexBig(m[1]!), end: end - 1n, type: m[3]!.trim(), line });
      return;
    }
    if (/\[Firmware (?:Bug|Warn)\]/.test(l))
      hints.firmwareBugs.push({ text: l, line, warn: /\[Firmware Warn\]/.test(l) });
    if ((m = /DMAR: Host address width (\d+)/.exec(l))) hints.hostAddressWidth = parseInt(m[1]!, 10);
    else if ((m = /DMAR: DRHD base: 0x([0-9a-fA-F]+) flags: 0x([0-9a-fA-F]+)/.exec(l)))
      hints.drhds.push({ base: hexBig(m[1]!), flags: parseInt(m[2]!, 16), line });
    else if ((m = /DMAR: RMRR base: 0x([0-9a-fA-F]+) end: 0x([0-9a-fA-F]+)/.exec(l)))
      hints.rmrrs.push({ base: hexBig(m[1]!), end: hexBig(m[2]!), line });
    else if (
      (m =
        /(?:DMAR: (dmar\d+)|(?:dmar: )?IOMMU (\d+)): reg_base_addr ([0-9a-fA-F]+) ver \d+:\d+ cap ([0-9a-fA-F]+) ecap ([0-9a-fA-F]+)/.exec(
          l,
        ))
    )
      hints.units.push({
        name: m[1] ?? `dmar${m[2]}`,
        base: hexBig(m[3]!),
        cap: hexBig(m[4]!),
        ecap: hexBig(m[5]!),
        line,
      });
    else if (
      (m =
        /^(?:\S+ )?((?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]): Adding to iommu group (\d+)/.exec(
          l,
        ))
    ) {
      const bdf = m[1]!.length === 7 ? `0000:${m[1]}` : m[1]!;
      hints.groups.push({ bdf: bdf.toLowerCase(), group: parseInt(m[2]!, 10), line });
    } else if (
      (m =
        /ACPI: PCI Root Bridge \[[^\]]*\] \(domain ([0-9a-fA-F]+) \[bus ([0-9a-fA-F]{2})(?:-([0-9a-fA-F]{2}))?\]\)/.exec(
          l,
        ))
    )
      hints.rootBridges.push({
        segment: parseInt(m[1]!, 16),
        busStart: parseInt(m[2]!, 16),
        busEnd: parseInt(m[3] ?? m[2]!, 16),
        line,
      });
    else if (
      (m =
        /PCI: MMCONFIG for domain ([0-9a-fA-F]+) \[bus ([0-9a-fA-F]{2})-([0-9a-fA-F]{2})\] at \[mem [^\]]*\] \(base 0x([0-9a-fA-F]+)\)/.exec(
          l,
        ))
    ) {
      const seg = parseInt(m[1]!, 16);
      if (!hints.mmconfig.some((x) => x.segment === seg))
        hints.mmconfig.push({
          segment: seg,
          busStart: parseInt(m[2]!, 16),
          busEnd: parseInt(m[3]!, 16),
          base: hexBig(m[4]!),
          line,
        });
    } else if ((m = /ACPI: ([A-Z0-9_!]{4}) 0x([0-9A-Fa-f]+) ([0-9A-Fa-f]{6,8}) \(v\d+ (.{6}) (.{8})/.exec(l)))
      hints.tables.push({
        signature: m[1]!,
        address: hexBig(m[2]!),
        length: parseInt(m[3]!, 16),
        oemId: m[4]!,
        oemTableId: m[5]!,
        line,
      });
    else if ((m = /iommu: Default domain type: (\w+)/.exec(l)))
      hints.defaultDomain = /passthrough/i.test(m[1]!) ? 'identity' : 'translated';
    else if ((m = /iommu: DMA domain TLB invalidation policy: (\w+) mode/.exec(l)))
      hints.lazy = m[1] === 'lazy';
    else if ((m = /(?:Kernel )?[Cc]ommand line: (.*)$/.exec(l)) && hints.commandLine === null)
      hints.commandLine = m[1]!;
  });
  if (
    hints.e820.length === 0 &&
    hints.drhds.length === 0 &&
    hints.groups.length === 0 &&
    hints.firmwareBugs.length === 0
  )
    findings.push(
      finding(
        'info',
        'kernel-log-empty',
        'the kernel log holds no BIOS-e820, DMAR, iommu group or [Firmware Bug] lines this reader uses',
        {
          file,
        },
      ),
    );
  return { hints, findings };
}

/** e820 types the kernel accepts as covering an RMRR (arch_rmrr_sanity_check: RESERVED or NVS). */
export function e820TypeCoversRmrr(type: string): boolean {
  return type === 'reserved' || type === 'ACPI NVS';
}
