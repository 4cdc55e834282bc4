// Loads the lab's inputs from disk or from bytes the renderer sends: platform JSON and traces.
// Detects the kind from the content, not the file name. Every problem names the file and the line or
// JSON path; nothing already read is dropped because a later line is bad. A native trace (its magic,
// docs/trace-format.md) is not read here: it may be gigabytes, and the worker player streams it from
// its path (src/host/replay); decodeInput says what it is so the caller can put uploaded bytes in a file.
import { open, readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { loadPlatform, PLATFORM_FORMAT, type Platform } from '../engine/platform/index';
import { parseTraceJsonl, TRACE_JSONL_FORMAT, type ParsedTrace } from '../trace/trace-jsonl';

export interface InputProblem {
  file: string;
  /** "line 12", "devices[0].bdf" … */
  where: string;
  message: string;
}

export type LoadedInput =
  | { kind: 'platform'; name: string; bytes: number; platform: Platform; json: Record<string, unknown> }
  | { kind: 'trace'; name: string; bytes: number; trace: ParsedTrace; platformPath: string | null }
  /** a native trace: `path` is null for bytes not on disk yet */
  | { kind: 'native-trace'; name: string; bytes: number; path: string | null };

/** The native trace magic "\x89IOMMU\r\n" (src/trace/native/layout.ts FILE_MAGIC). */
const NATIVE_MAGIC = [0x89, 0x49, 0x4f, 0x4d, 0x4d, 0x55, 0x0d, 0x0a];

function isNative(bytes: Uint8Array): boolean {
  return bytes.length >= NATIVE_MAGIC.length && NATIVE_MAGIC.every((b, i) => bytes[i] === b);
}

export class InputError extends Error {
  constructor(readonly problems: InputProblem[]) {
    super(problems.map((p) => `${p.file}: ${p.where}: ${p.message}`).join('\n'));
    this.name = 'InputError';
  }
}

function firstJsonLine(text: string): unknown {
  for (const line of text.split(/\r?\n/, 50)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    try {
      return JSON.parse(t);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Decodes one input. `dir` resolves a trace's platform reference (null for uploaded bytes). */
export function decodeInput(name: string, bytes: Uint8Array, dir: string | null): LoadedInput {
  if (isNative(bytes)) return { kind: 'native-trace', name, bytes: bytes.byteLength, path: null };
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const head = firstJsonLine(text) as { format?: unknown; platform?: unknown } | undefined;
  if (head && head.format === TRACE_JSONL_FORMAT) {
    const trace = parseTraceJsonl(text, name);
    const ref = trace.header.platform;
    return {
      kind: 'trace',
      name,
      bytes: bytes.byteLength,
      trace,
      platformPath: ref && dir !== null ? resolve(dir, ref) : null,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError([
      {
        file: name,
        where: 'line 1',
        message: `unrecognised input (not a platform or trace): ${(e as Error).message}`,
      },
    ]);
  }
  if ((json as { format?: unknown })?.format !== PLATFORM_FORMAT) {
    throw new InputError([
      {
        file: name,
        where: 'format',
        message: `unrecognised input: expected "format": "${PLATFORM_FORMAT}" or a trace`,
      },
    ]);
  }
  const r = loadPlatform(json);
  if (!r.ok) throw new InputError(r.errors.map((e) => ({ file: name, where: e.path, message: e.message })));
  return {
    kind: 'platform',
    name,
    bytes: bytes.byteLength,
    platform: r.value,
    json: json as Record<string, unknown>,
  };
}

export async function readInput(path: string): Promise<LoadedInput> {
  let bytes: Uint8Array;
  try {
    const fh = await open(path, 'r');
    try {
      const head = new Uint8Array(NATIVE_MAGIC.length);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      if (isNative(head.subarray(0, bytesRead))) {
        return { kind: 'native-trace', name: path, bytes: (await fh.stat()).size, path };
      }
    } finally {
      await fh.close();
    }
    bytes = await readFile(path);
  } catch (e) {
    throw new InputError([{ file: path, where: 'open', message: (e as NodeJS.ErrnoException).message }]);
  }
  return decodeInput(path, bytes, dirname(resolve(path)));
}

export interface Workspace {
  platform: Platform | null;
  platformFile: string | null;
  trace: ParsedTrace | null;
  traceFile: string | null;
}

/**
 * Loads paths given on a command line: platforms and at most one trace. A trace that names its
 * platform pulls it in unless one was given explicitly.
 */
export async function loadWorkspace(paths: string[], explicitPlatform?: string): Promise<Workspace> {
  const ws: Workspace = { platform: null, platformFile: null, trace: null, traceFile: null };
  const all = explicitPlatform ? [explicitPlatform, ...paths] : paths;
  for (const p of all) {
    const input = await readInput(p);
    if (input.kind === 'platform') {
      ws.platform = input.platform;
      ws.platformFile = p;
    } else if (input.kind === 'native-trace') {
      throw new InputError([
        {
          file: p,
          where: 'magic',
          message: 'a native trace: replay it with the worker player (src/host/replay)',
        },
      ]);
    } else {
      ws.trace = input.trace;
      ws.traceFile = p;
      if (!ws.platform && input.platformPath) {
        const plat = await readInput(input.platformPath);
        if (plat.kind !== 'platform') {
          throw new InputError([
            {
              file: p,
              where: 'header.platform',
              message: `${basename(input.platformPath)} is not a platform`,
            },
          ]);
        }
        ws.platform = plat.platform;
        ws.platformFile = input.platformPath;
      }
    }
  }
  return ws;
}
