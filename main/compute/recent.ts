/**
 * Recently opened files and folders, kept as JSON in the user-data folder (`recent.json`), newest first,
 * at most {@link MAX_RECENT} entries, one per path. Written atomically (temp file + rename in the same folder);
 * a missing or unreadable file counts as an empty list (and is replaced at the next write).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecentItem } from '../common/api';
import { DelineateError } from '../common/errors';

export const MAX_RECENT = 20;
export const RECENT_FILE = 'recent.json';

interface RecentFile {
  version: 1;
  items: RecentItem[];
}

export class RecentStore {
  private readonly file: string;
  /** Serialises writes so that two adds never interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.file = join(dir, RECENT_FILE);
  }

  async list(): Promise<RecentItem[]> {
    await this.queue.catch(() => {});
    return this.read();
  }

  /** Put `path` first (replacing an older entry of the same path) and save. Returns the new list. */
  add(path: string, label: string): Promise<RecentItem[]> {
    const next = this.queue.catch(() => {}).then(async () => {
      const items = (await this.read()).filter((it) => it.path !== path);
      items.unshift({ path, label, openedAt: this.now() });
      const kept = items.slice(0, MAX_RECENT);
      await this.write({ version: 1, items: kept });
      return kept;
    });
    this.queue = next;
    return next;
  }

  private async read(): Promise<RecentItem[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new DelineateError('IO', `Cannot read the recent-items list ${this.file}: ${(e as Error).message}`, { subject: this.file, cause: e });
    }
    try {
      const parsed = JSON.parse(text) as Partial<RecentFile>;
      if (!Array.isArray(parsed.items)) return [];
      return parsed.items.filter(
        (it): it is RecentItem =>
          typeof it === 'object' && it !== null && typeof it.path === 'string' && typeof it.label === 'string' && typeof it.openedAt === 'number',
      );
    } catch {
      return []; // a damaged list is not worth failing for; the next add rewrites it
    }
  }

  private async write(content: RecentFile): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(content, null, 2) + '\n', 'utf8');
      await rename(tmp, this.file);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      throw new DelineateError('IO', `Cannot save the recent-items list ${this.file}: ${(e as Error).message}`, { subject: this.file, cause: e });
    }
  }
}
