/**
 * Test helper: exact distance from points to a triangle mesh through a uniform grid of triangle buckets.
 * Used to compare Delineate's meshes with reference surfaces and with voxel centres.
 */

/** Closest-point distance from p to triangle abc (Ericson, Real-Time Collision Detection, 5.1.5). */
export function pointTriangleDistance(p: ArrayLike<number>, pos: ArrayLike<number>, a: number, b: number, c: number): number {
  const ax = pos[a]!, ay = pos[a + 1]!, az = pos[a + 2]!;
  const abx = pos[b]! - ax, aby = pos[b + 1]! - ay, abz = pos[b + 2]! - az;
  const acx = pos[c]! - ax, acy = pos[c + 1]! - ay, acz = pos[c + 2]! - az;
  const apx = p[0]! - ax, apy = p[1]! - ay, apz = p[2]! - az;
  const d1 = abx * apx + aby * apy + abz * apz;
  const d2 = acx * apx + acy * apy + acz * apz;
  const dist = (x: number, y: number, z: number): number => Math.hypot(p[0]! - x, p[1]! - y, p[2]! - z);
  if (d1 <= 0 && d2 <= 0) return dist(ax, ay, az);
  const bpx = p[0]! - pos[b]!, bpy = p[1]! - pos[b + 1]!, bpz = p[2]! - pos[b + 2]!;
  const d3 = abx * bpx + aby * bpy + abz * bpz;
  const d4 = acx * bpx + acy * bpy + acz * bpz;
  if (d3 >= 0 && d4 <= d3) return dist(pos[b]!, pos[b + 1]!, pos[b + 2]!);
  const vc = d1 * d4 - d3 * d2;
  if (vc <= 0 && d1 >= 0 && d3 <= 0) {
    const v = d1 / (d1 - d3);
    return dist(ax + v * abx, ay + v * aby, az + v * abz);
  }
  const cpx = p[0]! - pos[c]!, cpy = p[1]! - pos[c + 1]!, cpz = p[2]! - pos[c + 2]!;
  const d5 = abx * cpx + aby * cpy + abz * cpz;
  const d6 = acx * cpx + acy * cpy + acz * cpz;
  if (d6 >= 0 && d5 <= d6) return dist(pos[c]!, pos[c + 1]!, pos[c + 2]!);
  const vb = d5 * d2 - d1 * d6;
  if (vb <= 0 && d2 >= 0 && d6 <= 0) {
    const w = d2 / (d2 - d6);
    return dist(ax + w * acx, ay + w * acy, az + w * acz);
  }
  const va = d3 * d6 - d5 * d4;
  if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) {
    const w = (d4 - d3) / (d4 - d3 + (d5 - d6));
    const bx = pos[b]!, by = pos[b + 1]!, bz = pos[b + 2]!;
    return dist(bx + w * (pos[c]! - bx), by + w * (pos[c + 1]! - by), bz + w * (pos[c + 2]! - bz));
  }
  const denom = 1 / (va + vb + vc);
  const v = vb * denom, w = vc * denom;
  return dist(ax + abx * v + acx * w, ay + aby * v + acy * w, az + abz * v + acz * w);
}

/** Distances from each point (xyz triples) to the nearest point of the mesh, searching up to `maxMm` away (Infinity beyond). */
export function distancesToMesh(points: ArrayLike<number>, positions: ArrayLike<number>, indices: Uint32Array, cellMm: number, maxMm: number): Float64Array {
  let min = [Infinity, Infinity, Infinity];
  for (let i = 0; i < positions.length; i += 3) min = [Math.min(min[0]!, positions[i]!), Math.min(min[1]!, positions[i + 1]!), Math.min(min[2]!, positions[i + 2]!)];
  const key = (x: number, y: number, z: number): number => x + 4096 * (y + 4096 * z);
  const cellOf = (v: number, a: number): number => Math.floor((v - min[a]!) / cellMm);
  const buckets = new Map<number, number[]>();
  for (let t = 0; t < indices.length; t += 3) {
    const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    for (let c = 0; c < 3; c++)
      for (let a = 0; a < 3; a++) {
        const v = positions[3 * indices[t + c]! + a]!;
        lo[a] = Math.min(lo[a]!, v);
        hi[a] = Math.max(hi[a]!, v);
      }
    for (let z = cellOf(lo[2]!, 2); z <= cellOf(hi[2]!, 2); z++)
      for (let y = cellOf(lo[1]!, 1); y <= cellOf(hi[1]!, 1); y++)
        for (let x = cellOf(lo[0]!, 0); x <= cellOf(hi[0]!, 0); x++) {
          const k = key(x, y, z);
          let list = buckets.get(k);
          if (!list) buckets.set(k, (list = []));
          list.push(t);
        }
  }
  const reach = Math.ceil(maxMm / cellMm);
  const out = new Float64Array(points.length / 3);
  const p = [0, 0, 0];
  for (let i = 0; i < out.length; i++) {
    p[0] = points[3 * i]!;
    p[1] = points[3 * i + 1]!;
    p[2] = points[3 * i + 2]!;
    const cx = cellOf(p[0]!, 0), cy = cellOf(p[1]!, 1), cz = cellOf(p[2]!, 2);
    let best = Infinity;
    for (let z = cz - reach; z <= cz + reach; z++)
      for (let y = cy - reach; y <= cy + reach; y++)
        for (let x = cx - reach; x <= cx + reach; x++) {
          if (x < 0 || y < 0 || z < 0) continue;
          const list = buckets.get(key(x, y, z));
          if (!list) continue;
          for (const t of list) best = Math.min(best, pointTriangleDistance(p, positions, 3 * indices[t]!, 3 * indices[t + 1]!, 3 * indices[t + 2]!));
        }
    out[i] = best <= maxMm ? best : Infinity;
  }
  return out;
}

export function summary(d: Float64Array): { meanMm: number; p95Mm: number; maxMm: number } {
  const s = Float64Array.from(d).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return { meanMm: sum / s.length, p95Mm: s[Math.floor(0.95 * (s.length - 1))]!, maxMm: s[s.length - 1]! };
}
