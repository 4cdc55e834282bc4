// `iommu-lab gen --seed N --tlps N [--devices N] [--pasids N] [--working-set PAGES] [--fault-rate R]
// [--tbit-mix R] [--stale-unmaps N] [--control-events N] [--platform FILE] -o OUT [--json]`: writes a
// deterministic synthetic native trace (src/trace/gen) whose fault and hazard counts are known by
// construction and recorded in its header (capture.generator.expected). Same options, same bytes.
// Counts accept k, M and G suffixes (50M = 50 000 000) and exponents (1e6). Prints what it wrote.
// Exit codes: 0 written; 64 bad options, an unusable platform or an I/O error (nothing useful written).
import { open, readFile, rm } from 'node:fs/promises';
import { GenError, TraceGenerator, type GenOptions } from '../trace/gen/index';
import { EXIT } from './exit-codes';

export interface GenCommandOptions {
  seed: string | number;
  tlps: string | number;
  devices?: string | number;
  pasids?: string | number;
  workingSet?: string | number;
  faultRate?: string | number;
  tbitMix?: string | number;
  staleUnmaps?: string | number;
  controlEvents?: string | number;
  /** a platform description to embed (default: the generator's sample platform) */
  platform?: string;
  output: string;
  json?: boolean;
}

const SUFFIX: Record<string, number> = { k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 };

/** "50M" → 50 000 000, "1e6", "0.01"; NaN when malformed. */
export function parseCount(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kKmMgG]?)\s*$/.exec(v);
  if (!m) return NaN;
  const x = Number(m[1]) * (SUFFIX[m[2]!] ?? 1);
  return m[2] ? Math.round(x) : x;
}

export async function genCommand(
  opts: GenCommandOptions,
  out: (s: string) => void,
  err: (s: string) => void = (s) => void process.stderr.write(s + '\n'),
): Promise<number> {
  const num = (v: string | number | undefined): number | undefined =>
    v === undefined ? undefined : parseCount(v);
  let platform: Record<string, unknown> | undefined;
  if (opts.platform !== undefined) {
    try {
      platform = JSON.parse(await readFile(opts.platform, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      err(`iommu-lab gen: --platform ${opts.platform}: ${(e as Error).message}`);
      return EXIT.FATAL;
    }
  }
  const options: GenOptions = {
    seed: num(opts.seed)!,
    tlps: num(opts.tlps)!,
    devices: num(opts.devices),
    pasids: num(opts.pasids),
    workingSet: num(opts.workingSet),
    faultRate: num(opts.faultRate),
    tbitMix: num(opts.tbitMix),
    staleUnmaps: num(opts.staleUnmaps),
    controlEvents: num(opts.controlEvents),
    platform,
  };
  let gen: TraceGenerator;
  try {
    gen = new TraceGenerator(options);
  } catch (e) {
    if (!(e instanceof GenError)) throw e;
    err(`iommu-lab gen: ${e.message}`);
    return EXIT.FATAL;
  }
  let bytes = 0;
  try {
    const fh = await open(opts.output, 'w');
    try {
      for (const piece of gen.pieces()) {
        await fh.write(piece);
        bytes += piece.length;
      }
    } finally {
      await fh.close();
    }
  } catch (e) {
    await rm(opts.output, { force: true }).catch(() => undefined);
    err(`iommu-lab gen: -o ${opts.output}: ${(e as Error).message}`);
    return EXIT.FATAL;
  }
  const x = gen.expected;
  if (opts.json) {
    out(
      JSON.stringify(
        { output: opts.output, bytes, platform: gen.platform.name, ...gen.header.capture.generator },
        null,
        2,
      ),
    );
  } else {
    out(
      `wrote ${opts.output}: ${x.tlps} TLPs, ${x.controls} control events, ${(bytes / 2 ** 20).toFixed(1)} MiB ` +
        `(platform: ${gen.platform.name})`,
    );
    out(
      `expected  ${x.faults} faults, ${x.hazards} use-after-unmap hazards (iommu-lab replay, --iotlb hardware)`,
    );
  }
  return EXIT.OK;
}
