/**
 * Editing algorithms on small synthetic grids with answers known by construction: each op's result, exact
 * undo/redo (apply → revert gives the original bit for bit, and redo gives the edited labels again), locked
 * segments untouched, deltas stored as runs (not copies).
 */
import { describe, expect, it } from 'vitest';
import type { Grid, Vec3 } from '../../../main/common/volume';
import {
  type EditDelta,
  type LabelArray,
  applyDelta,
  closing,
  composeDeltas,
  connectedComponents,
  deleteSegment,
  deltaBytes,
  fillBetweenSlices,
  keepLargestIsland,
  medianSmooth,
  mergeSegments,
  moveSegmentVoxels,
  paintDisc,
  paintSphere,
  relabelSegment,
  removeSmallIslands,
  revertDelta,
  thresholdPaint,
} from '../../../main/core/edit/index';

function grid(size: Vec3, spacingMm: Vec3 = [1, 1, 1], originMm: Vec3 = [0, 0, 0]): Grid {
  return { size, spacingMm, originMm, direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
}
const idx = (g: Grid, i: number, j: number, k: number) => i + g.size[0] * (j + g.size[1] * k);
const count = (a: LabelArray, v: number) => {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === v) c++;
  return c;
};

/** Apply, check, revert to the original bit for bit, redo, revert again. Returns the edited labels. */
function roundTrip(labels: LabelArray, delta: EditDelta): LabelArray {
  const original = labels.slice();
  const work = labels.slice();
  applyDelta(work, delta);
  const edited = work.slice();
  revertDelta(work, delta);
  expect(Buffer.from(work.buffer).equals(Buffer.from(original.buffer))).toBe(true);
  applyDelta(work, delta);
  expect(Buffer.from(work.buffer).equals(Buffer.from(edited.buffer))).toBe(true);
  revertDelta(work, delta);
  expect(Buffer.from(work.buffer).equals(Buffer.from(original.buffer))).toBe(true);
  // The delta lists exactly the changed voxels.
  let changed = 0;
  for (let i = 0; i < labels.length; i++) if (edited[i] !== original[i]) changed++;
  expect(delta.voxelCount).toBe(changed);
  return edited;
}

