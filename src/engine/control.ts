// Applies control events (src/trace/control-script.ts) to a lab: the kernel's IOMMU core and one
// iommufd context. Each event answers like the syscall it stands for: its outputs, or the errno and
// the check that failed. A failed event changes nothing (the kernel's verbs are all-or-nothing here,
// except where the kernel itself is not, e.g. a partly successful IOAS_UNMAP or HWPT_INVALIDATE).
import { fail, ok, type Failure, type Result } from './errno';
import type { IommuCore } from './iommu/core';
import { NO_PASID, type IommufdDevice } from './iommufd/device';
import type { IommufdContext } from './iommufd/context';
import { hwptAlloc, hwptInvalidate } from './iommufd/hw-pagetable';
import { ioasAlloc, ioasAllowIovas, ioasCopy, ioasIovaRanges, ioasMap, ioasUnmap } from './iommufd/ioas';
import { isFailure } from './iommufd/object-table';
import type { ControlEvent, ObjRef } from '../trace/control-script';

export interface Lab {
  core: IommuCore;
  ctx: IommufdContext;
  /** "$name" → object id, from events' "as" */
  names: Map<string, number>;
}

export type Outputs = Record<string, string | number | boolean | null | Array<Record<string, string>>>;

export type Outcome = { ok: true; outputs: Outputs } | (Failure & { outputs?: Outputs });

const hex = (v: bigint): string => `0x${v.toString(16)}`;

function ref(lab: Lab, r: ObjRef): Result<number> {
  if (typeof r === 'number') return ok(r);
  const id = lab.names.get(r.slice(1));
  return id === undefined ? fail('ENOENT', `no object named ${r}`) : ok(id);
}

function device(lab: Lab, r: ObjRef): Result<IommufdDevice> {
  const id = ref(lab, r);
  if (!id.ok) return id;
  const d = lab.ctx.devices.getDevice(id.value);
  return isFailure(d) ? d : ok(d);
}

function out(r: Result<unknown>, outputs: () => Outputs): Outcome {
  return r.ok ? { ok: true, outputs: outputs() } : r;
}

/** Runs one event. `origin` names it in mappings it creates (for views and reports). */
export function applyControl(lab: Lab, e: ControlEvent, origin: { event: string; time: number }): Outcome {
  lab.core.origin.current = origin;
  const o = run(lab, e);
  if (o.ok && e.as !== undefined) {
    const id = Object.entries(o.outputs).find(([k]) => k.endsWith('_id'))?.[1];
    if (typeof id === 'number') lab.names.set(e.as, id);
  }
  return o;
}

