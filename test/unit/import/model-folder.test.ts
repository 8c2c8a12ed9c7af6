/**
 * Atomic model-folder writes (main/core/models/import/common.ts writeModelFolder): a failing or cancelled import
 * leaves neither a partial folder nor a temporary sibling, and --force replaces an existing folder only once the
 * new one is complete.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledSignal, DelineateError, isCancelled } from '../../../main/common/errors';
import { writeModelFolder } from '../../../main/core/models/import/common';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'delineate-model-folder-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('writeModelFolder', () => {
  it('creates the folder (and missing parents) only when fill completes', async () => {
    const out = join(root, 'a', 'b', 'model');
    await writeModelFolder(out, false, async (tmp) => {
      expect(tmp).not.toBe(out);
      expect(existsSync(out)).toBe(false);
      writeFileSync(join(tmp, 'x.txt'), 'x');
    });
    expect(readdirSync(join(root, 'a', 'b'))).toEqual(['model']);
    expect(readFileSync(join(out, 'x.txt'), 'utf8')).toBe('x');
  });

  it('removes the temporary folder when fill throws, and keeps an existing folder under --force', async () => {
    const out = join(root, 'model');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'old');
    const err = await writeModelFolder(out, true, async (tmp) => {
      writeFileSync(join(tmp, 'partial.onnx'), 'half');
      throw new DelineateError('MODEL', 'bridge failed');
    }).catch((e: unknown) => e);
    expect((err as DelineateError).message).toBe('bridge failed');
    expect(readdirSync(root)).toEqual(['model']);
    expect(readdirSync(out)).toEqual(['old.txt']);
  });

  it('a cancelled fill leaves nothing and rethrows the cancellation', async () => {
    const ac = new AbortController();
    const err = await writeModelFolder(
      join(root, 'model'),
      false,
      async (tmp) => {
        writeFileSync(join(tmp, 'f'), '1');
        ac.abort();
      },
      ac.signal,
    ).catch((e: unknown) => e);
    expect(isCancelled(err) && err instanceof CancelledSignal).toBe(true);
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses an existing folder without force, and a file in the way even with force', async () => {
    mkdirSync(join(root, 'model'));
    await expect(writeModelFolder(join(root, 'model'), false, async () => {})).rejects.toThrow(/already exists; pass --force/);
    writeFileSync(join(root, 'file'), '');
    await expect(writeModelFolder(join(root, 'file'), true, async () => {})).rejects.toThrow(/exists and is not a folder/);
    expect(readdirSync(root).sort()).toEqual(['file', 'model']);
  });
});
