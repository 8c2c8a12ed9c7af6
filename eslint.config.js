// Lint rules, including the import direction of DESIGN.md ("Layout"):
//   common ← core ← {compute, cli, host};  {shell, preload} ← common + electron (never core);
//   renderer ← common (types only);  inside renderer: components → state → api | viewer; viewer knows no state.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

const NODE_BUILTINS = [
  'fs', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'zlib', 'http', 'https', 'net', 'url', 'stream', 'util', 'events', 'readline',
].flatMap((m) => [m, `node:${m}`, `${m}/*`, `node:${m}/*`]);

/** @param {{group: string[], message: string}[]} patterns @param {string[]} [paths] */
const restrict = (patterns, paths = []) => ({
  'no-restricted-imports': ['error', { patterns, paths: paths.map((name) => ({ name, message: `${name} is not allowed here (DESIGN.md, Layout)` })) }],
});

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'native-models/**/*.py', '**/*.d.ts', '.delineate-tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] }, globals: { ...globals.browser } },
  },
  // common: pure TS, imports nothing of ours outside common, no Node, no electron, no DOM libraries.
  {
    files: ['main/common/**'],
    rules: restrict(
      [
        { group: ['**/core/**', '**/compute/**', '**/shell/**', '**/preload/**', '**/cli/**', '**/host/**', '**/renderer/**'], message: 'common imports nothing of ours (DESIGN.md)' },
        { group: ['electron', 'onnxruntime-node', 'itk-wasm', '@itk-wasm/*', '@kitware/*', 'svelte', 'svelte/*'], message: 'common is dependency-free' },
      ],
      NODE_BUILTINS,
    ),
  },
  // core: Node-only compute; imports common; never electron, DOM libraries, or the shells.
  {
    files: ['main/core/**'],
    rules: restrict([
      { group: ['**/compute/**', '**/shell/**', '**/preload/**', '**/cli/**', '**/host/**', '**/renderer/**'], message: 'core imports only common (DESIGN.md)' },
      { group: ['electron', 'svelte', 'svelte/*'], message: 'core is electron-free and DOM-free' },
    ]),
  },
  // compute, cli, host: thin shells over core.
  {
    files: ['main/compute/**', 'main/cli/**', 'main/host/**'],
    rules: restrict([
      { group: ['**/shell/**', '**/preload/**', '**/renderer/**'], message: 'compute/cli/host import core and common only' },
      { group: ['electron'], message: 'electron belongs in main/shell and main/preload' },
    ]),
  },
  // shell and preload: common + electron, never core (heavy work runs in the compute process).
  {
    files: ['main/shell/**', 'main/preload/**'],
    rules: restrict([
      { group: ['**/core/**', '**/compute/**', '**/cli/**', '**/host/**', '**/renderer/**', 'onnxruntime-node', 'itk-wasm', '@itk-wasm/*'], message: 'shell/preload never import core or compute libraries (DESIGN.md)' },
    ]),
  },
  // renderer: browser code; only types from common; no Node, no electron.
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: restrict(
      [
        { group: ['**/main/core/**', '**/main/compute/**', '**/main/shell/**', '**/main/preload/**', '**/main/cli/**', '**/main/host/**'], message: 'renderer talks to the backend only through renderer/src/api' },
        { group: ['electron', 'onnxruntime-node', 'itk-wasm', '@itk-wasm/*'], message: 'renderer never touches Node or electron' },
      ],
      // The umbrella '@kitware/vtk.js' import pulls every class in: import per class (DESIGN.md, Rendering).
      [...NODE_BUILTINS, '@kitware/vtk.js'],
    ),
  },
  {
    files: ['renderer/src/viewer/**'],
    rules: restrict([
      { group: ['**/state/**', '**/components/**', '**/api/**', '*.svelte', '**/*.svelte'], message: 'viewer knows nothing of Svelte state, components or the API' },
      { group: ['**/main/core/**', '**/main/shell/**', '**/main/preload/**', 'electron'], message: 'renderer never touches Node or electron' },
    ], [...NODE_BUILTINS, '@kitware/vtk.js']),
  },
  {
    files: ['renderer/src/state/**', 'renderer/src/api/**'],
    rules: restrict([
      // Components live in components/; rune modules are imported as './x.svelte.ts', which '*.svelte' would catch.
      { group: ['**/components/**', '**/App.svelte'], message: 'state and api never import components' },
      { group: ['**/main/core/**', '**/main/shell/**', '**/main/preload/**', 'electron'], message: 'renderer never touches Node or electron' },
    ], NODE_BUILTINS),
  },
  {
    files: ['renderer/src/components/**'],
    rules: restrict([
      { group: ['**/api/**'], message: 'components go through state, not the api directly' },
      { group: ['**/main/core/**', '**/main/shell/**', '**/main/preload/**', 'electron'], message: 'renderer never touches Node or electron' },
    ], NODE_BUILTINS),
  },
);