describe('sphere and disc brushes', () => {
  it('a 3-D sphere on an isotropic grid paints exactly the voxels within the radius', () => {
    const g = grid([21, 21, 21]);
    const labels = new Uint8Array(21 * 21 * 21);
    const d = paintSphere(labels, g, { centersMm: [[10, 10, 10]], radiusMm: 3, value: 2 });
    const out = roundTrip(labels, d);
    let expected = 0;
    for (let k = 0; k < 21; k++)
      for (let j = 0; j < 21; j++)
        for (let i = 0; i < 21; i++) {
          const inside = (i - 10) ** 2 + (j - 10) ** 2 + (k - 10) ** 2 <= 9;
          if (inside) expected++;
          expect(out[idx(g, i, j, k)]).toBe(inside ? 2 : 0);
        }
    expect(expected).toBe(123); // lattice points in a ball of radius 3
    // Runs, not copies: one run per painted row at most.
    expect(d.starts.length).toBeLessThanOrEqual(7 * 7);
    expect(deltaBytes(d)).toBeLessThan(labels.byteLength);
  });

  it('radius is in mm: anisotropic spacing gives an ellipsoid in voxels', () => {
    const g = grid([21, 21, 21], [0.5, 1, 2]);
    const labels = new Uint8Array(21 ** 3);
    const out = roundTrip(labels, paintSphere(labels, g, { centersMm: [[5, 10, 20]], radiusMm: 2, value: 1 }));
    // Centre at index (10, 10, 10); 2 mm = 4 voxels along i, 2 along j, 1 along k.
    expect(out[idx(g, 14, 10, 10)]).toBe(1);
    expect(out[idx(g, 15, 10, 10)]).toBe(0);
    expect(out[idx(g, 10, 12, 10)]).toBe(1);
    expect(out[idx(g, 10, 13, 10)]).toBe(0);
    expect(out[idx(g, 10, 10, 11)]).toBe(1);
    expect(out[idx(g, 10, 10, 12)]).toBe(0);
  });

  it('a disc paints one slice normal to its axis, round in mm', () => {
    const g = grid([15, 15, 15], [1, 1, 3]);
    const labels = new Uint8Array(15 ** 3);
    const out = roundTrip(labels, paintDisc(labels, g, { centersMm: [[7, 7, 21.4]], radiusMm: 2, value: 3, axis: 2 }));
    // k = round(21.4 / 3) = 7; a radius-2 disc of 13 voxels there, nothing elsewhere.
    expect(count(out, 3)).toBe(13);
    for (let j = 0; j < 15; j++) for (let i = 0; i < 15; i++) expect(out[idx(g, i, j, 7)]).toBe((i - 7) ** 2 + (j - 7) ** 2 <= 4 ? 3 : 0);
    // Axis 0 (sagittal view): the disc lies in the j-k plane, 2 mm = 2 voxels along j, 0 along k (3 mm voxels).
    const sag = roundTrip(labels, paintDisc(labels, g, { centersMm: [[7, 7, 21]], radiusMm: 2, value: 3, axis: 0 }));
    expect(count(sag, 3)).toBe(5);
  });

  it('a stroke of several dabs is one delta; composeDeltas equals applying the dabs in turn', () => {
    const g = grid([30, 12, 3]);
    const labels = new Uint8Array(30 * 12 * 3);
    const dabs = [2, 6, 10, 14].map((x) => paintDisc(labels, g, { centersMm: [[x, 6, 1]], radiusMm: 2.5, value: 1, axis: 2 }));
    const stroke = paintDisc(labels, g, { centersMm: [2, 6, 10, 14].map((x) => [x, 6, 1] as Vec3), radiusMm: 2.5, value: 1, axis: 2 });
    // Sequential application of the dabs (each computed on the labels as they are then).
    const seq = labels.slice();
    let composed: EditDelta | undefined;
    for (const x of [2, 6, 10, 14]) {
      const d = paintDisc(seq, g, { centersMm: [[x, 6, 1]], radiusMm: 2.5, value: 1, axis: 2 });
      applyDelta(seq, d);
      composed = composed ? composeDeltas(composed, d) : d;
    }
    const viaStroke = roundTrip(labels, stroke);
    expect(Array.from(viaStroke)).toEqual(Array.from(seq));
    const viaComposed = roundTrip(labels, composed!);
    expect(Array.from(viaComposed)).toEqual(Array.from(seq));
    expect(dabs.every((d) => d.voxelCount > 0)).toBe(true);
  });

  it('composeDeltas drops voxels the second edit puts back', () => {
    const g = grid([10, 10, 1]);
    const labels = new Uint8Array(100);
    const paint = paintDisc(labels, g, { centersMm: [[5, 5, 0]], radiusMm: 2, value: 4, axis: 2 });
    const after = labels.slice();
    applyDelta(after, paint);
    const erase = paintDisc(after, g, { centersMm: [[5, 5, 0]], radiusMm: 2, value: 0, axis: 2 });
    const both = composeDeltas(paint, erase);
    expect(both.voxelCount).toBe(0);
  });

  it('erase removes unlocked segments only, and eraseOnly limits it to one segment', () => {
    const g = grid([9, 9, 1]);
    const labels = new Uint8Array(81);
    for (let i = 0; i < 81; i++) labels[i] = i % 3 === 0 ? 1 : i % 3 === 1 ? 2 : 0;
    const locked = new Set([2]);
    const out = roundTrip(labels, paintDisc(labels, g, { centersMm: [[4, 4, 0]], radiusMm: 10, value: 0, axis: 2, locked }));
    expect(count(out, 1)).toBe(0);
    expect(count(out, 2)).toBe(count(labels, 2));
    const only = roundTrip(labels, paintDisc(labels, g, { centersMm: [[4, 4, 0]], radiusMm: 10, value: 0, axis: 2, eraseOnly: 2 }));
    expect(count(only, 2)).toBe(0);
    expect(count(only, 1)).toBe(count(labels, 1));
  });

  it('locked segments are never overwritten; painting a locked value is refused', () => {
    const g = grid([11, 11, 11]);
    const labels = new Uint8Array(11 ** 3);
    for (let i = 0; i < labels.length; i += 2) labels[i] = 5;
    const before5 = [] as number[];
    labels.forEach((v, i) => v === 5 && before5.push(i));
    const out = roundTrip(labels, paintSphere(labels, g, { centersMm: [[5, 5, 5]], radiusMm: 4, value: 1, locked: new Set([5]) }));
    for (const i of before5) expect(out[i]).toBe(5);
    expect(count(out, 1)).toBeGreaterThan(0);
    expect(() => paintSphere(labels, g, { centersMm: [[5, 5, 5]], radiusMm: 4, value: 5, locked: new Set([5]) })).toThrow(/locked/);
  });

  it("overwrite 'background' paints only background", () => {
    const g = grid([5, 5, 1]);
    const labels = new Uint8Array(25);
    labels[12] = 2;
    const out = roundTrip(labels, paintDisc(labels, g, { centersMm: [[2, 2, 0]], radiusMm: 1, value: 1, axis: 2, overwrite: 'background' }));
    expect(out[12]).toBe(2);
    expect(count(out, 1)).toBe(4);
  });

  it('threshold painting: brush limited to an intensity range, and over a whole slice', () => {
    const g = grid([10, 10, 2]);
    const image = new Int16Array(200);
    for (let i = 0; i < 200; i++) image[i] = (i % 10) * 100; // intensity = 100 × i
    const labels = new Uint16Array(200);
    const brush = roundTrip(labels, paintDisc(labels, g, { centersMm: [[5, 5, 0]], radiusMm: 3, value: 300, axis: 2, intensity: { image, min: 400, max: 600 } }));
    for (let j = 0; j < 10; j++)
      for (let i = 0; i < 10; i++) {
        const inDisc = (i - 5) ** 2 + (j - 5) ** 2 <= 9;
        expect(brush[idx(g, i, j, 0)]).toBe(inDisc && i >= 4 && i <= 6 ? 300 : 0);
      }
    const slice = roundTrip(labels, thresholdPaint(labels, g, { value: 7, intensity: { image, min: 850, max: 1e9 }, slice: { axis: 2, index: 1 } }));
    expect(count(slice, 7)).toBe(10); // i = 9 on every row of slice 1
    expect(slice[idx(g, 9, 3, 1)]).toBe(7);
    expect(slice[idx(g, 9, 3, 0)]).toBe(0);
    const whole = roundTrip(labels, thresholdPaint(labels, g, { value: 7, intensity: { image, min: 850, max: 1e9 } }));
    expect(count(whole, 7)).toBe(20);
  });
});

