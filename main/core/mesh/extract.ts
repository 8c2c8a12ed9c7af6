/**
 * Binary mask → closed, manifold, outward-wound triangle mesh in continuous index space (i, j, k; voxel centres at
 * integers), by Surface Nets on the voxel lattice.
 *
 * Why our own: vtk.js has no discrete flying edges, discrete marching cubes or surface nets (TOOLCHAIN-NOTES), and
 * vtkImageMarchingCubes on a 0/1 image makes non-manifold/ambiguous cases of its own.
 *
 * The method is VTK's vtkSurfaceNets3D (used by 3D Slicer ≥ 5.6) without its internal constrained smoothing: every
 * "cell" of the lattice of voxel centres (a 2×2×2 block of voxels, centred on a voxel corner) whose voxels are not
 * all inside or all outside gets a vertex at its centre, and every pair of face-adjacent voxels with one inside and
 * one outside gets a quad joining the four cells around their shared face. Before smoothing this is exactly the
 * boundary of the union of the voxel cubes, so it encloses exactly the voxel volume.
 *
 * Plain surface nets is not manifold where voxels touch only along an edge or at a corner. We make it manifold:
 *  - an edge of the lattice with four boundary faces around it (two inside voxels diagonal to each other) is split
 *    in two, each inside voxel keeping its own two faces (inside is 6-connected, outside 18/26-connected);
 *  - the vertex of a cell is then split into one copy per cycle of faces around it (a lookup table over the 256
 *    configurations of a cell, built once at load);
 *  - in the rare "ring around a lattice edge" case, where both ends of such a split edge are single vertices, the
 *    second copy of the edge gets a mid-point vertex so that no two triangles pairs share a vertex pair.
 * The result is a closed 2-manifold: every edge in exactly two triangles, one fan of triangles around every vertex.
 *
 * The mask is processed one layer of cells at a time (two layers of vertex ids in memory), so memory is the mask
 * plus the output mesh.
 */
import { throwIfCancelled } from '../../common/errors';

/** Triangle mesh in a growable, typed-array form. Positions are xyz triples (float64), indices CCW from outside. */
export interface RawMesh {
  positions: Float64Array;
  indices: Uint32Array;
}

// ---------------------------------------------------------------------------------------------------------------
// Cell configuration table
// ---------------------------------------------------------------------------------------------------------------

/** Bit of voxel (a, b, c) ∈ {0,1}³ within a cell's 2×2×2 block. */
const bit = (a: number, b: number, c: number): number => a + 2 * b + 4 * c;

/**
 * Slot (0…11) of the face inside a cell's block that is perpendicular to axis `ax` and contains block voxel p.
 * The two other coordinates of p (in ascending axis order) pick one of the four faces on that axis.
 */
function faceSlot(ax: number, p: readonly number[]): number {
  const o1 = ax === 0 ? 1 : 0;
  const o2 = ax === 2 ? 1 : 2;
  return ax * 4 + p[o1]! + 2 * p[o2]!;
}

/** For each config (256) and face slot (12): the vertex copy the face uses in that cell, or −1 (not a boundary face). */
const COPY_OF_FACE = new Int8Array(256 * 12).fill(-1);
/** Number of vertex copies of a cell for each config. */
const COPIES = new Uint8Array(256);

