/** Report writers: atomic text output and CSV/JSON number formatting. */
import { writeFileAtomic } from '../fs/atomic';

/** Write `text` (UTF-8) to `path` atomically; IO error naming the path when the folder refuses. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text);
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
