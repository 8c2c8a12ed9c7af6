/**
 * meshSegments on synthetic labelmaps: volume against the voxel volume, placement through the full image matrix
 * (spacing, direction incl. mirroring, origin; LPS and RAS), decimation that stays closed and manifold, bad input.
 */
import { describe, expect, it } from 'vitest';
import { CancelledSignal, DelineateError } from '../../../main/common/errors';
import type { Labelmap, Mat3, Vec3, Volume } from '../../../main/common/volume';
import { labelmapFromVolume, meshSegments, parseSegmentTable } from '../../../main/core/mesh/index';

function labelmap(size: Vec3, fill: (i: number, j: number, k: number) => number, geo: Partial<Pick<Labelmap, 'spacingMm' | 'originMm' | 'direction'>> = {}): Labelmap {
  const data = new Uint8Array(size[0] * size[1] * size[2]);
  for (let k = 0; k < size[2]; k++) for (let j = 0; j < size[1]; j++) for (let i = 0; i < size[0]; i++) data[i + size[0] * (j + size[1] * k)] = fill(i, j, k);
  return { size, spacingMm: geo.spacingMm ?? [1, 1, 1], originMm: geo.originMm ?? [0, 0, 0], direction: geo.direction ?? [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'uint8', data, segments: [] };
}

const ball = (c: Vec3, r: number) => (i: number, j: number, k: number): number => (Math.hypot(i - c[0], j - c[1], k - c[2]) <= r ? 1 : 0);

/** Rotation about an oblique axis, then a mirror of the first axis: an oblique, left-handed direction matrix. */
function obliqueMirrored(): Mat3 {
  const a = 0.3, b = 0.2;
  const rz = [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1];
  const rx = [1, 0, 0, 0, Math.cos(b), -Math.sin(b), 0, Math.sin(b), Math.cos(b)];
  const m = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) m[r * 3 + c]! += rz[r * 3 + k]! * rx[k * 3 + c]!;
  for (let r = 0; r < 3; r++) m[r * 3] = -m[r * 3]!;
  return m as Mat3;
}

