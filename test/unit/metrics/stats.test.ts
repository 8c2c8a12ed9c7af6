import { describe, expect, it } from 'vitest';
import { isCancelled } from '../../../main/common/errors';
import type { Mat3, Vec3, Volume } from '../../../main/common/volume';
import { segmentStatistics, statisticsToCsv } from '../../../main/core/stats';

function vol(data: Uint8Array | Int16Array | Float32Array, size: Vec3, extra: Partial<Volume> = {}): Volume {
  return {
    size,
    spacingMm: [2, 1, 3],
    originMm: [10, -20, 5],
    direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    dataType: data instanceof Uint8Array ? 'uint8' : data instanceof Int16Array ? 'int16' : 'float32',
    data,
    ...extra,
  };
}

describe('segmentStatistics', () => {
  it('counts, volumes, intensities, boxes and centroids of a hand-made labelmap', async () => {
    const size: Vec3 = [4, 3, 2];
    const labels = new Uint8Array(24);
    const image = new Int16Array(24);
    for (let x = 0; x < 24; x++) image[x] = x * 10 - 100;
    // label 2 at (1,0,0), (3,2,1): values −90 and 130.
    labels[1] = 2;
    labels[3 + 4 * (2 + 3 * 1)] = 2;
    // label 5 fills the slice k = 0, j = 1.
    for (let i = 0; i < 4; i++) labels[i + 4] = 5;
    const stats = await segmentStatistics(vol(labels, size), vol(image, size));
    expect(stats.map((s) => s.value)).toEqual([2, 5]);
    const [two, five] = stats as [(typeof stats)[0], (typeof stats)[0]];
    expect(two.voxelCount).toBe(2);
    expect(two.volumeMl).toBeCloseTo((2 * 2 * 1 * 3) / 1000, 15);
    expect(two.intensity).toEqual({ mean: 20, sd: 110, min: -90, max: 130 });
    expect(two.bboxIjk).toEqual({ min: [1, 0, 0], max: [3, 2, 1] });
    expect(two.bboxLpsMm).toEqual({ min: [12, -20, 5], max: [16, -18, 8] });
    expect(two.centroidLpsMm).toEqual([14, -19, 6.5]);
    expect(five.intensity!.mean).toBe(-45); // values −60, −50, −40, −30
    expect(five.intensity!.sd).toBeCloseTo(Math.sqrt(125), 12);
  });

  it('uses the direction matrix for LPS positions (oblique grid) and reports empty named segments', async () => {
    const size: Vec3 = [2, 2, 1];
    const labels = new Uint8Array([0, 1, 0, 0]);
    const c = Math.SQRT1_2;
    const direction: Mat3 = [c, -c, 0, c, c, 0, 0, 0, 1];
    const stats = await segmentStatistics(vol(labels, size, { direction, spacingMm: [2, 2, 2], originMm: [0, 0, 0] }), undefined, {
      segments: [{ value: 1, name: 'one', color: [1, 2, 3] }, { value: 7, name: 'seven', color: [0, 0, 0] }],
    });
    expect(stats[0]!.name).toBe('one');
    expect(stats[0]!.intensity).toBeUndefined();
    expect(stats[0]!.centroidLpsMm![0]).toBeCloseTo(2 * c, 12);
    expect(stats[0]!.centroidLpsMm![1]).toBeCloseTo(2 * c, 12);
    expect(stats[1]).toEqual({ value: 7, name: 'seven', voxelCount: 0, volumeMl: 0 });
    const csv = statisticsToCsv(stats).trim().split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[2]).toMatch(/^7,seven,0,0,,,/);
  });

  it('refuses an image on another grid, naming both, and non-integer labels', async () => {
    const labels = vol(new Uint8Array(8), [2, 2, 2]);
    const image = vol(new Int16Array(8), [2, 2, 2], { originMm: [11, -20, 5] });
    await expect(segmentStatistics(labels, image, { imageName: 'ct.nii.gz', labelsName: 'seg.nii.gz' })).rejects.toMatchObject({
      code: 'GEOMETRY',
      message: expect.stringMatching(/ct\.nii\.gz and seg\.nii\.gz .*origin/),
    });
    const floats = vol(new Float32Array([0, 1, 2.5, 0, 0, 0, 0, 0]), [2, 2, 2]);
    await expect(segmentStatistics(floats, undefined, { labelsName: 'prob.nii.gz' })).rejects.toMatchObject({
      code: 'INPUT',
      message: expect.stringMatching(/prob\.nii\.gz.*\[0, 1, 0\].*2\.5/),
    });
  });

  it('stops with CancelledSignal when the signal fires', async () => {
    const ac = new AbortController();
    ac.abort();
    await segmentStatistics(vol(new Uint8Array(8), [2, 2, 2]), undefined, { signal: ac.signal }).then(
      () => expect.unreachable(),
      (e: unknown) => expect(isCancelled(e)).toBe(true),
    );
  });
});
