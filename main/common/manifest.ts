/**
 * The Delineate model manifest (`manifest.json` in a model folder, DESIGN.md "Models"): everything needed to
 * reproduce a model's training-time pipeline at inference, and the validator that checks it at load time.
 *
 * Conventions used by every field below:
 * - **Image index axes** are (i, j, k) of the {@link Volume} (i fastest in memory, as read from the file, never
 *   reoriented). **Tensor axes** are the spatial axes of the network input `[N, C, t0, t1, t2]` (t2 fastest, C-order).
 *   `tensorAxesFromIjk[d]` is the image index axis that becomes tensor axis d. nnU-Net reads images with SimpleITK
 *   as arrays `[k, j, i]` and then applies `transpose_forward` `t`, so for an nnU-Net model
 *   `tensorAxesFromIjk[d] = [2, 1, 0][t[d]]`.
 * - Every per-axis list (`targetSpacingMm`, `patchSize`, `mirroringAxes`) is in **tensor order**. 2D models have two
 *   entries (the in-plane tensor axes t1, t2; slices are taken along t0).
 * - Spacings are millimetres.
 *
 * Pure TypeScript (no Node imports): the renderer shows manifests too.
 */

/** Current manifest schema version. Bump on incompatible changes; the validator rejects other versions. */
export const MANIFEST_SCHEMA_VERSION = 1;

/**
 * Intensity normalisation of one input channel, applied after cropping and before resampling (nnU-Net order).
 * - `ct`: clip to [lowerBound, upperBound] (the dataset's foreground 0.5 / 99.5 percentiles), then
 *   `(x - mean) / max(std, 1e-8)` with the dataset's foreground statistics (nnU-Net `CTNormalization`).
 * - `zscore`: per image `(x - mean) / max(std, 1e-8)`; with `useMask` the statistics and the change apply only
 *   inside the non-zero mask (nnU-Net `ZScoreNormalization`, mask = filled non-zero region of all channels).
 * - `rescale01`: `(x - min) / max(max - min, 1e-8)` over the (cropped) image (nnU-Net `RescaleTo01Normalization`;
 *   also MeshNet/brainchop's min-max scaling).
 * - `rgb01`: `x / 255` (nnU-Net `RGBTo01Normalization`).
 * - `none`: cast to float32 only.
 */
export type Normalization =
  | { scheme: 'ct'; mean: number; std: number; lowerBound: number; upperBound: number }
  | { scheme: 'zscore'; useMask: boolean }
  | { scheme: 'rescale01' }
  | { scheme: 'rgb01' }
  | { scheme: 'none' };

export interface ChannelSpec {
  /** Short name shown to the user, e.g. "T1c". */
  name: string;
  /** Expected modality, e.g. "MR", "CT" (informational; used to match inputs in the UI). */
  modality: string;
  normalization: Normalization;
}

/**
 * Resampling orders (spline orders 0, 1 or 3, as skimage's `resize(mode='edge', anti_aliasing=False)`) and
 * nnU-Net's separate-z rule: when the spacing (image or target) is anisotropic beyond `anisotropyThreshold`
 * (max/min > threshold) and exactly one axis is the coarse one, resample in-plane with `*Order` and along the
 * coarse axis with `*OrderZ`. `forceSeparateZ` true/false overrides the rule; null applies it.
 */
export interface ResamplingSpec {
  dataOrder: 0 | 1 | 3;
  dataOrderZ: 0 | 1;
  probabilitiesOrder: 0 | 1 | 3;
  probabilitiesOrderZ: 0 | 1;
  /** Order for segmentations (cascade input): nnU-Net's resize_segmentation order. */
  segOrder: 0 | 1;
  forceSeparateZ: boolean | null;
  anisotropyThreshold: number;
}

/**
 * How overlapping tiles are weighted.
 * - `gaussian`: nnU-Net's importance map, σ = patch · sigmaScale, scaled so its maximum is `maxValue`, zeros
 *   replaced by the smallest non-zero value.
 * - `constant`: every voxel of a tile has weight 1 (MONAI `mode="constant"`).
 */
export type BlendingSpec = { mode: 'gaussian'; sigmaScale: number; maxValue: number } | { mode: 'constant' };

