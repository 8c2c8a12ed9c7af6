/**
 * Models the API serves: the registry's bundled and user models (main/core/models) plus, when given, the model
 * folders directly inside an extra `modelsDir` (`delineate serve --models-dir`). The first model with an id wins,
 * extra folder first.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DelineateError } from '../../common/errors';
import { listModels, loadModel, type ModelEntry } from '../models/registry';

/** One model as `GET /v1/models` lists it. */
export type ApiModel = Pick<ModelEntry, 'id' | 'name' | 'version' | 'description' | 'dimensionality' | 'channels' | 'labels' | 'folds'> & { source: 'bundled' | 'user' | 'models-dir' };

async function extraModels(dir: string): Promise<{ entry: ApiModel; dir: string }[]> {
  if (!existsSync(dir)) return [];
  const out: { entry: ApiModel; dir: string }[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const d = join(dir, name);
    if (!existsSync(join(d, 'manifest.json'))) continue;
    try {
      const { manifest: m } = await loadModel(d, { verifyHashes: false });
      out.push({
        dir: d,
        entry: {
          id: m.id,
          name: m.name,
          version: m.version,
          description: m.description,
          dimensionality: m.dimensionality,
          channels: m.channels.map((c) => c.name),
          labels: m.output.labels.map((l) => ({ value: l.value, name: l.name })),
          folds: m.folds.map((f) => f.fold),
          source: 'models-dir',
        },
      });
    } catch {
      // Broken model folders are not served (the CLI's `delineate models` explains why).
    }
  }
  return out;
}

/** Available models, each with the folder it loads from. */
export async function servedModels(modelsDir?: string): Promise<{ entry: ApiModel; dir: string }[]> {
  const out = modelsDir ? await extraModels(resolve(modelsDir)) : [];
  for (const e of await listModels()) {
    if (!e.available || out.some((o) => o.entry.id === e.id)) continue;
    out.push({
      dir: e.dir,
      entry: {
        id: e.id,
        name: e.name,
        version: e.version,
        description: e.description,
        ...(e.dimensionality ? { dimensionality: e.dimensionality } : {}),
        ...(e.channels ? { channels: e.channels } : {}),
        ...(e.labels ? { labels: e.labels } : {}),
        ...(e.folds ? { folds: e.folds } : {}),
        source: e.source,
      },
    });
  }
  return out;
}

/** The folder and entry of a model id; NOT_FOUND naming the available ids otherwise. */
export async function findModel(id: string, modelsDir?: string): Promise<{ entry: ApiModel; dir: string }> {
  const all = await servedModels(modelsDir);
  const hit = all.find((m) => m.entry.id === id);
  if (!hit) throw new DelineateError('NOT_FOUND', `no model '${id}'; available: ${all.map((m) => m.entry.id).join(', ') || 'none'}`, { subject: 'model' });
  return hit;
}
