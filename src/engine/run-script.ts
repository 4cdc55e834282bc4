// Runs a parsed control script against a lab, line by line. A line that did not parse, or whose
// event fails, never stops the lines after it. Each result is what `iommu-lab run --json` prints.
import { applyControl, type Lab } from './control';
import { isProblem, type LineProblem, type ParsedLine } from '../trace/control-script';

export type LineResult =
  | ({ line: number; op: string; ok: true } & Record<string, unknown>)
  | { line: number; op: string | null; ok: false; errno: string; message: string; [k: string]: unknown };

export interface ScriptRun {
  results: LineResult[];
  /** lines that did not parse */
  badLines: number;
  /** lines whose outcome differs from their "expect" */
  mismatches: { line: number; expected: string; got: string }[];
}

export function runScript(lab: Lab, lines: Array<ParsedLine | LineProblem>): ScriptRun {
  const run: ScriptRun = { results: [], badLines: 0, mismatches: [] };
  for (const l of lines) {
    if (isProblem(l)) {
      run.badLines++;
      run.results.push({
        line: l.line,
        op: l.op,
        ok: false,
        errno: l.errno,
        message: `line ${l.line}: ${l.message}`,
      });
      continue;
    }
    const e = l.event;
    const o = applyControl(lab, e, { event: `line ${l.line} ${e.op}`, time: e.t ?? 0 });
    const res: LineResult = o.ok
      ? { line: l.line, op: e.op, ok: true, ...o.outputs }
      : { line: l.line, op: e.op, ok: false, errno: o.errno, message: o.message, ...(o.outputs ?? {}) };
    run.results.push(res);
    if (e.expect !== undefined) {
      const got = o.ok ? 'ok' : o.errno;
      if (got !== e.expect) run.mismatches.push({ line: l.line, expected: e.expect, got });
    }
  }
  return run;
}