describe('meshSegments', () => {
  it('keeps a ball within 2 % of its voxel volume at the default smoothing, closed and manifold', async () => {
    const lm = labelmap([40, 40, 40], ball([19.5, 19.5, 19.5], 14), { spacingMm: [0.8, 0.8, 1.5] });
    const { meshes } = await meshSegments(lm);
    const m = meshes[0]!;
    expect(m.metrics.closed && m.metrics.manifold && m.metrics.consistentlyOriented).toBe(true);
    expect(Math.abs(m.volumeRelativeDifference)).toBeLessThan(0.02);
    expect(m.voxels.volumeMl).toBeCloseTo((m.voxels.voxelCount * 0.8 * 0.8 * 1.5) / 1000, 12);
    expect(m.metrics.eulerCharacteristic).toBe(2);
    // Normals point outwards: away from the centre.
    const centre = m.metrics.centroidMm;
    let outward = 0;
    for (let v = 0; v < m.positions.length; v += 3) {
      const d = [m.positions[v]! - centre[0], m.positions[v + 1]! - centre[1], m.positions[v + 2]! - centre[2]];
      if (d[0]! * m.normals[v]! + d[1]! * m.normals[v + 1]! + d[2]! * m.normals[v + 2]! > 0) outward++;
    }
    expect(outward).toBe(m.positions.length / 3);
  });

  it('restores the voxel volume of a thin slab on an anisotropic grid, which plain smoothing shrinks', async () => {
    // A small tumour-like ellipsoid (radii 7, 7, 10 mm) sampled in 6.5 mm slices under 0.5 mm pixels (as the TCIA
    // masks: three slices), and a tiny 3×3×3-voxel cube.
    const lm = labelmap([60, 60, 9], (i, j, k) => {
      const x = (i - 30) * 0.5, y = (j - 30) * 0.5, z = (k - 4) * 6.5;
      return (x / 7) ** 2 + (y / 7) ** 2 + (z / 10) ** 2 < 1 ? 1 : i < 3 && j < 3 && k < 3 ? 2 : 0;
    }, { spacingMm: [0.5, 0.5, 6.5] });
    const slicer = await meshSegments(lm, { preserveVolume: false });
    const ours = await meshSegments(lm);
    // Plain windowed sinc (Slicer/VTK) loses more than 2 % here…
    expect(slicer.meshes[0]!.volumeRelativeDifference).toBeLessThan(-0.02);
    expect(slicer.parameters.volumePreservation.enabled).toBe(false);
    // …the restoration brings it back, with an offset well under the half-slice cap.
    const m = ours.meshes[0]!;
    expect(Math.abs(m.volumeRelativeDifference)).toBeLessThan(0.002);
    expect(m.volumeCorrection!.offsetMm).toBeGreaterThan(0);
    expect(m.volumeCorrection!.offsetMm).toBeLessThan(3.25);
    expect(m.metrics.closed && m.metrics.manifold && m.metrics.consistentlyOriented).toBe(true);
    expect(Math.abs(ours.meshes[1]!.volumeRelativeDifference)).toBeLessThan(0.02);
    // Decimated too.
    const dec = (await meshSegments(lm, { decimate: 0.5 })).meshes[0]!;
    expect(Math.abs(dec.volumeRelativeDifference)).toBeLessThan(0.01);
  });

  it('places vertices through spacing, an oblique mirrored direction and the origin (LPS), and negates x, y for RAS', async () => {
    const direction = obliqueMirrored();
    const geo = { spacingMm: [0.7, 1.1, 2.0] as Vec3, originMm: [-40, 25, 100] as Vec3, direction };
    const lm = labelmap([30, 24, 16], ball([12, 10, 7], 5), geo);
    const lps = (await meshSegments(lm)).meshes[0]!;
    const ras = (await meshSegments(lm, { space: 'RAS' })).meshes[0]!;
    // Mirroring matrix: triangles were re-wound, so the volume stays positive.
    expect(lps.metrics.volumeMl).toBeGreaterThan(0);
    expect(lps.metrics.closed && lps.metrics.consistentlyOriented).toBe(true);
    // Mesh centroid sits on the voxel centroid mapped through the matrix.
    for (let a = 0; a < 3; a++) expect(Math.abs(lps.metrics.centroidMm[a]! - lps.voxels.centroidMm[a]!)).toBeLessThan(0.1);
    // Voxel centroid by hand: index (12, 10, 7) is the centre of the ball.
    const s = geo.spacingMm;
    const expected = [0, 1, 2].map((r) => geo.originMm[r]! + direction[r * 3]! * s[0] * 12 + direction[r * 3 + 1]! * s[1] * 10 + direction[r * 3 + 2]! * s[2] * 7);
    for (let a = 0; a < 3; a++) expect(lps.voxels.centroidMm[a]).toBeCloseTo(expected[a]!, 9);
    // RAS = LPS with x and y negated, vertex for vertex.
    for (let v = 0; v < lps.positions.length; v += 3) {
      expect(ras.positions[v]).toBeCloseTo(-lps.positions[v]!, 4);
      expect(ras.positions[v + 1]).toBeCloseTo(-lps.positions[v + 1]!, 4);
      expect(ras.positions[v + 2]).toBeCloseTo(lps.positions[v + 2]!, 4);
    }
    expect(ras.metrics.volumeMl).toBeCloseTo(lps.metrics.volumeMl, 9);
  });

  it('meshes each label on its own, names them from the table or "Segment N", and skips empty labels', async () => {
    const lm = labelmap([30, 20, 20], (i, j, k) => (ball([8, 10, 10], 5)(i, j, k) ? 1 : ball([21, 10, 10], 4)(i, j, k) ? 3 : 0));
    lm.segments = [{ value: 3, name: 'tumour', color: [200, 10, 10] }];
    const r = await meshSegments(lm, { labels: [1, 2, 3] });
    expect(r.meshes.map((m) => [m.segment.value, m.segment.name])).toEqual([
      [1, 'Segment 1'],
      [3, 'tumour'],
    ]);
    expect(r.skipped).toEqual([{ value: 2, name: 'Segment 2', reason: 'label 2 (Segment 2) has no voxels in the labelmap' }]);
    const all = await meshSegments(lm);
    expect(all.meshes.map((m) => m.segment.value)).toEqual([1, 3]);
  });

  it('gives a one-voxel segment a valid closed mesh, and closes segments touching the volume border', async () => {
    const one = await meshSegments(labelmap([5, 5, 5], (i, j, k) => (i === 2 && j === 2 && k === 2 ? 1 : 0)), { smoothing: 0 });
    const m = one.meshes[0]!.metrics;
    expect(m.closed && m.manifold).toBe(true);
    expect(m.triangleCount).toBe(12);
    expect(m.volumeMl).toBeCloseTo(0.001, 12);
    // Smoothing would erase a single voxel: it is written as its exact cube, with a warning.
    const smoothed = (await meshSegments(labelmap([5, 5, 5], (i, j, k) => (i === 2 && j === 2 && k === 2 ? 1 : 0)))).meshes[0]!;
    expect(smoothed.metrics.closed && smoothed.metrics.manifold).toBe(true);
    expect(smoothed.metrics.volumeMl).toBeCloseTo(0.001, 9);
    expect(smoothed.warnings.join()).toMatch(/too small or thin to smooth/);
    const border = await meshSegments(labelmap([10, 10, 10], (i) => (i < 4 ? 1 : 0)), { smoothing: 0 });
    const b = border.meshes[0]!.metrics;
    expect(b.closed && b.manifold).toBe(true);
    expect(b.volumeMl).toBeCloseTo(0.4, 12);
    expect(b.boundsMm).toEqual([-0.5, -0.5, -0.5, 3.5, 9.5, 9.5]);
  });

  it('decimates to the requested ratio and stays closed and manifold with the same topology', async () => {
    const lm = labelmap([48, 48, 48], (i, j, k) => {
      // a ball with a tunnel (genus 1) and a separate small blob
      const inBall = Math.hypot(i - 23.5, j - 23.5, k - 23.5) <= 18;
      const tunnel = Math.hypot(i - 23.5, j - 23.5) <= 4;
      const blob = Math.hypot(i - 4, j - 4, k - 4) <= 2;
      return (inBall && !tunnel) || blob ? 1 : 0;
    });
    const full = (await meshSegments(lm)).meshes[0]!;
    const dec = (await meshSegments(lm, { decimate: 0.5 })).meshes[0]!;
    expect(dec.metrics.closed && dec.metrics.manifold && dec.metrics.consistentlyOriented).toBe(true);
    expect(dec.metrics.triangleCount).toBeLessThan(0.55 * full.metrics.triangleCount);
    expect(dec.metrics.triangleCount).toBeGreaterThan(0.45 * full.metrics.triangleCount);
    expect(dec.metrics.components).toBe(full.metrics.components);
    expect(dec.metrics.eulerCharacteristic).toBe(full.metrics.eulerCharacteristic);
    expect(full.metrics.eulerCharacteristic).toBe(2); // torus (0) + sphere (2)
    expect(Math.abs(dec.metrics.volumeMl / full.metrics.volumeMl - 1)).toBeLessThan(0.01);
    expect(dec.trianglesBeforeDecimation).toBe(full.metrics.triangleCount);
  });

  it('stops with CancelledSignal when the signal fires', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(meshSegments(labelmap([8, 8, 8], ball([4, 4, 4], 2)), {}, { signal: ac.signal })).rejects.toBeInstanceOf(CancelledSignal);
  });

  it('rejects bad options with USAGE', async () => {
    const lm = labelmap([4, 4, 4], () => 1);
    await expect(meshSegments(lm, { smoothing: 2 })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(meshSegments(lm, { decimate: 1 })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(meshSegments(lm, { labels: [0] })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('labelmapFromVolume', () => {
  const vol = (data: Float32Array | Int16Array): Volume => ({ size: [2, 2, 1], spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: data instanceof Float32Array ? 'float32' : 'int16', data });
  it('accepts whole-number floats and integer types', () => {
    expect(labelmapFromVolume(vol(Float32Array.of(0, 1, 2, 300)), 'x').dataType).toBe('uint16');
    expect(labelmapFromVolume(vol(Int16Array.of(0, 1, 2, 3)), 'x').dataType).toBe('uint8');
  });
  it('rejects fractional, negative and non-finite values with INPUT naming the file and voxel', () => {
    const err = (() => {
      try {
        labelmapFromVolume(vol(Float32Array.of(0, 1, 0.5, 1)), 'ct.nii.gz');
      } catch (e) {
        return e as DelineateError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DelineateError);
    expect(err!.code).toBe('INPUT');
    expect(err!.message).toMatch(/ct\.nii\.gz: not a labelmap — voxel \(0, 1, 0\) holds a non-integer value \(0\.5\)/);
    expect(() => labelmapFromVolume(vol(Int16Array.of(0, -1, 0, 1)), 'x')).toThrow(/negative/);
    expect(() => labelmapFromVolume(vol(Float32Array.of(0, NaN, 0, 1)), 'x')).toThrow(/non-finite/);
  });
});

describe('parseSegmentTable', () => {
  it('reads JSON lists, {"1": name} maps and colour tables', () => {
    expect(parseSegmentTable('[{"value": 2, "name": "liver", "color": [1, 2, 3]}]', 't.json')).toEqual([{ value: 2, name: 'liver', color: [1, 2, 3] }]);
    expect(parseSegmentTable('{"1": "spleen"}', 't.json')[0]).toMatchObject({ value: 1, name: 'spleen' });
    expect(parseSegmentTable('# c\n0 background 0 0 0 0\n5 "left kidney" 10 20 30 255\n', 't.txt')).toEqual([{ value: 5, name: 'left kidney', color: [10, 20, 30] }]);
  });
  it('names the file and the line on errors', () => {
    expect(() => parseSegmentTable('1 spleen red', 'colors.txt')).toThrow(/colors\.txt: line 1/);
    expect(() => parseSegmentTable('[{"value": 0, "name": "x"}]', 's.json')).toThrow(/s\.json: segments\[0\]\.value/);
  });
});

describe('meshSegments progress and cancellation', () => {
  it('reports each segment and step, then done = total', async () => {
    const lm = labelmap([20, 12, 12], (i, j, k) => (ball([5, 6, 6], 3)(i, j, k) ? 1 : ball([14, 6, 6], 3)(i, j, k) ? 2 : 0));
    const seen: string[] = [];
    await meshSegments(lm, { decimate: 0.5 }, { onProgress: (p) => seen.push(`${p.done}/${p.total} ${p.detail ?? ''}`) });
    expect(seen).toEqual([
      '0/2 Segment 1: surface',
      '0/2 Segment 1: smoothing',
      '0/2 Segment 1: decimation',
      '1/2 Segment 2: surface',
      '1/2 Segment 2: smoothing',
      '1/2 Segment 2: decimation',
      '2/2 ',
    ]);
  });

  it('stops at the next step when aborted from a progress callback (an abort that arrives mid-run)', async () => {
    const lm = labelmap([20, 12, 12], ball([10, 6, 6], 4));
    const ac = new AbortController();
    const steps: string[] = [];
    const run = meshSegments(lm, {}, { signal: ac.signal, onProgress: (p) => {
      steps.push(p.detail ?? '');
      if (p.detail?.endsWith('surface')) setImmediate(() => ac.abort());
    } });
    await expect(run).rejects.toBeInstanceOf(CancelledSignal);
    expect(steps).toEqual(['Segment 1: surface']);
  });
});