function run(lab: Lab, e: ControlEvent): Outcome {
  const { ctx, core } = lab;
  const t = ctx.table;
  switch (e.op) {
    case 'ioas_alloc': {
      const r = ioasAlloc(t, e.flags);
      return out(r, () => ({ ioas_id: r.ok ? r.value.id : 0 }));
    }
    case 'ioas_map': {
      const id = ref(lab, e.ioas);
      if (!id.ok) return id;
      const r = ioasMap(t, {
        ioasId: id.value,
        flags: e.flags,
        iova: e.iova ?? 0n,
        length: e.length,
        userVa: e.user_va,
        pa: e.pa,
        readOnlyMemory: e.readonly_memory,
      });
      return out(r, () => ({ iova: hex(r.ok ? r.value : 0n) }));
    }
    case 'ioas_unmap': {
      const id = ref(lab, e.ioas);
      if (!id.ok) return id;
      const r = ioasUnmap(t, id.value, e.iova, e.length);
      return out(r, () => ({ length: hex(r.ok ? r.value : 0n) }));
    }
    case 'ioas_copy': {
      const src = ref(lab, e.src_ioas);
      if (!src.ok) return src;
      const dst = ref(lab, e.dst_ioas);
      if (!dst.ok) return dst;
      const r = ioasCopy(t, {
        srcIoasId: src.value,
        dstIoasId: dst.value,
        flags: e.flags,
        srcIova: e.src_iova,
        dstIova: e.dst_iova ?? 0n,
        length: e.length,
      });
      return out(r, () => ({ dst_iova: hex(r.ok ? r.value : 0n) }));
    }
    case 'ioas_iova_ranges': {
      const id = ref(lab, e.ioas);
      if (!id.ok) return id;
      const r = ioasIovaRanges(t, id.value, e.num_iovas);
      if (!r.ok) return { ...r, outputs: { num_iovas: r.numIovas ?? 0 } };
      return {
        ok: true,
        outputs: {
          num_iovas: r.value.ranges.length,
          ranges: r.value.written.map((s) => ({ start: hex(s.start), last: hex(s.last) })),
          out_iova_alignment: hex(r.value.alignment),
        },
      };
    }
    case 'ioas_allow_iovas': {
      const id = ref(lab, e.ioas);
      if (!id.ok) return id;
      return out(ioasAllowIovas(t, id.value, e.ranges), () => ({}));
    }
    case 'hwpt_alloc': {
      const dev = ref(lab, e.dev);
      if (!dev.ok) return dev;
      const pt = ref(lab, e.pt);
      if (!pt.ok) return pt;
      const data = e.data
        ? { flags: e.data.flags, pgtblAddr: e.data.pgtbl_addr, addrWidth: e.data.addr_width }
        : undefined;
      const r = hwptAlloc(
        t,
        core,
        ctx.caps,
        { devId: dev.value, ptId: pt.value, flags: e.flags, dataType: e.data_type, data },
        (id) => {
          const d = ctx.devices.getDevice(id);
          return isFailure(d) ? null : d.dev.group;
        },
      );
      return out(r, () => ({ hwpt_id: r.ok ? r.value.id : 0 }));
    }
    case 'hwpt_invalidate': {
      const id = ref(lab, e.hwpt);
      if (!id.ok) return id;
      const r = hwptInvalidate(t, id.value, e.entries);
      if (!r.ok) return { ...r, outputs: { entry_num: r.done ?? 0 } };
      return { ok: true, outputs: { entry_num: r.value } };
    }
    case 'device_bind': {
      const r = ctx.devices.bind(e.bdf);
      return out(r, () => ({ dev_id: r.ok ? r.value.id : 0 }));
    }
    case 'device_unbind': {
      const d = device(lab, e.dev);
      if (!d.ok) return d;
      ctx.devices.unbind(d.value);
      return { ok: true, outputs: {} };
    }
    case 'device_attach':
    case 'device_replace':
    case 'pasid_attach':
    case 'pasid_replace': {
      const d = device(lab, e.dev);
      if (!d.ok) return d;
      const pt = ref(lab, e.pt);
      if (!pt.ok) return pt;
      const pasid = 'pasid' in e ? e.pasid : NO_PASID;
      if ('pasid' in e && pasid === NO_PASID)
        return fail('EINVAL', 'PASID 0 is IOMMU_NO_PASID: use device_attach');
      const r = e.op.endsWith('attach')
        ? ctx.devices.attach(d.value, pasid, pt.value)
        : ctx.devices.replace(d.value, pasid, pt.value);
      return out(r, () => ({ hwpt_id: r.ok ? r.value : 0 }));
    }
    case 'device_detach':
    case 'pasid_detach': {
      const d = device(lab, e.dev);
      if (!d.ok) return d;
      return out(ctx.devices.detach(d.value, 'pasid' in e ? e.pasid : NO_PASID), () => ({}));
    }
    case 'destroy': {
      const id = ref(lab, e.id);
      if (!id.ok) return id;
      return out(ctx.destroy(id.value), () => ({}));
    }
    case 'driver_bind':
      return out(core.driverBind(e.bdf, e.driver), () => ({}));
    case 'driver_unbind':
      return out(core.driverUnbind(e.bdf), () => ({}));
    case 'default_domain': {
      let groupId = e.group;
      if (groupId === undefined) {
        if (e.bdf === undefined) return fail('EINVAL', 'default_domain needs "group" or "bdf"');
        const d = core.device(e.bdf);
        if (isFailure(d)) return d;
        groupId = d.group.id;
      }
      const type = e.type === 'identity' ? 'identity' : e.type === 'DMA' ? 'dma' : 'dma-fq';
      const r = core.setDefaultDomainType(groupId, type);
      return out(r, () => ({
        group: groupId,
        domain: r.ok ? r.value.type : '',
        domain_id: r.ok ? r.value.id : 0,
      }));
    }
    case 'dma_map': {
      const prot = { read: e.prot.includes('r'), write: e.prot.includes('w') };
      return out(core.dmaMap(e.bdf, e.iova, e.pa ?? e.iova, e.length, prot), () => ({}));
    }
    case 'dma_unmap':
      return out(core.dmaUnmap(e.bdf, e.iova, e.length), () => ({}));
    case 'tdisp_lock':
    case 'tdisp_run':
    case 'tdisp_stop': {
      const d = core.device(e.bdf);
      if (isFailure(d)) return d;
      if (!d.tdisp) return fail('EOPNOTSUPP', `${e.bdf} has no TDISP capability`);
      const time = e.t ?? 0;
      const err =
        e.op === 'tdisp_lock'
          ? d.tdisp.lock(time)
          : e.op === 'tdisp_run'
            ? d.tdisp.run(time)
            : (d.tdisp.stop(time), null);
      return err ?? { ok: true, outputs: { state: d.tdisp.state } };
    }
  }
}
