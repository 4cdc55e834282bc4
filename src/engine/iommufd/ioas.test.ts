// The IOAS groups of tools/testing/selftests/iommu/iommufd.c (FIXTURE(iommufd_ioas), variant
// no_domain), each with the errno the kernel returns. PAGE_SIZE is 4 KiB; `buffer` is a
// 2 MiB-aligned user buffer of 16 pages, as in the selftest's setup_sizes().
import { describe, expect, it } from 'vitest';
import type { Result } from '../errno';
import { ULONG_MAX } from './io-pagetable';
import { ioasAlloc, ioasAllowIovas, ioasCopy, ioasIovaRanges, ioasMap, ioasUnmap, type Ioas } from './ioas';
import { ObjectTable } from './object-table';

const PAGE = 4096n;
const buffer = 0x7f0000200000n;
const RW = ['READABLE', 'WRITEABLE'];
const FIXED = ['FIXED_IOVA', ...RW];

function setup(): { t: ObjectTable; ioas: Ioas } {
  const t = new ObjectTable();
  const r = ioasAlloc(t);
  if (!r.ok) throw new Error(r.message);
  return { t, ioas: r.value };
}
const errno = (r: Result<unknown>): string | null => (r.ok ? null : r.errno);
const mapFixed = (t: ObjectTable, id: number, len: bigint, iova: bigint) =>
  ioasMap(t, { ioasId: id, flags: FIXED, iova, length: len, userVa: buffer });
const mapAuto = (t: ObjectTable, id: number, len: bigint, userVa = buffer) =>
  ioasMap(t, { ioasId: id, flags: RW, iova: 0n, length: len, userVa });
/** what the selftest's IOMMU_TEST_OP_ADD_RESERVED does */
const addReserved = (ioas: Ioas, start: bigint, length: bigint) =>
  ioas.iopt.reserve(start, start + length - 1n, {}, 'test');

