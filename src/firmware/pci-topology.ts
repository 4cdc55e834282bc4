// The PCI hierarchy as the firmware decoders need it: which functions exist, which are bridges and the
// buses behind them, and each function's upstream bridge. Built from lspci text (lspci.ts) and used to
// resolve DMAR device-scope paths and IVRS device IDs to functions. Pure data plus lookups.

export interface PciFunctionInfo {
  segment: number;
  bus: number;
  dev: number;
  fn: number;
  /** "SSSS:BB:DD.F" */
  bdf: string;
  /** a type 1 (PCI-to-PCI bridge) or type 2 (CardBus) header: it has secondary/subordinate buses */
  isBridge: boolean;
  secondary: number | null;
  subordinate: number | null;
  /** 24-bit class code, null when the input does not give it (lspci -tv) */
  classCode: number | null;
}

export class PciTopology {
  readonly functions = new Map<string, PciFunctionInfo>();
  /** bridges by "segment:secondary bus" */
  private readonly bySecondary = new Map<string, PciFunctionInfo[]>();
  private readonly parents = new Map<string, PciFunctionInfo | null>();

  constructor(functions: Iterable<PciFunctionInfo>) {
    for (const f of functions) {
      this.functions.set(f.bdf, f);
      if (!f.isBridge || f.secondary === null || f.subordinate === null) continue;
      const k = `${f.segment}:${f.secondary}`;
      this.bySecondary.set(k, [...(this.bySecondary.get(k) ?? []), f]);
    }
  }

  get(segment: number, bus: number, dev: number, fn: number): PciFunctionInfo | undefined {
    return this.functions.get(bdfText(segment, bus, dev, fn));
  }

  /**
   * The bridge whose secondary bus `f` sits on, or null on a root bus. When several bridges claim the
   * bus (inconsistent input), the one with the narrowest range wins, as lspci's tree does.
   */
  parentOf(f: PciFunctionInfo): PciFunctionInfo | null {
    const cached = this.parents.get(f.bdf);
    if (cached !== undefined) return cached;
    let best: PciFunctionInfo | null = null;
    for (const b of this.bySecondary.get(`${f.segment}:${f.bus}`) ?? []) {
      if (b.bdf === f.bdf) continue;
      if (!best || b.subordinate! - b.secondary! < best.subordinate! - best.secondary!) best = b;
    }
    this.parents.set(f.bdf, best);
    return best;
  }

  /** The device's path from its root bus: [root bus, (dev, fn) of each level], as Linux builds it. */
  pathFromRoot(f: PciFunctionInfo): { rootBus: number; path: { device: number; function: number }[] } {
    const chain: PciFunctionInfo[] = [];
    const seen = new Set<string>();
    for (let cur: PciFunctionInfo | null = f; cur && !seen.has(cur.bdf); cur = this.parentOf(cur)) {
      seen.add(cur.bdf);
      chain.unshift(cur);
    }
    return { rootBus: chain[0]!.bus, path: chain.map((c) => ({ device: c.dev, function: c.fn })) };
  }
}

export function bdfText(segment: number, bus: number, dev: number, fn: number): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(segment, 4)}:${h(bus, 2)}:${h(dev, 2)}.${fn}`;
}

/** "00:02.0" on segment 0, "0001:00:02.0" elsewhere (how Linux prints DMAR device names). */
export function shortBdf(bdf: string): string {
  return bdf.startsWith('0000:') ? bdf.slice(5) : bdf;
}
