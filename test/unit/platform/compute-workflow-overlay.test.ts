/**
 * The labelmap overlay of the 2D views: labels sampled nearest-voxel on the slice's own pixels, coloured with a
 * translucent fill and an opaque outline (hidden segments not drawn), flipped to canvas row order, and placed on
 * screen exactly over the slice image under any camera.
 */
import { describe, expect, it } from 'vitest';
import type { Grid } from '../../../main/common/volume';
import { fitCamera, sliceGeometry, slicePosition, viewToScreen } from '../../../renderer/src/viewer/geometry';
import { colorizePlane, LabelmapSampler, labelLut, planeScreenRect } from '../../../renderer/src/viewer/labelmap-overlay';

const grid: Grid = { size: [8, 6, 3], spacingMm: [1, 1, 2], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

/** Labels: a 3×2 block of value 2 at i 2..4, j 1..2 on slice k = 1; value 1 everywhere on k = 2. */
function labels(): Uint8Array {
  const l = new Uint8Array(8 * 6 * 3);
  for (let j = 1; j <= 2; j++) for (let i = 2; i <= 4; i++) l[i + 8 * (j + 6 * 1)] = 2;
  l.fill(1, 8 * 6 * 2);
  return l;
}

describe('labelmap overlay', () => {
  it('samples the axial plane voxel for voxel and colours fill and outline', () => {
    const sg = sliceGeometry(grid, 'axial');
    expect([sg.columns, sg.rows]).toEqual([8, 6]);
    const values = new LabelmapSampler(grid, labels()).sample(sg, slicePosition(sg, 1));
    expect([...values].filter((v) => v === 2)).toHaveLength(6);
    expect([...values].filter((v) => v !== 0 && v !== 2)).toHaveLength(0);
    const lut = labelLut([{ value: 2, color: [10, 20, 30], visible: true }], 2);
    const rgba = new Uint8ClampedArray(8 * 6 * 4);
    const n = colorizePlane(values, 8, 6, lut, 0.5, true, rgba);
    expect(n).toBe(6);
    // A 3×2 block has no interior pixel: all 6 are outline (opaque); colour from the LUT.
    const drawn = [];
    for (let p = 0; p < 48; p++) if (rgba[p * 4 + 3]! > 0) drawn.push([rgba[p * 4]!, rgba[p * 4 + 1]!, rgba[p * 4 + 2]!, rgba[p * 4 + 3]!]);
    expect(drawn).toEqual(Array(6).fill([10, 20, 30, 255]));
  });

  it('fills the interior with the opacity, outlines the border, flips rows to canvas order', () => {
    const values = new Float32Array(5 * 4);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 5; c++) values[r * 5 + c] = 1; // rows 0..2 (bottom) labelled
    const rgba = new Uint8ClampedArray(5 * 4 * 4);
    colorizePlane(values, 5, 4, labelLut([{ value: 1, color: [200, 0, 0], visible: true }], 1), 0.4, true, rgba);
    const alpha = (c: number, rTop: number) => rgba[(rTop * 5 + c) * 4 + 3];
    expect([0, 1, 2, 3, 4].map((c) => alpha(c, 0))).toEqual([0, 0, 0, 0, 0]); // canvas top row = plane row 3: empty
    expect(alpha(2, 2)).toBe(Math.round(0.4 * 255)); // plane row 1, centre: interior fill
    expect(alpha(0, 2)).toBe(255); // left edge: outline
    expect(alpha(2, 1)).toBe(255); // plane row 2 borders the empty row 3: outline
    // Without outline every labelled pixel gets the fill alpha.
    colorizePlane(values, 5, 4, labelLut([{ value: 1, color: [200, 0, 0], visible: true }], 1), 0.4, false, rgba);
    expect(alpha(0, 2)).toBe(Math.round(0.4 * 255));
  });

  it('does not draw hidden segments', () => {
    const values = new Float32Array([1, 2, 2, 1]);
    const rgba = new Uint8ClampedArray(16);
    const lut = labelLut(
      [
        { value: 1, color: [1, 1, 1], visible: false },
        { value: 2, color: [2, 2, 2], visible: true },
      ],
      2,
    );
    expect(colorizePlane(values, 4, 1, lut, 1, false, rgba)).toBe(2);
    expect([rgba[3], rgba[7], rgba[11], rgba[15]]).toEqual([0, 255, 255, 0]);
  });

  it('places the plane image over the slice pixels under any camera', () => {
    const sg = sliceGeometry(grid, 'axial');
    const cam = { ...fitCamera(sg, 400, 300), centerU: 1.5, halfHeightMm: 7 };
    const r = planeScreenRect(sg, cam, 400, 300);
    // Pixel (0, rows-1) centre (top-left on screen) lies half a pixel inside the rect's corner.
    const pxPerCss = r.w / sg.columns;
    const c00 = viewToScreen(cam, 400, 300, sg.uMin, sg.vMin + (sg.rows - 1) * sg.pixelMm);
    expect(c00.x).toBeCloseTo(r.x + pxPerCss / 2, 9);
    expect(c00.y).toBeCloseTo(r.y + pxPerCss / 2, 9);
    expect(r.h / sg.rows).toBeCloseTo(pxPerCss, 9);
  });
});
