/**
 * Unit tests of the renderer's pure parts (viewer geometry, presets, vtk.js reslicing in Node) — run with
 *   npx vitest run -c renderer/vitest.config.ts
 * (The project's vitest.config.ts includes test/** only; these tests live next to the code they test.)
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // vtk.js ships extension-less ESM imports that Node cannot load directly; let vite transform it.
    server: { deps: { inline: [/@kitware\/vtk\.js/] } },
    pool: 'forks',
    maxWorkers: 1,
  },
});
