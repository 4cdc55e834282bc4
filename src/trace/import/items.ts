// What the pure line recognisers (intel-dmar, amd-vi, arm-smmu, boot-hints, ftrace-iommu, qemu-vtd,
// aer-tlp) return for one logical line: finished record drafts, or pieces of a record that the kernel
// printed over several lines (an old DMAR fault's two printk lines, AMD-Vi's split "Event logged [",
// an SMMUv3 event's header + four words + decoded lines, a QEMU IOTLB line before its translation).
// Recognisers never keep state; assemble.ts joins the pieces in order. A draft lacks the Located fields
// (line, raw, time), which come from the line it was read on.
import type {
  ImportedEvent,
  ImportRecord,
  InfoRecord,
  Located,
  ObservedFault,
  PlatformHint,
  TlpRecord,
} from './types';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Draft = DistributiveOmit<ImportRecord, keyof Located>;
export type FaultDraft = Omit<ObservedFault, keyof Located>;
export type HintDraft = Omit<PlatformHint, keyof Located>;
export type EventDraft = Omit<ImportedEvent, keyof Located>;
export type TlpDraft = Omit<TlpRecord, keyof Located>;
export type InfoDraft = Omit<InfoRecord, keyof Located>;

export type Item =
  | { k: 'rec'; rec: Draft }
  /** DMAR fault of kernels ≤ 4.0, first printk line: "DMAR:[DMA Read] Request device [..] fault addr X" */
  | { k: 'dmar-head'; fault: FaultDraft }
  /** …and its second line "DMAR:[fault reason 06] PTE Read access is not set" */
  | { k: 'dmar-reason'; reason: number; text: string; intr: boolean }
  /** AMD-Vi "Event logged [" with the event on the next printk line (kernel 4.x pr_cont breakage) */
  | { k: 'amd-open'; prefixBdf: string | null; prefixSegment: number | null }
  /** the event part alone: "IO_PAGE_FAULT device=05:00.0 … flags=0x0070]" */
  | { k: 'amd-tail'; fault: FaultDraft }
  /** "Event logged [Device not attached to domain properly]", then "  device=… domain=…" */
  | { k: 'amd-unattached' }
  | { k: 'amd-unattached-dev'; fault: FaultDraft }
  | { k: 'smmu3-head'; smmu: string; id: number }
  | { k: 'smmu3-word'; smmu: string; word: bigint }
  | {
      k: 'smmu3-decoded';
      smmu: string;
      name: string;
      client: string;
      sid: number | null;
      ssid: number | null;
      iova: string | null;
      ipa: string | null;
      fetchAddr: string | null;
    }
  | {
      k: 'smmu3-decoded2';
      smmu: string;
      priv: boolean;
      inst: boolean;
      read: boolean;
      s2: boolean;
      cls: string;
      stall: boolean;
      stag: number | null;
    }
  | { k: 'smmu3-other'; smmu: string }
  | {
      k: 'qemu-iotlb';
      thread: number | null;
      hit: boolean;
      sid: number;
      iova: string;
      pte: string;
      domain: number;
      info: InfoDraft;
    }
  | {
      k: 'qemu-slpte';
      thread: number | null;
      sid: number;
      pte: string;
      addr: string;
      write: boolean;
      info: InfoDraft;
    }
  | {
      k: 'qemu-translate';
      thread: number | null;
      bus: number;
      dev: number;
      fn: number;
      pasid: number | null;
      iova: string;
      gpa: string;
      mask: string;
    };

/** A recogniser's verdict on one logical line:
 * - null: not a line this recogniser knows;
 * - complete: the pieces it carries;
 * - partial: the line starts like a known record but is cut short (wrapped by a mail client, split by
 *   a terminal): the caller joins the next unstamped physical line and asks again. `items` are what can
 *   be kept if nothing continues it (a fault whose reason text was cut), or null (fields missing). */
export type Outcome =
  { status: 'complete'; items: Item[] } | { status: 'partial'; items: Item[] | null; why: string } | null;

export const complete = (...items: Item[]): Outcome => ({ status: 'complete', items });
export const rec = (r: Draft): Outcome => ({ status: 'complete', items: [{ k: 'rec', rec: r }] });
export const partial = (why: string, items: Item[] | null = null): Outcome => ({
  status: 'partial',
  items,
  why,
});
