/**
 * Surface Nets extraction: closed, manifold, outward and exactly the voxel volume before smoothing — for a single
 * voxel, every 2×2×2 configuration, random masks full of diagonal contacts, the "ring around a lattice edge" case
 * and masks touching the border.
 */
import { describe, expect, it } from 'vitest';
import { surfaceNets, type PaddedMask } from '../../../main/core/mesh/extract';
import { meshMetrics } from '../../../main/core/mesh/metrics';

/** Pad a dense mask (nx·ny·nz, i fastest) by one voxel of zeros. */
function pad(mask: Uint8Array, nx: number, ny: number, nz: number): PaddedMask {
  const dx = nx + 2, dy = ny + 2, dz = nz + 2;
  const out = new Uint8Array(dx * dy * dz);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) out[i + 1 + dx * (j + 1 + dy * (k + 1))] = mask[i + nx * (j + ny * k)]!;
  return { mask: out, dims: [dx, dy, dz], offset: [0, 0, 0] };
}

function check(mask: Uint8Array, nx: number, ny: number, nz: number): ReturnType<typeof meshMetrics> {
  const mesh = surfaceNets(pad(mask, nx, ny, nz));
  const m = meshMetrics(mesh.positions, mesh.indices);
  const count = mask.reduce((a, b) => a + b, 0);
  // Unit voxels: volume in mm³ = voxel count; meshMetrics reports mL.
  expect(m.volumeMl * 1000).toBeCloseTo(count, 9);
  expect(m.closed).toBe(true);
  expect(m.consistentlyOriented).toBe(true);
  expect(m.manifold).toBe(true);
  return m;
}

describe('surfaceNets', () => {
  it('turns one voxel into a closed cube of 12 triangles around the voxel centre', () => {
    const mesh = surfaceNets(pad(Uint8Array.of(1), 1, 1, 1));
    const m = meshMetrics(mesh.positions, mesh.indices);
    expect(m.triangleCount).toBe(12);
    expect(m.vertexCount).toBe(8);
    expect(m.eulerCharacteristic).toBe(2);
    expect(m.volumeMl * 1000).toBeCloseTo(1, 12);
    expect(m.areaMm2).toBeCloseTo(6, 12);
    expect(m.boundsMm).toEqual([-0.5, -0.5, -0.5, 0.5, 0.5, 0.5]);
    expect(m.closed && m.manifold && m.consistentlyOriented).toBe(true);
  });

  it('maps positions to original index space through the padding offset', () => {
    const mesh = surfaceNets({ ...pad(Uint8Array.of(1), 1, 1, 1), offset: [10, 20, 30] });
    expect(meshMetrics(mesh.positions, mesh.indices).boundsMm).toEqual([9.5, 19.5, 29.5, 10.5, 20.5, 30.5]);
  });

  it('is closed, manifold and exact for all 256 configurations of a 2×2×2 block', () => {
    for (let cfg = 1; cfg < 256; cfg++) {
      const mask = new Uint8Array(8);
      for (let b = 0; b < 8; b++) mask[b] = (cfg >> b) & 1;
      const m = check(mask, 2, 2, 2);
      // Parts touching only along an edge or at a corner stay separate surfaces (inside is 6-connected).
      expect(m.components).toBeGreaterThanOrEqual(1);
    }
  });

  it('keeps diagonally touching voxels as two separate closed cubes', () => {
    // (0,0,0) and (1,1,1): corner contact only.
    const corner = new Uint8Array(8);
    corner[0] = 1;
    corner[7] = 1;
    const m = check(corner, 2, 2, 2);
    expect(m.components).toBe(2);
    expect(m.eulerCharacteristic).toBe(4);
    // (0,0,0) and (1,1,0): edge contact only.
    const edge = new Uint8Array(8);
    edge[0] = 1;
    edge[3] = 1;
    const e = check(edge, 2, 2, 2);
    expect(e.components).toBe(2);
  });

  it('handles the ring around a lattice edge (a torus through a pinch edge) without a doubled edge', () => {
    // Voxels A=(0,0,1) and B=(1,1,1) touch along the z-edge at x=y=0.5 in layer 1; they are joined below
    // (layer 0) and above (layer 2) through L-shaped paths, so both end cells of that edge see A and B connected.
    const nx = 2, ny = 2, nz = 3;
    const mask = new Uint8Array(nx * ny * nz);
    const set = (i: number, j: number, k: number): void => void (mask[i + nx * (j + ny * k)] = 1);
    set(0, 0, 1);
    set(1, 1, 1);
    for (const k of [0, 2]) {
      set(0, 0, k);
      set(1, 0, k);
      set(1, 1, k);
    }
    const m = check(mask, nx, ny, nz);
    expect(m.components).toBe(1);
    // One handle: χ = 0.
    expect(m.eulerCharacteristic).toBe(0);
  });

  it('is closed, manifold and exact on random masks full of edge and corner contacts', () => {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 300; trial++) {
      const n = 3 + (trial % 4);
      const mask = new Uint8Array(n * n * n);
      const p = 0.3 + 0.4 * rand();
      for (let i = 0; i < mask.length; i++) mask[i] = rand() < p ? 1 : 0;
      if (mask.every((v) => v === 0)) mask[0] = 1;
      check(mask, n, n, n);
    }
  });

  it('closes a mask that fills its whole volume (touching every border)', () => {
    const m = check(new Uint8Array(4 * 5 * 6).fill(1), 4, 5, 6);
    expect(m.components).toBe(1);
    expect(m.eulerCharacteristic).toBe(2);
    expect(m.boundsMm).toEqual([-0.5, -0.5, -0.5, 3.5, 4.5, 5.5]);
  });

  it('gives an empty mesh for an empty mask', () => {
    const mesh = surfaceNets(pad(new Uint8Array(8), 2, 2, 2));
    expect(mesh.indices.length).toBe(0);
    expect(mesh.positions.length).toBe(0);
  });
});
