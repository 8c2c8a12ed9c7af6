/** Atomic text output: write to a temporary file in the same folder, then rename over the target. */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DelineateError } from '../../common/errors';

/** Write `text` (UTF-8) to `path` atomically; IO error naming the path when the folder refuses. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new DelineateError('IO', `${path}: cannot write (${(e as Error).message})`, { subject: path, cause: e });
  }
}

/** JSON.stringify replacer: NaN → "NaN", ±Infinity → "Infinity"/"-Infinity" (JSON has no such numbers). */
export function nonFiniteAsString(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  return value;
}

/** A number as CSV text: shortest round-trip form; NaN / Infinity / -Infinity spelled out. */
export function csvNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return String(v);
}

/** A CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
