// The generator: same seed, same bytes; the counts it announces match what is in the file.
import { describe, expect, it } from 'vitest';
import { decodeBytes } from '../native/fixtures';
import { tlpTime } from '../native/tlp-record';
import { Prng } from './prng';
import { GenError, TraceGenerator, type GenOptions } from './generator';

function bytesOf(o: GenOptions): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const p of new TraceGenerator(o).pieces()) parts.push(p.slice()); // each piece is valid until the next
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('Prng', () => {
  it('is deterministic and seed-dependent', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 8 }, () => a.next());
    expect(Array.from({ length: 8 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.next())).not.toEqual(xs);
    for (const x of xs) expect(x >>> 0).toBe(x);
  });
});

describe('TraceGenerator', () => {
  const opts: GenOptions = {
    seed: 7,
    tlps: 20_000,
    devices: 3,
    pasids: 2,
    faultRate: 0.01,
    tbitMix: 0.01,
    staleUnmaps: 5,
    controlEvents: 40,
    recordsPerChunk: 1024,
  };

  it('same seed, same bytes; another seed, other bytes', () => {
    const same = (x: Uint8Array, y: Uint8Array): boolean =>
      x.length === y.length && x.every((b, i) => b === y[i]);
    const a = bytesOf(opts);
    expect(same(bytesOf(opts), a)).toBe(true);
    expect(same(bytesOf({ ...opts, seed: 8 }), a)).toBe(false);
  });

  it('writes what its header announces', () => {
    const g = new TraceGenerator(opts);
    const d = decodeBytes(bytesOf(opts));
    expect(d.problems).toEqual([]);
    const records = d.chunks.reduce((n, c) => n + c.recordCount, 0);
    const controls = d.chunks.reduce((n, c) => n + c.controls.length, 0);
    expect(records).toBe(20_000);
    expect(d.header?.capture.generator?.expected).toEqual(g.expected);
    expect(g.expected.tlps).toBe(20_000);
    expect(controls).toBe(g.expected.controls);
    // prologue: 2 DMA-API devices × 3 events, 1 iommufd device × (bind, alloc, attach, 2 PASIDs, map);
    // 40 churn events; 5 sequences × (map, unmap)
    expect(g.expected.controls).toBe(6 + 6 + 40 + 10);
    expect(g.expected.hazards).toBe(5);
    // about 1 % + 1 % of 20 000
    expect(g.expected.faults).toBeGreaterThan(250);
    expect(g.expected.faults).toBeLessThan(550);
    let prev = 0;
    for (const c of d.chunks)
      for (let w = 0; w < c.records.length; w += 8) {
        expect(tlpTime(c.records, w)).toBeGreaterThanOrEqual(prev);
        prev = tlpTime(c.records, w);
      }
  });

  it('refuses impossible options with a message', () => {
    expect(() => new TraceGenerator({ seed: 1, tlps: 3, staleUnmaps: 2 })).toThrow(GenError);
    expect(() => new TraceGenerator({ seed: 1, tlps: 10, devices: 1, pasids: 1 })).toThrow(/--devices 2/);
    expect(() => new TraceGenerator({ seed: -1, tlps: 10 })).toThrow(/--seed/);
  });
});
