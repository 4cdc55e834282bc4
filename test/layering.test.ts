// Proves the layering rules of eslint.config.js: code placed in a layer fails lint when it imports
// what that layer may not (Electron, Svelte, the DOM, Node, or a higher layer), and passes otherwise.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function errorsFor(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

const clean = "import { parseBdf } from './bdf';\nexport const x = parseBdf('00:14.0');\n";

const COMMON = [
  'src/engine',
  'src/trace',
  'src/report',
  'src/shared',
  'src/firmware',
  'src/crosscheck',
  'src/query',
];

describe('layering lint rule', () => {
  describe.each(COMMON)('common code in %s', (dir) => {
    const file = `${dir}/__layering_fixture__.ts`;
    it.each([
      ['electron', "import { app } from 'electron';\nexport const a = app;\n"],
      ['svelte', "import { mount } from 'svelte';\nexport const m = mount;\n"],
      ['a .svelte component', "import App from '../renderer/src/App.svelte';\nexport const a = App;\n"],
      ['a DOM global', 'export const el = document.createElement("div");\n'],
      ['a DOM type', 'export function f(e: HTMLElement): string { return e.id; }\n'],
      ['the DOM lib by reference', '/// <reference lib="dom" />\nexport const y = 1;\n'],
      ['a Node builtin', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n"],
      ['a Node global', 'export const argv = process.argv;\n'],
      ['the host layer', "import { Session } from '../host/session';\nexport const s = Session;\n"],
    ])('rejects %s', async (_what, code) => {
      expect(await errorsFor(file, code)).not.toEqual([]);
    });
    it('accepts plain TypeScript', async () => {
      expect(await errorsFor(file, clean)).toEqual([]);
    });
  });

  it('keeps Electron and the DOM out of node code (host, cli)', async () => {
    expect(
      await errorsFor('src/host/__f__.ts', "import { app } from 'electron';\nexport const a = app;\n"),
    ).not.toEqual([]);
    expect(await errorsFor('src/cli/__f__.ts', 'export const w = window.innerWidth;\n')).not.toEqual([]);
    expect(
      await errorsFor(
        'src/cli/__f__.ts',
        "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
      ),
    ).toEqual([]);
  });

  it('lets the renderer import only src/shared', async () => {
    expect(
      await errorsFor(
        'src/renderer/src/__f__.ts',
        "import { Replay } from '../../engine/replay';\nexport const r = Replay;\n",
      ),
    ).not.toEqual([]);
    expect(
      await errorsFor(
        'src/renderer/src/__f__.ts',
        "import { readFile } from 'node:fs';\nexport const r = readFile;\n",
      ),
    ).not.toEqual([]);
    expect(
      await errorsFor(
        'src/renderer/src/__f__.ts',
        "import { API_VERSION } from '../../shared/api';\nexport const v = API_VERSION;\n",
      ),
    ).toEqual([]);
  });
});
