// Joins the pieces of records that the kernel or QEMU printed over several lines, in line order, and
// stamps every record with its line, raw text and time. Contract (state is per import, never global):
// - an old DMAR fault line (dmar-2009) takes the "[fault reason NN] text" line right after it;
// - AMD-Vi "Event logged [" takes the event line right after it (4.x pr_cont breakage);
// - an SMMUv3 event collects its header, four raw words and the decoded lines per SMMU instance, even
//   when other lines come in between; it is emitted when the next line of another kind (or the next
//   event of the same SMMU) arrives, or at end(); an event that never got its four words is a bad line;
// - a QEMU vtd_dmar_translate takes the IOTLB/slpte line just before it on the same QEMU thread when it
//   is for the same page and requester.
// A piece that never gets its partner is reported as a bad line naming what was missing.
import type { Logical } from './continuation';
import type { Draft, FaultDraft, Item } from './items';
import { SMMUV3_EVENTS, smmuv3Fault, type V3Decoded } from './arm-smmu';
import type { ImportRecord, QemuTranslation, Sink } from './types';
import { bdfOf } from './values';
import { dmarReasonText } from './intel-dmar';

type At = Logical;

const SMMUV3_ID_BY_NAME = new Map(Object.entries(SMMUV3_EVENTS).map(([id, name]) => [name, Number(id)]));

interface V3Pending extends V3Decoded {
  at: At;
  raws: string[];
}

type QemuLast =
  | { k: 'iotlb'; item: Extract<Item, { k: 'qemu-iotlb' }> }
  | { k: 'slpte'; item: Extract<Item, { k: 'qemu-slpte' }> };

export function stamp(d: Draft, at: At): ImportRecord {
  return {
    ...d,
    line: at.line,
    raw: at.raw,
    time: at.env.time,
    clock: at.env.clock,
    timeRaw: at.env.timeRaw,
  } as ImportRecord;
}

const join = (a: At, b: At): At => ({ ...a, raw: `${a.raw}\n${b.raw}` });

export class Assembler {
  private dmarHead: { fault: FaultDraft; at: At } | null = null;
  private amdOpen: { at: At; bdf: string | null; segment: number | null } | null = null;
  private amdUnattached: At | null = null;
  private readonly smmu = new Map<string, V3Pending>();
  private readonly qemu = new Map<number, QemuLast>();

  constructor(private readonly sink: Sink) {}

  items(items: Item[], at: At, truncated: boolean): void {
    for (const it of items) this.one(it, at, truncated);
  }

  ignored(at: At): void {
    this.settle(null, null);
    this.sink.ignored(at.line);
  }

  end(): void {
    this.settle(null, null);
    for (const [name, p] of this.smmu) this.finishSmmu(name, p);
  }

  private emit(d: Draft, at: At): void {
    this.sink.record(stamp(d, at));
  }

  /** Releases pieces waiting for a partner that `next` is not. */
  private settle(next: Item | null, smmuName: string | null): void {
    if (this.dmarHead && next?.k !== 'dmar-reason') {
      const h = this.dmarHead;
      this.dmarHead = null;
      this.sink.bad(
        h.at.line,
        'DMAR fault line without the "[fault reason NN]" line that must follow it',
        h.at.raw,
      );
    }
    if (this.amdOpen && next?.k !== 'amd-tail') {
      const o = this.amdOpen;
      this.amdOpen = null;
      this.sink.bad(
        o.at.line,
        'AMD-Vi "Event logged [" without the event line that must follow it',
        o.at.raw,
      );
    }
    if (this.amdUnattached && next?.k !== 'amd-unattached-dev') {
      const u = this.amdUnattached;
      this.amdUnattached = null;
      this.sink.bad(u.line, 'AMD-Vi "Device not attached" event without its "device=… domain=…" line', u.raw);
    }
    for (const [name, p] of this.smmu) {
      if (name === smmuName) continue;
      if (p.words.length === 4 || p.decodedName !== null) this.finishSmmu(name, p);
    }
  }

  private finishSmmu(name: string, p: V3Pending): void {
    this.smmu.delete(name);
    if (p.words.length !== 4 && p.decodedName === null) {
      this.sink.bad(
        p.at.line,
        `SMMUv3 event 0x${p.id.toString(16).padStart(2, '0')} with ${p.words.length} of its 4 event words`,
        p.raws.join('\n'),
      );
      return;
    }
    const f = smmuv3Fault(p.words.length === 4 ? p : { ...p, words: [] });
    this.sink.record(stamp(f, { ...p.at, raw: p.raws.join('\n') }));
  }

