// AMD-Vi event-log lines printed by drivers/iommu/amd/iommu.c (iommu_print_event and
// amd_iommu_report_page_fault), in every shape the driver has used. Pure recogniser. Contract:
// - 'amd-split' (4.x): "AMD-Vi: Event logged [" alone, the event on the next printk line
//   ("IO_PAGE_FAULT device=05:00.0 domain=0x0012 address=0x00000000ff6101b0 flags=0x0070]"), because
//   pr_cont() no longer joined them; assemble.ts pairs the two.
// - 'amd-dev': "AMD-Vi: Event logged [IO_PAGE_FAULT device=bb:dd.f domain=0x… address=0x… flags=0x…]"
//   (≤ 4.x joined, with %016llx addresses; 5.x with %llx), also on the IOMMU's own device prefix
//   ("iommu ivhd0: ") for the other event types.
// - 'amd-pci' (5.x+, device known to the kernel): "<drv> <ssss:bb:dd.f>: AMD-Vi: Event logged
//   [IO_PAGE_FAULT domain=0x000d address=0xcfd51ad0 flags=0x0070]" (no device= field).
// - 'amd-seg': the same with "device=ssss:bb:dd.f" (6.x multi-segment). Trailing fields added later (vflags=, tag=, RMP's vmg_tag=/gpa=/spa=/flags_rmp=) are kept in detail.
// - "Event logged [Device not attached to domain properly]" + "  device=… domain=0x…" (6.x).
// - Every event type becomes an ObservedFault: reason = the event type code of amd_iommu_types.h
//   (EVENT_TYPE_*: 1 ILLEGAL_DEV_TABLE_ENTRY, 2 IO_PAGE_FAULT, 3 DEV_TAB_HARDWARE_ERROR,
//   4 PAGE_TAB_HARDWARE_ERROR, 5 ILLEGAL_COMMAND_ERROR, 6 COMMAND_HARDWARE_ERROR, 7 IOTLB_INV_TIMEOUT,
//   8 INVALID_DEVICE_REQUEST, 9 INVALID_PPR_REQUEST, 0xd RMP_PAGE_FAULT, 0xe RMP_HW_ERROR), flags in
//   detail. IO_PAGE_FAULT access follows the kernel's reading of flags (EVENT_FLAG_I 0x008 → interrupt,
//   TR 0x100 → translation request, EVENT_FLAG_RW 0x020 → write, else read; NX 0x002 with a read →
//   exec), and reasonText lists the set flag bits (GN NX US I PR RW PE RZ TR).
// - "DTE[n]: …" and "CMD[n]: …" dumps are info records.
import { complete, partial, rec, type FaultDraft, type Outcome } from './items';
import type { Access, Detail } from './types';
import { bdfOf, hexAddr, hexNum, pciName } from './values';

export const AMD_EVENT_TYPES: Record<string, number> = {
  ILLEGAL_DEV_TABLE_ENTRY: 0x1,
  IO_PAGE_FAULT: 0x2,
  DEV_TAB_HARDWARE_ERROR: 0x3,
  PAGE_TAB_HARDWARE_ERROR: 0x4,
  ILLEGAL_COMMAND_ERROR: 0x5,
  COMMAND_HARDWARE_ERROR: 0x6,
  IOTLB_INV_TIMEOUT: 0x7,
  INVALID_DEVICE_REQUEST: 0x8,
  INVALID_PPR_REQUEST: 0x9,
  RMP_PAGE_FAULT: 0xd,
  RMP_HW_ERROR: 0xe,
};
const FLAG_NAMES: Array<[number, string]> = [
  [0x001, 'GN'],
  [0x002, 'NX'],
  [0x004, 'US'],
  [0x008, 'I'],
  [0x010, 'PR'],
  [0x020, 'RW'],
  [0x040, 'PE'],
  [0x080, 'RZ'],
  [0x100, 'TR'],
];

export function amdFlagNames(flags: number): string[] {
  return FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
}

function accessOf(type: number, flags: number | null): Access {
  if (flags === null || type !== 0x2) return 'unknown';
  if (flags & 0x008) return 'interrupt';
  if (flags & 0x100) return 'translation';
  if (flags & 0x020) return 'write';
  return flags & 0x002 ? 'exec' : 'read';
}

const PREFIX = /^(?:([\w.-]{1,64}) ([\w.:/@-]{1,96}): )?((?:AMD-Vi: ?){1,2})/;
const EVENT = /^([A-Z][A-Z_]{2,40})(?: ([^\]]{0,600}))?\]$/;
const TAIL = /^([A-Z][A-Z_]{2,40}) ([^\]]{1,600})\]$/;
const DEVICE = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;
const UNATTACHED_DEV = /^(?:AMD-Vi: ?)?device=(\S{7,12}) domain=0x([0-9a-fA-F]{1,5})$/;
const DUMP = /^(DTE|CMD)\[(\d)\]: ([0-9a-fA-F]{8,16})$/;

function parseKv(text: string): Map<string, string> | null {
  const kv = new Map<string, string>();
  for (const tok of text.split(/[ ,]+/)) {
    if (tok === '') continue;
    const eq = tok.indexOf('=');
    if (eq <= 0) return null;
    kv.set(tok.slice(0, eq), tok.slice(eq + 1));
  }
  return kv;
}

