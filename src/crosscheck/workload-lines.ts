// Lines of a crosscheck capture that the shared importers (src/trace/import) do not know, because they are
// not kernel or QEMU IOMMU messages but what the capture's workload and QEMU's device models print.
// Pure recognisers on one line after cleanLine()/parseEnvelope(); they keep no state. Contract:
// - guest console (kernel-log):
//   'phase'     "PHASE 4: nvme ready (nvme marker lba=0x1f020)" with a printk time (the workload writes
//               it to /dev/kmsg); the lba is the clock-alignment marker read that follows it, or null;
//   'pci'       the workload's PCI listing row "0000:00:03.0 0x8086 0x10d3 0x020000 e1000e" (driver "-"
//               = none);
//   'group'     "group 3 type=DMA devices: 0000:00:1f.0 0000:00:1f.2" (sysfs iommu_groups listing);
//   'reserved'  "reserved: 0x0000000000000000 0x0000000000ffffff direct-relaxable" (the group's
//               reserved_regions file, end inclusive; belongs to the group line before it);
//   'cmdline'   "Command line: …" (the kernel's boot line).
// - QEMU trace (qemu-trace): 'nvme-read' pci_nvme_read "cid N nsid N nlb N count N lba 0x…" (the marker
//   reads are found among them by their LBA).
import type { Envelope } from '../trace/import/index';

export type WorkloadLine =
  | { k: 'phase'; phase: number; text: string; lba: number | null }
  | { k: 'pci'; bdf: string; vendor: number; device: number; classCode: number; driver: string | null }
  | { k: 'group'; id: number; type: string; devices: string[] }
  | { k: 'reserved'; start: bigint; end: bigint; type: string }
  | { k: 'cmdline'; text: string }
  | { k: 'nvme-read'; lba: number };

const BDF = '([0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7])';
const RE = {
  phase: /^PHASE (\d{1,4}): (.{0,2000}?)(?: \(nvme marker lba=0x([0-9a-fA-F]{1,16})\))?$/,
  pci: new RegExp(`^${BDF} 0x([0-9a-fA-F]{4}) 0x([0-9a-fA-F]{4}) 0x([0-9a-fA-F]{6}) (\\S{1,64})$`),
  group: /^group (\d{1,6}) type=(\S{1,32}) devices:((?: \S{1,96}){0,256})$/,
  reserved: /^reserved: 0x([0-9a-fA-F]{1,16}) 0x([0-9a-fA-F]{1,16}) (\S{1,32})$/,
  cmdline: /^Command line: (.{0,4096})$/,
  nvmeRead: /(?:^| )lba 0x([0-9a-fA-F]{1,16})(?: |$)/,
};

/** A guest console line (envelope already parsed). */
export function recogniseGuestWorkload(env: Envelope): WorkloadLine | null {
  const body = env.body;
  let m: RegExpExecArray | null;
  if (env.stamped) {
    if ((m = RE.phase.exec(body))) {
      return {
        k: 'phase',
        phase: +m[1]!,
        text: m[2]!,
        lba: m[3] !== undefined ? parseInt(m[3], 16) : null,
      };
    }
    if ((m = RE.cmdline.exec(body))) return { k: 'cmdline', text: m[1]! };
    return null;
  }
  if ((m = RE.pci.exec(body))) {
    return {
      k: 'pci',
      bdf: m[1]!.toLowerCase(),
      vendor: parseInt(m[2]!, 16),
      device: parseInt(m[3]!, 16),
      classCode: parseInt(m[4]!, 16),
      driver: m[5] === '-' ? null : m[5]!,
    };
  }
  if ((m = RE.group.exec(body))) {
    return {
      k: 'group',
      id: +m[1]!,
      type: m[2]!,
      devices: m[3]!
        .trim()
        .split(/\s+/)
        .filter((d) => d !== '')
        .map((d) => d.toLowerCase()),
    };
  }
  if ((m = RE.reserved.exec(body))) {
    return { k: 'reserved', start: BigInt(`0x${m[1]!}`), end: BigInt(`0x${m[2]!}`), type: m[3]! };
  }
  return null;
}

/** A QEMU trace line (envelope already parsed: qemu-log layer with the event name). */
export function recogniseQemuWorkload(env: Envelope): WorkloadLine | null {
  if (env.event !== 'pci_nvme_read') return null;
  const m = RE.nvmeRead.exec(env.body);
  if (!m) return null;
  const lba = parseInt(m[1]!, 16);
  return Number.isSafeInteger(lba) ? { k: 'nvme-read', lba } : null;
}
