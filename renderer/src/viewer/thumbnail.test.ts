import { describe, expect, it } from 'vitest';
import type { Mat3 } from '../../../main/common/volume';
import { orientThumbnail, thumbnailTransform } from './thumbnail';

// A 3×2 stored slice: value = 10·column + row.
const img = { width: 3, height: 2, pixels: Uint8Array.from([0, 10, 20, 1, 11, 21]) };

describe('thumbnail orientation', () => {
  it('keeps an LPS axial slice (i → L = screen right, j → P = screen down)', () => {
    const t = thumbnailTransform([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(t).toEqual({ orientation: 'axial', transpose: false, flipX: false, flipY: false });
    expect(Array.from(orientThumbnail(img, t).pixels)).toEqual([0, 10, 20, 1, 11, 21]);
  });

  it('flips a RAS-stored axial slice both ways', () => {
    const t = thumbnailTransform([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
    expect(t).toMatchObject({ transpose: false, flipX: true, flipY: true });
    expect(Array.from(orientThumbnail(img, t).pixels)).toEqual([21, 11, 1, 20, 10, 0]);
  });

  it('transposes when i runs front-to-back (PIL-like storage)', () => {
    // i → P, j → I … k → L: a sagittal stack; sagittal view: right = P, up = S.
    const d: Mat3 = [0, 0, 1, 1, 0, 0, 0, -1, 0];
    const t = thumbnailTransform(d);
    expect(t).toEqual({ orientation: 'sagittal', transpose: false, flipX: false, flipY: false });
    // i → S, j → P, k → L.
    const t2 = thumbnailTransform([0, 0, 1, 0, 1, 0, 1, 0, 0]);
    expect(t2).toMatchObject({ orientation: 'sagittal', transpose: true, flipX: false, flipY: true });
    const out = orientThumbnail(img, t2);
    expect([out.width, out.height]).toEqual([2, 3]);
    // Screen top row = largest i (most superior); left to right = j (anterior → posterior).
    expect(Array.from(out.pixels)).toEqual([20, 21, 10, 11, 0, 1]);
  });

  it('orients coronal stacks with superior up', () => {
    // i → L, j → I (rows go down = inferior), k → P: a coronal stack stored "as seen".
    const t = thumbnailTransform([1, 0, 0, 0, 0, 1, 0, -1, 0]);
    expect(t).toEqual({ orientation: 'coronal', transpose: false, flipX: false, flipY: false });
  });
});