/** Builds the fault of one event body ("IO_PAGE_FAULT device=… …"); null when a field is malformed. */
export function amdEventFault(
  name: string,
  fieldsText: string,
  prefix: { bdf: string | null; segment: number | null } | null,
  format: string,
): FaultDraft | null {
  const kv = parseKv(fieldsText);
  if (!kv) return null;
  let type = AMD_EVENT_TYPES[name];
  if (type === undefined) {
    if (name !== 'UNKNOWN') return null;
    const t = kv.get('type') ?? null;
    const e1 = kv.get('event[1]') ?? null;
    type = t !== null ? (hexNum(t) ?? 0) : e1 !== null ? ((hexNum(e1) ?? 0) >>> 28) & 0xf : 0;
  }
  let segment: number | null = prefix?.segment ?? null;
  let bdf: string | null = prefix?.bdf ?? null;
  let sid: number | null = null;
  let fmt = format;
  const dev = kv.get('device');
  if (dev !== undefined) {
    const m = DEVICE.exec(dev);
    if (!m) return null;
    segment = m[1] ? parseInt(m[1], 16) : null;
    const b = parseInt(m[2]!, 16);
    const d = parseInt(m[3]!, 16);
    bdf = bdfOf(segment, b, d, +m[4]!);
    if (bdf === null) return null;
    sid = (b << 8) | (d << 3) | +m[4]!;
    if (format === 'amd') fmt = m[1] ? 'amd-seg' : 'amd-dev';
  } else if (bdf !== null) {
    const p = pciName(bdf);
    sid = p ? p.rid : null;
    if (format === 'amd') fmt = 'amd-pci';
  } else if (format === 'amd') fmt = 'amd-dev';
  const detail: Detail = { event: name };
  let flags: number | null = null;
  let address: string | null = null;
  let pasid: number | null = null;
  for (const [k, v] of kv) {
    if (k === 'device') continue;
    if (k === 'address' || k === 'gpa' || k === 'spa') {
      const a = hexAddr(v);
      if (a === null) return null;
      if (k === 'address' || address === null) address = a;
      if (k !== 'address') detail[k] = a;
    } else if (k === 'flags') {
      flags = hexNum(v);
      if (flags === null) return null;
      detail.flags = flags;
    } else if (k === 'pasid') {
      pasid = hexNum(v);
      if (pasid === null) return null;
    } else if (k === 'domain' || k === 'tag' || k === 'vflags' || k === 'vmg_tag' || k === 'flags_rmp') {
      const n = hexNum(v);
      if (n === null) return null;
      detail[k] = n;
    } else detail[k] = v;
  }
  const names = type === 0x2 && flags !== null ? amdFlagNames(flags) : [];
  return {
    type: 'fault',
    source: 'amd',
    origin: 'linux',
    format: fmt,
    segment,
    bdf,
    sid,
    pasid,
    access: accessOf(type, flags),
    address,
    reason: type,
    reasonText: names.length ? `${name} (${names.join(' ')})` : name,
    truncated: false,
    detail,
  };
}

/** Recognises one logical kernel-log body (envelope already stripped). */
export function recogniseAmd(body: string): Outcome {
  const d = DUMP.exec(body.startsWith('AMD-Vi: ') ? body.slice(8) : body);
  if (d && (body.startsWith('AMD-Vi: ') || body.startsWith('DTE[') || body.startsWith('CMD['))) {
    return rec({
      type: 'info',
      what: 'amd-dump',
      fields: { table: d[1]!, index: +d[2]!, value: hexAddr(d[3]!) },
    });
  }
  const p = PREFIX.exec(body);
  if (p) {
    const rest = body.slice(p[0].length).replace(/^[ \t]+/, '');
    if (rest.startsWith('device=')) {
      const u = UNATTACHED_DEV.exec(rest);
      if (!u) return partial('AMD-Vi "device=" line cut short');
      const f = amdEventFault('IO_PAGE_FAULT', `device=${u[1]!} domain=0x${u[2]!}`, null, 'amd');
      if (!f) return null;
      f.reasonText = 'IO_PAGE_FAULT (device not attached to domain properly)';
      f.format = 'amd-unattached';
      return complete({ k: 'amd-unattached-dev', fault: f });
    }
    if (!rest.startsWith('Event logged [')) return null;
    const ev = rest.slice('Event logged ['.length);
    const dev = p[2] !== undefined ? pciName(p[2]) : null;
    const prefix = dev ? { bdf: dev.bdf, segment: dev.segment } : null;
    if (ev === '')
      return complete({
        k: 'amd-open',
        prefixBdf: prefix?.bdf ?? null,
        prefixSegment: prefix?.segment ?? null,
      });
    if (ev === 'Device not attached to domain properly]') return complete({ k: 'amd-unattached' });
    const m = EVENT.exec(ev);
    if (!m) return partial('AMD-Vi event line cut short');
    const f = amdEventFault(m[1]!, m[2] ?? '', prefix, 'amd');
    if (!f) return null;
    return rec(f);
  }
  const t = TAIL.exec(body);
  if (t && (AMD_EVENT_TYPES[t[1]!] !== undefined || t[1] === 'UNKNOWN')) {
    const f = amdEventFault(t[1]!, t[2]!, null, 'amd-split');
    return f ? complete({ k: 'amd-tail', fault: f }) : null;
  }
  const word = /^([A-Z][A-Z_]{2,40}) device=/.exec(body);
  if (word && AMD_EVENT_TYPES[word[1]!] !== undefined) return partial('AMD-Vi event line cut short');
  return null;
}
