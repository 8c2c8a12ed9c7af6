import { describe, expect, it } from 'vitest';
import { type ModelManifest, parseManifest, validateManifest } from '../../../main/common/manifest';

/** A complete, valid nnU-Net-style manifest; each test breaks one field. */
export function validManifest(): ModelManifest {
  return {
    schemaVersion: 1,
    id: 'test-model',
    name: 'Test model',
    version: '1.0.0',
    description: 'unit test',
    framework: 'nnunetv2',
    dimensionality: '3d',
    channels: [{ name: 'T1c', modality: 'MR', normalization: { scheme: 'zscore', useMask: false } }],
    tensorAxesFromIjk: [2, 1, 0],
    targetSpacingMm: [1, 1, 1],
    cropToNonzero: true,
    resampling: {
      dataOrder: 3,
      dataOrderZ: 0,
      probabilitiesOrder: 1,
      probabilitiesOrderZ: 0,
      segOrder: 1,
      forceSeparateZ: null,
      anisotropyThreshold: 3,
    },
    patchSize: [64, 64, 64],
    tileStepSize: 0.5,
    blending: { mode: 'gaussian', sigmaScale: 0.125, maxValue: 10 },
    mirroringAxes: [0, 1, 2],
    output: {
      kind: 'softmax',
      labels: [
        { value: 0, name: 'background', color: [0, 0, 0] },
        { value: 1, name: 'tumour', color: [255, 0, 0] },
      ],
    },
    postprocessing: [],
    folds: [{ fold: 0, file: 'fold_0.onnx', sha256: 'a'.repeat(64) }],
    onnx: { inputName: 'input', outputName: 'output', opset: 17 },
    provenance: {},
  };
}

describe('validateManifest', () => {
  it('accepts a complete manifest', () => {
    expect(validateManifest(validManifest())).toEqual([]);
  });

  const cases: [string, (m: Record<string, unknown>) => void, string][] = [
    ['patch size not an integer', (m) => ((m.patchSize as number[])[2] = 12.5), 'patchSize[2] must be a positive integer'],
    ['patch size of the wrong length', (m) => (m.patchSize = [64, 64]), 'patchSize must have 3 entries'],
    ['missing id', (m) => delete m.id, 'id must be a string'],
    ['bad schema version', (m) => (m.schemaVersion = 2), 'schemaVersion must be 1'],
    ['axes not a permutation', (m) => (m.tensorAxesFromIjk = [0, 0, 1]), 'tensorAxesFromIjk must be a permutation of [0, 1, 2]'],
    ['step of 0', (m) => (m.tileStepSize = 0), 'tileStepSize must be in (0, 1]'],
    ['mirroring axis out of range', (m) => (m.mirroringAxes = [0, 3]), 'mirroringAxes[1] must be ≤ 2'],
    ['fold path escaping the folder', (m) => ((m.folds as { file: string }[])[0]!.file = '../x.onnx'), 'folds[0].file must be a path inside the model folder'],
    ['bad sha', (m) => ((m.folds as { sha256: string }[])[0]!.sha256 = 'xyz'), 'folds[0].sha256 must match'],
    ['softmax labels not consecutive', (m) => ((m.output as { labels: { value: number }[] }).labels[1]!.value = 2), 'output.labels[1].value must be 1'],
    ['unknown normalisation', (m) => ((m.channels as { normalization: { scheme: string } }[])[0]!.normalization.scheme = 'minmax'), 'channels[0].normalization.scheme must be one of'],
    ['ct without statistics', (m) => ((m.channels as { normalization: unknown }[])[0]!.normalization = { scheme: 'ct' }), 'channels[0].normalization.mean must be a finite number'],
    ['resampling order 2', (m) => ((m.resampling as { dataOrder: number }).dataOrder = 2), 'resampling.dataOrder must be one of 0, 1, 3'],
    ['2D with 3 spacings', (m) => (m.dimensionality = '2d'), 'targetSpacingMm must have 2 entries'],
  ];
  for (const [what, breakIt, expected] of cases)
    it(`rejects ${what}, naming the field`, () => {
      const m = validManifest() as unknown as Record<string, unknown>;
      breakIt(m);
      const messages = validateManifest(m).map((i) => i.message);
      expect(messages.some((t) => t.startsWith(expected)), messages.join('\n')).toBe(true);
    });

  it('parseManifest throws with the source file named', () => {
    const m = validManifest() as unknown as Record<string, unknown>;
    (m.patchSize as number[])[2] = -1;
    expect(() => parseManifest(m, 'manifest.json')).toThrow('manifest.json: patchSize[2] must be a positive integer');
  });
});
