/**
 * Mesh quality figures: enclosed volume (divergence theorem), area, closedness, orientation consistency,
 * edge- and vertex-manifoldness, Euler characteristic, components, bounds and centroid. All over typed arrays.
 */
import type { MeshMetrics } from '../../common/mesh';

/**
 * Metrics of a triangle mesh. `positions` are xyz triples in mm, `indices` triangles (CCW from outside for a
 * positive volume). Volume is reported in mL (mm³ / 1000).
 */
export function meshMetrics(positions: ArrayLike<number>, indices: Uint32Array): MeshMetrics {
  return analyse(positions, indices, undefined);
}

/**
 * Vertices where the mesh is not a closed 2-manifold: ends of edges not shared by exactly two triangles, and
 * vertices whose triangles form more than one fan. Empty for a closed manifold mesh.
 */
export function defectVertices(positions: ArrayLike<number>, indices: Uint32Array): number[] {
  const out: number[] = [];
  analyse(positions, indices, out);
  return [...new Set(out)];
}

function analyse(positions: ArrayLike<number>, indices: Uint32Array, defects: number[] | undefined): MeshMetrics {
  const nv = positions.length / 3;
  const nt = indices.length / 3;
  let vol6 = 0;
  let area2 = 0;
  let cxA = 0, cyA = 0, czA = 0;
  // Solid centroid: Σ vol(tetra O,a,b,c) · (a+b+c)/4 over Σ vol.
  let cxV = 0, cyV = 0, czV = 0;
  for (let t = 0; t < nt; t++) {
    const a = 3 * indices[3 * t]!, b = 3 * indices[3 * t + 1]!, c = 3 * indices[3 * t + 2]!;
    const ax = positions[a]!, ay = positions[a + 1]!, az = positions[a + 2]!;
    const bx = positions[b]!, by = positions[b + 1]!, bz = positions[b + 2]!;
    const qx = positions[c]!, qy = positions[c + 1]!, qz = positions[c + 2]!;
    // a · (b × c)
    const v6 = ax * (by * qz - bz * qy) - ay * (bx * qz - bz * qx) + az * (bx * qy - by * qx);
    vol6 += v6;
    cxV += v6 * (ax + bx + qx);
    cyV += v6 * (ay + by + qy);
    czV += v6 * (az + bz + qz);
    const ux = bx - ax, uy = by - ay, uz = bz - az;
    const vx = qx - ax, vy = qy - ay, vz = qz - az;
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    const ar = Math.sqrt(nx * nx + ny * ny + nz * nz);
    area2 += ar;
    cxA += (ar * (ax + bx + qx)) / 3;
    cyA += (ar * (ay + by + qy)) / 3;
    czA += (ar * (az + bz + qz)) / 3;
  }

  // Half-edges grouped by their lower-numbered vertex: (other vertex, direction, triangle).
  const used = new Uint8Array(nv);
  for (let e = 0; e < indices.length; e++) used[indices[e]!] = 1;
  const start = new Uint32Array(nv + 1);
  for (let t = 0; t < nt; t++)
    for (let c = 0; c < 3; c++) {
      const u = indices[3 * t + c]!, w = indices[3 * t + ((c + 1) % 3)]!;
      start[Math.min(u, w) + 1]!++;
    }
  for (let v = 0; v < nv; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, nv);
  const other = new Uint32Array(indices.length);
  const forward = new Uint8Array(indices.length);
  const heTri = new Uint32Array(indices.length);
  for (let t = 0; t < nt; t++)
    for (let c = 0; c < 3; c++) {
      const u = indices[3 * t + c]!, w = indices[3 * t + ((c + 1) % 3)]!;
      const lo = Math.min(u, w);
      const s = fill[lo]!++;
      other[s] = u === lo ? w : u;
      forward[s] = u === lo ? 1 : 0;
      heTri[s] = t;
    }

  // Union-find over triangles (components) and over triangle corners (vertex fans).
  const triParent = new Uint32Array(nt);
  for (let t = 0; t < nt; t++) triParent[t] = t;
  const findT = (x: number): number => {
    while (triParent[x] !== x) {
      triParent[x] = triParent[triParent[x]!]!;
      x = triParent[x]!;
    }
    return x;
  };
  const cornerParent = new Uint32Array(indices.length);
  for (let i = 0; i < indices.length; i++) cornerParent[i] = i;
  const findC = (x: number): number => {
    while (cornerParent[x] !== x) {
      cornerParent[x] = cornerParent[cornerParent[x]!]!;
      x = cornerParent[x]!;
    }
    return x;
  };
  const cornerOf = (t: number, v: number): number => {
    const b = 3 * t;
    return indices[b] === v ? b : indices[b + 1] === v ? b + 1 : b + 2;
  };

  let edgeCount = 0;
  let closed = true;
  let oriented = true;
  let edgeManifold = true;
  const seen = new Uint8Array(indices.length);
  for (let lo = 0; lo < nv; lo++) {
    const s = start[lo]!, e = start[lo + 1]!;
    for (let a = s; a < e; a++) {
      if (seen[a]) continue;
      const hi = other[a]!;
      let n = 0, nf = 0;
      let firstTri = -1;
      let tris0 = -1, tris1 = -1;
      for (let b = a; b < e; b++) {
        if (seen[b] || other[b] !== hi) continue;
        seen[b] = 1;
        n++;
        if (forward[b]) nf++;
        if (firstTri < 0) firstTri = heTri[b]!;
        else {
          const ra = findT(firstTri), rb = findT(heTri[b]!);
          if (ra !== rb) triParent[ra] = rb;
        }
        if (tris0 < 0) tris0 = heTri[b]!;
        else if (tris1 < 0) tris1 = heTri[b]!;
      }
      edgeCount++;
      if (n !== 2) {
        closed = false;
        defects?.push(lo, hi);
      }
      if (n > 2) edgeManifold = false;
      if (n !== 2 || nf !== 1) oriented = false;
      if (n === 2) {
        // Glue the corners of both triangles at both ends of the edge.
        let ca = findC(cornerOf(tris0, lo)), cb = findC(cornerOf(tris1, lo));
        if (ca !== cb) cornerParent[ca] = cb;
        ca = findC(cornerOf(tris0, hi));
        cb = findC(cornerOf(tris1, hi));
        if (ca !== cb) cornerParent[ca] = cb;
      }
    }
  }
  // Vertex-manifold: all corners at a vertex glued into one fan.
  let vertexManifold = true;
  const fanRoot = new Int32Array(nv).fill(-1);
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    const r = findC(i);
    if (fanRoot[v] === -1) fanRoot[v] = r;
    else if (fanRoot[v] !== r) {
      vertexManifold = false;
      if (!defects) break;
      defects.push(v);
    }
  }
  let components = 0;
  for (let t = 0; t < nt; t++) if (findT(t) === t) components++;
  let usedCount = 0;
  let minX = Infinity, minY = Infinity, minZ = Infinity, maxX = -Infinity, maxY = -Infinity, maxZ = -Infinity;
  for (let v = 0; v < nv; v++) {
    if (!used[v]) continue;
    usedCount++;
    const x = positions[3 * v]!, y = positions[3 * v + 1]!, z = positions[3 * v + 2]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
    if (z < minZ) minZ = z;
    if (z > maxZ) maxZ = z;
  }
  const area = area2 / 2;
  return {
    volumeMl: vol6 / 6 / 1000,
    areaMm2: area,
    vertexCount: usedCount,
    triangleCount: nt,
    edgeCount,
    closed: nt > 0 && closed,
    consistentlyOriented: nt > 0 && oriented,
    manifold: nt > 0 && edgeManifold && vertexManifold,
    eulerCharacteristic: usedCount - edgeCount + nt,
    components,
    boundsMm: nt > 0 ? [minX, minY, minZ, maxX, maxY, maxZ] : [0, 0, 0, 0, 0, 0],
    centroidMm: Math.abs(vol6) > 1e-12 ? [cxV / (4 * vol6), cyV / (4 * vol6), czV / (4 * vol6)] : [0, 0, 0],
    surfaceCentroidMm: area2 > 0 ? [cxA / area2, cyA / area2, czA / area2] : [0, 0, 0],
  };
}

