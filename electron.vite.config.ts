import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Native and wasm-carrying packages stay external: they are loaded from node_modules at run time
// (electron-builder unpacks onnxruntime-node's binaries; itk-wasm reads its .wasm files next to its JS).
const external = ['electron', 'onnxruntime-node', 'itk-wasm', /^@itk-wasm\//, 'ws'];

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'main/shell/index.ts'),
          // The compute process (Electron utilityProcess) — all heavy work runs here.
          compute: resolve(__dirname, 'main/compute/utility.ts'),
          // CPU network workers of the engine (worker_threads started by main/core/inference/network-pool.ts,
          // which looks for tile-worker.js next to the compute entry or one folder up from a chunk).
          'tile-worker': resolve(__dirname, 'main/core/inference/tile-worker.ts'),
        },
        external,
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'main/preload/index.ts') },
        // Sandboxed preloads must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
        external: ['electron'],
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'renderer'),
    plugins: [svelte()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: resolve(__dirname, 'renderer/index.html') },
    },
  },
});
