/**
 * Index ↔ patient-space geometry. All positions are LPS millimetres; index coordinates are (i, j, k) with i
 * fastest in memory. `ijkToLps = [direction · diag(spacingMm) | originMm]` as a 4×4 row-major matrix.
 */
import type { Grid, Mat3, Vec3 } from './volume';

/** 4×4 row-major affine, 16 numbers. */
export type Mat4 = number[];

export const IDENTITY3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** 4×4 row-major matrix mapping continuous index (i,j,k,1) to LPS mm. */
export function ijkToLps(grid: Grid): Mat4 {
  const { direction: d, spacingMm: s, originMm: o } = grid;
  return [
    d[0] * s[0], d[1] * s[1], d[2] * s[2], o[0],
    d[3] * s[0], d[4] * s[1], d[5] * s[2], o[1],
    d[6] * s[0], d[7] * s[1], d[8] * s[2], o[2],
    0, 0, 0, 1,
  ];
}

/** Inverse of {@link ijkToLps}: LPS mm → continuous index. */
export function lpsToIjk(grid: Grid): Mat4 {
  return invert4(ijkToLps(grid));
}

/** Apply a 4×4 row-major affine to a point. */
export function transformPoint(m: Mat4, p: Vec3): Vec3 {
  return [
    m[0]! * p[0] + m[1]! * p[1] + m[2]! * p[2] + m[3]!,
    m[4]! * p[0] + m[5]! * p[1] + m[6]! * p[2] + m[7]!,
    m[8]! * p[0] + m[9]! * p[1] + m[10]! * p[2] + m[11]!,
  ];
}

/** LPS ↔ RAS: negate the first two components (its own inverse). */
export function lpsToRas(p: Vec3): Vec3 {
  return [-p[0], -p[1], p[2]];
}

export function multiply3(a: Mat3, b: Mat3): Mat3 {
  const out = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[r * 3 + k]! * b[k * 3 + c]!;
      out[r * 3 + c] = s;
    }
  return out as Mat3;
}

export function transpose3(a: Mat3): Mat3 {
  return [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];
}

export function determinant3(a: Mat3): number {
  return (
    a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6])
  );
}

