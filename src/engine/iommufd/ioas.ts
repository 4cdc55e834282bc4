// IOAS verbs (drivers/iommu/iommufd/ioas.c): ALLOC, MAP, UNMAP, COPY, IOVA_RANGES, ALLOW_IOVAS.
// Each checks its input in the kernel's order and answers with the kernel's errno.
import { fail, ok, type Failure, type Result } from '../errno';
import { IoPagetable, ULONG_MAX, type Span } from './io-pagetable';
import { isFailure, type IommufdObject, type ObjectTable } from './object-table';

export interface Ioas extends IommufdObject {
  type: 'ioas';
  iopt: IoPagetable;
}

/** IOMMU_IOAS_MAP_* flag names as in include/uapi/linux/iommufd.h */
export const MAP_FLAGS = { FIXED_IOVA: 1, WRITEABLE: 2, READABLE: 4 } as const;
export type MapFlag = keyof typeof MAP_FLAGS;

export interface MapCmd {
  ioasId: number;
  /** flag names; an unknown name is an unknown flag bit (EOPNOTSUPP) */
  flags: string[];
  iova: bigint;
  length: bigint;
  userVa: bigint;
  /** where the pinned pages are; the lab backs user memory 1:1 (pa = userVa) unless told */
  pa?: bigint;
  /** the user memory is read-only (a WRITEABLE map of it fails with EPERM) */
  readOnlyMemory?: boolean;
}

function parseFlags(flags: string[]): { fixed: boolean; read: boolean; write: boolean } | Failure {
  for (const f of flags) if (!Object.hasOwn(MAP_FLAGS, f)) return fail('EOPNOTSUPP', `unknown map flag ${f}`);
  return {
    fixed: flags.includes('FIXED_IOVA'),
    read: flags.includes('READABLE'),
    write: flags.includes('WRITEABLE'),
  };
}

export function getIoas(table: ObjectTable, id: number): Ioas | Failure {
  return table.get<Ioas>(id, 'ioas', 'IOAS');
}

export function ioasAlloc(table: ObjectTable, flags = 0): Result<Ioas> {
  if (flags) return fail('EOPNOTSUPP', 'IOAS_ALLOC takes no flags');
  return ok(table.finalize<Ioas>({ id: table.allocId(), type: 'ioas', users: 0, iopt: new IoPagetable() }));
}

/** IOMMU_IOAS_MAP: returns the IOVA (the fixed one, or the one allocated). */
export function ioasMap(table: ObjectTable, cmd: MapCmd): Result<bigint> {
  const f = parseFlags(cmd.flags);
  if (isFailure(f)) return f;
  if (cmd.iova >= ULONG_MAX || cmd.length >= ULONG_MAX)
    return fail('EOVERFLOW', 'iova or length ≥ ULONG_MAX');
  if (!f.read && !f.write) return fail('EINVAL', 'a mapping needs READABLE or WRITEABLE');
  const ioas = getIoas(table, cmd.ioasId);
  if (isFailure(ioas)) return ioas;
  const pages = {
    uptr: cmd.userVa,
    pa: cmd.pa ?? cmd.userVa,
    length: cmd.length,
    writable: !cmd.readOnlyMemory,
  };
  return ioas.iopt.map(pages, 0n, cmd.length, { read: f.read, write: f.write }, f.fixed ? cmd.iova : null);
}

/** IOMMU_IOAS_UNMAP: returns the bytes unmapped. (iova 0, length U64_MAX) unmaps everything. */
export function ioasUnmap(table: ObjectTable, ioasId: number, iova: bigint, length: bigint): Result<bigint> {
  const ioas = getIoas(table, ioasId);
  if (isFailure(ioas)) return ioas;
  if (iova === 0n && length === ULONG_MAX) return ok(ioas.iopt.unmapAll());
  if (iova >= ULONG_MAX || length >= ULONG_MAX) return fail('EOVERFLOW', 'iova or length ≥ ULONG_MAX');
  return ioas.iopt.unmap(iova, length);
}

