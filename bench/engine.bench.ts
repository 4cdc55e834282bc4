// Bench: the engine alone, in one thread: the first records of the replay bench's generated trace,
// decoded into memory first (not timed), then fed to an EngineCore the way the engine worker feeds it
// from the ring (Replay.applyTlpRun over runs of records, control events and chunk starts between
// them, a fold() after each chunk). TLPs per second is the engine's ceiling without the ring and the
// decoder: the end-to-end figure can approach it only as far as the other thread keeps up.
import { EngineCore } from '../src/host/replay/engine-core';
import { chunkItems } from '../src/host/replay/chunk-items';
import { readNativeTrace } from '../src/host/trace-file';
import { openNativeInput } from '../src/host/replay/native-input';
import { TLP_RECORD_WORDS, type DecodedChunk } from '../src/trace/native/index';

export interface EngineBenchResult {
  tlps: number;
  seconds: number;
  perSecond: number;
  faults: number;
}

/** Replays the first `maxTlps` TLPs of the trace at `path` in this thread, `rounds` times; the best round. */
export async function runEngineBench(path: string, maxTlps: number, rounds = 5): Promise<EngineBenchResult> {
  const input = await openNativeInput(path);
  const chunks: DecodedChunk[] = [];
  let n = 0;
  for await (const it of readNativeTrace(path)) {
    if (it.kind !== 'chunk') continue;
    chunks.push(it.chunk);
    n += it.chunk.recordCount;
    if (n >= maxTlps) break;
  }
  const prepared = chunks.map((c) => ({ c, ...chunkItems(c, 'bench', c.offset) }));
  let best: EngineBenchResult | null = null;
  for (let round = 0; round < rounds; round++) {
    const core = new EngineCore(input.platformJson, { firstChunkOffset: input.firstChunkOffset });
    const countPasid = (pasid: number): void => core.agg.pasidTlp(pasid);
    const t0 = performance.now();
    for (const { c, items, before } of prepared) {
      const words = c.records;
      let r = 0;
      for (let i = 0; i <= items.length; i++) {
        const until = i < items.length ? before[i]! : c.recordCount;
        while (r < until) r += core.replay.applyTlpRun(words, r * TLP_RECORD_WORDS, until - r, countPasid);
        if (i < items.length) core.item(items[i]!);
      }
      core.events += c.recordCount;
      core.fold();
    }
    const seconds = (performance.now() - t0) / 1000;
    const tlps = core.replay.tlps;
    if (!best || tlps / seconds > best.perSecond)
      best = { tlps, seconds, perSecond: tlps / seconds, faults: core.agg.faults };
  }
  return best!;
}
