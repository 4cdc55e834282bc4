// The synthetic trace generator behind `iommu-lab gen`: from a seed and a few parameters it writes a
// native trace (docs/trace-format.md) whose fault and hazard counts are known by construction, for
// tests and benchmarks. Same options, same bytes: the only randomness is a seeded PRNG (prng.ts), and
// nothing reads a clock. Pure: it yields the file's byte pieces; the caller writes them.
//
// What a generated trace holds (docs/trace-format.md, "Generated traces"):
// - a prologue of control events at t = 0, 10, 20 … ns: each DMA-API device gets a DMA-FQ default
//   domain, a driver and its working set (dma_map of `workingSet` pages at IOVA 0x10_0000_0000); with
//   PASIDs, every other device (1, 3, 5 …) is handed to iommufd instead: bound, its RID and PASIDs
//   1..P attached to one IOAS, the working set mapped there (ioas_map, FIXED_IOVA);
// - `tlps` TLP records, one every 8..39 ns from t = 1000 ns: a random device, a random PASID of it
//   (or none), read, write or atomic, 64..256 bytes inside one page. With probability `faultRate` the
//   TLP targets a page that is never mapped (0x20_0000_0000 + up to 64 Ki pages): a DMA-remapping
//   fault. Otherwise it targets a working-set page; with probability `tbitMix` it carries the TEE-IO
//   T bit, and since no interface is ever in TDISP RUN, the lab faults it (T=1 from a TDI not in RUN);
// - `controlEvents` control events spread evenly over the TLPs: map and unmap pairs of pages that no
//   TLP touches (0x30_0000_0000 + j pages), round-robin over the devices: they change nothing any TLP
//   sees, but they fill DMA-FQ flush queues;
// - `staleUnmaps` use-after-unmap sequences spread evenly, on the DMA-API devices in turn, all at one
//   time: dma_map of a fresh page (0x40_0000_0000 + j pages), a write to it, dma_unmap, the same write
//   again. The second write hits the IOTLB entry the first one filled, which a DMA-FQ domain has not
//   invalidated: a use-after-unmap hazard, unless that unmap filled the domain's flush queue
//   (IOVA_FQ_SIZE = 256 pending unmaps, flushed at once), in which case it faults. Each sequence's two
//   TLPs count in `tlps`.
// A first pass draws every number without writing anything and applies every control event to a lab
// built from the platform, refusing options whose events the lab would reject; it counts the faults
// and hazards the header announces (capture.generator.expected, for --iotlb hardware).
import { buildLab } from '../../engine/lab';
import { applyControl } from '../../engine/control';
import { IOVA_FQ_SIZE, IOVA_FQ_TIMEOUT_NS } from '../../engine/vtd/intel-driver';
import { formGroups, loadPlatform, reservedRegions, type Platform } from '../../engine/platform/index';
import type { PlatformLab } from '../../engine/lab';
import type { ControlEvent } from '../control-script';
import type { NativeTraceHeader } from '../native/header';
import { TLP_RECORD_WORDS } from '../native/tlp-record';
import { NativeTraceEncoder } from '../native/writer';
import { samplePlatform } from './platform';
import { Prng } from './prng';

export interface GenOptions {
  /** PRNG seed, an integer 0..2^53-1 */
  seed: number;
  /** TLP records to write */
  tlps: number;
  /** devices that issue DMA (default 4) */
  devices?: number;
  /** PASIDs per iommufd device, 0..4096 (default 0: no PASID traffic, legacy-mode sample platform) */
  pasids?: number;
  /** working-set pages per device, 1..2^22 (default 256) */
  workingSet?: number;
  /** fraction of TLPs that target a page never mapped, 0..1 (default 0.001) */
  faultRate?: number;
  /** fraction of the other TLPs that carry the TEE-IO T bit, 0..1 (default 0) */
  tbitMix?: number;
  /** use-after-unmap sequences (default 0) */
  staleUnmaps?: number;
  /** extra control events (map/unmap churn) spread over the trace (default 0) */
  controlEvents?: number;
  /** the platform description's JSON object; default: samplePlatform(devices, pasids > 0) */
  platform?: Record<string, unknown>;
  /** records per chunk (default: the encoder's, 4096) */
  recordsPerChunk?: number;
}

export interface GenExpected {
  tlps: number;
  controls: number;
  faults: number;
  hazards: number;
}

