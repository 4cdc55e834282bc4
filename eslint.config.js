// ESLint flat config. Besides style, it enforces the layering that keeps the engine portable
// (VS Code style: common code runs anywhere; node, browser and electron code only at the edges):
//
//   common   src/shared, src/engine, src/trace, src/report, src/firmware, src/crosscheck, src/query: no Node, DOM, Electron, Svelte
//   node     src/host, src/cli                             Node builtins; no DOM, Electron or Svelte
//   main     src/main                                      Electron main: node + electron + common + host
//   preload  src/preload                                   electron (contextBridge) + src/shared only
//   browser  src/renderer                                  DOM + Svelte + src/shared only (it shows, never computes)
//
// test/layering.test.ts proves these rules fail on forbidden imports.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

// Globals a browser has that neither the language nor Node has: the DOM.
const domOnlyGlobals = Object.keys(globals.browser).filter(
  (name) => !(name in globals.node) && !(name in globals.es2021) && !(name in globals['shared-node-browser']),
);
const nodeOnlyGlobals = [
  'process',
  'Buffer',
  'require',
  'module',
  '__dirname',
  '__filename',
  'global',
  'setImmediate',
];

const restrict = (names, message) => names.map((name) => ({ name, message }));

const noElectron = {
  group: ['electron', 'electron/*'],
  message: 'Only src/main and src/preload may import Electron.',
};
const noSvelte = {
  group: ['svelte', 'svelte/*', '*.svelte'],
  message: 'Only src/renderer may import Svelte.',
};
const noDomTypes = { group: ['@types/web', 'lib.dom*'], message: 'DOM types belong to src/renderer only.' };
const layer = (dirs, message) => ({
  group: dirs.flatMap((d) => [`**/${d}`, `**/${d}/**`, `./${d}/**`]),
  message,
});
const noEdges = layer(
  ['host', 'cli', 'main', 'preload', 'renderer'],
  'Common code (shared, engine, trace, report) may not import from the node, electron or browser layers.',
);

/** Rules for code that must run anywhere: no DOM, no Node, no Electron, no Svelte. */
const commonRules = {
  'no-restricted-imports': [
    'error',
    {
      paths: restrict(nodeBuiltins, 'Common code may not use Node builtins; do I/O in src/host or src/cli.'),
      patterns: [noElectron, noSvelte, noDomTypes, noEdges],
    },
  ],
  'no-restricted-globals': [
    'error',
    ...restrict(domOnlyGlobals, 'DOM globals and types belong to src/renderer only.'),
    ...restrict(nodeOnlyGlobals, 'Node globals belong to src/host or src/cli.'),
  ],
  '@typescript-eslint/triple-slash-reference': ['error', { lib: 'never', path: 'never', types: 'never' }],
  '@typescript-eslint/no-restricted-types': [
    'error',
    { types: Object.fromEntries(domOnlyGlobals.map((n) => [n, 'DOM types belong to src/renderer only.'])) },
  ],
};

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'test-results/**', '.vite/**', '.prof/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  prettier,
  ...svelte.configs['flat/prettier'],
  {
    // TypeScript checks names itself; no-undef misreads type-only globals (typescript-eslint advice).
    files: ['**/*.ts', '**/*.svelte'],
    rules: { 'no-undef': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: [
      'src/shared/**/*.ts',
      'src/engine/**/*.ts',
      'src/trace/**/*.ts',
      'src/report/**/*.ts',
      'src/firmware/**/*.ts',
      'src/crosscheck/**/*.ts',
      'src/query/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: commonRules,
  },
  {
    files: ['src/host/**/*.ts', 'src/cli/**/*.ts'],
    languageOptions: { globals: globals.node },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noElectron,
            noSvelte,
            noDomTypes,
            layer(['main', 'preload', 'renderer'], 'Node code may not import Electron or renderer code.'),
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...restrict(domOnlyGlobals, 'DOM globals belong to src/renderer only.'),
      ],
      '@typescript-eslint/triple-slash-reference': ['error', { lib: 'never', path: 'never', types: 'never' }],
    },
  },
  {
    files: ['src/main/**/*.ts'],
    languageOptions: { globals: globals.node },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noSvelte,
            layer(['renderer', 'cli'], 'Electron main may not import renderer or CLI code.'),
          ],
        },
      ],
    },
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: restrict(nodeBuiltins, 'The sandboxed preload has no Node builtins.'),
          patterns: [
            noSvelte,
            layer(
              ['engine', 'trace', 'report', 'host', 'cli', 'main', 'renderer'],
              'Preload may import src/shared only.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.svelte', 'src/renderer/**/*.svelte.ts'],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: restrict(nodeBuiltins, 'The renderer runs in a browser: no Node builtins.'),
          patterns: [
            noElectron,
            layer(
              ['engine', 'trace', 'report', 'firmware', 'crosscheck', 'host', 'cli', 'main', 'preload'],
              'The renderer shows, it never computes: import src/shared only and ask the host.',
            ),
          ],
        },
      ],
      'no-restricted-globals': ['error', ...restrict(nodeOnlyGlobals, 'The renderer runs in a browser.')],
    },
  },
  {
    files: [
      'test/**/*.ts',
      'scripts/**/*.{js,ts}',
      'bench/**/*.ts',
      'bin/**/*.js',
      '*.config.{js,ts}',
      '**/*.test.ts',
    ],
    languageOptions: { globals: globals.node },
  },
);
