/**
 * The one configurable data root for tests that read real data (default: ../shared/data next to the project,
 * override with DELINEATE_DATA_ROOT). Missing data skips locally with a stated reason, but FAILS when CI=true:
 * a test that silently skips in CI is a defect.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DATA_ROOT = resolve(process.env.DELINEATE_DATA_ROOT ?? resolve(projectRoot, '..', 'shared', 'data'));
export const PROJECT_ROOT = projectRoot;

/** Absolute path of a file or folder under the data root. */
export function dataPath(...parts: string[]): string {
  return resolve(DATA_ROOT, ...parts);
}

/**
 * Whether the given data exists. In CI a missing path throws (so the suite fails loudly); elsewhere it returns
 * false and the caller skips with `describe.skipIf(!hasData(...))`, which vitest reports as skipped.
 */
export function hasData(...relativePaths: string[]): boolean {
  const missing = relativePaths.filter((p) => !existsSync(dataPath(p)));
  if (missing.length === 0) return true;
  const msg = `Test data missing under ${DATA_ROOT}: ${missing.join(', ')}`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${msg} (CI=true: real-data tests must not skip)`);
  console.warn(`${msg} — skipping`);
  return false;
}