export interface CopyCmd {
  srcIoasId: number;
  dstIoasId: number;
  flags: string[];
  srcIova: bigint;
  dstIova: bigint;
  length: bigint;
}

/** IOMMU_IOAS_COPY: maps the pages behind [srcIova, +length) of one IOAS into another (or the same). */
export function ioasCopy(table: ObjectTable, cmd: CopyCmd): Result<bigint> {
  const f = parseFlags(cmd.flags);
  if (isFailure(f)) return f;
  if (cmd.length >= ULONG_MAX || cmd.srcIova >= ULONG_MAX || cmd.dstIova >= ULONG_MAX) {
    return fail('EOVERFLOW', 'iova or length ≥ ULONG_MAX');
  }
  if (!f.read && !f.write) return fail('EINVAL', 'a mapping needs READABLE or WRITEABLE');
  const src = getIoas(table, cmd.srcIoasId);
  if (isFailure(src)) return src;
  const parts = src.iopt.getPages(cmd.srcIova, cmd.length);
  if (!parts.ok) return parts;
  const dst = getIoas(table, cmd.dstIoasId);
  if (isFailure(dst)) return dst;
  // The kernel maps the list of page slices as consecutive areas in one step; the lab's areas each
  // carry one slice, mapped at consecutive IOVAs, undone together on failure.
  let iova = f.fixed ? cmd.dstIova : null;
  const done: { iova: bigint; length: bigint }[] = [];
  if (iova === null) {
    const first = parts.value[0]!;
    const alloc = dst.iopt.allocIova(first.pages.uptr + first.startByte, cmd.length);
    if (!alloc.ok) return alloc;
    iova = alloc.value;
  }
  let at = iova;
  for (const p of parts.value) {
    const r = dst.iopt.map(p.pages, p.startByte, p.length, { read: f.read, write: f.write }, at);
    if (!r.ok) {
      for (const d of done) dst.iopt.unmap(d.iova, d.length);
      return r;
    }
    done.push({ iova: r.value, length: p.length });
    at = r.value + p.length;
  }
  return ok(done[0]!.iova);
}

export interface IovaRangesResult {
  /** every range, even those beyond the caller's buffer */
  ranges: Span[];
  /** the ranges written into a buffer of `capacity` entries */
  written: Span[];
  alignment: bigint;
}

/**
 * IOMMU_IOAS_IOVA_RANGES: the usable IOVA ranges (holes of the reserved list). With a buffer too small
 * it writes what fits and fails with EMSGSIZE, and num_iovas says how many there are.
 */
export function ioasIovaRanges(
  table: ObjectTable,
  ioasId: number,
  capacity: number,
): Result<IovaRangesResult> & {
  numIovas?: number;
} {
  const ioas = getIoas(table, ioasId);
  if (isFailure(ioas)) return ioas;
  const ranges = ioas.iopt.iovaRanges();
  const written = ranges.slice(0, capacity);
  const value = { ranges, written, alignment: ioas.iopt.iovaAlignment };
  if (ranges.length > capacity) {
    return {
      ...fail('EMSGSIZE', `${ranges.length} ranges do not fit in a buffer of ${capacity}`),
      numIovas: ranges.length,
    };
  }
  return { ...ok(value), numIovas: ranges.length };
}

/** IOMMU_IOAS_ALLOW_IOVAS: replaces the allowed list (start < last, no overlaps, not reserved). */
export function ioasAllowIovas(table: ObjectTable, ioasId: number, ranges: Span[]): Result<null> {
  const ioas = getIoas(table, ioasId);
  if (isFailure(ioas)) return ioas;
  const loaded: Span[] = [];
  for (const r of ranges) {
    if (r.start >= r.last)
      return fail('EINVAL', `allowed range start 0x${r.start.toString(16)} ≥ last 0x${r.last.toString(16)}`);
    if (loaded.some((l) => l.start <= r.last && r.start <= l.last))
      return fail('EINVAL', 'allowed ranges overlap');
    loaded.push(r);
  }
  const err = ioas.iopt.setAllowed(loaded);
  return err ?? ok(null);
}
