// Writing native traces from other inputs (`iommu-lab import FILE -o OUT`):
//   SyncTraceWriter    the encoder with synchronous writes, for callers that produce records from a
//                      synchronous callback (the importers' onRecord): each chunk is on disk before the
//                      call returns, so memory stays at one chunk.
//   ImportConverter    turns importer records into trace items, by the rules of docs/trace-format.md
//                      ("Importing"): analyzer TLPs, QEMU translations and the DMAs of QEMU's faults →
//                      TLP records, ftrace map and unmap → dma_map / dma_unmap, observed faults →
//                      observed_fault events; the rest
//                      is counted by reason. Times (seconds on the capture's clocks) become integer ns
//                      from the first record stamped on the same clock (a QEMU trace interleaves the
//                      guest's boot clock with the host's epoch clock: each starts at 0); a record
//                      without a time takes the previous one, one that goes back is moved up to it
//                      (counted).
//   convertJsonlTrace  a text trace (JSON lines) to a native trace with the same events.
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseBdf, rid } from '../../engine/bdf';
import type { ControlEvent } from '../../trace/control-script';
import type { ImportKind, ImportRecord, ObservedFault } from '../../trace/import/index';
import {
  NativeTraceEncoder,
  type EncoderTotals,
  type NativeTraceHeader,
  type ObservedFaultEvent,
  type TlpRecord,
  type TraceControlEvent,
} from '../../trace/native/index';
import { parseTraceJsonl } from '../../trace/trace-jsonl';
import { InputError } from '../inputs';

export class SyncTraceWriter {
  private readonly fd: number;
  private readonly enc: NativeTraceEncoder;

  constructor(path: string, header: NativeTraceHeader) {
    this.enc = new NativeTraceEncoder(header);
    this.fd = openSync(path, 'w');
    this.put(this.enc.start());
  }

  private put(b: Uint8Array | null): void {
    if (!b) return;
    for (let done = 0; done < b.length;) done += writeSync(this.fd, b, done, b.length - done);
  }

  tlp(r: TlpRecord): void {
    this.put(this.enc.addTlp(r));
  }

  control(time: number, event: TraceControlEvent): void {
    this.put(this.enc.addControl(time, event));
  }

  close(): EncoderTotals {
    try {
      for (const p of this.enc.finish()) this.put(p);
    } finally {
      closeSync(this.fd);
    }
    return { ...this.enc.written };
  }

  /** Closes the file without a footer (after an error). */
  abort(): void {
    closeSync(this.fd);
  }
}

export interface ConversionCounts {
  tlps: number;
  controls: number;
  observedFaults: number;
  /** driver_bind events written before a device's first DMA-API event (the model needs a bound driver) */
  driverBinds: number;
  /** records that go back in time, moved up to the previous time */
  reordered: number;
  /** records not carried, by reason */
  notMapped: Record<string, number>;
}

const hexBig = (s: string): bigint => BigInt(s);

/** Importer records → native trace items (see the module comment for the rules). */
export class ImportConverter {
  readonly counts: ConversionCounts = {
    tlps: 0,
    controls: 0,
    observedFaults: 0,
    driverBinds: 0,
    reordered: 0,
    notMapped: {},
  };
  private readonly t0 = new Map<string, number>();
  private last = 0;
  private readonly bound = new Set<string>();

  constructor(
    private readonly out: SyncTraceWriter,
    private readonly kind: ImportKind,
    /** the device map/unmap events that name none are attributed to (--device) */
    private readonly defaultDevice: string | null,
  ) {}

  private skip(why: string): void {
    this.counts.notMapped[why] = (this.counts.notMapped[why] ?? 0) + 1;
  }

  private time(seconds: number | null, clock: string | null): number {
    if (seconds === null) return this.last;
    const key = clock ?? '';
    let t0 = this.t0.get(key);
    if (t0 === undefined) this.t0.set(key, (t0 = seconds));
    let t = Math.round((seconds - t0) * 1e9);
    if (!Number.isSafeInteger(t) || t < this.last) {
      this.counts.reordered++;
      t = this.last;
    }
    this.last = t;
    return t;
  }

  private control(time: number, e: TraceControlEvent): void {
    this.out.control(time, e);
    if (e.op === 'observed_fault') this.counts.observedFaults++;
    else this.counts.controls++;
  }

  record(r: ImportRecord): void {
    switch (r.type) {
      case 'fault':
        return this.fault(r);
      case 'tlp': {
        if (r.access !== 'read' && r.access !== 'write' && r.access !== 'atomic') {
          return this.skip(`analyzer ${r.access} TLPs (not memory requests)`);
        }
        const b = r.bdf ? parseBdf(r.bdf) : null;
        const requester = b ? rid(b) : r.requesterId;
        if (requester === null || r.address === null) return this.skip('TLPs without a requester or address');
        const addr = hexBig(r.address);
        if (addr >= 1n << 64n) return this.skip('TLPs with an address past 64 bits');
        this.out.tlp({
          time: this.time(r.time, r.clock),
          requesterId: requester & 0xffff,
          segment: b?.segment ?? 0,
          pasid: r.pasid,
          tBit: r.tbit ?? false,
          at: r.at ?? 0,
          access: r.access,
          exec: false,
          priv: false,
          addr,
          len: Math.min(Math.max(r.length ?? 4, 1), 0xffffffff),
        });
        this.counts.tlps++;
        return;
      }
      case 'translation': {
        const b = parseBdf(r.bdf);
        const requester = r.sid ?? (b ? rid(b) : null);
        if (requester === null) return this.skip('QEMU translations without a requester');
        this.out.tlp({
          time: this.time(r.time, r.clock),
          requesterId: requester & 0xffff,
          segment: b?.segment ?? 0,
          pasid: r.pasid,
          tBit: false,
          at: 0,
          // QEMU's translate line does not print the access; a write flag from an older slpte line does
          access: r.write ? 'write' : 'read',
          exec: false,
          priv: false,
          addr: hexBig(r.accessAddress ?? r.iova),
          // nor the length: one 4-byte access (documented)
          len: 4,
        });
        this.counts.tlps++;
        return;
      }
      case 'event':
        return this.event(r);
      case 'hint':
      case 'info':
        return;
    }
  }

