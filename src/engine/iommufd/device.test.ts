// Ownership, RESV_DIRECT, group-wide HWPT, PASID and destroy rules, each with the errno the kernel
// returns (drivers/iommu/iommu.c, drivers/iommu/iommufd/device.c and hw_pagetable.c; selftest
// groups iommufd_device_pasid.pasid_attach, iommufd_mock_domain.replace, iommufd_ioas.ioas_destroy).
import { describe, expect, it } from 'vitest';
import { applyControl, type Lab, type Outcome } from '../control';
import { IommuCore, type CoreSpec } from '../iommu/core';
import { REQUIRE_DIRECT_MESSAGE } from '../iommu/group';
import { fakePageTable } from '../testing/fake-page-table';
import { parseControlLine, isProblem } from '../../trace/control-script';
import { IommufdContext } from './context';

const MSI = { start: 0xfee00000n, end: 0xfeefffffn, type: 'msi' as const, source: 'x86 MSI window' };

function spec(): CoreSpec {
  return {
    defaultDomainType: 'dma',
    passThrough: true,
    addressWidth: 48,
    devices: [
      // USB controller and IGD: RMRRs relaxable (device_rmrr_is_relaxable)
      {
        bdf: '0000:00:14.0',
        requesterId: 0xa0,
        name: 'xhci',
        pasidWidth: 0,
        tdisp: false,
        regions: [
          {
            start: 0x3e2e0000n,
            end: 0x3e2fffffn,
            type: 'direct-relaxable',
            source: 'RMRR 0x3e2e0000-0x3e2fffff',
          },
          MSI,
        ],
      },
      {
        bdf: '0000:00:02.0',
        requesterId: 0x10,
        name: 'igd',
        pasidWidth: 20,
        tdisp: false,
        regions: [
          {
            start: 0x7b800000n,
            end: 0x7fffffffn,
            type: 'direct-relaxable',
            source: 'RMRR 0x7b800000-0x7fffffff',
          },
          MSI,
        ],
      },
      // a NIC with a non-relaxable RMRR
      {
        bdf: '0000:03:00.0',
        requesterId: 0x300,
        name: 'nic',
        pasidWidth: 0,
        tdisp: false,
        regions: [
          { start: 0x6f000000n, end: 0x6f00ffffn, type: 'direct', source: 'RMRR 0x6f000000-0x6f00ffff' },
          MSI,
        ],
      },
      // two functions of one multifunction card without ACS share a group
      { bdf: '0000:04:00.0', requesterId: 0x400, name: 'fn0', pasidWidth: 8, tdisp: false, regions: [MSI] },
      { bdf: '0000:04:00.1', requesterId: 0x401, name: 'fn1', pasidWidth: 8, tdisp: false, regions: [MSI] },
    ],
    groups: [
      { id: 0, members: ['0000:00:02.0'], reason: 'own' },
      { id: 1, members: ['0000:00:14.0'], reason: 'own' },
      { id: 2, members: ['0000:03:00.0'], reason: 'own' },
      { id: 3, members: ['0000:04:00.0', '0000:04:00.1'], reason: 'multifunction without ACS' },
    ],
  };
}

function lab(): Lab {
  const core = new IommuCore(spec(), () => fakePageTable());
  const ctx = new IommufdContext(core, {
    nesting: true,
    dirtyTracking: false,
    pasid: true,
    isolatedMsi: true,
    allowUnsafeInterrupts: false,
  });
  return { core, ctx, names: new Map() };
}

/** Runs one script line against the lab; a line that does not parse fails the test. */
function run(l: Lab, json: Record<string, unknown>): Outcome {
  const p = parseControlLine(JSON.stringify(json), 1);
  if (isProblem(p)) throw new Error(p.message);
  return applyControl(l, p.event, { event: 'test', time: 0 });
}
const errno = (o: Outcome): string | null => (o.ok ? null : o.errno);
const id = (o: Outcome, key: string): number => {
  if (!o.ok) throw new Error(`${o.errno}: ${o.message}`);
  return o.outputs[key] as number;
};