export class GenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenError';
  }
}

const PAGE = 4096;
const WS_BASE = 0x10_0000_0000;
const FAULT_BASE = 0x20_0000_0000;
const FAULT_SPAN = 65536;
const CHURN_BASE = 0x30_0000_0000;
const STALE_BASE = 0x40_0000_0000;
/** IOVAs a generated trace uses; devices with reserved regions here are not chosen */
const IOVA_LO = 0x10_0000_0000;
const IOVA_HI = 0x50_0000_0000;
const USER_VA = 0x7f00_0000_0000;
const FIRST_TLP_NS = 1000;
const MAX_WORKING_SET = 1 << 22;
const MAX_PASIDS = 4096;
const BATCH = 4096;
const BRIDGES = new Set([
  'root-port',
  'switch-upstream',
  'switch-downstream',
  'pcie-to-pci-bridge',
  'pci-bridge',
]);
const hex = (v: number): bigint => BigInt(v);

interface GenDevice {
  bdf: string;
  /** segment << 16 | requester ID: word 2 of a record */
  ridSeg: number;
  /** 0: DMA API device; else the PASIDs 1..pasids attached through iommufd */
  pasids: number;
  ioas: string;
  index: number;
}

interface Params {
  seed: number;
  tlps: number;
  devices: number;
  pasids: number;
  workingSet: number;
  faultRate: number;
  tbitMix: number;
  staleUnmaps: number;
  controlEvents: number;
}

/** Where generated TLPs go: a batch for the encoder on the writing pass, a counter on the counting pass. */
interface Emitter {
  tlp(time: number, ridSeg: number, flags: number, addr: number, len: number): void;
}

