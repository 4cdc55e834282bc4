// The crosscheck's own small intel-iommu driver: it programs the lab's simulated memory the way the guest
// programmed QEMU's guest memory, from what the capture shows rather than from the lab's IOMMU core.
// Contract:
// - One unit (platform.ts ReconstructedUnit), one PhysMem. attach(sid, did) writes the legacy context entry
//   (TT multi-level, AW = levels − 2, DID, FPD clear as Linux sets it) or, in scalable mode, the scalable
//   context entry (RID_PASID 0) and PASID 0's entry (PGTT second level, or first level when the platform
//   says so) with VtdTableBuilder (structures.ts encoders).
// - Each domain id owns one page table (SlPageTable, or FlPageTable for first-level domains) built on first
//   use: map()/unmap() replay the guest's iommu:map/unmap there. The 6.1 tracepoints carry no
//   protection, so every page is mapped read+write (see docs/crosscheck.md, limits); paddr can be shifted by a
//   whole number of pages (the negative control).
// - The caches (iotlb.ts, 'hardware' mode: an entry is used until invalidated) are invalidated only by what
//   the guest asked QEMU to invalidate: invalidate() and invalidateContext() take QEMU's descriptors.
// - translator() is a VtdTranslator over these tables and caches, under the requested fault profile.
import { PhysMem } from '../engine/mem/phys-mem';
import { FlPageTable } from '../engine/vtd/fl-pagetable';
import { VtdCaches } from '../engine/vtd/iotlb';
import { PageTableError, SlPageTable, type SlLevels } from '../engine/vtd/sl-pagetable';
import {
  PGTT_FL,
  PGTT_SL,
  TT_MULTI_LEVEL,
  VtdTableBuilder,
  makeUnitRegs,
  pasidEntry,
  type VtdUnitRegs,
} from '../engine/vtd/structures';
import { VtdTranslator, type FaultProfile } from '../engine/vtd/translate';
import type { ReconstructedUnit } from './platform';
import type { QemuContextInvalidationEvent, QemuInvalidationEvent } from './types';

const TWO_32 = 2 ** 32;

export class CrosscheckDriver {
  readonly mem = new PhysMem();
  readonly regs: VtdUnitRegs;
  readonly caches = new VtdCaches({ mode: 'hardware' });
  private readonly builder: VtdTableBuilder;
  private readonly tables = new Map<number, SlPageTable | FlPageTable>();
  private readonly dirs = new Map<number, number>();
  private readonly scalable: boolean;

  constructor(
    readonly unit: ReconstructedUnit,
    private readonly paddrShift = 0n,
  ) {
    this.scalable = unit.mode === 'scalable';
    this.builder = new VtdTableBuilder(this.mem, unit.mode);
    this.regs = makeUnitRegs(this.builder.rootTable, unit.mode, {
      haw: Math.min(Math.max(unit.haw, 32), 52),
      cap: unit.capFields,
      ecap: unit.ecapFields,
    });
  }

  translator(profile: FaultProfile): VtdTranslator {
    return new VtdTranslator(this.mem, this.regs, { profile, caches: this.caches });
  }

  /** The page table of a domain id (created on first use). */
  table(did: number): SlPageTable | FlPageTable {
    let t = this.tables.get(did);
    if (!t) {
      const c = this.unit.capFields;
      t =
        this.unit.pageTable === 'first-level'
          ? new FlPageTable(this.mem, {
              levels: this.unit.levels === 5 ? 5 : 4,
              superpages: { mib2: true, gib1: c.fl1gp },
            })
          : new SlPageTable(this.mem, {
              levels: this.unit.levels as SlLevels,
              superpages: { mib2: c.sllps2m, gib1: c.sllps2m && c.sllps1g },
            });
      this.tables.set(did, t);
    }
    return t;
  }

  /** Points requester `sid` at domain `did` (context entry, and PASID entry 0 in scalable mode). */
  attach(sid: number, did: number): void {
    const root = this.table(did).root;
    const aw = this.unit.levels - 2;
    if (!this.scalable) {
      this.builder.setContext(sid, { tt: TT_MULTI_LEVEL, aw, did, slptptr: root, fpd: false });
    } else {
      let dir = this.dirs.get(sid);
      if (dir === undefined) {
        dir = this.builder.setScalableContext(sid, { pdts: 0, ridPasid: 0, paside: this.regs.ecap.pasid });
        this.dirs.set(sid, dir);
      }
      const fl = this.unit.pageTable === 'first-level';
      this.builder.setPasidEntry(
        dir,
        0,
        pasidEntry({
          pgtt: fl ? PGTT_FL : PGTT_SL,
          did,
          aw,
          slptptr: fl ? 0 : root,
          flptptr: fl ? root : 0,
          flpm: fl && this.unit.levels === 5 ? 1 : 0,
        }),
      );
    }
    this.caches.context.invalidateDevice(sid, 0);
    this.caches.pasid.invalidateAll();
  }

  /** Replays an iommu:map; returns an error text when the table refuses it. */
  map(did: number, iova: bigint, paddr: bigint, size: bigint): string | null {
    const t = this.table(did);
    const pa = paddr + this.paddrShift;
    const r =
      t instanceof FlPageTable
        ? t.map(iova, pa, size, { write: true, user: true, execute: false })
        : t.map(iova, pa, size, { read: true, write: true });
    return r.ok ? null : `${r.error}: ${r.reason}`;
  }

  /** Replays an iommu:unmap; returns an error text when the table refuses it. */
  unmap(did: number, iova: bigint, size: bigint): string | null {
    try {
      this.table(did).unmap(iova, size);
      return null;
    } catch (e) {
      if (e instanceof PageTableError) return e.message;
      throw e;
    }
  }

  /** A queued IOTLB invalidation the guest issued (as QEMU logged it). */
  invalidate(e: QemuInvalidationEvent): void {
    const iotlb = this.caches.iotlb;
    if (e.scope === 'global' || e.did === null) {
      iotlb.invalidateAll();
      return;
    }
    if (e.scope === 'domain') {
      iotlb.invalidateDomain(e.did);
      return;
    }
    const addr = Number(e.addr);
    iotlb.invalidatePage(e.did, Math.floor(addr / TWO_32), addr % TWO_32, e.am);
  }

  /** A context-cache invalidation the guest issued. */
  invalidateContext(e: QemuContextInvalidationEvent): void {
    if (e.scope === 'device' && e.sid !== null) this.caches.context.invalidateDevice(e.sid, 0);
    else this.caches.context.invalidateAll();
    this.caches.pasid.invalidateAll();
  }
}