describe('DMA ownership and RESV_DIRECT (commit a48ce36e2786)', () => {
  it('unity-maps every direct and relaxable RMRR into the default DMA domains', () => {
    const l = lab();
    const igd = l.core.devices.get('0000:00:02.0')!;
    const nic = l.core.devices.get('0000:03:00.0')!;
    expect(igd.group.domain.type).toBe('dma');
    expect(
      (igd.group.domain as { mappings: { iova: bigint; length: bigint; pa: bigint }[] }).mappings,
    ).toEqual([expect.objectContaining({ iova: 0x7b800000n, pa: 0x7b800000n, length: 0x4800000n })]);
    expect((nic.group.domain as { mappings: { iova: bigint }[] }).mappings[0]!.iova).toBe(0x6f000000n);
    expect(nic.requireDirect).toBe(true);
    expect(igd.requireDirect).toBe(false);
  });

  it('lets user space claim the relaxable USB controller and graphics device', () => {
    const l = lab();
    expect(errno(run(l, { op: 'device_bind', bdf: '0000:00:14.0' }))).toBeNull();
    expect(errno(run(l, { op: 'device_bind', bdf: '0000:00:02.0' }))).toBeNull();
    expect(l.core.devices.get('0000:00:14.0')!.group.domain.type).toBe('blocked');
  });

  it('refuses to claim the NIC with a direct RMRR: EINVAL and the kernel warning', () => {
    const l = lab();
    const r = run(l, { op: 'device_bind', bdf: '0000:03:00.0' });
    expect(errno(r)).toBe('EINVAL');
    expect(!r.ok && r.message).toContain(REQUIRE_DIRECT_MESSAGE);
    const nic = l.core.devices.get('0000:03:00.0')!;
    expect(nic.warnings).toEqual([REQUIRE_DIRECT_MESSAGE]);
    // nothing changed: still on its default domain, and a kernel driver can still bind
    expect(nic.group.domain).toBe(nic.group.defaultDomain);
    expect(errno(run(l, { op: 'driver_bind', bdf: '0000:03:00.0', driver: 'igb' }))).toBeNull();
  });

  it('EPERM when a kernel driver uses the group, EBUSY when a driver probes a user-owned group', () => {
    const l = lab();
    expect(errno(run(l, { op: 'driver_bind', bdf: '0000:04:00.1', driver: 'ixgbe' }))).toBeNull();
    expect(errno(run(l, { op: 'device_bind', bdf: '0000:04:00.0' }))).toBe('EPERM');
    expect(errno(run(l, { op: 'device_bind', bdf: '0000:04:00.1' }))).toBe('EBUSY'); // its own driver first
    expect(errno(run(l, { op: 'driver_unbind', bdf: '0000:04:00.1' }))).toBeNull();
    expect(errno(run(l, { op: 'device_bind', bdf: '0000:04:00.0' }))).toBeNull();
    expect(errno(run(l, { op: 'driver_bind', bdf: '0000:04:00.1', driver: 'ixgbe' }))).toBe('EBUSY');
    // both functions may be bound to the same iommufd (same owner cookie)
    expect(errno(run(l, { op: 'device_bind', bdf: '0000:04:00.1' }))).toBeNull();
  });

  it('unbinding the last device returns the group to its default domain', () => {
    const l = lab();
    const dev = id(run(l, { op: 'device_bind', bdf: '0000:00:14.0' }), 'dev_id');
    const g = l.core.devices.get('0000:00:14.0')!.group;
    expect(g.domain.type).toBe('blocked');
    expect(errno(run(l, { op: 'device_unbind', dev }))).toBeNull();
    expect(g.domain).toBe(g.defaultDomain);
    expect(g.ownerCnt).toBe(0);
  });

  it('default_domain: EPERM with a driver bound; DMA → DMA-FQ in place; identity when unbound', () => {
    const l = lab();
    run(l, { op: 'driver_bind', bdf: '0000:00:14.0', driver: 'xhci_hcd' });
    expect(errno(run(l, { op: 'default_domain', bdf: '0000:00:14.0', type: 'identity' }))).toBe('EPERM');
    expect(run(l, { op: 'default_domain', group: 1, type: 'DMA-FQ' })).toMatchObject({
      ok: true,
      outputs: { domain: 'dma-fq' },
    });
    run(l, { op: 'driver_unbind', bdf: '0000:00:14.0' });
    expect(run(l, { op: 'default_domain', group: 1, type: 'identity' })).toMatchObject({
      ok: true,
      outputs: { domain: 'identity' },
    });
  });
});