/** One output label of the label map. */
export interface LabelSpec {
  /** Value in the label map (0 = background). */
  value: number;
  name: string;
  /** sRGB 0–255. */
  color: [number, number, number];
}

/**
 * What the network outputs, and how it becomes a label map.
 * - `softmax`: one channel per label; channel c is label value c (labels must be 0..n-1, consecutive, as in
 *   nnU-Net); the label is the argmax (ties → lowest channel).
 * - `sigmoid`: one channel per region; `regions[r]` lists the label values region r covers (informational) and
 *   `regionClassOrder[r]` the value written where sigmoid(channel r) > 0.5, later regions overwriting earlier ones.
 */
export type OutputSpec =
  | { kind: 'softmax'; labels: LabelSpec[] }
  | { kind: 'sigmoid'; regions: number[][]; regionClassOrder: number[]; labels: LabelSpec[] };

/**
 * Post-processing applied to the final label map, in order.
 * `keepLargestComponent`: keep only the largest 26-connected component (nnU-Net's
 * `remove_all_but_largest_component`), for each listed label separately, or for the union of all foreground
 * labels when `labels` is "foreground" (removed voxels become background).
 */
export type PostprocessingStep = { kind: 'keepLargestComponent'; labels: number[] | 'foreground' };

/** One network file: a fold of the model. Several folds are averaged (logits). */
export interface FoldSpec {
  fold: number;
  /** ONNX file name relative to the model folder (no '..', no absolute paths). */
  file: string;
  /** Lower-case hex SHA-256 of the file, checked at load time. */
  sha256: string;
}

/**
 * Cascade link: this model is a later stage; the named model runs first and its label map (resampled to this
 * model's network grid with `resampling.segOrder`) is appended as one-hot channels, one per value in
 * `foregroundLabels` (nnU-Net: the previous stage's foreground labels, in order), after the image channels.
 */
export interface CascadeSpec {
  previousModel: string;
  foregroundLabels: number[];
}

/**
 * Sliding-window tile placement.
 * - `nnunet`: `n = ceil((size - patch) / (patch · step)) + 1` positions spread evenly with round-half-even
 *   (nnU-Net `compute_steps_for_sliding_window`).
 * - `monai`: interval `max(floor(patch · step), 1)`, positions `i · interval`, the last clamped to `size - patch`
 *   (MONAI `sliding_window_inference` with `overlap = 1 - step`).
 */
export type TilingScheme = 'nnunet' | 'monai';

export interface OnnxSpec {
  inputName: string;
  outputName: string;
  opset: number;
}

export interface ModelManifest {
  schemaVersion: 1;
  /** Folder-safe id: lower-case letters, digits, '-', '_', '.'. */
  id: string;
  name: string;
  version: string;
  description: string;
  framework: 'nnunetv2' | 'monai' | 'onnx';
  dimensionality: '3d' | '2d';
  /** Image channels, in network-input order (cascade one-hot channels follow them). */
  channels: ChannelSpec[];
  /** Permutation of [0, 1, 2]: tensor spatial axis d = image index axis tensorAxesFromIjk[d]. */
  tensorAxesFromIjk: [number, number, number];
  /**
   * Network spacing (mm, tensor order; 2 entries for 2D: the in-plane axes t1, t2, slice spacing kept), or null to
   * run at the image's own spacing (no resampling).
   */
  targetSpacingMm: number[] | null;
  /** Crop to the bounding box of the (hole-filled) non-zero region of all channels before anything else. */
  cropToNonzero: boolean;
  resampling: ResamplingSpec;
  /** Patch (tile) size in voxels, tensor order (3 entries for 3D, 2 for 2D). */
  patchSize: number[];
  /** Tile step as a fraction of the patch, 0 < step ≤ 1 (nnU-Net 0.5; MONAI overlap o ⇒ step 1 − o). */
  tileStepSize: number;
  /** Tile placement; absent means 'nnunet'. */
  tiling?: TilingScheme;
  blending: BlendingSpec;
  /** Tensor axes (0-based among the patch's spatial axes) used for mirroring test-time augmentation. */
  mirroringAxes: number[];
  output: OutputSpec;
  postprocessing: PostprocessingStep[];
  folds: FoldSpec[];
  onnx: OnnxSpec;
  cascade?: CascadeSpec | null;
  /** Free-form: where the weights came from, training data, licence, converter versions. */
  provenance: Record<string, unknown>;
}