  private event(e: Extract<ImportRecord, { type: 'event' }>): void {
    if (e.op !== 'map' && e.op !== 'unmap') {
      return this.skip(`ftrace ${e.op} events (no control-script equivalent)`);
    }
    const bdf = e.bdf ?? this.defaultDevice;
    if (!bdf) return this.skip(`ftrace ${e.op} events naming no device (give --device BDF)`);
    if (e.iova === null || e.size === null) return this.skip(`ftrace ${e.op} events without iova or size`);
    const t = this.time(e.time, e.clock);
    if (!this.bound.has(bdf)) {
      this.bound.add(bdf);
      this.control(t, { op: 'driver_bind', bdf, driver: e.driver ?? 'imported' });
      this.counts.driverBinds++;
    }
    const event: ControlEvent =
      e.op === 'map'
        ? {
            op: 'dma_map',
            bdf,
            iova: hexBig(e.iova),
            length: BigInt(e.size),
            pa: e.paddr ? hexBig(e.paddr) : undefined,
            // the tracepoint does not print the permission
            prot: 'rw',
          }
        : { op: 'dma_unmap', bdf, iova: hexBig(e.iova), length: BigInt(e.size) };
    this.control(t, event);
  }

  private fault(f: ObservedFault): void {
    const time = this.time(f.time, f.clock);
    // A fault line is the trace of a DMA: QEMU reports the fault of a DMA its model saw and prints no
    // translate line for it, and an Intel DMAR fault line in a kernel log names the requester, the access
    // and the faulting page. That DMA becomes a TLP record (4 bytes at the address printed), so that the
    // replay judges it too and the agreement compares like with like. AMD-Vi and SMMU faults are not
    // replayed (the lab translates through a VT-d model), nor interrupt-remapping faults (not DMA).
    const dma = f.origin === 'qemu' || f.source === 'intel';
    if (dma && f.address !== null && (f.access === 'read' || f.access === 'write')) {
      const b = f.bdf ? parseBdf(f.bdf) : null;
      const requester = f.sid ?? (b ? rid(b) : null);
      if (requester !== null) {
        this.out.tlp({
          time,
          requesterId: requester & 0xffff,
          segment: f.segment ?? b?.segment ?? 0,
          pasid: f.pasid,
          tBit: false,
          at: 0,
          access: f.access,
          exec: false,
          priv: false,
          addr: hexBig(f.address),
          len: 4,
        });
        this.counts.tlps++;
      }
    }
    const e: ObservedFaultEvent = {
      op: 'observed_fault',
      source: f.source,
      origin: f.origin,
      format: f.format,
      segment: f.segment,
      bdf: f.bdf,
      sid: f.sid,
      pasid: f.pasid,
      access: f.access,
      address: f.address,
      reason: f.reason,
      reasonText: f.reasonText,
      line: f.line,
      timeRaw: f.timeRaw,
    };
    this.control(time, e);
  }

  /** Whether the converted kind makes QEMU's fault semantics the default (capture.tool says "qemu"). */
  get qemu(): boolean {
    return this.kind === 'qemu-trace';
  }
}

/** A text trace (JSON lines) as a native trace: the same events, the platform embedded. */
export async function convertJsonlTrace(
  trace: string,
  out: string,
  platformFile: string | undefined,
  tool: string,
): Promise<{ totals: EncoderTotals; badLines: number; platform: string }> {
  const text = await readFile(trace, 'utf8');
  const parsed = parseTraceJsonl(text, trace);
  const ref =
    platformFile ?? (parsed.header.platform ? resolve(dirname(trace), parsed.header.platform) : null);
  if (!ref) {
    throw new InputError([
      { file: trace, where: 'header.platform', message: 'no platform: give one with --platform FILE' },
    ]);
  }
  let platform: Record<string, unknown>;
  try {
    platform = JSON.parse(await readFile(ref, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new InputError([{ file: ref, where: 'open', message: (e as Error).message }]);
  }
  const w = new SyncTraceWriter(out, {
    format: 'iommu-lab/trace',
    version: 1,
    platform,
    capture: {
      ...(parsed.header.description ? { description: parsed.header.description } : {}),
      tool: parsed.header.source === 'qemu' ? `qemu (${tool})` : tool,
      source: basename(trace),
    },
    timeBase: { unit: 'ns' },
  });
  try {
    for (const e of parsed.events) {
      if (e.kind === 'control') w.control(e.time, e.event);
      else {
        w.tlp({
          time: e.time,
          requesterId: e.requesterId & 0xffff,
          segment: 0,
          pasid: e.pasid,
          tBit: (e.tbit ?? 0) === 1,
          at: e.at ?? 0,
          access: e.atomic ? 'atomic' : e.write ? 'write' : 'read',
          exec: e.exec ?? false,
          priv: e.priv ?? false,
          addr: BigInt(e.addr),
          len: e.len,
        });
      }
    }
  } catch (e) {
    w.abort();
    throw e;
  }
  return { totals: w.close(), badLines: parsed.errors.length, platform: ref };
}
