// The iommu tracepoints of include/trace/events/iommu.h, read from ftrace output (trace, trace_pipe,
// trace-cmd report: "comm-pid [cpu] flags ts: event: body") or from a kernel log printed with tp_printk
// ("[    2.205299] map: IOMMU: iova=…"). Pure recogniser. Contract:
// - map    "IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx size=%zu" (5.x+: end = iova + size) and the
//          older "IOMMU: iova=0x%016llx paddr=0x%016llx size=%zu"; the "dev=%s " field of an unmerged
//          proposal is accepted and kept in `device`.
// - unmap  "IOMMU: iova=0x%016llx - 0x%016llx size=%zu unmapped_size=%zu" and the older form without end.
// - add_device_to_group / remove_device_from_group "IOMMU: groupID=%d device=%s"
// - attach_device_to_domain / detach_device_from_domain "IOMMU: device=%s"
// - io_page_fault "IOMMU:%s %s iova=0x%016llx flags=0x%04x" (driver, device; flags IOMMU_FAULT_READ 0 /
//   IOMMU_FAULT_WRITE 1).
// An iommu event whose body does not match is `partial` (a wrapped line) and, if nothing completes it,
// a bad line. Other events (dma_alloc, vector_*…) are not recognised here.
import { partial, rec, type EventDraft, type Outcome } from './items';
import type { ImportedOp } from './types';
import { decNum, hexAddr, pciName } from './values';

export const IOMMU_EVENTS: readonly ImportedOp[] = [
  'map',
  'unmap',
  'attach_device_to_domain',
  'detach_device_from_domain',
  'add_device_to_group',
  'remove_device_from_group',
  'io_page_fault',
];

const A = '0x([0-9a-fA-F]{1,16})';
const RE_MAP = new RegExp(`^IOMMU: (?:dev=(\\S{1,96}) )?iova=${A}(?: - ${A})? paddr=${A} size=(\\d{1,20})$`);
const RE_UNMAP = new RegExp(
  `^IOMMU: (?:dev=(\\S{1,96}) )?iova=${A}(?: - ${A})? size=(\\d{1,20}) unmapped_size=(\\d{1,20})$`,
);
const RE_GROUP = /^IOMMU: groupID=(-?\d{1,10}) device=(\S{1,96})$/;
const RE_DEVICE = /^IOMMU: device=(\S{1,96})$/;
const RE_FAULT = new RegExp(`^IOMMU:(\\S{0,64}) (\\S{1,96}) iova=${A} flags=0x([0-9a-fA-F]{1,8})$`);
const RE_TP =
  /^(map|unmap|attach_device_to_domain|detach_device_from_domain|add_device_to_group|remove_device_from_group|io_page_fault): (.*)$/;

function blank(op: ImportedOp, origin: EventDraft['origin'], task: EventDraft['task']): EventDraft {
  return {
    type: 'event',
    op,
    origin,
    task,
    iova: null,
    iovaEnd: null,
    paddr: null,
    size: null,
    unmappedSize: null,
    device: null,
    bdf: null,
    groupId: null,
    driver: null,
    flags: null,
    access: null,
  };
}

/** Parses the body of one iommu event (text after "event: "). */
export function recogniseIommuEvent(
  op: string,
  body: string,
  origin: EventDraft['origin'],
  task: EventDraft['task'],
): Outcome {
  if (!(IOMMU_EVENTS as readonly string[]).includes(op)) return null;
  const e = blank(op as ImportedOp, origin, task);
  const setDevice = (d: string): void => {
    e.device = d;
    e.bdf = pciName(d)?.bdf ?? null;
  };
  let m: RegExpExecArray | null;
  switch (op) {
    case 'map':
      if (!(m = RE_MAP.exec(body))) break;
      if (m[1] !== undefined) setDevice(m[1]);
      e.iova = hexAddr(m[2]!);
      e.iovaEnd = m[3] !== undefined ? hexAddr(m[3]) : null;
      e.paddr = hexAddr(m[4]!);
      e.size = decNum(m[5]!);
      if (e.size === null) return null;
      return rec(e);
    case 'unmap':
      if (!(m = RE_UNMAP.exec(body))) break;
      if (m[1] !== undefined) setDevice(m[1]);
      e.iova = hexAddr(m[2]!);
      e.iovaEnd = m[3] !== undefined ? hexAddr(m[3]) : null;
      e.size = decNum(m[4]!);
      e.unmappedSize = decNum(m[5]!);
      if (e.size === null || e.unmappedSize === null) return null;
      return rec(e);
    case 'add_device_to_group':
    case 'remove_device_from_group':
      if (!(m = RE_GROUP.exec(body))) break;
      e.groupId = parseInt(m[1]!, 10);
      setDevice(m[2]!);
      return rec(e);
    case 'attach_device_to_domain':
    case 'detach_device_from_domain':
      if (!(m = RE_DEVICE.exec(body))) break;
      setDevice(m[1]!);
      return rec(e);
    case 'io_page_fault':
      if (!(m = RE_FAULT.exec(body))) break;
      e.driver = m[1]!;
      setDevice(m[2]!);
      e.iova = hexAddr(m[3]!);
      e.flags = parseInt(m[4]!, 16);
      e.access = e.flags & 1 ? 'write' : 'read';
      return rec(e);
  }
  return partial(`iommu:${op} event body does not match include/trace/events/iommu.h`);
}

/** A tp_printk line in a kernel log: "map: IOMMU: iova=…". */
export function recogniseTpPrintk(body: string): Outcome {
  const m = RE_TP.exec(body);
  if (!m || !m[2]!.startsWith('IOMMU:')) return null;
  return recogniseIommuEvent(m[1]!, m[2]!, 'tp_printk', null);
}