describe('iommufd_ioas (no_domain)', () => {
  it('ids start at 1 and IOAS_ALLOC rejects flags', () => {
    const { t, ioas } = setup();
    expect(ioas.id).toBe(1);
    expect(errno(ioasAlloc(t, 1))).toBe('EOPNOTSUPP');
  });

  it('area: unmap nothing → ENOENT; split → ENOENT; over-map → EEXIST; unmap all twice', () => {
    const { t, ioas } = setup();
    const base = 0n;
    for (let i = 0n; i < 10n; i++) expect(errno(ioasUnmap(t, ioas.id, i * PAGE, PAGE))).toBe('ENOENT');
    for (let i = 0n; i < 10n; i++) expect(errno(mapFixed(t, ioas.id, PAGE, base + i * PAGE))).toBeNull();
    for (let i = 0n; i < 10n; i++)
      expect(ioasUnmap(t, ioas.id, base + i * PAGE, PAGE)).toEqual({ ok: true, value: PAGE });
    expect(errno(mapFixed(t, ioas.id, 2n * PAGE, base + 16n * PAGE))).toBeNull();
    expect(errno(ioasUnmap(t, ioas.id, base + 16n * PAGE, PAGE))).toBe('ENOENT');
    expect(errno(ioasUnmap(t, ioas.id, base + 17n * PAGE, PAGE))).toBe('ENOENT');
    expect(errno(mapFixed(t, ioas.id, 2n * PAGE, base + 16n * PAGE))).toBe('EEXIST');
    expect(errno(mapFixed(t, ioas.id, PAGE, base + 16n * PAGE))).toBe('EEXIST');
    expect(errno(mapFixed(t, ioas.id, PAGE, base + 17n * PAGE))).toBe('EEXIST');
    expect(errno(mapFixed(t, ioas.id, 2n * PAGE, base + 15n * PAGE))).toBe('EEXIST');
    expect(errno(mapFixed(t, ioas.id, 3n * PAGE, base + 15n * PAGE))).toBe('EEXIST');
    expect(ioasUnmap(t, ioas.id, 0n, ULONG_MAX)).toEqual({ ok: true, value: 2n * PAGE });
    expect(ioasUnmap(t, ioas.id, 0n, ULONG_MAX)).toEqual({ ok: true, value: 0n });
  });

  it('unmap_fully_contained_areas: partial coverage → ENOENT, a covering range unmaps 32 pages', () => {
    const { t, ioas } = setup();
    const base = 4n * PAGE;
    for (let i = 0n; i < 4n; i++)
      expect(errno(mapFixed(t, ioas.id, 8n * PAGE, base + i * 16n * PAGE))).toBeNull();
    expect(errno(ioasUnmap(t, ioas.id, base - 4n * PAGE, 8n * PAGE))).toBe('ENOENT');
    expect(errno(ioasUnmap(t, ioas.id, base + 3n * 16n * PAGE + 8n * PAGE - 4n * PAGE, 8n * PAGE))).toBe(
      'ENOENT',
    );
    const r = ioasUnmap(t, ioas.id, base - 4n * PAGE, 3n * 16n * PAGE + 8n * PAGE + 4n * PAGE);
    expect(r.ok && r.value).toBe(32n * PAGE);
  });

  it('area_auto_iova: aligned to the length, never 0, avoids reserved, stays inside allowed', () => {
    const { t, ioas } = setup();
    const iovas: bigint[] = [];
    for (let i = 0; i < 10; i++) {
      const r = mapAuto(t, ioas.id, PAGE);
      expect(r.ok).toBe(true);
      iovas.push(r.ok ? r.value : -1n);
    }
    expect(iovas).not.toContain(0n);
    expect(new Set(iovas).size).toBe(10);
    for (const v of iovas) expect(errno(ioasUnmap(t, ioas.id, v, PAGE))).toBeNull();

    // "Kernel automatically aligns IOVAs properly": iova % (1 << (ffs(length) - 1)) == 0
    const lowBit = (n: bigint) => n & -n;
    for (let i = 1n; i <= 10n; i++) {
      const r = mapAuto(t, ioas.id, PAGE * i, 1n << 31n);
      expect(r.ok && r.value % lowBit(PAGE * i)).toBe(0n);
      if (r.ok) ioasUnmap(t, ioas.id, r.value, PAGE * i);
    }

    expect(addReserved(ioas, 4n * PAGE, 100n * PAGE)).toBeNull();
    for (let i = 1n; i <= 10n; i++) {
      const r = mapAuto(t, ioas.id, PAGE * i);
      if (!r.ok) throw new Error(r.message);
      expect(r.value > 4n * PAGE && r.value < 104n * PAGE).toBe(false);
      ioasUnmap(t, ioas.id, r.value, PAGE * i);
    }
    // allowed ∩ reserved → EADDRINUSE
    expect(errno(ioasAllowIovas(t, ioas.id, [{ start: PAGE, last: 600n * PAGE }]))).toBe('EADDRINUSE');
    const allowed = { start: 200n * PAGE, last: 600n * PAGE - 1n };
    expect(errno(ioasAllowIovas(t, ioas.id, [allowed]))).toBeNull();
    for (let i = 1n; i <= 10n; i++) {
      const len = PAGE * i;
      const r = mapAuto(t, ioas.id, len);
      if (!r.ok) throw new Error(r.message);
      expect(r.value % lowBit(len)).toBe(0n);
      expect(r.value >= allowed.start && r.value + len <= allowed.last + 1n).toBe(true);
    }
  });

  it('area_allowed: reserved ∩ allowed in either order → EADDRINUSE', () => {
    const { t, ioas } = setup();
    const base = 0n;
    expect(errno(ioasAllowIovas(t, ioas.id, [{ start: base, last: base + 600n * PAGE }]))).toBeNull();
    expect(addReserved(ioas, base + PAGE, PAGE)?.errno).toBe('EADDRINUSE');
    expect(errno(ioasAllowIovas(t, ioas.id, []))).toBeNull();
    expect(addReserved(ioas, base + PAGE, PAGE)).toBeNull();
    expect(errno(ioasAllowIovas(t, ioas.id, [{ start: base, last: base + 600n * PAGE }]))).toBe('EADDRINUSE');
  });

  it('allow_iovas rejects start ≥ last and overlapping ranges with EINVAL', () => {
    const { t, ioas } = setup();
    expect(errno(ioasAllowIovas(t, ioas.id, [{ start: PAGE, last: PAGE }]))).toBe('EINVAL');
    expect(
      errno(
        ioasAllowIovas(t, ioas.id, [
          { start: PAGE, last: 4n * PAGE },
          { start: 3n * PAGE, last: 8n * PAGE },
        ]),
      ),
    ).toBe('EINVAL');
  });

  it('copy_area: within one IOAS and into another', () => {
    const { t, ioas } = setup();
    expect(errno(mapFixed(t, ioas.id, PAGE, 0n))).toBeNull();
    expect(
      ioasCopy(t, {
        srcIoasId: ioas.id,
        dstIoasId: ioas.id,
        flags: FIXED,
        srcIova: 0n,
        dstIova: PAGE,
        length: PAGE,
      }),
    ).toEqual({
      ok: true,
      value: PAGE,
    });
    const other = ioasAlloc(t);
    if (!other.ok) throw new Error();
    expect(
      errno(
        ioasCopy(t, {
          srcIoasId: ioas.id,
          dstIoasId: other.value.id,
          flags: FIXED,
          srcIova: 0n,
          dstIova: 0n,
          length: PAGE,
        }),
      ),
    ).toBeNull();
    // the copy shares the pinned pages: same physical address behind both IOVAs
    expect(other.value.iopt.areaAt(0n)?.pages.pa).toBe(buffer);
  });

  it('copy_sweep: any sub-range inside the mapping copies, anything touching a hole is ENOENT', () => {
    const { t, ioas } = setup();
    const start = 0x100000n;
    const last = start + 16n * PAGE - 2n;
    expect(
      errno(
        ioasMap(t, { ioasId: ioas.id, flags: FIXED, iova: start, length: last - start + 1n, userVa: buffer }),
      ),
    ).toBeNull();
    const dst = ioasAlloc(t);
    if (!dst.ok) throw new Error();
    const len = PAGE / 2n;
    for (let iova = start - PAGE; iova <= last; iova += 511n) {
      const r = ioasCopy(t, {
        srcIoasId: ioas.id,
        dstIoasId: dst.value.id,
        flags: FIXED,
        srcIova: iova,
        dstIova: start,
        length: len,
      });
      if (iova < start || iova + len - 1n > last) expect(errno(r)).toBe('ENOENT');
      else {
        expect(errno(r)).toBeNull();
        expect(errno(ioasUnmap(t, dst.value.id, start, len))).toBeNull();
      }
    }
  });

  it('iova_ranges: one full range, EMSGSIZE with the count, two ranges after a reservation', () => {
    const { t, ioas } = setup();
    const r1 = ioasIovaRanges(t, ioas.id, 100);
    expect(r1.ok && r1.value.ranges).toEqual([{ start: 0n, last: ULONG_MAX }]);
    expect(r1.ok && r1.value.alignment).toBe(1n);
    const small = ioasIovaRanges(t, ioas.id, 0);
    expect(errno(small)).toBe('EMSGSIZE');
    expect(small.numIovas).toBe(1);
    expect(addReserved(ioas, PAGE, PAGE)).toBeNull();
    const r2 = ioasIovaRanges(t, ioas.id, 100);
    expect(r2.ok && r2.value.ranges).toEqual([
      { start: 0n, last: PAGE - 1n },
      { start: 2n * PAGE, last: ULONG_MAX },
    ]);
    const r3 = ioasIovaRanges(t, ioas.id, 1);
    expect(errno(r3)).toBe('EMSGSIZE');
    expect(r3.numIovas).toBe(2);
  });

  it('map checks: unknown flag EOPNOTSUPP, ULONG_MAX EOVERFLOW, no R/W EINVAL, unknown IOAS ENOENT, RO memory EPERM', () => {
    const { t, ioas } = setup();
    expect(
      errno(
        ioasMap(t, { ioasId: ioas.id, flags: ['EXECUTABLE', ...RW], iova: 0n, length: PAGE, userVa: buffer }),
      ),
    ).toBe('EOPNOTSUPP');
    expect(
      errno(ioasMap(t, { ioasId: ioas.id, flags: RW, iova: 0n, length: ULONG_MAX, userVa: buffer })),
    ).toBe('EOVERFLOW');
    expect(
      errno(ioasMap(t, { ioasId: ioas.id, flags: ['FIXED_IOVA'], iova: 0n, length: PAGE, userVa: buffer })),
    ).toBe('EINVAL');
    expect(errno(ioasMap(t, { ioasId: 99, flags: RW, iova: 0n, length: PAGE, userVa: buffer }))).toBe(
      'ENOENT',
    );
    expect(errno(ioasMap(t, { ioasId: ioas.id, flags: FIXED, iova: 0n, length: 0n, userVa: buffer }))).toBe(
      'EINVAL',
    );
    expect(
      errno(
        ioasMap(t, {
          ioasId: ioas.id,
          flags: FIXED,
          iova: 0n,
          length: PAGE,
          userVa: buffer,
          readOnlyMemory: true,
        }),
      ),
    ).toBe('EPERM');
  });
});
