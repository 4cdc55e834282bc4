// The intel-iommu driver's side of the hardware: it writes the VT-d structures a unit walks (root
// and context tables in legacy mode; scalable root/context entries, PASID directories and PASID
// entries in scalable mode) into simulated physical memory, so that they say what the IOMMU core's
// groups and domains say, for every requester ID a device's DMA may carry (its DMA aliases). It
// allocates domain IDs per unit (from 2: 0 is reserved and 1 is FLPT_DEFAULT_DID), invalidates the
// context/PASID caches and the IOTLB when it reprograms a device, and, when PTEs are cleared, either
// invalidates the IOTLB at once (strict domains) or leaves the stale entries for a DMA-FQ flush
// queue (dma-iommu.c: flushed every IOVA_FQ_TIMEOUT = 10 ms or when IOVA_FQ_SIZE = 256 entries wait).
// Stale entries are marked with the unmap event, so a DMA through one is reported as use-after-unmap.
import type { CoreDevice, IommuCore } from '../iommu/core';
import { PagingDomain, type Domain, type MappingOrigin } from '../iommu/domain';
import type { Group } from '../iommu/group';
import type { PhysMem } from '../mem/phys-mem';
import { dmaAliasRids } from '../platform/dma-alias';
import type { IommuUnit, Platform } from '../platform/index';
import { VtdCaches, type CacheMode } from './iotlb';
import {
  makeUnitRegs,
  PGTT_NESTED,
  PGTT_PT,
  PGTT_SL,
  TT_DEV_IOTLB,
  TT_MULTI_LEVEL,
  TT_PASS_THROUGH,
  writeContextEntry,
  writePasidDirEntry,
  writePasidEntry,
  writeRootEntry,
  writeScalableContextEntry,
  writeScalableRootEntry,
  type VtdUnitRegs,
} from './structures';

export const IOVA_FQ_TIMEOUT_NS = 10_000_000;
export const IOVA_FQ_SIZE = 256;
/** Linux: 0 is reserved, 1 is FLPT_DEFAULT_DID (pass-through and first-level default) */
export const FIRST_DID = 2;
export const FLPT_DEFAULT_DID = 1;
/** PASID directory of one 4 KiB frame: 512 entries = 2^(PDTS+7) → PDTS 2, PASIDs 0..32767 */
const PDTS = 2;
const RID_PASID = 0;
const TWO_32 = 2 ** 32;

/** One unmap the driver saw: what a stale IOTLB hit refers back to. */
export interface UnmapRecord {
  origin: MappingOrigin;
  unit: string;
  did: number;
  iova: bigint;
  length: bigint;
  /** trace time the IOTLB was finally invalidated, or null while it is still pending */
  flushedAt: number | null;
}

export interface DriverUnit {
  unit: IommuUnit;
  regs: VtdUnitRegs;
  caches: VtdCaches;
  scalable: boolean;
  /** bus → context table (legacy) or [lower, upper] tables (scalable) */
  contextTables: Map<number, number[]>;
  /** requester ID → PASID directory (scalable) */
  pasidDirs: Map<number, number>;
  /** requester ID * 16384 + directory index → PASID table */
  pasidTables: Map<number, number>;
  dids: Map<Domain, number>;
  nextDid: number;
  /** requester ID → what is programmed: the RID domain and the PASIDs with entries */
  programmed: Map<number, { domain: Domain; pasids: Map<number, Domain> }>;
}

interface PendingFlush {
  deadline: number;
  unit: DriverUnit;
  did: number;
  records: number[];
}

export interface DriverOptions {
  cacheMode?: CacheMode;
}

export class IntelIommuDriver {
  readonly units = new Map<string, DriverUnit>();
  /** requester ID (segment << 16 | RID) → the unit translating it */
  readonly unitOfRid = new Map<number, DriverUnit>();
  readonly unmaps: UnmapRecord[] = [];
  private readonly seen = new Map<Group, number>();
  private readonly listening = new Set<PagingDomain>();
  private readonly pending: PendingFlush[] = [];
  private nextDeadline = Infinity;

