/**
 * Window/level presets, intensity statistics and 3D transfer-function presets (pure, no vtk, no DOM).
 * Window/level values are in the volume's stored units after rescale (Hounsfield units for CT).
 */
import type { VoxelArray } from '../../../main/common/volume';

/** A display window: `width` of the grey ramp and its `center` (level), in voxel units. */
export interface WindowLevel {
  width: number;
  center: number;
}

export type WlPresetId = 'ct-brain' | 'ct-soft' | 'ct-lung' | 'ct-bone' | 'auto';

export interface WlPreset {
  id: WlPresetId;
  label: string;
  /** Fixed window; `auto` computes it from the volume's percentiles. */
  wl?: WindowLevel;
}

/** The conventional CT windows (W/L in HU) and the percentile-based automatic window for MR and others. */
export const WL_PRESETS: readonly WlPreset[] = [
  { id: 'ct-brain', label: 'CT brain', wl: { width: 80, center: 40 } },
  { id: 'ct-soft', label: 'CT soft tissue', wl: { width: 400, center: 40 } },
  { id: 'ct-lung', label: 'CT lung', wl: { width: 1500, center: -600 } },
  { id: 'ct-bone', label: 'CT bone', wl: { width: 1800, center: 400 } },
  { id: 'auto', label: 'Auto (percentiles)' },
];

/** Intensity summary of a volume used for automatic windows and transfer functions. */
export interface IntensityStats {
  min: number;
  max: number;
  /** 0.5th and 99.5th percentiles (of a ≤ 1 M-voxel sample when the volume is larger). */
  p005: number;
  p995: number;
  /** 1st and 99th percentiles. */
  p01: number;
  p99: number;
}

/**
 * Percentiles from a 4096-bin histogram of up to ~1 M voxels (a regular stride through the data, so it is
 * deterministic). Bin resolution is (max − min)/4096, far below what a display window can show.
 */
export function intensityStats(data: VoxelArray): IntensityStats {
  const n = data.length;
  if (n === 0) return { min: 0, max: 0, p005: 0, p995: 0, p01: 0, p99: 0 };
  const stride = Math.max(1, Math.floor(n / 1_000_000));
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i += stride) {
    const x = data[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) {
    const v = Number.isFinite(min) ? min : 0;
    return { min: v, max: v, p005: v, p995: v, p01: v, p99: v };
  }
  const bins = 4096;
  const hist = new Uint32Array(bins);
  const k = (bins - 1) / (max - min);
  let count = 0;
  for (let i = 0; i < n; i += stride) {
    const x = data[i]!;
    if (Number.isNaN(x)) continue;
    hist[Math.floor((x - min) * k)]!++;
    count++;
  }
  const pct = (q: number): number => {
    const target = q * count;
    let acc = 0;
    for (let b = 0; b < bins; b++) {
      acc += hist[b]!;
      if (acc >= target) return min + (b + 0.5) / k;
    }
    return max;
  };
  return { min, max, p005: pct(0.005), p995: pct(0.995), p01: pct(0.01), p99: pct(0.99) };
}

/** Automatic window: 0.5th → 99.5th percentile (never narrower than one unit). */
export function autoWindow(s: IntensityStats): WindowLevel {
  const width = Math.max(1, s.p995 - s.p005);
  return { width, center: s.p005 + width / 2 };
}

/** Whether a volume is treated as CT (HU): by modality, or, lacking one, by an HU-like range. */
export function looksLikeCt(modality: string, s: IntensityStats): boolean {
  const m = modality.toUpperCase();
  if (m === 'CT') return true;
  if (m === 'MR' || m === 'PT' || m === 'NM' || m === 'US') return false;
  return s.min <= -900 && s.max >= 300;
}

export type VrPresetId = 'ct-bone' | 'ct-soft' | 'mr';

/** A 3D preset: opacity and colour points over intensity, built for a volume's statistics. */
export interface VrTransfer {
  /** [intensity, opacity 0–1] pairs, increasing intensity. */
  opacity: [number, number][];
  /** [intensity, r, g, b] with colours 0–1, increasing intensity. */
  color: [number, number, number, number][];
  /** Gradient shading (costly in software rendering). */
  shade: boolean;
}

export const VR_PRESETS: readonly { id: VrPresetId; label: string }[] = [
  { id: 'ct-bone', label: 'CT bone' },
  { id: 'ct-soft', label: 'CT soft tissue' },
  { id: 'mr', label: 'MR' },
];

/** Transfer functions of a 3D preset. CT presets are in HU; the MR preset follows the volume's percentiles. */
export function vrTransfer(id: VrPresetId, s: IntensityStats): VrTransfer {
  switch (id) {
    case 'ct-bone':
      return {
        opacity: [
          [-1000, 0],
          [150, 0],
          [300, 0.15],
          [700, 0.6],
          [1500, 0.85],
          [3000, 0.9],
        ],
        color: [
          [-1000, 0.3, 0.3, 0.3],
          [150, 0.55, 0.25, 0.15],
          [300, 0.9, 0.82, 0.68],
          [1000, 1, 0.98, 0.9],
          [3000, 1, 1, 1],
        ],
        shade: true,
      };
    case 'ct-soft':
      return {
        opacity: [
          [-1000, 0],
          [-200, 0],
          [-50, 0.04],
          [60, 0.12],
          [200, 0.25],
          [600, 0.5],
          [3000, 0.7],
        ],
        color: [
          [-1000, 0, 0, 0],
          [-200, 0.55, 0.3, 0.2],
          [40, 0.85, 0.45, 0.38],
          [200, 0.95, 0.75, 0.6],
          [600, 1, 0.95, 0.85],
          [3000, 1, 1, 1],
        ],
        shade: true,
      };
    case 'mr': {
      const lo = s.p01 + 0.12 * (s.p99 - s.p01);
      const hi = s.p99;
      const span = Math.max(1e-6, hi - lo);
      return {
        opacity: [
          [Math.min(s.min, lo - 1), 0],
          [lo, 0],
          [lo + 0.3 * span, 0.05],
          [hi, 0.25],
          [Math.max(s.max, hi + 1), 0.35],
        ],
        color: [
          [lo, 0.35, 0.25, 0.2],
          [lo + 0.5 * span, 0.85, 0.7, 0.6],
          [hi, 1, 0.97, 0.92],
        ],
        shade: true,
      };
    }
  }
}
