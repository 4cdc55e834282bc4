// The 'faultDetails' view: what the details pane shows of one fault, judged on the state at the
// fault's time (the host seeks a probe there): the page walk of the request (walk.ts), the domain in
// force for the requester and its state, and the root-cause hint (src/report/hints.ts chooseHint, on a
// cluster of this one fault). The host passes the fault row's fields, since the engine worker keeps no
// fault list. Hazards and unmaps are those the Replay holds (the worker empties its hazard list, so the
// stale-IOTLB rule applies to text traces only). A use-after-unmap hazard (kind 'hazard') gets the
// walk and domain at its time and the stale-IOTLB hint naming the unmap the host passes.
// Query: { bdf, pasid, address, access, reason, stage, recording, classes, time, index } or
// { kind: 'hazard', bdf, address, access, time, unmapOrigin, unmapTime }.
import type { Domain } from '../iommu/domain';
import { PagingDomain } from '../iommu/domain';
import type { Fault, FaultRecording, Replay } from '../replay';
import { Clusterer } from '../../report/clusters';
import { chooseHint, staleIotlbHint } from '../../report/hints';
import { walkNow } from '../../report/report-model';
import type { DomainState, WalkView } from '../../shared/views/address-space';
import { InspectError, type InspectContext, type InspectQuery } from './index';
import { addressParam, hex, pasidParam, requesterOf, unitOf, walkOf, type Requester } from './walk';

export interface FaultContext {
  walk: WalkView;
  domain: DomainState;
  hint: { rule: string; title: string; team: string; text: string };
}

/** The domain in force for a requester (and PASID) and its state in words. */
export function domainState(replay: Replay, q: Requester, pasid: number | null): DomainState {
  const dev = q.device;
  if (!dev)
    return { type: 'none', id: null, state: { device: `${q.bdf} is not a function of the platform` } };
  const g = dev.group;
  const d: Domain | null = pasid === null ? g.domain : (g.pasids.get(pasid) ?? null);
  const unit = unitOf(replay, q.segment, q.rid);
  const state: Record<string, string | number | boolean> = {
    group: g.id,
    'default domain': `${g.defaultDomain.type} (domain ${g.defaultDomain.id})`,
    owner: g.owner ? 'user space (iommufd/VFIO)' : g.ownerCnt ? 'kernel driver' : 'none',
    driver: dev.driver ?? 'none',
    'PASID attachments': g.pasids.size,
  };
  if (unit) {
    state.unit = `${unit.unit.id} (${unit.scalable ? 'scalable' : 'legacy'} mode)`;
    const did = d ? unit.dids.get(d) : undefined;
    if (did !== undefined) state.DID = did;
  }
  if (dev.tdisp) state['TDISP state'] = dev.tdisp.state;
  if (!d)
    return { type: 'none', id: null, state: { ...state, domain: `nothing attached to PASID ${pasid}` } };
  if (d instanceof PagingDomain) {
    state['address width'] = d.addressWidth;
    state.mappings = d.mappings.length;
    state['mapped bytes'] = hex(d.mappings.reduce((n, m) => n + m.length, 0n));
    state['page table root'] = hex(d.table.root);
    state['IOTLB invalidation'] = d.type === 'dma-fq' ? 'deferred (flush queue, 10 ms)' : 'strict';
    if (d.flags.nestParent) state['nest parent'] = true;
  } else if (d.type === 'nested') {
    state.parent = d.parent.id;
    state['stage-1 table'] = hex(d.s1.pgtblAddr);
    state['stage-1 width'] = d.s1.addrWidth;
  } else if (d.type === 'sva') {
    state.process = d.mm;
  }
  return { type: d.type, id: d.id, state };
}

const strings = (v: unknown, name: string): string[] => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new InspectError(`${name}: expected a list of strings`);
  return v as string[];
};
const number = (v: unknown, name: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InspectError(`${name}: expected a number`);
  return v;
};

export function faultDetailsView({ replay }: InspectContext, q: InspectQuery): FaultContext {
  const requester = requesterOf(replay, q.bdf);
  const pasid = pasidParam(q.pasid);
  const address = addressParam(q.address);
  const access = q.access === 'write' ? 'write' : 'read';
  const walk = walkOf(replay, { requester, pasid, address, access });
  const domain = domainState(replay, requester, pasid);
  if (q.kind === 'hazard') {
    const h = staleIotlbHint(requester.bdf, {
      addr: Number(address),
      time: number(q.time ?? replay.time, 'time'),
      unmapOrigin: typeof q.unmapOrigin === 'string' ? q.unmapOrigin : 'an unmap',
      unmapTime: number(q.unmapTime, 'unmapTime'),
    });
    return { walk, domain, hint: { rule: h.rule, title: h.title, team: h.team, text: h.detail } };
  }
  const pageAddr = Number(address - (address & 0xfffn));
  const fault: Fault = {
    index: number(q.index ?? 0, 'index'),
    time: number(q.time ?? replay.time, 'time'),
    requesterId: requester.rid,
    pasid,
    write: access === 'write',
    pageAddr,
    reason: number(q.reason, 'reason'),
    stage: typeof q.stage === 'string' ? q.stage : 'unknown',
    recording: (typeof q.recording === 'string' ? q.recording : 'recorded') as FaultRecording,
    classes: strings(q.classes ?? [], 'classes'),
    profile: replay.profile,
  };
  const { cluster } = new Clusterer().add(fault);
  const dev = requester.device;
  const unit = unitOf(replay, requester.segment, requester.rid);
  const h = chooseHint(
    cluster,
    {
      walk: walkNow(replay, {
        kind: 'dma',
        time: fault.time,
        requesterId: requester.rid,
        pasid,
        addr: pageAddr,
        len: 4,
        write: fault.write,
      }),
      domainType: dev ? domain.type : null,
      ownedByUser: dev ? dev.group.owner !== null : false,
      pasidAttached: pasid === null ? null : dev ? dev.group.pasids.has(pasid) : false,
    },
    {
      lab: replay.lab,
      device: dev,
      hazards: replay.hazards,
      unmaps: replay.driver.unmaps,
      unitId: unit?.unit.id ?? null,
    },
  );
  return { walk, domain, hint: { rule: h.rule, title: h.title, team: h.team, text: h.detail } };
}