describe('attach, replace, detach (iommufd/device.c)', () => {
  function bound(l: Lab): { a: number; b: number; ioas: number } {
    const ioas = id(run(l, { op: 'ioas_alloc' }), 'ioas_id');
    const a = id(run(l, { op: 'device_bind', bdf: '0000:04:00.0' }), 'dev_id');
    const b = id(run(l, { op: 'device_bind', bdf: '0000:04:00.1' }), 'dev_id');
    return { a, b, ioas };
  }

  it('every device of a group must use the same HWPT', () => {
    const l = lab();
    const { a, b, ioas } = bound(l);
    const h1 = id(run(l, { op: 'hwpt_alloc', dev: a, pt: ioas }), 'hwpt_id');
    const h2 = id(run(l, { op: 'hwpt_alloc', dev: a, pt: ioas }), 'hwpt_id');
    expect(errno(run(l, { op: 'device_attach', dev: a, pt: h1 }))).toBeNull();
    expect(errno(run(l, { op: 'device_attach', dev: b, pt: h2 }))).toBe('EINVAL');
    expect(errno(run(l, { op: 'device_attach', dev: b, pt: h1 }))).toBeNull();
    expect(errno(run(l, { op: 'device_attach', dev: b, pt: h1 }))).toBe('EBUSY');
    const g = l.core.devices.get('0000:04:00.0')!.group;
    expect(errno(run(l, { op: 'device_detach', dev: a }))).toBeNull();
    expect(g.domain.type).toBe('unmanaged'); // b still attached
    expect(errno(run(l, { op: 'device_detach', dev: b }))).toBeNull();
    expect(g.domain.type).toBe('blocked'); // detach leaves the device blocked
  });

  it('attach enforces the device reserved regions in the IOAS (MSI window)', () => {
    const l = lab();
    const { a, ioas } = bound(l);
    expect(errno(run(l, { op: 'device_attach', dev: a, pt: ioas }))).toBeNull();
    const r = run(l, { op: 'ioas_iova_ranges', ioas });
    expect(r.ok && r.outputs.ranges).toEqual([
      { start: '0x0', last: '0xfedfffff' },
      { start: '0xfef00000', last: '0xffffffffffff' }, // up to the 48-bit aperture
    ]);
    expect(
      errno(
        run(l, {
          op: 'ioas_map',
          ioas,
          flags: ['FIXED_IOVA', 'READABLE'],
          iova: '0xfee00000',
          length: '0x1000',
          user_va: '0x1000',
        }),
      ),
    ).toBe('EINVAL');
  });

  it('attach fails with EADDRINUSE when an area already sits in a reserved region', () => {
    const l = lab();
    const { a, ioas } = bound(l);
    run(l, {
      op: 'ioas_map',
      ioas,
      flags: ['FIXED_IOVA', 'READABLE'],
      iova: '0xfee00000',
      length: '0x1000',
      user_va: '0x1000',
    });
    expect(errno(run(l, { op: 'device_attach', dev: a, pt: ioas }))).toBe('EADDRINUSE');
    expect(l.core.devices.get('0000:04:00.0')!.group.domain.type).toBe('blocked');
  });

  it('replace needs an attachment, is atomic, and frees the old auto HWPT', () => {
    const l = lab();
    const { a, ioas } = bound(l);
    expect(errno(run(l, { op: 'device_replace', dev: a, pt: ioas }))).toBe('EINVAL');
    const auto = id(run(l, { op: 'device_attach', dev: a, pt: ioas }), 'hwpt_id');
    const ioas2 = id(run(l, { op: 'ioas_alloc' }), 'ioas_id');
    const auto2 = id(run(l, { op: 'device_replace', dev: a, pt: ioas2 }), 'hwpt_id');
    expect(auto2).not.toBe(auto);
    // selftest iommufd_mock_domain.replace: the old auto HWPT is gone
    expect(errno(run(l, { op: 'device_replace', dev: a, pt: auto }))).toBe('ENOENT');
    expect(l.core.devices.get('0000:04:00.0')!.group.domain.type).toBe('unmanaged');
  });

  it('destroy: ENOENT unknown, EBUSY for an IOAS with a HWPT, an attached HWPT and a bound device', () => {
    const l = lab();
    const { a, ioas } = bound(l);
    expect(errno(run(l, { op: 'destroy', id: 99 }))).toBe('ENOENT');
    const h = id(run(l, { op: 'hwpt_alloc', dev: a, pt: ioas }), 'hwpt_id');
    expect(errno(run(l, { op: 'destroy', id: ioas }))).toBe('EBUSY');
    run(l, { op: 'device_attach', dev: a, pt: h });
    expect(errno(run(l, { op: 'destroy', id: h }))).toBe('EBUSY');
    expect(errno(run(l, { op: 'destroy', id: a }))).toBe('EBUSY');
    run(l, { op: 'device_detach', dev: a });
    expect(errno(run(l, { op: 'destroy', id: h }))).toBeNull();
    expect(errno(run(l, { op: 'destroy', id: ioas }))).toBeNull();
    expect(errno(run(l, { op: 'destroy', id: ioas }))).toBe('ENOENT');
  });

  it('nested HWPT: needs a NEST_PARENT parent, VT-d stage-1 data, and holds its parent', () => {
    const l = lab();
    const { a, ioas } = bound(l);
    const s1 = { data_type: 'vtd_s1', data: { flags: 0, pgtbl_addr: '0x10000', addr_width: 48 } };
    const plain = id(run(l, { op: 'hwpt_alloc', dev: a, pt: ioas }), 'hwpt_id');
    expect(errno(run(l, { op: 'hwpt_alloc', dev: a, pt: plain, ...s1 }))).toBe('EINVAL');
    const parent = id(run(l, { op: 'hwpt_alloc', dev: a, pt: ioas, flags: ['NEST_PARENT'] }), 'hwpt_id');
    expect(errno(run(l, { op: 'hwpt_alloc', dev: a, pt: parent }))).toBe('EOPNOTSUPP'); // no data
    const nested = id(run(l, { op: 'hwpt_alloc', dev: a, pt: parent, ...s1 }), 'hwpt_id');
    expect(errno(run(l, { op: 'hwpt_alloc', dev: a, pt: nested, ...s1 }))).toBe('EINVAL'); // nested on nested
    expect(errno(run(l, { op: 'destroy', id: parent }))).toBe('EBUSY');
    expect(errno(run(l, { op: 'hwpt_invalidate', hwpt: plain, entries: [] }))).toBe('ENOENT');
    const inv = run(l, {
      op: 'hwpt_invalidate',
      hwpt: nested,
      entries: [
        { addr: '0x1000', npages: 1, flags: ['LEAF'] },
        { addr: '0x1234', npages: 1 },
      ],
    });
    expect(errno(inv)).toBe('EINVAL');
    expect(!inv.ok && inv.outputs?.entry_num).toBe(1); // partial success is visible
    expect(errno(run(l, { op: 'device_attach', dev: a, pt: nested }))).toBeNull();
    expect(l.core.devices.get('0000:04:00.0')!.group.domain.type).toBe('nested');
  });
});