  private one(it: Item, at: At, truncated: boolean): void {
    const smmuName = it.k.startsWith('smmu3-') ? (it as { smmu: string }).smmu : null;
    this.settle(it, smmuName);
    switch (it.k) {
      case 'rec':
        this.emit(truncated && it.rec.type === 'fault' ? { ...it.rec, truncated: true } : it.rec, at);
        return;
      case 'dmar-head':
        this.dmarHead = { fault: it.fault, at };
        return;
      case 'dmar-reason': {
        const h = this.dmarHead;
        if (!h) {
          this.sink.bad(at.line, 'DMAR "[fault reason NN]" line without the fault line before it', at.raw);
          return;
        }
        this.dmarHead = null;
        const want = dmarReasonText(it.reason);
        this.emit(
          {
            ...h.fault,
            reason: it.reason,
            reasonText: it.text,
            truncated: it.text !== want && want.startsWith(it.text),
          },
          join(h.at, at),
        );
        return;
      }
      case 'amd-open':
        this.amdOpen = { at, bdf: it.prefixBdf, segment: it.prefixSegment };
        return;
      case 'amd-tail': {
        const o = this.amdOpen;
        this.amdOpen = null;
        const f = it.fault;
        if (o && f.bdf === null && o.bdf !== null) {
          f.bdf = o.bdf;
          f.segment = o.segment;
        }
        this.emit(f, o ? join(o.at, at) : at);
        return;
      }
      case 'amd-unattached':
        this.amdUnattached = at;
        return;
      case 'amd-unattached-dev': {
        const u = this.amdUnattached;
        this.amdUnattached = null;
        if (!u) {
          this.sink.bad(at.line, 'AMD-Vi "device=… domain=…" line without its "Event logged" line', at.raw);
          return;
        }
        this.emit(it.fault, join(u, at));
        return;
      }
      case 'smmu3-head': {
        const old = this.smmu.get(it.smmu);
        if (old) this.finishSmmu(it.smmu, old);
        this.smmu.set(it.smmu, this.v3(it.smmu, it.id, at));
        return;
      }
      case 'smmu3-word': {
        const p = this.smmu.get(it.smmu);
        if (!p || p.words.length >= 4) {
          this.sink.bad(at.line, 'SMMUv3 event word without its "event 0x.. received:" line', at.raw);
          return;
        }
        p.words.push(it.word);
        p.raws.push(at.raw);
        return;
      }
      case 'smmu3-decoded': {
        let p = this.smmu.get(it.smmu);
        if (!p) {
          p = this.v3(it.smmu, 0, at);
          this.smmu.set(it.smmu, p);
        } else p.raws.push(at.raw);
        p.decodedName = it.name;
        p.client = it.client;
        p.sid = it.sid;
        p.ssid = it.ssid;
        p.iova = it.iova;
        p.ipa = it.ipa;
        p.fetchAddr = it.fetchAddr;
        if (!p.words.length && p.id === 0) p.id = SMMUV3_ID_BY_NAME.get(it.name) ?? 0;
        return;
      }
      case 'smmu3-decoded2': {
        const p = this.smmu.get(it.smmu);
        if (!p) {
          this.sink.bad(at.line, 'SMMUv3 decoded line without its event', at.raw);
          return;
        }
        p.d2 = it;
        p.raws.push(at.raw);
        this.finishSmmu(it.smmu, p);
        return;
      }
      case 'smmu3-other': {
        const p = this.smmu.get(it.smmu);
        if (p && (p.words.length === 4 || p.decodedName !== null)) this.finishSmmu(it.smmu, p);
        this.sink.ignored(at.line);
        return;
      }
      case 'qemu-iotlb':
        this.qemu.set(it.thread ?? -1, { k: 'iotlb', item: it });
        this.emit(it.info, at);
        return;
      case 'qemu-slpte':
        this.qemu.set(it.thread ?? -1, { k: 'slpte', item: it });
        this.emit(it.info, at);
        return;
      case 'qemu-translate':
        this.translate(it, at);
        return;
    }
  }

  private v3(smmu: string, id: number, at: At): V3Pending {
    return {
      smmu,
      client: null,
      words: [],
      id,
      decodedName: null,
      sid: null,
      ssid: null,
      iova: null,
      ipa: null,
      fetchAddr: null,
      d2: null,
      at,
      raws: [at.raw],
    };
  }

  private translate(it: Extract<Item, { k: 'qemu-translate' }>, at: At): void {
    const key = it.thread ?? -1;
    const last = this.qemu.get(key) ?? null;
    this.qemu.delete(key);
    const rid = (it.bus << 8) | (it.dev << 3) | it.fn;
    const bdf = bdfOf(null, it.bus, it.dev, it.fn);
    if (bdf === null) {
      this.sink.bad(at.line, 'vtd_dmar_translate names an impossible PCI function', at.raw);
      return;
    }
    const t: Omit<QemuTranslation, 'line' | 'raw' | 'time' | 'clock' | 'timeRaw'> = {
      type: 'translation',
      sid: rid,
      bdf,
      pasid: it.pasid === 0xffffffff ? null : it.pasid,
      iova: it.iova,
      gpa: it.gpa,
      mask: it.mask,
      accessAddress: null,
      perms: null,
      domain: null,
      pte: null,
      result: 'translated',
      write: null,
    };
    const page = (a: string): bigint => BigInt(a) & ~BigInt(it.mask);
    const perms = (pte: string): string => {
      const v = BigInt(pte);
      return `${v & 1n ? 'r' : ''}${v & 2n ? 'w' : ''}`;
    };
    if (last?.k === 'iotlb' && last.item.sid === rid && page(last.item.iova) === BigInt(it.iova)) {
      t.accessAddress = last.item.iova;
      t.pte = last.item.pte;
      t.perms = perms(last.item.pte);
      t.domain = last.item.domain;
      t.result = last.item.hit ? 'hit' : 'miss';
    } else if (last?.k === 'slpte' && last.item.sid === rid && page(last.item.addr) === BigInt(it.iova)) {
      t.accessAddress = last.item.addr;
      t.pte = last.item.pte;
      t.perms = perms(last.item.pte);
      t.write = last.item.write;
    }
    this.emit(t, at);
  }
}
