/**
 * Topology-preserving decimation to a target ratio.
 *
 * We use meshoptimizer's simplifier (quadric-error edge collapse, wasm, MIT, fast: ≈1 s for 700k triangles here)
 * rather than writing our own, but it does not test the link condition: on the cranium bone it folded 141 edges
 * into non-manifold ones (4 or 6 triangles per edge) where thin plates and tiny closed islands collapse. So the
 * result is checked ({@link defectVertices}), and where it is not a closed 2-manifold the simplification is run
 * again from the original mesh with the vertices around each defect locked (a ring that grows on each retry).
 * Two or three rounds give a closed manifold on real data; if they do not, the undecimated mesh is returned and the
 * caller reports it. The error bound keeps every vertex within `maxErrorMm` of the surface, so a thin part may stop
 * short of the requested ratio rather than collapse; callers report the achieved triangle count.
 */
import { MeshoptSimplifier } from 'meshoptimizer';
import { throwIfCancelled } from '../../common/errors';
import { defectVertices } from './metrics';
import { vertexAdjacency } from './smooth';

export interface DecimationResult {
  positions: Float32Array;
  indices: Uint32Array;
  /** Simplification rounds run (1 when the first result was already closed and manifold). */
  rounds: number;
  /** Vertices locked to keep the mesh manifold. */
  lockedVertices: number;
  /** False when no round gave a closed manifold and the input mesh was returned unchanged. */
  decimated: boolean;
}

const MAX_ROUNDS = 6;

/**
 * Remove `ratio` (0…1) of the triangles of a closed manifold mesh (positions xyz float32, mm), keeping the surface
 * within `maxErrorMm` and the mesh closed and manifold. Returns a compacted mesh (unused vertices dropped).
 */
export async function decimateMesh(positions: Float32Array, indices: Uint32Array, ratio: number, maxErrorMm: number, signal?: AbortSignal): Promise<DecimationResult> {
  await MeshoptSimplifier.ready;
  const nv = positions.length / 3;
  const target = Math.max(3, 3 * Math.floor((indices.length / 3) * (1 - ratio)));
  let [simplified] = MeshoptSimplifier.simplify(indices, positions, 3, target, maxErrorMm, ['ErrorAbsolute']);
  let defects = defectVertices(positions, simplified);
  if (defects.length === 0) return { ...compact(positions, simplified), rounds: 1, lockedVertices: 0, decimated: true };

  const lock = new Uint8Array(nv);
  const { start, nbr } = vertexAdjacency(indices, nv);
  const noAttributes = new Float32Array(nv);
  let locked = 0;
  for (let round = 2; round <= MAX_ROUNDS; round++) {
    throwIfCancelled(signal);
    // Lock each defect vertex and its (round)-ring in the original mesh.
    let front: number[] = [];
    for (const v of defects)
      if (!lock[v]) {
        lock[v] = 1;
        locked++;
        front.push(v);
      }
    for (let ring = 0; ring < round; ring++) {
      const next: number[] = [];
      for (const v of front)
        for (let a = start[v]!; a < start[v + 1]!; a++) {
          const w = nbr[a]!;
          if (!lock[w]) {
            lock[w] = 1;
            locked++;
            next.push(w);
          }
        }
      front = next;
    }
    [simplified] = MeshoptSimplifier.simplifyWithAttributes(indices, positions, 3, noAttributes, 1, [0], lock, target, maxErrorMm, ['ErrorAbsolute']);
    defects = defectVertices(positions, simplified);
    if (defects.length === 0) return { ...compact(positions, simplified), rounds: round, lockedVertices: locked, decimated: true };
  }
  return { positions, indices, rounds: MAX_ROUNDS, lockedVertices: locked, decimated: false };
}

/** Drop vertices no triangle uses and renumber. */
export function compact(positions: Float32Array, indices: Uint32Array): { positions: Float32Array; indices: Uint32Array } {
  const nv = positions.length / 3;
  const remap = new Int32Array(nv).fill(-1);
  let n = 0;
  const out = new Uint32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (remap[v] === -1) remap[v] = n++;
    out[i] = remap[v]!;
  }
  const p = new Float32Array(3 * n);
  for (let v = 0; v < nv; v++) {
    const r = remap[v]!;
    if (r >= 0) {
      p[3 * r] = positions[3 * v]!;
      p[3 * r + 1] = positions[3 * v + 1]!;
      p[3 * r + 2] = positions[3 * v + 2]!;
    }
  }
  return { positions: p, indices: out };
}
