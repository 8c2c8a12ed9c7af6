/**
 * The model registry: bundled models (`native-models/<id>/` of the installation, or $DELINEATE_BUNDLED_MODELS)
 * and the user's models folder (`$DELINEATE_MODELS_DIR`, default `~/.delineate/models`). A model is a folder with
 * `manifest.json` (validated, main/common/manifest.ts), its ONNX fold files and `MODEL_CARD.md`.
 */
import { createHash } from 'node:crypto';
import { type BigIntStats, existsSync, readdirSync, statSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DelineateError } from '../../common/errors';
import { ManifestError, type ModelManifest, parseManifest } from '../../common/manifest';

/** A model folder whose manifest validated and whose fold files are present (hashes checked by loadModel). */
export interface LoadedModel {
  dir: string;
  manifest: ModelManifest;
  /** Absolute paths of the fold ONNX files, in manifest order. */
  folds: { fold: number; path: string; sha256: string }[];
}

/** One row of `delineate models --json`. */
export interface ModelEntry {
  id: string;
  name: string;
  version: string;
  description: string;
  source: 'bundled' | 'user';
  dir: string;
  dimensionality?: string;
  channels?: string[];
  labels?: { value: number; name: string }[];
  folds?: number[];
  /** Whether the manifest is valid and every fold file exists. */
  available: boolean;
  /** Why not, when not. */
  problems?: string[];
}

const here = dirname(fileURLToPath(import.meta.url));

/** Where bundled models live: $DELINEATE_BUNDLED_MODELS or `native-models/` of the project/installation. */
export function bundledModelsDir(): string {
  return resolve(process.env.DELINEATE_BUNDLED_MODELS ?? join(here, '..', '..', '..', 'native-models'));
}

/** The user's models folder: $DELINEATE_MODELS_DIR or ~/.delineate/models. */
export function userModelsDir(): string {
  return resolve(process.env.DELINEATE_MODELS_DIR ?? join(homedir(), '.delineate', 'models'));
}

async function readManifest(dir: string): Promise<ModelManifest> {
  const path = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${path}: no model manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { subject: path, cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DelineateError('MANIFEST', `${path}: not valid JSON: ${(e as Error).message}`, { subject: path, cause: e });
  }
  try {
    return parseManifest(json, path);
  } catch (e) {
    if (e instanceof ManifestError) throw new DelineateError('MANIFEST', e.message, { subject: path, cause: e });
    throw e;
  }
}

function foldProblems(dir: string, m: ModelManifest): string[] {
  return m.folds.flatMap((f) => (existsSync(join(dir, f.file)) ? [] : [`${join(dir, f.file)}: fold ${f.fold} ONNX file is missing`]));
}

function modelDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((n) => join(root, n))
    .filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'manifest.json')))
    .sort();
}

/** Every model folder found (valid or not), bundled first. */
export async function listModels(): Promise<ModelEntry[]> {
  const out: ModelEntry[] = [];
  for (const [source, root] of [['bundled', bundledModelsDir()], ['user', userModelsDir()]] as const)
    for (const dir of modelDirs(root)) {
      try {
        const m = await readManifest(dir);
        const problems = foldProblems(dir, m);
        out.push({
          id: m.id,
          name: m.name,
          version: m.version,
          description: m.description,
          source,
          dir,
          dimensionality: m.dimensionality,
          channels: m.channels.map((c) => c.name),
          labels: m.output.labels.map((l) => ({ value: l.value, name: l.name })),
          folds: m.folds.map((f) => f.fold),
          available: problems.length === 0,
          ...(problems.length ? { problems } : {}),
        });
      } catch (e) {
        const id = dir.split(/[\\/]/).pop()!;
        out.push({ id, name: id, version: '', description: '', source, dir, available: false, problems: [(e as Error).message] });
      }
    }
  return out;
}

/**
 * Fold files whose SHA-256 this process has already checked, by identity (path, size, modification time, inode):
 * the app, `batch` and the API server load the same model for every case, and a 5-fold nnU-Net model is
 * 0.3–0.6 GB to hash (123 MB: 0.26 s). A file that is replaced or touched gets a new identity and is hashed again.
 */
const verifiedFiles = new Map<string, string>();
const VERIFIED_FILES_MAX = 64;

/** The identity of a file as {@link verifiedFiles} and {@link takeVerifiedFoldBytes} key it. */
export function foldFileIdentity(path: string, st: BigIntStats): string {
  return `${path}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}\0${st.ino}`;
}

/**
 * Bytes of fold files just read and hashed by loadModel, kept for a few seconds for the engine, which reads every
 * 3-D fold again to rewrite it (see engine.ts): a 123 MB fold is then read once per run, not twice (≈ 130 ms
 * saved per fold). Taken at most once; at most RECENT_BYTES_MAX in all; dropped after RECENT_BYTES_MS.
 */
