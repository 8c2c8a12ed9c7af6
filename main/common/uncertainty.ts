/**
 * Model uncertainty as one byte per voxel (issue 5, "an uncertainty overlay where the model produced
 * probabilities"): the entropy of the per-voxel class probabilities, normalised to [0, 1] and quantised to 0–255,
 * and the colour map the 2D views draw it with. Pure (no Node, no DOM): the compute side makes the map, the
 * renderer colours it.
 *
 * Memory: the map is 1 byte per voxel (a 256×256×180 series: 11.8 MB), the size of a uint8 labelmap. The model's
 * float32 probabilities (classes × voxels × 4 bytes) exist only in the compute process, only while the map is made,
 * and only under {@link MAX_PROBABILITY_BYTES}.
 */

/** Largest classes × voxels × 4 bytes of probabilities the compute side holds to make an uncertainty map. */
export const MAX_PROBABILITY_BYTES = 1024 ** 3;

/**
 * Normalised entropy per voxel, 0 (certain) … 255 (maximal): softmax outputs → −Σ p ln p / ln C over the C
 * channels (background included); sigmoid regions → the largest binary entropy over the regions / ln 2.
 * `probabilities[c][v]` is channel c at voxel v (i fastest); every channel has the same length.
 */
export function entropyMap(probabilities: readonly Float32Array[], kind: 'softmax' | 'sigmoid'): Uint8Array {
  const C = probabilities.length;
  const n = C ? probabilities[0]!.length : 0;
  const out = new Uint8Array(n);
  if (C === 0) return out;
  if (kind === 'softmax') {
    if (C < 2) return out;
    const norm = 255 / Math.log(C);
    for (let v = 0; v < n; v++) {
      let h = 0;
      for (let c = 0; c < C; c++) {
        const p = probabilities[c]![v]!;
        if (p > 0) h -= p * Math.log(p);
      }
      out[v] = Math.min(255, Math.max(0, Math.round(h * norm)));
    }
    return out;
  }
  const norm = 255 / Math.LN2;
  for (let v = 0; v < n; v++) {
    let worst = 0;
    for (let c = 0; c < C; c++) {
      const p = Math.min(1, Math.max(0, probabilities[c]![v]!));
      const q = 1 - p;
      const h = (p > 0 ? -p * Math.log(p) : 0) + (q > 0 ? -q * Math.log(q) : 0);
      if (h > worst) worst = h;
    }
    out[v] = Math.min(255, Math.max(0, Math.round(worst * norm)));
  }
  return out;
}

/** Colour stops of the uncertainty map (value 0–1 → sRGB), an inferno-like ramp: dark purple → orange → pale yellow. */
export const UNCERTAINTY_STOPS: readonly { at: number; rgb: readonly [number, number, number] }[] = [
  { at: 0, rgb: [40, 11, 84] },
  { at: 0.35, rgb: [137, 34, 106] },
  { at: 0.65, rgb: [229, 92, 48] },
  { at: 1, rgb: [252, 255, 164] },
];

/** Values below this (0–255) are drawn transparent: near-certain voxels do not tint the image. */
export const UNCERTAINTY_FLOOR = 13;

/**
 * RGBA lookup table (256 × 4 bytes) for the quantised map: colour from {@link UNCERTAINTY_STOPS}, alpha 0 under
 * {@link UNCERTAINTY_FLOOR}, then rising linearly to `maxAlpha` (0–1) at 255.
 */
export function uncertaintyLut(maxAlpha = 0.8): Uint8Array {
  const lut = new Uint8Array(256 * 4);
  for (let v = 0; v < 256; v++) {
    const t = v / 255;
    let k = 0;
    while (k < UNCERTAINTY_STOPS.length - 2 && t > UNCERTAINTY_STOPS[k + 1]!.at) k++;
    const a = UNCERTAINTY_STOPS[k]!;
    const b = UNCERTAINTY_STOPS[k + 1]!;
    const f = Math.min(1, Math.max(0, (t - a.at) / (b.at - a.at)));
    for (let c = 0; c < 3; c++) lut[v * 4 + c] = Math.round(a.rgb[c]! + f * (b.rgb[c]! - a.rgb[c]!));
    lut[v * 4 + 3] = v < UNCERTAINTY_FLOOR ? 0 : Math.round(255 * maxAlpha * ((v - UNCERTAINTY_FLOOR + 1) / (256 - UNCERTAINTY_FLOOR)));
  }
  return lut;
}

/** CSS `linear-gradient` of the colour map, left = 0 (certain) to right = 1 (maximal entropy), for legends. */
export function uncertaintyGradientCss(): string {
  return `linear-gradient(to right, ${UNCERTAINTY_STOPS.map((s) => `rgb(${s.rgb.join(', ')}) ${Math.round(s.at * 100)}%`).join(', ')})`;
}