describe('islands', () => {
  // Three islands of segment 1 on a 12×12×3 grid: a 3×3×3 cube (27), a 2×2×1 square (4), and two voxels that
  // touch only at a corner (1 + 1 under 6-connectivity, one island of 2 under 26).
  function islands(): { g: Grid; labels: Uint8Array } {
    const g = grid([12, 12, 3]);
    const labels = new Uint8Array(12 * 12 * 3);
    for (let k = 0; k < 3; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 3; i++) labels[idx(g, i, j, k)] = 1;
    for (let j = 6; j < 8; j++) for (let i = 6; i < 8; i++) labels[idx(g, i, j, 1)] = 1;
    labels[idx(g, 10, 10, 0)] = 1;
    labels[idx(g, 11, 11, 1)] = 1;
    labels[idx(g, 5, 10, 2)] = 2; // another segment, never touched
    return { g, labels };
  }

  it('counts components under 6- and 26-connectivity', () => {
    const { g, labels } = islands();
    expect(connectedComponents(labels, g, 1, 6)!.sizes.slice(1).sort((a, b) => b - a)).toEqual([27, 4, 1, 1]);
    expect(connectedComponents(labels, g, 1, 26)!.sizes.slice(1).sort((a, b) => b - a)).toEqual([27, 4, 2]);
  });

  it('keep largest keeps the cube only', () => {
    const { g, labels } = islands();
    const out = roundTrip(labels, keepLargestIsland(labels, g, 1, 6));
    expect(count(out, 1)).toBe(27);
    expect(count(out, 2)).toBe(1);
  });

  it('remove smaller than N depends on connectivity', () => {
    const { g, labels } = islands();
    expect(count(roundTrip(labels, removeSmallIslands(labels, g, 1, 2, 6)), 1)).toBe(31);
    expect(count(roundTrip(labels, removeSmallIslands(labels, g, 1, 2, 26)), 1)).toBe(33);
    expect(count(roundTrip(labels, removeSmallIslands(labels, g, 1, 5, 26)), 1)).toBe(27);
  });

  it('refuses a locked segment', () => {
    const { g, labels } = islands();
    expect(() => keepLargestIsland(labels, g, 1, 26, { locked: new Set([1]) })).toThrow(/locked/);
    expect(() => removeSmallIslands(labels, g, 1, 3, 6, { locked: new Set([1]) })).toThrow(/locked/);
  });
});

