// `iommu-lab run SCRIPT --platform FILE [--json]`: executes a control script against a platform and
// prints one line per event (docs/control-script.md).
import { readFile } from 'node:fs/promises';
import { buildLab } from '../engine/lab';
import { runScript, type LineResult } from '../engine/run-script';
import { parseControlScript } from '../trace/control-script';
import { InputError, readInput } from '../host/inputs';
import { EXIT } from './exit-codes';

export interface RunOptions {
  platform: string;
  json?: boolean;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new InputError([{ file: path, where: 'open', message: (e as Error).message }]);
  }
}

function textLine(r: LineResult): string {
  const head = `${String(r.line).padStart(4)}  ${(r.op ?? '?').padEnd(17)} `;
  if (!r.ok) return `${head} ${r.errno.padEnd(10)} ${r.message}`;
  const outs = Object.entries(r)
    .filter(([k]) => k !== 'line' && k !== 'op' && k !== 'ok')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${head} ${'ok'.padEnd(10)} ${outs}`.trimEnd();
}

export async function runCommand(
  script: string,
  opts: RunOptions,
  out: (s: string) => void,
): Promise<number> {
  const input = await readInput(opts.platform);
  if (input.kind !== 'platform') {
    throw new InputError([{ file: opts.platform, where: 'format', message: 'not a platform description' }]);
  }
  const platform = input.platform;
  const lines = parseControlScript(await readText(script));
  const lab = buildLab(platform);
  const run = runScript(lab, lines);
  for (const r of run.results) out(opts.json ? JSON.stringify(r) : textLine(r));
  if (!opts.json) {
    for (const m of run.mismatches) out(`${script}:${m.line}: expected ${m.expected}, got ${m.got}`);
    const failed = run.results.filter((r) => !r.ok).length;
    out(
      `${run.results.length} events, ${failed} answered with an errno, ${run.badLines} bad lines, ${run.mismatches.length} unmet expectations`,
    );
  }
  return run.badLines || run.mismatches.length ? EXIT.ERRORS : EXIT.OK;
}