const recentBytes = new Map<string, { bytes: Buffer; timer: ReturnType<typeof setTimeout> }>();
const RECENT_BYTES_MAX = 1.5 * 2 ** 30;
const RECENT_BYTES_MS = 10_000;

function keepRecentBytes(id: string, bytes: Buffer): void {
  let total = bytes.length;
  for (const r of recentBytes.values()) total += r.bytes.length;
  if (total > RECENT_BYTES_MAX) return;
  const timer = setTimeout(() => recentBytes.delete(id), RECENT_BYTES_MS);
  timer.unref?.();
  recentBytes.set(id, { bytes, timer });
}

/**
 * The bytes of fold file `path` if loadModel read and verified exactly this file (same identity, `st`) in the last
 * few seconds; each such read is handed out once. Undefined otherwise (read the file yourself).
 */
export function takeVerifiedFoldBytes(path: string, st: BigIntStats): Buffer | undefined {
  const id = foldFileIdentity(path, st);
  const r = recentBytes.get(id);
  if (!r) return undefined;
  clearTimeout(r.timer);
  recentBytes.delete(id);
  return r.bytes;
}

/**
 * Read a whole file and hash it as it arrives: each 4 MiB chunk is hashed on this thread while the next one is being
 * read (123 MB fold: ≈ 0.2 s, about the time of the read alone; WebCrypto's digest of the whole buffer took 0.2 s
 * more on top of the read, node:crypto 0.13 s).
 */
async function readAndHash(path: string): Promise<{ bytes: Buffer; sha256: string }> {
  const fh = await open(path, 'r');
  try {
    const size = Number((await fh.stat()).size);
    // Every byte is overwritten below (a short read is an error), so the buffer need not be zeroed.
    const bytes = Buffer.allocUnsafe(size);
    const h = createHash('sha256');
    const CHUNK = 4 << 20;
    let at = 0;
    let next = size > 0 ? fh.read(bytes, 0, Math.min(CHUNK, size), 0) : undefined;
    while (next) {
      const { bytesRead } = await next;
      if (bytesRead === 0) throw new DelineateError('IO', `${path}: the file ended after ${at} of ${size} bytes while it was read`, { subject: path });
      const start = at;
      at += bytesRead;
      next = at < size ? fh.read(bytes, at, Math.min(CHUNK, size - at), at) : undefined;
      h.update(bytes.subarray(start, at));
    }
    return { bytes, sha256: h.digest('hex') };
  } finally {
    await fh.close();
  }
}

/**
 * SHA-256 of a fold file, from the cache when this exact file was hashed before in this process. When it was read
 * now and matches `expected`, its bytes are kept briefly for the engine (see takeVerifiedFoldBytes).
 */
async function foldSha256(path: string, expected: string): Promise<string> {
  const id = foldFileIdentity(path, await stat(path, { bigint: true }));
  const known = verifiedFiles.get(id);
  if (known) return known;
  const { bytes, sha256: actual } = await readAndHash(path);
  // The identity is taken again after hashing: a file written meanwhile is not remembered.
  if (foldFileIdentity(path, await stat(path, { bigint: true })) === id) {
    if (verifiedFiles.size >= VERIFIED_FILES_MAX) verifiedFiles.delete(verifiedFiles.keys().next().value!);
    verifiedFiles.set(id, actual);
    if (actual === expected) keepRecentBytes(id, bytes);
  }
  return actual;
}

/**
 * Load a model by folder path or by id (user models shadow nothing: ids must be unique; the first found wins,
 * bundled first). Validates the manifest, checks that every fold file exists and matches its SHA-256.
 */
export async function loadModel(idOrDir: string, opts: { verifyHashes?: boolean } = {}): Promise<LoadedModel> {
  let dir: string | undefined;
  if (existsSync(join(idOrDir, 'manifest.json'))) dir = resolve(idOrDir);
  else {
    const found = (await listModels()).find((e) => e.id === idOrDir);
    if (!found)
      throw new DelineateError('NOT_FOUND', `Model '${idOrDir}' not found: not a model folder, and no model with that id in ${bundledModelsDir()} or ${userModelsDir()}`, { subject: idOrDir });
    dir = found.dir;
  }
  const manifest = await readManifest(dir);
  const problems = foldProblems(dir, manifest);
  if (problems.length) throw new DelineateError('NOT_FOUND', `Model ${manifest.id}: ${problems.join('; ')}`, { subject: join(dir, 'manifest.json') });
  const folds = manifest.folds.map((f) => ({ fold: f.fold, path: join(dir, f.file), sha256: f.sha256 }));
  if (opts.verifyHashes !== false)
    for (const f of folds) {
      const actual = await foldSha256(f.path, f.sha256);
      if (actual !== f.sha256)
        throw new DelineateError('MODEL', `Model ${manifest.id}: ${f.path} has SHA-256 ${actual}, but manifest.json folds[${manifest.folds.findIndex((x) => x.fold === f.fold)}].sha256 says ${f.sha256}`, { subject: f.path });
    }
  return { dir, manifest, folds };
}