(function buildTables(): void {
  for (let cfg = 0; cfg < 256; cfg++) {
    const inside = (p: readonly number[]): boolean => ((cfg >> bit(p[0]!, p[1]!, p[2]!)) & 1) === 1;
    const boundary = new Array<boolean>(12).fill(false);
    for (let ax = 0; ax < 3; ax++)
      for (let u = 0; u < 2; u++)
        for (let v = 0; v < 2; v++) {
          const p0 = [0, 0, 0];
          const o1 = ax === 0 ? 1 : 0;
          const o2 = ax === 2 ? 1 : 2;
          p0[o1] = u;
          p0[o2] = v;
          const p1 = [...p0];
          p1[ax] = 1;
          boundary[ax * 4 + u + 2 * v] = inside(p0) !== inside(p1);
        }
    const parent = Array.from({ length: 12 }, (_, i) => i);
    const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
    const union = (x: number, y: number): void => void (parent[find(x)] = find(y));
    // Half-axes from the cell centre: axis h, side s. Around each, four voxels and four faces.
    for (let h = 0; h < 3; h++)
      for (let s = 0; s < 2; s++) {
        const others = [0, 1, 2].filter((x) => x !== h) as [number, number];
        const faces = new Set<number>();
        const voxels: number[][] = [];
        for (let u = 0; u < 2; u++)
          for (let v = 0; v < 2; v++) {
            const p = [0, 0, 0];
            p[h] = s;
            p[others[0]] = u;
            p[others[1]] = v;
            voxels.push(p);
            for (const ax of others) if (boundary[faceSlot(ax, p)]) faces.add(faceSlot(ax, p));
          }
        const list = [...faces];
        if (list.length === 2) union(list[0]!, list[1]!);
        else if (list.length === 4) {
          // Two inside voxels diagonal around this half-axis: each keeps its own two faces together.
          for (const p of voxels) if (inside(p)) union(faceSlot(others[0], p), faceSlot(others[1], p));
        }
      }
    const copyOfRoot = new Map<number, number>();
    for (let f = 0; f < 12; f++) {
      if (!boundary[f]) continue;
      const r = find(f);
      if (!copyOfRoot.has(r)) copyOfRoot.set(r, copyOfRoot.size);
      COPY_OF_FACE[cfg * 12 + f] = copyOfRoot.get(r)!;
    }
    COPIES[cfg] = copyOfRoot.size;
  }
})();

// ---------------------------------------------------------------------------------------------------------------
// Growable typed arrays
// ---------------------------------------------------------------------------------------------------------------

class GrowF64 {
  data: Float64Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Float64Array(Math.max(16, capacity));
  }
  reserve(extra: number): void {
    if (this.length + extra <= this.data.length) return;
    const next = new Float64Array(Math.max(this.data.length * 2, this.length + extra));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}