describe('smoothing', () => {
  it('median 3×3×3 removes a lone voxel and fills a one-voxel hole in a block', () => {
    const g = grid([9, 9, 9]);
    const labels = new Uint8Array(729);
    for (let k = 2; k <= 6; k++) for (let j = 2; j <= 6; j++) for (let i = 2; i <= 6; i++) labels[idx(g, i, j, k)] = 1;
    labels[idx(g, 4, 4, 4)] = 0; // hole
    labels[idx(g, 0, 8, 8)] = 1; // lone voxel
    const out = roundTrip(labels, medianSmooth(labels, g, 1));
    expect(out[idx(g, 4, 4, 4)]).toBe(1);
    expect(out[idx(g, 0, 8, 8)]).toBe(0);
    // Corners of the block lose (7 of 27 inside); face centres stay (18 of 27).
    expect(out[idx(g, 2, 2, 2)]).toBe(0);
    expect(out[idx(g, 4, 4, 2)]).toBe(1);
  });

  it('median equals a brute-force 27-neighbourhood majority on a random multi-label grid (borders included)', () => {
    const g = grid([10, 9, 8]);
    const labels = new Uint8Array(720);
    let seed = 12345;
    for (let i = 0; i < 720; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      labels[i] = seed % 3;
    }
    const out = roundTrip(labels, medianSmooth(labels, g, 1, { locked: new Set([2]) }));
    for (let k = 0; k < 8; k++)
      for (let j = 0; j < 9; j++)
        for (let i = 0; i < 10; i++) {
          let inside = 0;
          let total = 0;
          for (let c = -1; c <= 1; c++)
            for (let b = -1; b <= 1; b++)
              for (let a = -1; a <= 1; a++) {
                const [x, y, z] = [i + a, j + b, k + c];
                if (x < 0 || y < 0 || z < 0 || x >= 10 || y >= 9 || z >= 8) continue;
                total++;
                if (labels[idx(g, x, y, z)] === 1) inside++;
              }
          const old = labels[idx(g, i, j, k)]!;
          const want = inside * 2 > total;
          const expected = old === 2 ? 2 : want ? 1 : old === 1 ? 0 : old;
          expect(out[idx(g, i, j, k)]).toBe(expected);
        }
  });

  it('median never overwrites a locked segment', () => {
    const g = grid([9, 9, 9]);
    const labels = new Uint8Array(729);
    for (let k = 2; k <= 6; k++) for (let j = 2; j <= 6; j++) for (let i = 2; i <= 6; i++) labels[idx(g, i, j, k)] = 1;
    labels[idx(g, 4, 4, 4)] = 9;
    const out = roundTrip(labels, medianSmooth(labels, g, 1, { locked: new Set([9]) }));
    expect(out[idx(g, 4, 4, 4)]).toBe(9);
    expect(() => medianSmooth(labels, g, 9, { locked: new Set([9]) })).toThrow(/locked/);
  });

  it('closing with a radius in mm bridges a gap narrower than the ball and no wider one', () => {
    // Two slabs along i separated by a gap of 2 voxels (i = 10, 11) at 1 mm and, elsewhere, 6 voxels.
    const g = grid([30, 12, 12]);
    const labels = new Uint8Array(30 * 12 * 12);
    for (let k = 3; k < 9; k++)
      for (let j = 3; j < 9; j++) {
        for (let i = 4; i < 10; i++) labels[idx(g, i, j, k)] = 1;
        for (let i = 12; i < 16; i++) labels[idx(g, i, j, k)] = 1;
        for (let i = 22; i < 26; i++) labels[idx(g, i, j, k)] = 1;
      }
    const d = closing(labels, g, 1, 2);
    const out = roundTrip(labels, d);
    // 2-voxel gap (10, 11) closes with a 2 mm ball at the slabs' core rows; the 6-voxel gap (16…21) does not.
    expect(out[idx(g, 10, 6, 6)]).toBe(1);
    expect(out[idx(g, 11, 6, 6)]).toBe(1);
    expect(out[idx(g, 18, 6, 6)]).toBe(0);
    // Closing only adds voxels.
    for (let i = 0; i < labels.length; i++) if (labels[i] === 1) expect(out[i]).toBe(1);
    // With 3 mm spacing along i, the same 2 mm ball cannot bridge even the narrow gap (6 mm).
    const coarse = grid([30, 12, 12], [3, 1, 1]);
    expect(closing(labels, coarse, 1, 2).voxelCount).toBe(0);
  });

  it('closing never overwrites a locked segment in the gap', () => {
    const g = grid([20, 9, 9]);
    const labels = new Uint8Array(20 * 81);
    for (let k = 2; k < 7; k++)
      for (let j = 2; j < 7; j++) {
        for (let i = 2; i < 8; i++) labels[idx(g, i, j, k)] = 1;
        for (let i = 9; i < 15; i++) labels[idx(g, i, j, k)] = 1;
        labels[idx(g, 8, j, k)] = 4;
      }
    const out = roundTrip(labels, closing(labels, g, 1, 1.5, { locked: new Set([4]) }));
    for (let k = 2; k < 7; k++) for (let j = 2; j < 7; j++) expect(out[idx(g, 8, j, k)]).toBe(4);
    const free = roundTrip(labels, closing(labels, g, 1, 1.5));
    expect(free[idx(g, 8, 4, 4)]).toBe(1);
  });
});

