/**
 * `segmentStatistics` against NumPy/nibabel on real CT and MR with their labelmaps (reference numbers in
 * test/fixtures/metrics/stats_reference.json from test/reference/metrics/make_stats_reference.py).
 * Tolerance 1e-6 relative (1e-6 absolute near zero): both sides accumulate in float64; positions additionally
 * go through ITK's vs nibabel's reading of the NIfTI affine (float32 in the file).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImageFile } from '../../../main/core/io';
import { segmentStatistics } from '../../../main/core/stats';
import { dataPath, hasData } from '../../helpers/data';
import { FIXTURE_DIR } from '../../unit/metrics/reference';

interface RefSegment {
  value: number;
  voxelCount: number;
  volumeMl: number;
  intensity: { mean: number; sd: number; min: number; max: number };
  bboxIjk: { min: number[]; max: number[] };
  bboxLpsMm: { min: number[]; max: number[] };
  centroidLpsMm: number[];
}
const reference = JSON.parse(readFileSync(resolve(FIXTURE_DIR, 'stats_reference.json'), 'utf8')) as {
  pairs: { name: string; image: string; labels: string; segments: RefSegment[] }[];
};

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

describe.skipIf(!hasData(...reference.pairs.flatMap((p) => [p.image, p.labels])))('segment statistics vs NumPy on real images', () => {
  it.each(reference.pairs.map((p) => [p.name, p] as const))('%s', async (_name, p) => {
    const image = await readImageFile(dataPath(p.image));
    const labels = await readImageFile(dataPath(p.labels));
    const stats = await segmentStatistics(labels, image, { imageName: p.image, labelsName: p.labels });
    expect(stats.map((s) => s.value)).toEqual(p.segments.map((s) => s.value));
    let worst = 0;
    for (const [n, want] of p.segments.entries()) {
      const got = stats[n]!;
      expect(got.voxelCount).toBe(want.voxelCount);
      expect(got.bboxIjk).toEqual(want.bboxIjk);
      const pairs: [string, number, number][] = [
        ['volumeMl', got.volumeMl, want.volumeMl],
        ['mean', got.intensity!.mean, want.intensity.mean],
        ['sd', got.intensity!.sd, want.intensity.sd],
        ['min', got.intensity!.min, want.intensity.min],
        ['max', got.intensity!.max, want.intensity.max],
        ...[0, 1, 2].flatMap((a): [string, number, number][] => [
          [`bboxLpsMin${a}`, got.bboxLpsMm!.min[a]!, want.bboxLpsMm.min[a]!],
          [`bboxLpsMax${a}`, got.bboxLpsMm!.max[a]!, want.bboxLpsMm.max[a]!],
          [`centroid${a}`, got.centroidLpsMm![a]!, want.centroidLpsMm[a]!],
        ]),
      ];
      for (const [key, a, b] of pairs) {
        expect(rel(a, b), `${p.name} segment ${want.value} ${key}: ${a} vs NumPy ${b}`).toBeLessThanOrEqual(1e-6);
        worst = Math.max(worst, rel(a, b));
      }
    }
    console.log(`${p.name}: ${stats.length} segments, largest relative difference from NumPy ${worst.toExponential(2)}`);
  });
});
