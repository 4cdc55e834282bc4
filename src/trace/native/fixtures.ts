// Test fixtures for the native trace format: a header, deterministic TLP records and control events,
// and helpers that encode a list of items into a whole file and decode a file fed in pieces. Used by
// the tests beside this file and by test/trace-file.test.ts; pure, like the codec.
import type { ControlEvent } from '../control-script';
import type { DecodedChunk } from './chunk';
import type { NativeTraceHeader } from './header';
import { NativeTraceDecoder, type TraceProblem } from './reader';
import type { TlpRecord } from './tlp-record';
import { NativeTraceEncoder, type EncoderOptions } from './writer';

export function sampleHeader(platform: Record<string, unknown> | null = null): NativeTraceHeader {
  return {
    format: 'iommu-lab/trace',
    version: 1,
    platform,
    capture: { description: 'fixture', tool: 'fixtures.ts' },
    timeBase: { unit: 'ns', origin: '2025-01-01T00:00:00Z', clock: 'analyzer' },
  };
}

/** Record i: time 10·i ns and fields that cycle through every flag and both address halves. */
export function sampleTlp(i: number): TlpRecord {
  return {
    time: 10 * i,
    requesterId: 0x0100 + (i % 3),
    segment: i % 2,
    pasid: i % 2 === 1 ? (i * 7) & 0xfffff : null,
    tBit: i % 5 === 0,
    at: i % 3,
    access: (['read', 'write', 'atomic'] as const)[i % 3]!,
    exec: i % 4 === 1,
    priv: i % 4 === 2,
    addr: (BigInt(i % 4) << 32n) + BigInt(i) * 0x1000n,
    len: 4 + (i % 64),
  };
}

export function sampleControl(i: number): ControlEvent {
  return {
    op: 'dma_map',
    bdf: '0000:01:00.0',
    iova: 0xfff00000n + BigInt(i) * 0x1000n,
    length: 0x1000n,
    prot: 'rw',
  };
}

export type Item = { kind: 'tlp'; tlp: TlpRecord } | { kind: 'control'; time: number; event: ControlEvent };

/** The whole file, and each chunk's byte range [start, end) in it. */
export function encodeItems(
  items: Item[],
  options: EncoderOptions = {},
  header = sampleHeader(),
): { bytes: Uint8Array; chunks: { start: number; end: number }[] } {
  const enc = new NativeTraceEncoder(header, options);
  const pieces: Uint8Array[] = [enc.start().slice()];
  const chunks: { start: number; end: number }[] = [];
  let at = pieces[0]!.length;
  const add = (c: Uint8Array | null) => {
    if (!c) return;
    chunks.push({ start: at, end: at + c.length });
    at += c.length;
    pieces.push(c.slice());
  };
  for (const it of items) add(it.kind === 'tlp' ? enc.addTlp(it.tlp) : enc.addControl(it.time, it.event));
  const tail = enc.finish();
  // finish() returns the last chunk (when one was open), then the footer pieces.
  const lastChunk = enc.written.chunks > chunks.length;
  tail.forEach((p, i) => (lastChunk && i === 0 ? add(p) : pieces.push(p)));
  const bytes = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of pieces) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, chunks };
}

export interface DecodedFile {
  header: NativeTraceHeader | null;
  chunks: DecodedChunk[];
  problems: TraceProblem[];
  footerEntries: number | null;
}

/** Decodes a file fed in pieces of `piece` bytes. */
export function decodeBytes(bytes: Uint8Array, piece = bytes.length || 1): DecodedFile {
  const dec = new NativeTraceDecoder();
  const out: DecodedFile = { header: null, chunks: [], problems: [], footerEntries: null };
  const take = (items: ReturnType<NativeTraceDecoder['push']>) => {
    for (const it of items) {
      if (it.kind === 'header') out.header = it.header;
      else if (it.kind === 'chunk') out.chunks.push(it.chunk);
      else if (it.kind === 'footer') out.footerEntries = it.entries;
      else out.problems.push(it.problem);
    }
  };
  for (let i = 0; i < bytes.length; i += piece) take(dec.push(bytes.subarray(i, i + piece)));
  take(dec.end());
  return out;
}