describe('PASID attach (selftest iommufd_device_pasid.pasid_attach)', () => {
  it('follows the kernel rules', () => {
    const l = lab();
    const ioas = id(run(l, { op: 'ioas_alloc' }), 'ioas_id');
    const dev = id(run(l, { op: 'device_bind', bdf: '0000:00:02.0' }), 'dev_id');
    const nopasid = id(run(l, { op: 'device_bind', bdf: '0000:00:14.0' }), 'dev_id');
    const plain = id(run(l, { op: 'hwpt_alloc', dev, pt: ioas }), 'hwpt_id');
    const compat = id(run(l, { op: 'hwpt_alloc', dev, pt: ioas, flags: ['PASID'] }), 'hwpt_id');
    const compat2 = id(run(l, { op: 'hwpt_alloc', dev, pt: ioas, flags: ['PASID'] }), 'hwpt_id');
    // detach of an unattached PASID is a no-op
    expect(errno(run(l, { op: 'pasid_detach', dev, pasid: 100 }))).toBeNull();
    // a device without PASID capability
    expect(errno(run(l, { op: 'pasid_attach', dev: nopasid, pasid: 100, pt: compat }))).toBe('EINVAL');
    // the HWPT must be PASID-compatible
    expect(errno(run(l, { op: 'pasid_attach', dev, pasid: 100, pt: plain }))).toBe('EINVAL');
    // RID on a non-compatible HWPT blocks PASID attach
    expect(errno(run(l, { op: 'device_attach', dev, pt: plain }))).toBeNull();
    expect(errno(run(l, { op: 'pasid_attach', dev, pasid: 100, pt: compat }))).toBe('EINVAL');
    expect(errno(run(l, { op: 'device_replace', dev, pt: compat }))).toBeNull();
    expect(errno(run(l, { op: 'pasid_attach', dev, pasid: 100, pt: compat }))).toBeNull();
    // attach over an existing attachment → EBUSY; replace an unattached PASID → EINVAL; onto an IOAS → EINVAL
    expect(errno(run(l, { op: 'pasid_attach', dev, pasid: 100, pt: compat2 }))).toBe('EBUSY');
    expect(errno(run(l, { op: 'pasid_replace', dev, pasid: 200, pt: compat2 }))).toBe('EINVAL');
    expect(errno(run(l, { op: 'pasid_replace', dev, pasid: 100, pt: ioas }))).toBe('EINVAL');
    // the RID may not move to a non-compatible HWPT while a PASID is attached
    expect(errno(run(l, { op: 'device_replace', dev, pt: plain }))).toBe('EINVAL');
    expect(errno(run(l, { op: 'pasid_replace', dev, pasid: 100, pt: compat2 }))).toBeNull();
    const g = l.core.devices.get('0000:00:02.0')!.group;
    expect(g.pasids.get(100)!.id).toBe(
      l.ctx.table.any(compat2) &&
        (l.ctx.table.any(compat2) as unknown as { domain: { id: number } }).domain.id,
    );
    expect(errno(run(l, { op: 'pasid_detach', dev, pasid: 100 }))).toBeNull();
    expect(g.pasids.size).toBe(0);
  });
});
