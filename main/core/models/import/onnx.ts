/**
 * `import-model onnx`: a plain ONNX network (one file per fold) with a hand-written manifest becomes a Delineate
 * model folder: manifest.json (with `folds` filled in: file names and SHA-256), the ONNX file(s) copied in, and
 * MODEL_CARD.md (given, or generated from the manifest).
 */
import { copyFile, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { DelineateError, throwIfCancelled } from '../../../common/errors';
import type { FoldSpec } from '../../../common/manifest';
import type { JobOptions } from '../../../common/progress';
import { checkOnnxOrThrow, generateModelCard, inspectOnnx, type OnnxInfo, sha256File, validateOrThrow, writeFileAtomic, writeModelFolder } from './common';

export interface ImportOnnxOptions extends JobOptions {
  /** ONNX files, one per fold, in fold order (fold numbers come from the manifest's `folds`, else 0, 1, …). */
  onnxPaths: string[];
  /** Hand-written manifest JSON. `folds` may be omitted; when present, it must list one entry per ONNX file. */
  manifestPath: string;
  outDir: string;
  force?: boolean;
  /** MODEL_CARD.md to copy in; generated from the manifest when absent. */
  cardPath?: string;
  log?: (line: string) => void;
}

export interface ImportResult {
  dir: string;
  id: string;
  folds: FoldSpec[];
  onnx: OnnxInfo[];
}

/** Folder-safe file name for a fold: the source's base name, or fold_<k>.onnx when folds would clash. */
function foldFileName(src: string, fold: number, all: string[]): string {
  const b = basename(src);
  const clash = all.filter((p) => basename(p) === b).length > 1;
  return !clash && /^[A-Za-z0-9._-]+\.onnx$/.test(b) ? b : `fold_${fold}.onnx`;
}

/**
 * Validate, check and write. Order: manifest JSON parses → the manifest (with folds filled in) validates → every
 * ONNX loads and agrees with it (names, rank, channels, static sizes, opset) → a SHA-256 already given in the
 * manifest matches the file → the folder is written atomically. Throws MANIFEST / MODEL / IO / NOT_FOUND naming the
 * file and field; nothing is written on failure.
 */
export async function importOnnx(o: ImportOnnxOptions): Promise<ImportResult> {
  const log = o.log ?? (() => {});
  if (o.onnxPaths.length === 0) throw new DelineateError('USAGE', 'expected at least one ONNX file');
  const manifestPath = resolve(o.manifestPath);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${manifestPath}: cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { subject: manifestPath, cause: e });
  }
  let json: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    json = parsed as Record<string, unknown>;
  } catch (e) {
    throw new DelineateError('MANIFEST', `${manifestPath}: not a valid JSON object: ${(e as Error).message}`, { subject: manifestPath, cause: e });
  }

  const given = Array.isArray(json.folds) ? (json.folds as Partial<FoldSpec>[]) : undefined;
  if (given && given.length !== o.onnxPaths.length)
    throw new DelineateError('MANIFEST', `${manifestPath}: folds lists ${given.length} file(s), but ${o.onnxPaths.length} ONNX file(s) were given`, { subject: 'folds' });
  const paths = o.onnxPaths.map((p) => resolve(p));
  o.onnxPaths.forEach((_, i) => {
    const f = given?.[i]?.fold;
    if (f !== undefined && !(Number.isInteger(f) && f >= 0)) throw new DelineateError('MANIFEST', `${manifestPath}: folds[${i}].fold must be a non-negative integer`, { subject: `folds[${i}].fold` });
  });
  const foldNumbers = paths.map((_, i) => given?.[i]?.fold ?? i);
  if (new Set(foldNumbers).size !== foldNumbers.length) throw new DelineateError('MANIFEST', `${manifestPath}: fold numbers repeat (${foldNumbers.join(', ')})`, { subject: 'folds' });

  const total = paths.length * 2 + 1;
  let done = 0;
  const step = (detail: string): void => o.onProgress?.({ stage: 'import', done: ++done, total, detail });
  const folds: FoldSpec[] = [];
  for (let i = 0; i < paths.length; i++) {
    throwIfCancelled(o.signal);
    const sha = await sha256File(paths[i]!).catch((e: unknown) => {
      throw new DelineateError('NOT_FOUND', `${paths[i]}: cannot read the ONNX file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { subject: paths[i], cause: e });
    });
    const pinned = given?.[i]?.sha256;
    if (typeof pinned === 'string' && pinned.toLowerCase() !== sha)
      throw new DelineateError('MODEL', `${paths[i]}: SHA-256 is ${sha}, but ${manifestPath} folds[${i}].sha256 says ${pinned} (a different file than the manifest was written for)`, { subject: `folds[${i}].sha256` });
    folds.push({ fold: foldNumbers[i]!, file: foldFileName(paths[i]!, foldNumbers[i]!, paths), sha256: sha });
    step(`sha256 ${basename(paths[i]!)}`);
  }
  const manifest = validateOrThrow({ ...json, folds }, manifestPath);

  const infos: OnnxInfo[] = [];
  for (const p of paths) {
    throwIfCancelled(o.signal);
    const info = await inspectOnnx(p);
    checkOnnxOrThrow(info, manifest, `${manifestPath} vs ${basename(p)}`);
    log(`${basename(p)}: input ${info.inputs.map((v) => `${v.name} [${v.shape.join(', ')}]`).join(', ')}; output ${info.outputs.map((v) => `${v.name} [${v.shape.join(', ')}]`).join(', ')}; opset ${info.opset ?? '?'}`);
    infos.push(info);
    step(`checked ${basename(p)}`);
  }

  let card: string | undefined;
  if (o.cardPath) {
    try {
      card = await readFile(resolve(o.cardPath), 'utf8');
    } catch (e) {
      throw new DelineateError('NOT_FOUND', `${resolve(o.cardPath)}: cannot read the model card (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { subject: '--card', cause: e });
    }
  }
  const dir = await writeModelFolder(
    o.outDir,
    o.force ?? false,
    async (tmp) => {
      for (let i = 0; i < paths.length; i++) {
        throwIfCancelled(o.signal);
        const dst = join(tmp, folds[i]!.file);
        await copyFile(paths[i]!, dst);
        const copied = await sha256File(dst);
        if (copied !== folds[i]!.sha256) throw new DelineateError('IO', `${dst}: the copy's SHA-256 ${copied} differs from the source's ${folds[i]!.sha256}`, { subject: dst });
      }
      await writeFileAtomic(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
      await writeFileAtomic(join(tmp, 'MODEL_CARD.md'), card ?? generateModelCard(manifest, infos, `ONNX ${paths.map((p) => basename(p)).join(', ')} with manifest ${basename(manifestPath)}`));
    },
    o.signal,
  );
  step('written');
  return { dir, id: manifest.id, folds, onnx: infos };
}