class GrowU32 {
  data: Uint32Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Uint32Array(Math.max(16, capacity));
  }
  reserve(extra: number): void {
    if (this.length + extra <= this.data.length) return;
    const next = new Uint32Array(Math.max(this.data.length * 2, this.length + extra));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------------------------

/**
 * A binary mask with a one-voxel margin of zeros on every side (so that segments touching the volume's border
 * still give closed surfaces). `mask[x + nx * (y + ny * z)]` is 1 inside, 0 outside; padded voxel (x, y, z) is
 * original voxel (x − 1 + offset[0], y − 1 + offset[1], z − 1 + offset[2]).
 */
export interface PaddedMask {
  mask: Uint8Array;
  /** Padded dimensions (each ≥ 3). */
  dims: [number, number, number];
  /** Original index of padded voxel (1, 1, 1). */
  offset: [number, number, number];
}

/**
 * Surface Nets over a padded mask. Returns the mesh in original continuous index coordinates, triangles wound
 * counter-clockwise seen from outside (right-handed index space). Empty mask → empty mesh.
 * Checks `signal` every few layers (throws CancelledSignal).
 */
export function surfaceNets(input: PaddedMask, signal?: AbortSignal): RawMesh {
  const { mask, dims, offset } = input;
  const [nx, ny, nz] = dims;
  const sx = 1;
  const sy = nx;
  const sz = nx * ny;
  const cx = nx - 1; // cells per row
  const cy = ny - 1;
  const layerCells = cx * cy;
  const cfgPrev = new Uint8Array(layerCells);
  let cfgCur = new Uint8Array(layerCells);
  let cfgLast = cfgPrev;
  let vidPrev = new Int32Array(layerCells);
  let vidCur = new Int32Array(layerCells);

  const pos = new GrowF64(1 << 16);
  const tri = new GrowU32(1 << 17);
  /** Padded index of the inside voxel owning each quad (two triangles per quad). */
  const owner = new GrowU32(1 << 15);
  let vertexCount = 0;

  const ox = offset[0] - 1 + 0.5;
  const oy = offset[1] - 1 + 0.5;
  const oz = offset[2] - 1 + 0.5;

  // Emit a quad (four vertex ids, CCW from outside) as two triangles.
  // The diagonal alternates in a checkerboard over the lattice (`flip` = parity of the face's voxel), so that the
  // uniform-Laplacian smoothing that follows has no preferred diagonal direction.
  const quad = (v0: number, v1: number, v2: number, v3: number, own: number, flip: number): void => {
    tri.reserve(6);
    const d = tri.data;
    let n = tri.length;
    if (flip) {
      d[n++] = v0;
      d[n++] = v1;
      d[n++] = v3;
      d[n++] = v1;
      d[n++] = v2;
      d[n++] = v3;
    } else {
      d[n++] = v0;
      d[n++] = v1;
      d[n++] = v2;
      d[n++] = v0;
      d[n++] = v2;
      d[n++] = v3;
    }
    tri.length = n;
    owner.reserve(1);
    owner.data[owner.length++] = own;
  };

  for (let kc = 0; kc < nz - 1; kc++) {
    if ((kc & 7) === 0) throwIfCancelled(signal);
    // --- configs and vertex ids of cell layer kc (block voxel slices kc, kc+1)
    const z0 = kc * sz;
    const z1 = z0 + sz;
    let any = false;
    for (let b = 0; b < cy; b++) {
      const r00 = z0 + b * sy;
      const r10 = r00 + sy;
      const r01 = z1 + b * sy;
      const r11 = r01 + sy;
      const row = b * cx;
      // column bits of x = 0: (b,c) = (0,0),(1,0),(0,1),(1,1) → bits 0,2,4,6 for a = 0
      let left = mask[r00]! | (mask[r10]! << 2) | (mask[r01]! << 4) | (mask[r11]! << 6);
      for (let a = 0; a < cx; a++) {
        const x1 = a + 1;
        const right = mask[r00 + x1]! | (mask[r10 + x1]! << 2) | (mask[r01 + x1]! << 4) | (mask[r11 + x1]! << 6);
        const cfg = left | (right << 1);
        cfgCur[row + a] = cfg;
        const copies = COPIES[cfg]!;
        if (copies > 0) {
          any = true;
          vidCur[row + a] = vertexCount;
          vertexCount += copies;
          pos.reserve(3 * copies);
          const p = pos.data;
          let n = pos.length;
          for (let c = 0; c < copies; c++) {
            p[n++] = a + ox;
            p[n++] = b + oy;
            p[n++] = kc + oz;
          }
          pos.length = n;
        }
        left = right;
      }
    }
    if (any || kc > 0) {
      // --- z-faces between voxel slices kc and kc+1: corners are the cells (i-1..i, j-1..j) of layer kc.
      if (any) {
        for (let j = 1; j < ny - 1; j++) {
          for (let i = 1; i < nx - 1; i++) {
            const v = i + j * sy + z0;
            const lo = mask[v]!;
            if (lo === mask[v + sz]) continue;
            // cells: (i-1, j-1), (i, j-1), (i, j), (i-1, j); face ⊥z, block coords (a, b) = (i - ci, j - cj)
            const c00 = i - 1 + (j - 1) * cx;
            const c10 = c00 + 1;
            const c01 = c00 + cx;
            const c11 = c01 + 1;
            const v00 = vidCur[c00]! + COPY_OF_FACE[cfgCur[c00]! * 12 + 8 + 1 + 2]!;
            const v10 = vidCur[c10]! + COPY_OF_FACE[cfgCur[c10]! * 12 + 8 + 0 + 2]!;
            const v11 = vidCur[c11]! + COPY_OF_FACE[cfgCur[c11]! * 12 + 8 + 0 + 0]!;
            const v01 = vidCur[c01]! + COPY_OF_FACE[cfgCur[c01]! * 12 + 8 + 1 + 0]!;
            // Normal +z when the inside voxel is below (slice kc): CCW (x-,y-),(x+,y-),(x+,y+),(x-,y+).
            if (lo) quad(v00, v10, v11, v01, v, (i + j + kc) & 1);
            else quad(v00, v01, v11, v10, v + sz, (i + j + kc) & 1);
          }
        }
      }
      // --- x- and y-faces in voxel slice kc: corners in cell layers kc-1 (prev) and kc (cur).
      if (kc > 0) {
        for (let j = 1; j < ny - 1; j++) {
          for (let i = 0; i < nx - 1; i++) {
            const v = i + j * sy + z0;
            const lo = mask[v]!;
            // x-face between (i,j,k) and (i+1,j,k): cells (i, j-1..j, k-1..k); block coords (b, c) = (j-cj, k-ck)
            if (lo !== mask[v + sx]) {
              const cm = i + (j - 1) * cx; // (y-)
              const cp = cm + cx; // (y+)
              // slot = 0*4 + b + 2c ; (y-,z-): cell (j-1,k-1) → b=1,c=1 ; (y+,z-): (j,k-1) → b=0,c=1 ; (y+,z+): b=0,c=0 ; (y-,z+): b=1,c=0
              const vmm = vidPrev[cm]! + COPY_OF_FACE[cfgLast[cm]! * 12 + 1 + 2]!;
              const vpm = vidPrev[cp]! + COPY_OF_FACE[cfgLast[cp]! * 12 + 0 + 2]!;
              const vpp = vidCur[cp]! + COPY_OF_FACE[cfgCur[cp]! * 12 + 0 + 0]!;
              const vmp = vidCur[cm]! + COPY_OF_FACE[cfgCur[cm]! * 12 + 1 + 0]!;
              // Normal +x (inside at i): CCW (y-,z-),(y+,z-),(y+,z+),(y-,z+)
              if (lo) quad(vmm, vpm, vpp, vmp, v, (i + j + kc) & 1);
              else quad(vmm, vmp, vpp, vpm, v + sx, (i + j + kc) & 1);
            }
          }
        }
        for (let j = 0; j < ny - 1; j++) {
          for (let i = 1; i < nx - 1; i++) {
            const v = i + j * sy + z0;
            const lo = mask[v]!;
            // y-face between (i,j,k) and (i,j+1,k): cells (i-1..i, j, k-1..k); block coords (a, c) = (i-ci, k-ck)
            if (lo !== mask[v + sy]) {
              const cm = i - 1 + j * cx; // (x-)
              const cp = cm + 1; // (x+)
              // slot = 4 + a + 2c ; (z-,x-): cell (i-1, k-1) → a=1,c=1 ; (z+,x-): a=1,c=0 ; (z+,x+): a=0,c=0 ; (z-,x+): a=0,c=1
              const vmm = vidPrev[cm]! + COPY_OF_FACE[cfgLast[cm]! * 12 + 4 + 1 + 2]!;
              const vpm = vidCur[cm]! + COPY_OF_FACE[cfgCur[cm]! * 12 + 4 + 1 + 0]!;
              const vpp = vidCur[cp]! + COPY_OF_FACE[cfgCur[cp]! * 12 + 4 + 0 + 0]!;
              const vmp = vidPrev[cp]! + COPY_OF_FACE[cfgLast[cp]! * 12 + 4 + 0 + 2]!;
              // Normal +y (inside at j): right-handed pair (z, x): CCW (z-,x-),(z+,x-),(z+,x+),(z-,x+)
              if (lo) quad(vmm, vpm, vpp, vmp, v, (i + j + kc) & 1);
              else quad(vmm, vmp, vpp, vpm, v + sy, (i + j + kc) & 1);
            }
          }
        }
      }
    }
    // rotate layers
    const tc = cfgLast;
    cfgLast = cfgCur;
    cfgCur = tc;
    const tv = vidPrev;
    vidPrev = vidCur;
    vidCur = tv;
  }

  const mesh: RawMesh = { positions: pos.data.subarray(0, pos.length), indices: tri.data.subarray(0, tri.length) };
  return splitDuplicateEdges(mesh, owner.data.subarray(0, owner.length));
}

/**
 * Resolve the "ring around a lattice edge" case: a directed edge used by two triangles (from two different inside
 * voxels whose faces meet at one vertex copy at both ends). The second voxel's pair of triangles along that edge
 * gets a new mid-point vertex, so every edge ends up in exactly two triangles.
 */
function splitDuplicateEdges(mesh: RawMesh, quadOwner: Uint32Array): RawMesh {
  const { indices } = mesh;
  const nv = mesh.positions.length / 3;
  const nt = indices.length / 3;
  // CSR of directed half-edges by origin vertex: (target, triangle).
  const start = new Uint32Array(nv + 1);
  for (let e = 0; e < indices.length; e++) start[indices[e]! + 1]!++;
  for (let v = 0; v < nv; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, nv);
  const heTarget = new Uint32Array(indices.length);
  const heTri = new Uint32Array(indices.length);
  for (let t = 0; t < nt; t++)
    for (let c = 0; c < 3; c++) {
      const u = indices[3 * t + c]!;
      const w = indices[3 * t + ((c + 1) % 3)]!;
      const slot = fill[u]!++;
      heTarget[slot] = w;
      heTri[slot] = t;
    }
  const fixes: { u: number; w: number; t: number }[] = [];
  for (let u = 0; u < nv; u++) {
    const s = start[u]!;
    const e = start[u + 1]!;
    for (let a = s; a < e; a++)
      for (let b = a + 1; b < e; b++)
        if (heTarget[a] === heTarget[b]) fixes.push({ u, w: heTarget[b]!, t: heTri[b]! });
  }
  if (fixes.length === 0) return mesh;

  const positions = new Float64Array(mesh.positions.length + 3 * fixes.length);
  positions.set(mesh.positions);
  const out = new Uint32Array(indices.length + 6 * fixes.length);
  out.set(indices);
  let nOut = indices.length;
  let nVert = nv;
  for (const { u, w, t } of fixes) {
    const own = quadOwner[t >> 1]!;
    // The partner: the triangle with directed edge w→u owned by the same voxel.
    let partner = -1;
    for (let a = start[w]!; a < start[w + 1]!; a++)
      if (heTarget[a] === u && quadOwner[heTri[a]! >> 1] === own) partner = heTri[a]!;
    if (partner < 0) continue; // cannot happen for surface-nets output; left for the metrics to report
    const m = nVert++;
    for (let c = 0; c < 3; c++) positions[3 * m + c] = 0.5 * (positions[3 * u + c]! + positions[3 * w + c]!);
    for (const [tt, from, to] of [
      [t, u, w],
      [partner, w, u],
    ] as const) {
      // Triangle (from, to, x) in rotation: replace by (from, m, x) and (m, to, x).
      const base = 3 * tt;
      let r = 0;
      while (r < 3 && (out[base + r] !== from || out[base + ((r + 1) % 3)] !== to)) r++;
      if (r === 3) continue;
      const x = out[base + ((r + 2) % 3)]!;
      out[base] = from;
      out[base + 1] = m;
      out[base + 2] = x;
      out[nOut++] = m;
      out[nOut++] = to;
      out[nOut++] = x;
    }
  }
  return { positions: positions.subarray(0, 3 * nVert), indices: out.subarray(0, nOut) };
}