/** Area-weighted unit vertex normals (xyz triples) of a triangle mesh; outward for CCW-from-outside triangles. */
export function vertexNormals(positions: ArrayLike<number>, indices: Uint32Array): Float32Array {
  const acc = new Float64Array(positions.length);
  for (let t = 0; t < indices.length; t += 3) {
    const a = 3 * indices[t]!, b = 3 * indices[t + 1]!, c = 3 * indices[t + 2]!;
    const ux = positions[b]! - positions[a]!, uy = positions[b + 1]! - positions[a + 1]!, uz = positions[b + 2]! - positions[a + 2]!;
    const vx = positions[c]! - positions[a]!, vy = positions[c + 1]! - positions[a + 1]!, vz = positions[c + 2]! - positions[a + 2]!;
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    acc[a] = acc[a]! + nx;
    acc[a + 1] = acc[a + 1]! + ny;
    acc[a + 2] = acc[a + 2]! + nz;
    acc[b] = acc[b]! + nx;
    acc[b + 1] = acc[b + 1]! + ny;
    acc[b + 2] = acc[b + 2]! + nz;
    acc[c] = acc[c]! + nx;
    acc[c + 1] = acc[c + 1]! + ny;
    acc[c + 2] = acc[c + 2]! + nz;
  }
  const out = new Float32Array(positions.length);
  for (let i = 0; i < positions.length; i += 3) {
    const l = Math.hypot(acc[i]!, acc[i + 1]!, acc[i + 2]!);
    if (l > 0) {
      out[i] = acc[i]! / l;
      out[i + 1] = acc[i + 1]! / l;
      out[i + 2] = acc[i + 2]! / l;
    }
  }
  return out;
}
