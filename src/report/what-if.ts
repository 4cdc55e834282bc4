// What-if edits: change a platform description (docs/platform-format.md) and the start of a trace,
// then replay the same trace and compare (diff.ts). Answers "would this RMRR fix the faults?" before
// anyone flashes a BIOS. `--set` edits (docs/report.md):
//   rmrr.add=BASE-END@BDF[,BDF…]       add an RMRR (END inclusive, …fff) scoped to the functions
//   rmrr.N.base=ADDR / rmrr.N.end=ADDR  move an edge of the description's reservedMemory[N]
//   rmrr.N.scope=BDF[,BDF…]            replace its device scope
//   device.BDF.domain=identity|dma|dma-fq   a default_domain control event for BDF's group at t=0
//   tee.boundary=ADDR                  the TEE-IO private/shared boundary
//   kernel.defaultDomain=identity|dma|dma-fq
// or an RFC 6902 JSON Patch (fast-json-patch) applied to the platform JSON before the --set edits.
// Pure: the caller reads the files and loads the edited platform.
import * as fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { normalizeBdf } from '../engine/platform/index';
import type { ControlStep } from '../engine/replay';
import { isProblem, parseControlLine } from '../trace/control-script';

export type WhatIfEdit =
  | { kind: 'rmrr.add'; text: string; base: string; end: string; scope: string[] }
  | { kind: 'rmrr.field'; text: string; index: number; field: 'base' | 'end'; value: string }
  | { kind: 'rmrr.scope'; text: string; index: number; scope: string[] }
  | { kind: 'device.domain'; text: string; bdf: string; type: 'identity' | 'dma' | 'dma-fq' }
  | { kind: 'tee.boundary'; text: string; value: string }
  | { kind: 'kernel.defaultDomain'; text: string; type: 'identity' | 'dma' | 'dma-fq' };

export class WhatIfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WhatIfError';
  }
}

const DOMAIN_TYPES = ['identity', 'dma', 'dma-fq'] as const;

function address(text: string, what: string, edit: string): string {
  const t = text.trim();
  if (!/^0x[0-9a-fA-F]{1,16}$/.test(t))
    throw new WhatIfError(`${edit}: ${what} "${t}" is not a hex address 0x…`);
  return `0x${t
    .slice(2)
    .toLowerCase()
    .replace(/^0+(?=.)/, '')}`;
}

function bdfList(text: string, edit: string): string[] {
  const list = text.split(',').map((s) => s.trim());
  return list.map((s) => {
    const b = normalizeBdf(s);
    if (!b) throw new WhatIfError(`${edit}: "${s}" is not a PCI function (SSSS:BB:DD.F or BB:DD.F)`);
    return b;
  });
}

function domainType(text: string, edit: string): 'identity' | 'dma' | 'dma-fq' {
  const t = text.trim().toLowerCase();
  if (!(DOMAIN_TYPES as readonly string[]).includes(t))
    throw new WhatIfError(`${edit}: domain "${text}" is not one of ${DOMAIN_TYPES.join(', ')}`);
  return t as 'identity' | 'dma' | 'dma-fq';
}

/** Parses one --set KEY=VALUE; throws WhatIfError naming the edit and what is wrong. */
export function parseSet(text: string): WhatIfEdit {
  const eq = text.indexOf('=');
  if (eq < 0) throw new WhatIfError(`--set ${text}: expected KEY=VALUE`);
  const key = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  if (key === 'rmrr.add') {
    const m = /^([^-@]+)-([^@]+)@(.+)$/.exec(value);
    if (!m) throw new WhatIfError(`--set ${text}: expected rmrr.add=BASE-END@BDF[,BDF…]`);
    return {
      kind: 'rmrr.add',
      text,
      base: address(m[1]!, 'base', text),
      end: address(m[2]!, 'end', text),
      scope: bdfList(m[3]!, text),
    };
  }
  const rmrr = /^rmrr\.(\d+)\.(base|end|scope)$/.exec(key);
  if (rmrr) {
    const index = Number(rmrr[1]);
    if (rmrr[2] === 'scope') return { kind: 'rmrr.scope', text, index, scope: bdfList(value, text) };
    const field = rmrr[2] as 'base' | 'end';
    return { kind: 'rmrr.field', text, index, field, value: address(value, field, text) };
  }
  const dev = /^device\.(.+)\.domain$/.exec(key);
  if (dev) {
    const bdf = normalizeBdf(dev[1]!);
    if (!bdf) throw new WhatIfError(`--set ${text}: "${dev[1]}" is not a PCI function`);
    return { kind: 'device.domain', text, bdf, type: domainType(value, text) };
  }
  if (key === 'tee.boundary') return { kind: 'tee.boundary', text, value: address(value, 'boundary', text) };
  if (key === 'kernel.defaultDomain')
    return { kind: 'kernel.defaultDomain', text, type: domainType(value, text) };
  throw new WhatIfError(
    `--set ${text}: unknown key "${key}" (rmrr.add, rmrr.N.base|end|scope, device.BDF.domain, tee.boundary, kernel.defaultDomain)`,
  );
}