  /** the earliest pending DMA-FQ flush (Infinity when none): callers may skip advance() before it */
  get nextFlushDeadline(): number {
    return this.nextDeadline;
  }

  constructor(
    private readonly platform: Platform,
    private readonly core: IommuCore,
    private readonly mem: PhysMem,
    options: DriverOptions = {},
  ) {
    for (const u of platform.iommus) {
      const c = u.capabilities;
      const scalable = u.mode === 'scalable';
      const root = mem.allocFrame();
      const sagaw = c.slLevels.reduce((m, l) => m | (1 << (l - 2)), 0);
      const regs = makeUnitRegs(root, scalable ? 'scalable' : 'legacy', {
        haw: c.haw,
        cap: {
          sagaw,
          mgaw: c.mgaw,
          sllps2m: c.superpages.includes('2M'),
          sllps1g: c.superpages.includes('1G'),
        },
        ecap: {
          pt: c.passThrough,
          dt: c.deviceTlb,
          nest: c.nesting,
          smts: c.scalableMode,
          slts: c.scalableMode,
          flts: c.firstLevel,
          pasid: c.pasidBits > 0,
          pss: Math.max(0, c.pasidBits - 1),
        },
      });
      this.units.set(u.id, {
        unit: u,
        regs,
        caches: new VtdCaches({ mode: options.cacheMode ?? 'hardware' }),
        scalable,
        contextTables: new Map(),
        pasidDirs: new Map(),
        pasidTables: new Map(),
        dids: new Map(),
        nextDid: FIRST_DID,
        programmed: new Map(),
      });
    }
    for (const dev of core.devices.values()) {
      const fn = platform.functions.get(dev.bdf)!;
      const unit = fn.iommu ? this.units.get(fn.iommu) : undefined;
      if (!unit) continue;
      for (const rid of dmaAliasRids(platform, fn)) this.unitOfRid.set((fn.bdf.segment << 16) | rid, unit);
    }
    this.sync();
  }

  /** Reprograms every group whose domains changed since the last call. Cheap when nothing did. */
  sync(): void {
    for (const group of this.core.groups) {
      if (this.seen.get(group) === group.generation) continue;
      this.seen.set(group, group.generation);
      for (const dev of group.devices as CoreDevice[]) this.program(dev, group);
    }
  }