export function invert4(m: Mat4): Mat4 {
  const inv = new Array<number>(16);
  const a = m as number[];
  inv[0] = a[5]! * a[10]! * a[15]! - a[5]! * a[11]! * a[14]! - a[9]! * a[6]! * a[15]! + a[9]! * a[7]! * a[14]! + a[13]! * a[6]! * a[11]! - a[13]! * a[7]! * a[10]!;
  inv[4] = -a[4]! * a[10]! * a[15]! + a[4]! * a[11]! * a[14]! + a[8]! * a[6]! * a[15]! - a[8]! * a[7]! * a[14]! - a[12]! * a[6]! * a[11]! + a[12]! * a[7]! * a[10]!;
  inv[8] = a[4]! * a[9]! * a[15]! - a[4]! * a[11]! * a[13]! - a[8]! * a[5]! * a[15]! + a[8]! * a[7]! * a[13]! + a[12]! * a[5]! * a[11]! - a[12]! * a[7]! * a[9]!;
  inv[12] = -a[4]! * a[9]! * a[14]! + a[4]! * a[10]! * a[13]! + a[8]! * a[5]! * a[14]! - a[8]! * a[6]! * a[13]! - a[12]! * a[5]! * a[10]! + a[12]! * a[6]! * a[9]!;
  inv[1] = -a[1]! * a[10]! * a[15]! + a[1]! * a[11]! * a[14]! + a[9]! * a[2]! * a[15]! - a[9]! * a[3]! * a[14]! - a[13]! * a[2]! * a[11]! + a[13]! * a[3]! * a[10]!;
  inv[5] = a[0]! * a[10]! * a[15]! - a[0]! * a[11]! * a[14]! - a[8]! * a[2]! * a[15]! + a[8]! * a[3]! * a[14]! + a[12]! * a[2]! * a[11]! - a[12]! * a[3]! * a[10]!;
  inv[9] = -a[0]! * a[9]! * a[15]! + a[0]! * a[11]! * a[13]! + a[8]! * a[1]! * a[15]! - a[8]! * a[3]! * a[13]! - a[12]! * a[1]! * a[11]! + a[12]! * a[3]! * a[9]!;
  inv[13] = a[0]! * a[9]! * a[14]! - a[0]! * a[10]! * a[13]! - a[8]! * a[1]! * a[14]! + a[8]! * a[2]! * a[13]! + a[12]! * a[1]! * a[10]! - a[12]! * a[2]! * a[9]!;
  inv[2] = a[1]! * a[6]! * a[15]! - a[1]! * a[7]! * a[14]! - a[5]! * a[2]! * a[15]! + a[5]! * a[3]! * a[14]! + a[13]! * a[2]! * a[7]! - a[13]! * a[3]! * a[6]!;
  inv[6] = -a[0]! * a[6]! * a[15]! + a[0]! * a[7]! * a[14]! + a[4]! * a[2]! * a[15]! - a[4]! * a[3]! * a[14]! - a[12]! * a[2]! * a[7]! + a[12]! * a[3]! * a[6]!;
  inv[10] = a[0]! * a[5]! * a[15]! - a[0]! * a[7]! * a[13]! - a[4]! * a[1]! * a[15]! + a[4]! * a[3]! * a[13]! + a[12]! * a[1]! * a[7]! - a[12]! * a[3]! * a[5]!;
  inv[14] = -a[0]! * a[5]! * a[14]! + a[0]! * a[6]! * a[13]! + a[4]! * a[1]! * a[14]! - a[4]! * a[2]! * a[13]! - a[12]! * a[1]! * a[6]! + a[12]! * a[2]! * a[5]!;
  inv[3] = -a[1]! * a[6]! * a[11]! + a[1]! * a[7]! * a[10]! + a[5]! * a[2]! * a[11]! - a[5]! * a[3]! * a[10]! - a[9]! * a[2]! * a[7]! + a[9]! * a[3]! * a[6]!;
  inv[7] = a[0]! * a[6]! * a[11]! - a[0]! * a[7]! * a[10]! - a[4]! * a[2]! * a[11]! + a[4]! * a[3]! * a[10]! + a[8]! * a[2]! * a[7]! - a[8]! * a[3]! * a[6]!;
  inv[11] = -a[0]! * a[5]! * a[11]! + a[0]! * a[7]! * a[9]! + a[4]! * a[1]! * a[11]! - a[4]! * a[3]! * a[9]! - a[8]! * a[1]! * a[7]! + a[8]! * a[3]! * a[5]!;
  inv[15] = a[0]! * a[5]! * a[10]! - a[0]! * a[6]! * a[9]! - a[4]! * a[1]! * a[10]! + a[4]! * a[2]! * a[9]! + a[8]! * a[1]! * a[6]! - a[8]! * a[2]! * a[5]!;
  const det = a[0]! * inv[0]! + a[1]! * inv[4]! + a[2]! * inv[8]! + a[3]! * inv[12]!;
  if (det === 0 || !Number.isFinite(det)) throw new Error('Singular matrix');
  return inv.map((v) => v! / det);
}

/**
 * For each index axis (i, j, k), the LPS axis it is closest to (0=L/R, 1=P/A, 2=S/I) and the sign. Used to
 * pick axial/coronal/sagittal slicing axes for oblique data and to label orientations.
 */
export function dominantAxes(direction: Mat3): { lpsAxis: [number, number, number]; sign: [number, number, number] } {
  const lpsAxis: [number, number, number] = [0, 0, 0];
  const sign: [number, number, number] = [1, 1, 1];
  const used = new Set<number>();
  // Greedy by largest absolute component, so that each index axis gets a distinct LPS axis.
  const candidates: { c: number; r: number; v: number }[] = [];
  for (let c = 0; c < 3; c++) for (let r = 0; r < 3; r++) candidates.push({ c, r, v: Math.abs(direction[r * 3 + c]!) });
  candidates.sort((a, b) => b.v - a.v);
  const assigned = new Set<number>();
  for (const { c, r } of candidates) {
    if (assigned.has(c) || used.has(r)) continue;
    assigned.add(c);
    used.add(r);
    lpsAxis[c] = r;
    sign[c] = direction[r * 3 + c]! < 0 ? -1 : 1;
  }
  return { lpsAxis, sign };
}

/** Three-letter orientation code in ITK's convention for where each index axis points *from* (e.g. "RAI"). */
export function orientationCode(direction: Mat3): string {
  const { lpsAxis, sign } = dominantAxes(direction);
  // Axis points toward L/P/S when sign > 0; ITK names the axis by where it comes from: +L comes from R.
  const from = [
    ['R', 'L'],
    ['A', 'P'],
    ['I', 'S'],
  ];
  return lpsAxis.map((a, c) => from[a]![sign[c]! > 0 ? 0 : 1]).join('');
}
