/** Mesh metrics on hand-made meshes: a tetrahedron, an open one, a reversed one, two sharing a vertex or an edge. */
import { describe, expect, it } from 'vitest';
import { defectVertices, meshMetrics } from '../../../main/core/mesh/metrics';

// Unit right tetrahedron (0,0,0),(10,0,0),(0,10,0),(0,0,10): volume 1000/6 mm³, outward CCW.
const P = [0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10];
const T = [0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3];

describe('meshMetrics', () => {
  it('measures a closed tetrahedron', () => {
    const m = meshMetrics(P, Uint32Array.from(T));
    expect(m.volumeMl).toBeCloseTo(1000 / 6 / 1000, 12);
    expect(m.areaMm2).toBeCloseTo(150 + (Math.sqrt(3) / 4) * 200, 9);
    expect(m).toMatchObject({ closed: true, manifold: true, consistentlyOriented: true, eulerCharacteristic: 2, components: 1, triangleCount: 4, vertexCount: 4, edgeCount: 6 });
    expect(m.centroidMm.map((c) => +c.toFixed(9))).toEqual([2.5, 2.5, 2.5]);
    expect(m.boundsMm).toEqual([0, 0, 0, 10, 10, 10]);
  });
  it('flags an open mesh, inconsistent winding and a negative volume when reversed', () => {
    expect(meshMetrics(P, Uint32Array.from(T.slice(0, 9)))).toMatchObject({ closed: false, consistentlyOriented: false });
    const flipped = [...T];
    [flipped[1], flipped[2]] = [flipped[2]!, flipped[1]!];
    expect(meshMetrics(P, Uint32Array.from(flipped))).toMatchObject({ closed: true, consistentlyOriented: false });
    const reversed = T.map((_, i) => T[i - (i % 3) + (2 - (i % 3))]!);
    expect(meshMetrics(P, Uint32Array.from(reversed)).volumeMl).toBeLessThan(0);
  });
  it('flags two tetrahedra sharing only a vertex (non-manifold vertex) or an edge (non-manifold edge)', () => {
    // Second tetrahedron mirrored through the origin, sharing vertex 0.
    const P2 = [...P, -10, 0, 0, 0, -10, 0, 0, 0, -10];
    const T2 = [...T, 0, 4, 5, 0, 6, 4, 0, 5, 6, 4, 6, 5];
    const m = meshMetrics(P2, Uint32Array.from(T2));
    expect(m.closed).toBe(true);
    expect(m.manifold).toBe(false);
    expect(defectVertices(P2, Uint32Array.from(T2))).toEqual([0]);
    // Second tetrahedron sharing the edge 0–3 (vertices 0 and 3, plus two new ones below).
    const P3 = [...P, -10, 0, 0, 0, -10, 0];
    const T3 = [...T, 0, 4, 5, 0, 3, 4, 0, 5, 3, 3, 5, 4];
    const e = meshMetrics(P3, Uint32Array.from(T3));
    expect(e.manifold).toBe(false);
    expect(e.closed).toBe(false);
    expect(defectVertices(P3, Uint32Array.from(T3))).toContain(3);
  });
});