describe('segment operations', () => {
  const base = () => Uint16Array.from([0, 1, 1, 2, 2, 3, 3, 0, 1, 2, 3, 1000]);

  it('merge, delete, relabel', () => {
    const l = base();
    expect(Array.from(roundTrip(l, mergeSegments(l, [2, 3], 1)))).toEqual([0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1000]);
    expect(Array.from(roundTrip(l, deleteSegment(l, 2)))).toEqual([0, 1, 1, 0, 0, 3, 3, 0, 1, 0, 3, 1000]);
    expect(Array.from(roundTrip(l, relabelSegment(l, 1000, 7)))).toEqual([0, 1, 1, 2, 2, 3, 3, 0, 1, 2, 3, 7]);
    expect(() => relabelSegment(l, 1, 2)).toThrow(/merge/);
  });

  it('locked segments refuse every segment operation aimed at them and keep their voxels', () => {
    const l = base();
    const locked = new Set([3]);
    expect(() => mergeSegments(l, [3], 1, { locked })).toThrow(/locked/);
    expect(() => mergeSegments(l, [1], 3, { locked })).toThrow(/locked/);
    expect(() => deleteSegment(l, 3, { locked })).toThrow(/locked/);
    expect(() => relabelSegment(l, 3, 9, { locked })).toThrow(/locked/);
    const out = roundTrip(l, mergeSegments(l, [2], 1, { locked }));
    expect(out.filter((v) => v === 3).length).toBe(3);
  });

  it('moves a segment between layers (merge across layers), two exact deltas', () => {
    const a = Uint8Array.from([1, 1, 0, 1, 0]);
    const b = Uint8Array.from([0, 2, 2, 5, 0]);
    const { source, target } = moveSegmentVoxels(a, 1, b, 2, { locked: new Set([5]) });
    const a2 = roundTrip(a, source);
    const b2 = roundTrip(b, target);
    expect(Array.from(a2)).toEqual([0, 0, 0, 1, 0]); // voxel 3 stays: the target layer holds locked 5 there
    expect(Array.from(b2)).toEqual([2, 2, 2, 5, 0]);
  });
});