/** One problem found by {@link validateManifest}: the JSON path of the field and what is wrong. */
export interface ManifestIssue {
  field: string;
  message: string;
}

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Check a parsed manifest. Returns every problem found (empty = valid), each naming the field, e.g.
 * `{ field: 'patchSize[2]', message: 'patchSize[2] must be a positive integer' }`. Does not touch the file
 * system (fold files are checked by the loader).
 */
export function validateManifest(m: Json): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const bad = (field: string, what: string): void => void issues.push({ field, message: `${field} ${what}` });
  if (!isObj(m)) {
    bad('(root)', 'must be a JSON object');
    return issues;
  }
  const str = (field: string, v: Json, opts: { pattern?: RegExp; nonEmpty?: boolean } = {}): v is string => {
    if (typeof v !== 'string') return bad(field, 'must be a string'), false;
    if (opts.nonEmpty !== false && v.length === 0) return bad(field, 'must not be empty'), false;
    if (opts.pattern && !opts.pattern.test(v)) return bad(field, `must match ${String(opts.pattern)}`), false;
    return true;
  };
  const num = (field: string, v: Json, opts: { min?: number; max?: number; int?: boolean; positive?: boolean } = {}): v is number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return bad(field, 'must be a finite number'), false;
    if (opts.int && !Number.isInteger(v)) return bad(field, opts.positive ? 'must be a positive integer' : 'must be an integer'), false;
    if (opts.positive && !(v > 0)) return bad(field, opts.int ? 'must be a positive integer' : 'must be positive'), false;
    if (opts.min !== undefined && v < opts.min) return bad(field, `must be ≥ ${opts.min}`), false;
    if (opts.max !== undefined && v > opts.max) return bad(field, `must be ≤ ${opts.max}`), false;
    return true;
  };
  const oneOf = <T extends Json>(field: string, v: Json, allowed: readonly T[]): v is T => {
    if (!allowed.includes(v as T)) return bad(field, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`), false;
    return true;
  };
  const arr = (field: string, v: Json, len?: number): v is Json[] => {
    if (!Array.isArray(v)) return bad(field, 'must be an array'), false;
    if (len !== undefined && v.length !== len) return bad(field, `must have ${len} entries`), false;
    return true;
  };

  if (m.schemaVersion !== MANIFEST_SCHEMA_VERSION) bad('schemaVersion', `must be ${MANIFEST_SCHEMA_VERSION}`);
  str('id', m.id, { pattern: /^[a-z0-9][a-z0-9._-]*$/ });
  str('name', m.name);
  str('version', m.version);
  str('description', m.description, { nonEmpty: false });
  oneOf('framework', m.framework, ['nnunetv2', 'monai', 'onnx'] as const);
  const dimOk = oneOf('dimensionality', m.dimensionality, ['3d', '2d'] as const);
  const nd = dimOk ? (m.dimensionality === '2d' ? 2 : 3) : undefined;

  if (arr('channels', m.channels) && m.channels.length === 0) bad('channels', 'must list at least one channel');
  if (Array.isArray(m.channels))
    m.channels.forEach((c, i) => {
      const f = `channels[${i}]`;
      if (!isObj(c)) return bad(f, 'must be an object');
      str(`${f}.name`, c.name);
      str(`${f}.modality`, c.modality, { nonEmpty: false });
      const n = c.normalization;
      if (!isObj(n)) return bad(`${f}.normalization`, 'must be an object');
      if (!oneOf(`${f}.normalization.scheme`, n.scheme, ['ct', 'zscore', 'rescale01', 'rgb01', 'none'] as const)) return;
      if (n.scheme === 'ct') {
        num(`${f}.normalization.mean`, n.mean);
        num(`${f}.normalization.std`, n.std, { min: 0 });
        const lo = num(`${f}.normalization.lowerBound`, n.lowerBound);
        const hi = num(`${f}.normalization.upperBound`, n.upperBound);
        if (lo && hi && (n.lowerBound as number) > (n.upperBound as number))
          bad(`${f}.normalization.lowerBound`, 'must not exceed upperBound');
      }
      if (n.scheme === 'zscore' && typeof n.useMask !== 'boolean') bad(`${f}.normalization.useMask`, 'must be true or false');
    });

  if (arr('tensorAxesFromIjk', m.tensorAxesFromIjk, 3)) {
    const t = m.tensorAxesFromIjk;
    if (!t.every((a) => Number.isInteger(a)) || [...t].sort().join(',') !== '0,1,2')
      bad('tensorAxesFromIjk', 'must be a permutation of [0, 1, 2]');
  }
  if (m.targetSpacingMm !== null) {
    if (arr('targetSpacingMm', m.targetSpacingMm, nd))
      m.targetSpacingMm.forEach((s, i) => num(`targetSpacingMm[${i}]`, s, { positive: true }));
  }
  if (typeof m.cropToNonzero !== 'boolean') bad('cropToNonzero', 'must be true or false');

  const r = m.resampling;
  if (!isObj(r)) bad('resampling', 'must be an object');
  else {
    oneOf('resampling.dataOrder', r.dataOrder, [0, 1, 3] as const);
    oneOf('resampling.dataOrderZ', r.dataOrderZ, [0, 1] as const);
    oneOf('resampling.probabilitiesOrder', r.probabilitiesOrder, [0, 1, 3] as const);
    oneOf('resampling.probabilitiesOrderZ', r.probabilitiesOrderZ, [0, 1] as const);
    oneOf('resampling.segOrder', r.segOrder, [0, 1] as const);
    if (!(r.forceSeparateZ === null || typeof r.forceSeparateZ === 'boolean')) bad('resampling.forceSeparateZ', 'must be true, false or null');
    num('resampling.anisotropyThreshold', r.anisotropyThreshold, { positive: true });
  }

  if (arr('patchSize', m.patchSize, nd)) m.patchSize.forEach((p, i) => num(`patchSize[${i}]`, p, { int: true, positive: true }));
  if (num('tileStepSize', m.tileStepSize) && !(m.tileStepSize > 0 && m.tileStepSize <= 1)) bad('tileStepSize', 'must be in (0, 1]');
  if (m.tiling !== undefined) oneOf('tiling', m.tiling, ['nnunet', 'monai'] as const);

  const b = m.blending;
  if (!isObj(b)) bad('blending', 'must be an object');
  else if (oneOf('blending.mode', b.mode, ['gaussian', 'constant'] as const) && b.mode === 'gaussian') {
    num('blending.sigmaScale', b.sigmaScale, { positive: true });
    num('blending.maxValue', b.maxValue, { positive: true });
  }

  if (arr('mirroringAxes', m.mirroringAxes)) {
    m.mirroringAxes.forEach((a, i) => num(`mirroringAxes[${i}]`, a, { int: true, min: 0, max: (nd ?? 3) - 1 }));
    if (new Set(m.mirroringAxes).size !== m.mirroringAxes.length) bad('mirroringAxes', 'must not repeat an axis');
  }

  const o = m.output;
  const labels = (field: string, v: Json): void => {
    if (!arr(field, v)) return;
    if (v.length === 0) bad(field, 'must list at least one label');
    const seen = new Set<number>();
    v.forEach((l, i) => {
      const f = `${field}[${i}]`;
      if (!isObj(l)) return bad(f, 'must be an object');
      if (num(`${f}.value`, l.value, { int: true, min: 0, max: 65535 })) {
        if (seen.has(l.value)) bad(`${f}.value`, `repeats label value ${l.value}`);
        seen.add(l.value);
      }
      str(`${f}.name`, l.name);
      if (arr(`${f}.color`, l.color, 3) && !l.color.every((c) => Number.isInteger(c) && (c as number) >= 0 && (c as number) <= 255))
        bad(`${f}.color`, 'must be three integers 0–255');
    });
  };
  if (!isObj(o)) bad('output', 'must be an object');
  else if (oneOf('output.kind', o.kind, ['softmax', 'sigmoid'] as const)) {
    labels('output.labels', o.labels);
    if (o.kind === 'softmax' && Array.isArray(o.labels))
      o.labels.forEach((l, i) => {
        if (isObj(l) && typeof l.value === 'number' && l.value !== i)
          bad(`output.labels[${i}].value`, `must be ${i} (softmax channel c is label value c; labels consecutive from 0)`);
      });
    if (o.kind === 'sigmoid') {
      if (arr('output.regions', o.regions))
        o.regions.forEach((reg, i) => {
          if (arr(`output.regions[${i}]`, reg) && (reg.length === 0 || !reg.every((x) => Number.isInteger(x) && (x as number) > 0)))
            bad(`output.regions[${i}]`, 'must be a non-empty list of positive label values');
        });
      if (arr('output.regionClassOrder', o.regionClassOrder)) {
        o.regionClassOrder.forEach((v, i) => num(`output.regionClassOrder[${i}]`, v, { int: true, min: 1, max: 65535 }));
        if (Array.isArray(o.regions) && o.regions.length !== o.regionClassOrder.length)
          bad('output.regionClassOrder', `must have one entry per region (${o.regions.length})`);
      }
    }
  }

  if (arr('postprocessing', m.postprocessing))
    m.postprocessing.forEach((p, i) => {
      const f = `postprocessing[${i}]`;
      if (!isObj(p)) return bad(f, 'must be an object');
      if (!oneOf(`${f}.kind`, p.kind, ['keepLargestComponent'] as const)) return;
      if (p.labels !== 'foreground' && !(Array.isArray(p.labels) && p.labels.every((x) => Number.isInteger(x) && (x as number) > 0)))
        bad(`${f}.labels`, 'must be "foreground" or a list of positive label values');
    });

  if (arr('folds', m.folds) && m.folds.length === 0) bad('folds', 'must list at least one ONNX file');
  if (Array.isArray(m.folds))
    m.folds.forEach((fo, i) => {
      const f = `folds[${i}]`;
      if (!isObj(fo)) return bad(f, 'must be an object');
      num(`${f}.fold`, fo.fold, { int: true, min: 0 });
      if (str(`${f}.file`, fo.file) && (/(^|[\\/])\.\.([\\/]|$)/.test(fo.file) || /^([\\/]|[A-Za-z]:)/.test(fo.file)))
        bad(`${f}.file`, 'must be a path inside the model folder (no "..", not absolute)');
      str(`${f}.sha256`, fo.sha256, { pattern: /^[0-9a-f]{64}$/ });
    });

  const x = m.onnx;
  if (!isObj(x)) bad('onnx', 'must be an object');
  else {
    str('onnx.inputName', x.inputName);
    str('onnx.outputName', x.outputName);
    num('onnx.opset', x.opset, { int: true, positive: true });
  }

  if (m.cascade !== undefined && m.cascade !== null) {
    const c = m.cascade;
    if (!isObj(c)) bad('cascade', 'must be an object or null');
    else {
      str('cascade.previousModel', c.previousModel);
      if (arr('cascade.foregroundLabels', c.foregroundLabels))
        c.foregroundLabels.forEach((v, i) => num(`cascade.foregroundLabels[${i}]`, v, { int: true, min: 1 }));
    }
  }
  if (!isObj(m.provenance)) bad('provenance', 'must be an object');
  return issues;
}

/**
 * Validate and return the manifest typed, or throw an `Error` whose message lists every issue prefixed with
 * `source` (e.g. `manifest.json: patchSize[2] must be a positive integer`). Core wraps it in a MANIFEST
 * DelineateError naming the file.
 */
export function parseManifest(json: unknown, source = 'manifest.json'): ModelManifest {
  const issues = validateManifest(json);
  if (issues.length > 0) throw new ManifestError(source, issues);
  return json as ModelManifest;
}

/** Thrown by {@link parseManifest}; `issues` lists every problem. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(
    readonly source: string,
    readonly issues: ManifestIssue[],
  ) {
    super(issues.map((i) => `${source}: ${i.message}`).join('\n'));
  }
}

/** The number of network input channels: image channels plus cascade one-hot channels. */
export function networkInputChannels(m: ModelManifest): number {
  return m.channels.length + (m.cascade ? m.cascade.foregroundLabels.length : 0);
}

/** The number of network output channels: labels (softmax) or regions (sigmoid). */
export function networkOutputChannels(m: ModelManifest): number {
  return m.output.kind === 'softmax' ? m.output.labels.length : m.output.regions.length;
}