function check(name: string, v: number, min: number, max: number, integer: boolean): number {
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    v < min ||
    v > max ||
    (integer && !Number.isInteger(v))
  ) {
    throw new GenError(`--${name}: ${v} is not ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
  }
  return v;
}

export class TraceGenerator {
  readonly header: NativeTraceHeader;
  readonly expected: GenExpected;
  readonly platform: Platform;
  private readonly params: Params;
  private readonly devs: GenDevice[];
  private readonly dmaDevs: GenDevice[];
  private readonly platformJson: Record<string, unknown>;
  private readonly recordsPerChunk: number | undefined;
  private readonly shared: (iova: number) => bigint;

  constructor(options: GenOptions) {
    const p: Params = {
      seed: check('seed', options.seed, 0, Number.MAX_SAFE_INTEGER, true),
      tlps: check('tlps', options.tlps, 0, 2 ** 40, true),
      devices: check('devices', options.devices ?? 4, 1, 8192, true),
      pasids: check('pasids', options.pasids ?? 0, 0, MAX_PASIDS, true),
      workingSet: check('working-set', options.workingSet ?? 256, 1, MAX_WORKING_SET, true),
      faultRate: check('fault-rate', options.faultRate ?? 0.001, 0, 1, false),
      tbitMix: check('tbit-mix', options.tbitMix ?? 0, 0, 1, false),
      staleUnmaps: check('stale-unmaps', options.staleUnmaps ?? 0, 0, 2 ** 32, true),
      controlEvents: check('control-events', options.controlEvents ?? 0, 0, 2 ** 32, true),
    };
    if (p.staleUnmaps * 2 > p.tlps) {
      throw new GenError(
        `--stale-unmaps: ${p.staleUnmaps} sequences need ${2 * p.staleUnmaps} TLPs, more than --tlps`,
      );
    }
    if (p.pasids > 0 && p.devices < 2) {
      throw new GenError(
        '--pasids needs --devices 2 or more: device 0 stays on the DMA API, device 1 carries PASIDs',
      );
    }
    this.params = p;
    this.recordsPerChunk = options.recordsPerChunk;
    this.platformJson = options.platform ?? samplePlatform(p.devices, p.pasids > 0);
    const loaded = loadPlatform(this.platformJson);
    if (!loaded.ok) {
      const e = loaded.errors[0]!;
      throw new GenError(`platform: ${e.path}: ${e.message}`);
    }
    this.platform = loaded.value;
    this.shared = sharedAddress(this.platform);
    this.devs = this.chooseDevices(options.platform !== undefined);
    this.dmaDevs = this.devs.filter((d) => d.pasids === 0);
    this.expected = this.run();
    this.header = {
      format: 'iommu-lab/trace',
      version: 1,
      platform: this.platformJson,
      capture: {
        description:
          `synthetic trace: seed ${p.seed}, ${p.tlps} TLPs, ${p.devices} devices, ${p.pasids} PASIDs, ` +
          `working set ${p.workingSet} pages, fault rate ${p.faultRate}, T-bit mix ${p.tbitMix}, ` +
          `${p.staleUnmaps} stale unmaps, ${p.controlEvents} control events`,
        tool: 'iommu-lab gen',
        generator: { seed: p.seed, parameters: { ...p }, expected: { ...this.expected } },
      },
      timeBase: { unit: 'ns', clock: 'synthetic' },
    };
  }

  /** The file's bytes, piece by piece: write each before asking for the next (the encoder reuses them). */
  *pieces(): Generator<Uint8Array> {
    const enc = new NativeTraceEncoder(
      this.header,
      this.recordsPerChunk ? { recordsPerChunk: this.recordsPerChunk } : {},
    );
    yield enc.start();
    const batch = new Uint32Array(BATCH * TLP_RECORD_WORDS);
    let n = 0;
    const emitter: Emitter = {
      tlp(time, ridSeg, flags, addr, len) {
        const w = n * TLP_RECORD_WORDS;
        batch[w] = time >>> 0;
        batch[w + 1] = Math.floor(time / 2 ** 32);
        batch[w + 2] = ridSeg;
        batch[w + 3] = flags;
        batch[w + 4] = addr >>> 0;
        batch[w + 5] = Math.floor(addr / 2 ** 32);
        batch[w + 6] = len;
        batch[w + 7] = 0;
        n++;
      },
    };
    // Each chunk the encoder completes is handed out before its next call, which reuses its buffer.
    function* flush(): Generator<Uint8Array> {
      let done = 0;
      while (done < n) {
        done += enc.addTlpWords(batch, done * TLP_RECORD_WORDS, n - done);
        const full = enc.takeFullChunk();
        if (full) yield full;
      }
      n = 0;
    }
    for (const c of this.steps(emitter, () => n >= BATCH)) {
      yield* flush();
      if (c) {
        const full = enc.addControl(c.time, c.event);
        if (full) yield full;
      }
    }
    yield* flush();
    yield* enc.finish();
  }

  /** Chooses the devices: the sample platform's first ones, or a given platform's usable ones. */
  private chooseDevices(given: boolean): GenDevice[] {
    const p = this.params;
    const groupOf = new Map<string, number>();
    for (const g of formGroups(this.platform)) for (const m of g.members) groupOf.set(m, g.id);
    const used = new Set<number>();
    const out: GenDevice[] = [];
    const skipped: string[] = [];
    for (const bdf of this.platform.scanOrder) {
      if (out.length === p.devices) break;
      const fn = this.platform.functions.get(bdf)!;
      const group = groupOf.get(bdf);
      if (!fn.iommu || BRIDGES.has(fn.kind) || group === undefined || used.has(group)) continue;
      const overlap = reservedRegions(this.platform, bdf).find(
        (r) => r.start < BigInt(IOVA_HI) && r.end >= BigInt(IOVA_LO),
      );
      if (overlap) {
        skipped.push(`${bdf}: reserved region ${overlap.type} overlaps the generator's IOVAs`);
        continue;
      }
      const index = out.length;
      const dev: GenDevice = {
        bdf,
        ridSeg: ((fn.bdf.segment << 16) | fn.requesterId) >>> 0,
        pasids: p.pasids > 0 && index % 2 === 1 ? p.pasids : 0,
        ioas: `ioas${index}`,
        index,
      };
      if (given) {
        const lab = buildLab(this.platform);
        let why: string | null = null;
        for (const e of this.prologue(dev, 0)) if ((why = rejection(lab, e.event, e.time))) break;
        if (why) {
          skipped.push(`${bdf}: ${why}`);
          continue;
        }
      }
      used.add(group);
      out.push(dev);
    }
    if (out.length < p.devices || (p.pasids > 0 && !out.some((d) => d.pasids > 0))) {
      throw new GenError(
        `platform: only ${out.length} of the ${p.devices} devices asked for can take generated DMA` +
          `${p.pasids > 0 ? ' (every other one through iommufd with PASIDs)' : ''}` +
          (skipped.length ? `; not usable: ${skipped.slice(0, 5).join('; ')}` : ''),
      );
    }
    return out;
  }

  /** The control events that prepare one device (times from t on, 10 ns apart). */
  private prologue(d: GenDevice, t: number): { time: number; event: ControlEvent }[] {
    const length = hex(this.params.workingSet * PAGE);
    const pa = this.shared(WS_BASE);
    const ev: ControlEvent[] = [];
    if (d.pasids === 0) {
      ev.push({ op: 'default_domain', bdf: d.bdf, type: 'DMA-FQ' });
      ev.push({ op: 'driver_bind', bdf: d.bdf, driver: 'iommu-lab-gen' });
      ev.push({ op: 'dma_map', bdf: d.bdf, iova: hex(WS_BASE), length, pa, prot: 'rw' });
    } else {
      const dev = `$dev${d.index}`;
      const ioas = `$${d.ioas}`;
      ev.push({ op: 'device_bind', bdf: d.bdf, as: `dev${d.index}` });
      ev.push({ op: 'ioas_alloc', flags: 0, as: d.ioas });
      ev.push({ op: 'device_attach', dev, pt: ioas });
      for (let k = 1; k <= d.pasids; k++) ev.push({ op: 'pasid_attach', dev, pasid: k, pt: ioas });
      ev.push({
        op: 'ioas_map',
        ioas,
        flags: ['FIXED_IOVA', 'READABLE', 'WRITEABLE'],
        iova: hex(WS_BASE),
        length,
        user_va: hex(USER_VA + d.index * 2 ** 32),
        pa,
      });
    }
    return ev.map((event, i) => ({ time: t + 10 * i, event }));
  }

  /** The counting pass: validates every control event against a lab and returns the counts. */
  private run(): GenExpected {
    const counts: GenExpected = { tlps: 0, controls: 0, faults: 0, hazards: 0 };
    const lab = buildLab(this.platform);
    const emitter: Emitter = { tlp: () => void counts.tlps++ };
    for (const c of this.steps(emitter, () => false, counts)) {
      if (!c) continue;
      counts.controls++;
      const why = rejection(lab, c.event, c.time);
      if (why)
        throw new GenError(
          `the lab rejects generated control event ${counts.controls} (t=${c.time} ns): ${why}`,
        );
    }
    return counts;
  }

  /**
   * Draws the trace: TLPs go to `out`, control events are yielded in order (null: `pause()` asked to
   * drain out's batch). Counts faults and hazards into `counts` when given.
   */
  private *steps(
    out: Emitter,
    pause: () => boolean,
    counts?: GenExpected,
  ): Generator<{ time: number; event: ControlEvent } | null> {
    const p = this.params;
    const rng = new Prng(p.seed);
    let t = 0;
    for (const d of this.devs) {
      yield* this.prologue(d, t);
      t += 1000;
    }
    t = Math.max(t, FIRST_TLP_NS);
    // DMA-FQ flush queues of the DMA-API devices (dma-iommu.c): pending unmaps and the deadline
    const fqCount = new Int32Array(this.devs.length);
    const fqDeadline = new Float64Array(this.devs.length);
    const unmapOnFq = (d: GenDevice, time: number): boolean => {
      if (fqCount[d.index]! > 0 && fqDeadline[d.index]! <= time) fqCount[d.index] = 0;
      if (fqCount[d.index] === 0) fqDeadline[d.index] = time + IOVA_FQ_TIMEOUT_NS;
      if (++fqCount[d.index]! >= IOVA_FQ_SIZE) {
        fqCount[d.index] = 0;
        return true; // flushed at once: the IOTLB no longer holds the page
      }
      return false;
    };
    const C = p.controlEvents;
    const S = p.staleUnmaps;
    let nextControl = 0;
    let nextStale = 0;
    const controlAt = (k: number): number => Math.floor(((k + 0.5) * p.tlps) / C);
    const staleAt = (j: number): number => Math.floor(((j + 0.5) * p.tlps) / S);
    const nDev = this.devs.length;
    const faultRate = p.faultRate;
    const tbitMix = p.tbitMix;
    const ws = p.workingSet;
    for (let i = 0; i < p.tlps;) {
      if (pause()) yield null;
      t += 8 + (rng.next() & 31);
      while (nextControl < C && controlAt(nextControl) <= i) {
        const k = nextControl++;
        const j = k >>> 1;
        const d = this.devs[j % nDev]!;
        const iova = CHURN_BASE + Math.floor(j / nDev) * PAGE;
        yield { time: t, event: this.churn(d, iova, k % 2 === 0) };
        if (k % 2 === 1 && d.pasids === 0) unmapOnFq(d, t);
      }
      if (nextStale < S && staleAt(nextStale) <= i && i + 1 < p.tlps) {
        const j = nextStale++;
        const d = this.dmaDevs[j % this.dmaDevs.length]!;
        const iova = STALE_BASE + Math.floor(j / this.dmaDevs.length) * PAGE;
        const length = hex(PAGE);
        const flags = 1 << 24; // write
        const pa = this.shared(iova);
        yield { time: t, event: { op: 'dma_map', bdf: d.bdf, iova: hex(iova), length, pa, prot: 'rw' } };
        out.tlp(t, d.ridSeg, flags, iova, 64);
        yield { time: t, event: { op: 'dma_unmap', bdf: d.bdf, iova: hex(iova), length } };
        out.tlp(t, d.ridSeg, flags, iova, 64);
        if (counts) {
          if (unmapOnFq(d, t)) counts.faults++;
          else counts.hazards++;
        }
        i += 2;
        continue;
      }
      const d = this.devs[nDev === 1 ? 0 : rng.below(nDev)]!;
      let flags = 0;
      if (d.pasids > 0) {
        const k = rng.below(d.pasids + 1);
        if (k > 0) flags = k | (1 << 20);
      }
      const r = rng.next();
      const write = r & 1;
      const access = write && (r & 0x1e) === 0 ? 2 : write;
      flags |= access << 24;
      const offset = 64 * ((r >>> 5) % 48);
      const len = 64 << ((r >>> 11) % 3);
      let addr: number;
      let faults = false;
      if (faultRate > 0 && rng.chance(faultRate)) {
        addr = FAULT_BASE + rng.below(FAULT_SPAN) * PAGE + offset;
        faults = true;
      } else {
        addr = WS_BASE + (ws === 1 ? 0 : rng.below(ws)) * PAGE + offset;
        if (tbitMix > 0 && rng.chance(tbitMix)) {
          flags |= 1 << 21;
          faults = true; // T=1 from an interface that is not in TDISP RUN
        }
      }
      if (faults && counts) counts.faults++;
      out.tlp(t, d.ridSeg, flags >>> 0, addr, len);
      i++;
    }
    while (nextControl < C) {
      const k = nextControl++;
      const j = k >>> 1;
      const d = this.devs[j % nDev]!;
      yield { time: t, event: this.churn(d, CHURN_BASE + Math.floor(j / nDev) * PAGE, k % 2 === 0) };
    }
  }

  /** A churn event: map or unmap one page no TLP touches. */
  private churn(d: GenDevice, iova: number, map: boolean): ControlEvent {
    const length = hex(PAGE);
    if (d.pasids === 0) {
      return map
        ? { op: 'dma_map', bdf: d.bdf, iova: hex(iova), length, pa: this.shared(iova), prot: 'rw' }
        : { op: 'dma_unmap', bdf: d.bdf, iova: hex(iova), length };
    }
    const ioas = `$${d.ioas}`;
    return map
      ? {
          op: 'ioas_map',
          ioas,
          flags: ['FIXED_IOVA', 'READABLE', 'WRITEABLE'],
          iova: hex(iova),
          length,
          user_va: hex(USER_VA + d.index * 2 ** 32 + (iova - CHURN_BASE) + 2 ** 31),
          pa: this.shared(iova),
        }
      : { op: 'ioas_unmap', ioas, iova: hex(iova), length };
  }
}

/** The physical address a mapping of `iova` uses: the IOVA itself, moved into shared memory on a
 * platform with a TEE-IO split, so that T=0 requests do not fault on private memory. */
function sharedAddress(platform: Platform): (iova: number) => bigint {
  const s = platform.teeIo;
  if (!s) return (iova) => BigInt(iova);
  if (s.kind === 'boundary') return (iova) => s.boundary + BigInt(iova);
  return (iova) => BigInt(iova) | s.sharedMask;
}

/** Why the lab refuses an event (applying it when it does not), or null. */
function rejection(lab: PlatformLab, event: ControlEvent, time = 0): string | null {
  const o = applyControl(lab, event, { event: 'gen', time });
  return o.ok ? null : `${event.op} → ${o.errno}: ${o.message}`;
}