describe('deltas', () => {
  it('composing many random edits equals applying them in turn, and reverts to the original', () => {
    const g = grid([13, 11, 9], [0.9, 1.1, 2]);
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const labels = new Uint16Array(13 * 11 * 9);
    for (let i = 0; i < labels.length; i++) labels[i] = rnd() < 0.2 ? 1 + Math.floor(rnd() * 4) : 0;
    const work = labels.slice();
    let composed: EditDelta | undefined;
    for (let e = 0; e < 25; e++) {
      const centre: Vec3 = [rnd() * 12, rnd() * 12, rnd() * 18];
      const value = Math.floor(rnd() * 5);
      const d =
        e % 3 === 0
          ? paintDisc(work, g, { centersMm: [centre], radiusMm: 1 + rnd() * 4, value, axis: e % 2 === 0 ? 2 : 0 })
          : e % 3 === 1
            ? paintSphere(work, g, { centersMm: [centre], radiusMm: 1 + rnd() * 3, value })
            : medianSmooth(work, g, 1 + Math.floor(rnd() * 4));
      applyDelta(work, d);
      composed = composed ? composeDeltas(composed, d) : d;
    }
    const viaComposed = labels.slice();
    applyDelta(viaComposed, composed!);
    expect(Array.from(viaComposed)).toEqual(Array.from(work));
    revertDelta(viaComposed, composed!);
    expect(Array.from(viaComposed)).toEqual(Array.from(labels));
  });

  it('apply checks the old values and refuses a delta applied twice, changing nothing', () => {
    const g = grid([8, 8, 1]);
    const labels = new Uint8Array(64);
    const d = paintDisc(labels, g, { centersMm: [[4, 4, 0]], radiusMm: 2, value: 1, axis: 2 });
    applyDelta(labels, d);
    const snapshot = labels.slice();
    expect(() => applyDelta(labels, d)).toThrow(/does not fit/);
    expect(Array.from(labels)).toEqual(Array.from(snapshot));
  });
});

describe('fill between slices (morphological contour interpolation, itk-wasm)', () => {
  it('interpolates a disc drawn on slices 2 and 10 onto the slices between, monotone in area', async () => {
    const g = grid([24, 24, 14]);
    const labels = new Uint8Array(24 * 24 * 14);
    for (const [k, r] of [
      [2, 3],
      [10, 6],
    ] as const)
      for (let j = 0; j < 24; j++) for (let i = 0; i < 24; i++) if ((i - 12) ** 2 + (j - 12) ** 2 <= r * r) labels[idx(g, i, j, k)] = 1;
    labels[idx(g, 0, 0, 6)] = 3; // locked voxel inside the bounding box? (outside the disc: stays anyway)
    labels[idx(g, 12, 12, 6)] = 3; // locked voxel in the path of the interpolation
    const d = await fillBetweenSlices(labels, g, { value: 1, axis: 2, locked: new Set([3]) });
    const out = roundTrip(labels, d);
    const area = (k: number) => {
      let c = 0;
      for (let p = 0; p < 24 * 24; p++) if (out[k * 576 + p] === 1) c++;
      return c;
    };
    expect(area(2)).toBe(29);
    expect(area(10)).toBe(113);
    for (let k = 3; k < 10; k++) {
      expect(area(k)).toBeGreaterThanOrEqual(area(k - 1) - 1);
      expect(area(k)).toBeGreaterThan(0);
    }
    expect(area(1)).toBe(0);
    expect(area(11)).toBe(0);
    expect(out[idx(g, 12, 12, 6)]).toBe(3);
  });
});
