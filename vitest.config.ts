import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'renderer/src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: the wasm pipelines and onnxruntime are heavy, keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