  /** Runs DMA-FQ flushes whose deadline passed. */
  advance(time: number): void {
    if (time < this.nextDeadline) return;
    let next = Infinity;
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (p.deadline <= time) {
        this.flush(p, p.deadline);
        this.pending.splice(i, 1);
      } else if (p.deadline < next) next = p.deadline;
    }
    this.nextDeadline = next;
  }

  /** The domain ID a domain has on a unit, allocated on first use. */
  didOf(unit: DriverUnit, domain: Domain): number {
    if (domain.type === 'identity' && unit.scalable) return FLPT_DEFAULT_DID;
    let did = unit.dids.get(domain);
    if (did === undefined) {
      did = unit.nextDid++;
      unit.dids.set(domain, did);
      if (domain instanceof PagingDomain) this.listen(domain);
    }
    return did;
  }

  private listen(domain: PagingDomain): void {
    if (this.listening.has(domain)) return;
    this.listening.add(domain);
    domain.unmapListeners.push((iova, length, origin) => this.onUnmap(domain, iova, length, origin));
  }

  private onUnmap(domain: PagingDomain, iova: bigint, length: bigint, origin: MappingOrigin): void {
    const firstPage = Number(iova >> 12n);
    const pages = Number((length + 0xfffn) >> 12n);
    for (const unit of this.units.values()) {
      const did = unit.dids.get(domain);
      if (did === undefined) continue;
      const index = this.unmaps.length;
      const rec: UnmapRecord = { origin, unit: unit.unit.id, did, iova, length, flushedAt: null };
      this.unmaps.push(rec);
      if (domain.type !== 'dma-fq') {
        // strict: iommu_flush_iotlb_psi right after the PTEs are cleared
        invalidateRange(unit, did, firstPage, pages);
        rec.flushedAt = origin.time;
        continue;
      }
      unit.caches.markStale(
        did,
        Math.floor(firstPage / TWO_32),
        firstPage % TWO_32,
        pages,
        index,
        origin.time,
      );
      let q = this.pending.find((p) => p.unit === unit && p.did === did);
      if (!q) {
        q = { deadline: origin.time + IOVA_FQ_TIMEOUT_NS, unit, did, records: [] };
        this.pending.push(q);
        this.nextDeadline = Math.min(this.nextDeadline, q.deadline);
      }
      q.records.push(index);
      if (q.records.length >= IOVA_FQ_SIZE) {
        this.flush(q, origin.time);
        this.pending.splice(this.pending.indexOf(q), 1);
      }
    }
  }

  /** fq_flush_iotlb: the whole domain's IOTLB (flush_iotlb_all), and the device-TLBs. */
  private flush(p: PendingFlush, time: number): void {
    p.unit.caches.iotlb.invalidateDomain(p.did);
    p.unit.caches.deviceTlb.invalidateDomain(p.did);
    for (const i of p.records) this.unmaps[i]!.flushedAt = time;
  }

  private contextTable(unit: DriverUnit, bus: number, devfn: number): number {
    let tables = unit.contextTables.get(bus);
    if (!tables) {
      if (unit.scalable) {
        tables = [this.mem.allocFrame(), this.mem.allocFrame()];
        writeScalableRootEntry(this.mem, unit.regs.rootTable, bus, {
          lowerPresent: true,
          lowerCtp: tables[0]!,
          upperPresent: true,
          upperCtp: tables[1]!,
        });
      } else {
        tables = [this.mem.allocFrame()];
        writeRootEntry(this.mem, unit.regs.rootTable, bus, { present: true, ctp: tables[0]! });
      }
      unit.contextTables.set(bus, tables);
    }
    return unit.scalable && devfn >= 0x80 ? tables[1]! : tables[0]!;
  }

  private pasidTable(unit: DriverUnit, rid: number, pasid: number): number {
    let dir = unit.pasidDirs.get(rid);
    if (dir === undefined) {
      dir = this.mem.allocFrame();
      unit.pasidDirs.set(rid, dir);
    }
    const key = rid * 16384 + (pasid >>> 6);
    let table = unit.pasidTables.get(key);
    if (table === undefined) {
      table = this.mem.allocFrame();
      unit.pasidTables.set(key, table);
      writePasidDirEntry(this.mem, dir, pasid, { present: true, fpd: false, tablePtr: table });
    }
    return table;
  }

  /** Writes the entries of every requester ID of a device for its group's current domains. */
  private program(dev: CoreDevice, group: Group): void {
    const fn = this.platform.functions.get(dev.bdf)!;
    const unit = fn.iommu ? this.units.get(fn.iommu) : undefined;
    if (!unit) return;
    const ats = fn.ats && unit.regs.ecap.dt;
    for (const rid of dmaAliasRids(this.platform, fn)) {
      const bus = rid >> 8;
      const devfn = rid & 0xff;
      const ctx = this.contextTable(unit, bus, devfn);
      const before = unit.programmed.get(rid);
      if (!unit.scalable) {
        writeContextEntry(this.mem, ctx, devfn, this.legacyContext(unit, group.domain, ats));
      } else {
        this.pasidTable(unit, rid, RID_PASID);
        writeScalableContextEntry(this.mem, ctx, devfn, {
          present: true,
          fpd: false,
          dte: ats,
          paside: fn.pasidWidth > 0 && unit.regs.ecap.pasid,
          pre: fn.pri && unit.regs.ecap.prs,
          pdts: PDTS,
          pasidDirPtr: unit.pasidDirs.get(rid)!,
          ridPasid: RID_PASID,
          ridPriv: false,
        });
        this.writePasid(unit, rid, RID_PASID, group.domain);
        for (const [pasid, d] of group.pasids) this.writePasid(unit, rid, pasid, d);
        for (const pasid of before?.pasids.keys() ?? []) {
          if (!group.pasids.has(pasid)) this.writePasid(unit, rid, pasid, this.core.blocked);
        }
      }
      unit.programmed.set(rid, { domain: group.domain, pasids: new Map(group.pasids) });
      // As Linux does on a domain switch: flush the device's context-cache entry, and the IOTLB,
      // device-TLB and PASID-cache entries tagged with the domain IDs it leaves.
      unit.caches.context.invalidateDevice(rid, 0);
      const left = before ? [before.domain, ...before.pasids.values()] : [];
      for (const d of left) {
        const did = unit.dids.get(d);
        if (did === undefined) continue;
        unit.caches.iotlb.invalidateDomain(did);
        unit.caches.deviceTlb.invalidateDomain(did);
        unit.caches.pasid.invalidate(did);
      }
    }
  }

  private legacyContext(unit: DriverUnit, d: Domain, ats: boolean) {
    const base = { present: true, fpd: false, tt: TT_MULTI_LEVEL, slptptr: 0, aw: 2, did: 0 };
    if (d.type === 'identity') return { ...base, tt: TT_PASS_THROUGH, did: this.didOf(unit, d) };
    if (d instanceof PagingDomain) {
      return {
        ...base,
        tt: ats ? TT_DEV_IOTLB : TT_MULTI_LEVEL,
        slptptr: d.table.root,
        aw: (d.addressWidth - 30) / 9,
        did: this.didOf(unit, d),
      };
    }
    // blocked (device_block_translation clears the context entry), nested/SVA (not in legacy mode)
    return { ...base, present: false };
  }

  private writePasid(unit: DriverUnit, rid: number, pasid: number, d: Domain): void {
    const table = this.pasidTable(unit, rid, pasid);
    const base = {
      present: true,
      fpd: false,
      aw: 2,
      pgtt: PGTT_SL,
      ssade: false,
      slptptr: 0,
      did: 0,
      pwsnp: false,
      pgsnp: false,
      sre: false,
      ere: false,
      flpm: 0,
      wpe: false,
      eafe: false,
      flptptr: 0,
    };
    if (d.type === 'identity') {
      writePasidEntry(this.mem, table, pasid, { ...base, pgtt: PGTT_PT, did: FLPT_DEFAULT_DID });
    } else if (d instanceof PagingDomain) {
      writePasidEntry(this.mem, table, pasid, {
        ...base,
        slptptr: d.table.root,
        aw: (d.addressWidth - 30) / 9,
        did: this.didOf(unit, d),
      });
    } else if (d.type === 'nested') {
      writePasidEntry(this.mem, table, pasid, {
        ...base,
        pgtt: PGTT_NESTED,
        slptptr: d.parent.table.root,
        aw: (d.parent.addressWidth - 30) / 9,
        flptptr: Number(d.s1.pgtblAddr),
        flpm: d.s1.addrWidth === 57 ? 1 : 0,
        sre: (d.s1.flags & 1) !== 0,
        eafe: (d.s1.flags & 2) !== 0,
        wpe: (d.s1.flags & 4) !== 0,
        did: this.didOf(unit, d),
      });
    } else {
      // blocked (intel_pasid_tear_down_entry) and SVA (first-level over a process mm, not modelled)
      writePasidEntry(this.mem, table, pasid, { ...base, present: false });
    }
  }
}

/** iommu_flush_iotlb_psi: one page-selective invalidation whose 2^AM-page window covers the range. */
function invalidateRange(unit: DriverUnit, did: number, firstPage: number, pages: number): void {
  const last = firstPage + Math.max(pages, 1) - 1;
  let am = 0;
  while (Math.floor(firstPage / 2 ** am) !== Math.floor(last / 2 ** am)) am++;
  if (am > 63 - 12) {
    unit.caches.iotlb.invalidateDomain(did);
    return;
  }
  const aligned = Math.floor(firstPage / 2 ** am) * 2 ** am;
  const addr = aligned * 4096;
  unit.caches.iotlb.invalidatePage(did, Math.floor(addr / TWO_32), addr % TWO_32, am);
  unit.caches.deviceTlb.invalidatePage(did, Math.floor(addr / TWO_32), addr % TWO_32, am);
}
