/**
 * Unit tests of the renderer's pure parts (viewer geometry, plane sampler, presets, RPC client) — run with
 *   npx vitest run -c renderer/vitest.config.ts
 * (The project's vitest.config.ts includes test/** only; these tests live next to the code they test.)
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 1,
  },
});
