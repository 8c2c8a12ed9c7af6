/** Atomic file writes: a temporary file in the destination folder, then a rename over the target. */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DelineateError } from '../../common/errors';

/** The folder of `path` must exist; IO error naming `path` otherwise. */
export async function assertFolder(path: string): Promise<void> {
  const folder = dirname(path);
  try {
    const st = await stat(folder);
    if (!st.isDirectory()) throw new Error('not a folder');
  } catch (e) {
    throw new DelineateError('IO', `Cannot write ${path}: folder ${folder} does not exist`, { subject: path, cause: e });
  }
}

/**
 * Write bytes (or text, UTF-8) to `path` atomically: a failed write leaves no partial file, and an existing file is
 * replaced only by a complete one. Errors: IO naming the path.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await assertFolder(path);
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new DelineateError('IO', `Cannot write ${path}: ${(e as Error).message}`, { subject: path, cause: e });
  }
}