type Json = Record<string, unknown>;

// fast-json-patch ships CommonJS (main) and ES modules (module) with no exports map: under Node its
// functions sit on the default export, under a bundler that picks index.mjs on the namespace.
const jsonpatch: Pick<typeof fjp, 'applyPatch' | 'validate'> =
  typeof fjp.applyPatch === 'function' ? fjp : (fjp as unknown as { default: typeof fjp }).default;

export interface EditedInputs {
  /** the edited platform description (to load with loadPlatform) */
  platform: unknown;
  /** control events to run before the trace (at t=0) */
  events: ControlStep[];
  /** the edits as written, patch first, for the report's run identity */
  applied: string[];
}

/**
 * Applies a JSON Patch (when given) and the --set edits to a platform JSON description and returns the
 * control events the edits add. The input is not modified. Throws WhatIfError.
 */
export function applyEdits(
  platformJson: unknown,
  edits: readonly WhatIfEdit[],
  patch?: { name: string; operations: unknown },
): EditedInputs {
  if (typeof platformJson !== 'object' || platformJson === null || Array.isArray(platformJson))
    throw new WhatIfError('the platform description is not a JSON object');
  let doc = JSON.parse(JSON.stringify(platformJson)) as Json;
  const applied: string[] = [];
  if (patch) {
    if (!Array.isArray(patch.operations))
      throw new WhatIfError(`${patch.name}: a JSON Patch is an array of operations (RFC 6902)`);
    const problem = jsonpatch.validate(patch.operations as Operation[], doc);
    if (problem) {
      // the library's message goes on with the operation and the whole document: keep its first line
      const index = problem.index ?? 0;
      const op = (patch.operations as Partial<Operation>[])[index];
      const what = op ? ` (${String(op.op)} ${String(op.path)})` : '';
      throw new WhatIfError(`${patch.name}: operation ${index}${what}: ${problem.message.split('\n')[0]}`);
    }
    doc = jsonpatch.applyPatch(doc, patch.operations as Operation[], true, false).newDocument;
    applied.push(`patch ${patch.name}`);
  }
  const events: ControlStep[] = [];
  const rmrrs = (): Json[] => {
    if (!Array.isArray(doc.reservedMemory)) doc.reservedMemory = [];
    return doc.reservedMemory as Json[];
  };
  const rmrrAt = (index: number, edit: string): Json => {
    const r = rmrrs()[index];
    if (!r || typeof r !== 'object')
      throw new WhatIfError(
        `${edit}: the platform has no reservedMemory[${index}] (it has ${rmrrs().length})`,
      );
    return r;
  };
  for (const e of edits) {
    switch (e.kind) {
      case 'rmrr.add':
        rmrrs().push({ name: `what-if: ${e.text}`, base: e.base, end: e.end, scope: e.scope });
        break;
      case 'rmrr.field':
        rmrrAt(e.index, e.text)[e.field] = e.value;
        break;
      case 'rmrr.scope':
        rmrrAt(e.index, e.text).scope = e.scope;
        break;
      case 'tee.boundary':
        doc.teeIo = { boundary: e.value };
        break;
      case 'kernel.defaultDomain':
        doc.kernel = { ...((doc.kernel as Json | undefined) ?? {}), defaultDomain: e.type };
        break;
      case 'device.domain': {
        const type = e.type === 'identity' ? 'identity' : e.type === 'dma' ? 'DMA' : 'DMA-FQ';
        const p = parseControlLine(JSON.stringify({ op: 'default_domain', t: 0, bdf: e.bdf, type }), 0);
        if (isProblem(p)) throw new WhatIfError(`${e.text}: ${p.message}`);
        events.push({ kind: 'control', time: 0, origin: `what-if: ${e.text}`, event: p.event });
        break;
      }
    }
    applied.push(e.text);
  }
  return { platform: doc, events, applied };
}
