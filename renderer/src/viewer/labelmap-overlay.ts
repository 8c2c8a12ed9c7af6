/**
 * Labelmap overlay of a 2D view, drawn on a 2D canvas above the vtk.js slice (no vtk, no Svelte state).
 *
 * The labels are sampled nearest-neighbour on exactly the plane pixels the slice image uses ({@link SliceGeometry}:
 * pixel (c, r) at view coordinates (uMin + c·px, vMin + r·px), row 0 at the bottom), coloured through a lookup
 * table (label value → RGBA; alpha 0 = hidden segment) as a translucent fill plus an opaque outline (pixels with a
 * 4-neighbour of another label), and drawn onto the canvas under the view's {@link Camera2D} so it stays aligned
 * with the image whatever the zoom and pan.
 */
import type { Grid } from '../../../main/common/volume';
import { type Camera2D, type SliceGeometry, viewToScreen } from './geometry';
import { ResliceSampler } from './reslice';

/** RGBA lookup table: 4 bytes per label value (index 0 = background, never drawn). */
export type LabelLut = Uint8Array;

/** A LUT for `maxValue` values from rows (value, sRGB colour, visible). */
export function labelLut(rows: readonly { value: number; color: readonly [number, number, number]; visible: boolean }[], maxValue: number): LabelLut {
  const lut = new Uint8Array((maxValue + 1) * 4);
  for (const r of rows) {
    if (r.value < 1 || r.value > maxValue || !r.visible) continue;
    lut.set([r.color[0], r.color[1], r.color[2], 255], r.value * 4);
  }
  return lut;
}

/** Samples one labelmap on view planes (nearest voxel). */
export class LabelmapSampler {
  private readonly sampler: ResliceSampler;

  constructor(grid: Grid, labels: Uint8Array | Uint16Array) {
    this.sampler = new ResliceSampler({ ...grid, dataType: labels instanceof Uint8Array ? 'uint8' : 'uint16', data: labels });
  }

  /** Label values of the plane at t (length columns × rows, row 0 at the bottom). */
  sample(sg: SliceGeometry, t: number, out?: Float32Array): Float32Array {
    return this.sampler.sample(sg, t, 0, out, true);
  }
}

/**
 * Colour a sampled plane into RGBA pixels, top row first (canvas order). Fill alpha = `opacity`·255 and outline
 * pixels (a 4-neighbour holds another value) are opaque when `outline`. Returns the number of labelled pixels.
 */
export function colorizePlane(values: Float32Array, columns: number, rows: number, lut: LabelLut, opacity: number, outline: boolean, out: Uint8ClampedArray): number {
  const fillA = Math.round(Math.min(1, Math.max(0, opacity)) * 255);
  const maxV = lut.length / 4 - 1;
  let n = 0;
  for (let r = 0; r < rows; r++) {
    const dst = (rows - 1 - r) * columns * 4;
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      const v = values[i]!;
      const o = dst + c * 4;
      if (v <= 0 || v > maxV || lut[v * 4 + 3] === 0) {
        out[o + 3] = 0;
        continue;
      }
      n++;
      let edge = false;
      if (outline)
        edge =
          c === 0 || c === columns - 1 || r === 0 || r === rows - 1 || values[i - 1] !== v || values[i + 1] !== v || values[i - columns] !== v || values[i + columns] !== v;
      out[o] = lut[v * 4]!;
      out[o + 1] = lut[v * 4 + 1]!;
      out[o + 2] = lut[v * 4 + 2]!;
      out[o + 3] = edge ? 255 : fillA;
    }
  }
  return n;
}

/**
 * Where the plane image lands on screen (CSS px): its top-left corner and size, for `drawImage` (the plane's pixel
 * (c, r) covers view coordinates [u − px/2, u + px/2] × [v − px/2, v + px/2]).
 */
export function planeScreenRect(sg: SliceGeometry, cam: Camera2D, widthCss: number, heightCss: number): { x: number; y: number; w: number; h: number } {
  const px = sg.pixelMm;
  const tl = viewToScreen(cam, widthCss, heightCss, sg.uMin - px / 2, sg.vMin + (sg.rows - 1) * px + px / 2);
  const br = viewToScreen(cam, widthCss, heightCss, sg.uMin + (sg.columns - 1) * px + px / 2, sg.vMin - px / 2);
  return { x: tl.x, y: tl.y, w: br.x - tl.x, h: br.y - tl.y };
}
