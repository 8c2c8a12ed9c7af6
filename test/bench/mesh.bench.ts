/**
 * Labelmap → smoothed, decimated STL (issue 6, DESIGN.md budget "seconds, not minutes"): a 512×512×300 labelmap
 * with 10 lumpy synthetic blobs (0.8×0.8×1.5 mm), every segment meshed with the default smoothing (0.5) and
 * decimation 0.5, written as binary STL. Reference in the same run: VTK (Python) — vtkDiscreteFlyingEdges3D per
 * label, and vtkSurfaceNets3D over all labels, each + vtkWindowedSincPolyDataFilter + vtkDecimatePro + binary STL
 * (test/reference/mesh/bench_reference.py). Python start-up and loading are not counted on either side.
 *
 * Needs a Python with vtk: DELINEATE_PYTHON, else /work/py/venv/bin/python, else python3. Without one the
 * reference is skipped with a message and only Delineate's figures are reported.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Labelmap } from '../../main/common/volume';
import { meshSegments, writeMeshFiles } from '../../main/core/mesh/index';
import type { Bench, BenchResult } from './index';

const here = dirname(fileURLToPath(import.meta.url));
const SIZE: [number, number, number] = [512, 512, 300];
const SPACING: [number, number, number] = [0.8, 0.8, 1.5];
const LABELS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** Ten lumpy ellipsoids (radii 25–70 voxels, low-frequency surface ripples), deterministic. */
function blobs(): Labelmap {
  const [nx, ny, nz] = SIZE;
  const data = new Uint8Array(nx * ny * nz);
  let seed = 6;
  const rand = (): number => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  for (const label of LABELS) {
    const r = [25 + 45 * rand(), 25 + 45 * rand(), (25 + 45 * rand()) / 1.8];
    const c = [80 + (nx - 160) * rand(), 80 + (ny - 160) * rand(), 40 + (nz - 80) * rand()];
    const f = [2 + 3 * rand(), 2 + 3 * rand(), 2 + 3 * rand()];
    const ph = [6 * rand(), 6 * rand(), 6 * rand()];
    for (let k = Math.max(0, Math.floor(c[2]! - 1.3 * r[2]!)); k < Math.min(nz, c[2]! + 1.3 * r[2]!); k++)
      for (let j = Math.max(0, Math.floor(c[1]! - 1.3 * r[1]!)); j < Math.min(ny, c[1]! + 1.3 * r[1]!); j++) {
        const base = nx * (j + ny * k);
        for (let i = Math.max(0, Math.floor(c[0]! - 1.3 * r[0]!)); i < Math.min(nx, c[0]! + 1.3 * r[0]!); i++) {
          const x = (i - c[0]!) / r[0]!, y = (j - c[1]!) / r[1]!, z = (k - c[2]!) / r[2]!;
          const d = Math.sqrt(x * x + y * y + z * z);
          const ripple = 0.12 * Math.sin(f[0]! * x + ph[0]!) * Math.sin(f[1]! * y + ph[1]!) + 0.08 * Math.sin(f[2]! * z + ph[2]!);
          if (d < 1 + ripple && data[base + i] === 0) data[base + i] = label;
        }
      }
  }
  return { size: SIZE, spacingMm: SPACING, originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dataType: 'uint8', data, segments: [] };
}

function findPython(): string | undefined {
  const candidates = [process.env.DELINEATE_PYTHON, '/work/py/venv/bin/python', resolve(here, '../../../py/venv/bin/python'), 'python3'].filter(Boolean) as string[];
  for (const py of candidates) {
    if (py.includes('/') && !existsSync(py)) continue;
    const r = spawnSync(py, ['-c', 'import vtk'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

const bench: Bench = async (log) => {
  const lm = blobs();
  const dir = await mkdtemp(join(tmpdir(), 'delineate-bench-mesh-'));
  try {
    log(`labelmap ${SIZE.join('×')}, ${LABELS.length} segments`);
    // Warm-up on a small crop so that wasm compilation and JIT are not part of the figure.
    await meshSegments({ ...lm, size: [64, 64, 64], data: new Uint8Array(64 ** 3).fill(1) }, { decimate: 0.5 });

    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const result = await meshSegments(lm, { smoothing: 0.5, decimate: 0.5 });
    const tMesh = performance.now();
    await writeMeshFiles(result, { outputDir: join(dir, 'delineate'), format: 'stl', sourceFile: 'bench.nii.gz', sourceGrid: lm });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const triangles = result.meshes.reduce((n, m) => n + m.metrics.triangleCount, 0);
    const closed = result.meshes.every((m) => m.metrics.closed && m.metrics.manifold);
    const worstVolume = Math.max(...result.meshes.map((m) => Math.abs(m.volumeRelativeDifference)));
    log(`delineate: ${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU (mesh ${((tMesh - t0) / 1000).toFixed(2)} s), ${triangles} triangles, all closed+manifold: ${closed}, worst |volume − voxel volume| ${(100 * worstVolume).toFixed(2)} %`);

    const out: BenchResult[] = [];
    const python = findPython();
    if (!python) {
      log('VTK reference skipped: no Python with the vtk package (set DELINEATE_PYTHON or pip install vtk into /work/py/venv)');
      out.push({ name: '512×512×300, 10 segments → smoothed, decimated STL', value: seconds, unit: 's', notes: `${triangles} triangles; VTK reference skipped (no Python vtk)` });
      return out;
    }
    const raw = join(dir, 'labels.raw');
    await writeFile(raw, lm.data);
    await writeFile(join(dir, '.keep'), '');
    const r = spawnSync(
      python,
      [join(here, '../reference/mesh/bench_reference.py'), '--raw', raw, '--dims', SIZE.join(','), '--spacing', SPACING.join(','), '--labels', LABELS.join(','), '--smoothing', '0.5', '--decimate', '0.5', '--out', dir],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    if (r.status !== 0) {
      log(`VTK reference failed (exit ${r.status}): ${r.stderr.split('\n').slice(-5).join(' ')}`);
      out.push({ name: '512×512×300, 10 segments → smoothed, decimated STL', value: seconds, unit: 's', notes: 'VTK reference failed' });
      return out;
    }
    const ref = JSON.parse(r.stdout.trim().split('\n').pop()!) as { vtk: string; threads: number; flying_edges: { seconds: number; cpuSeconds: number; triangles: number }; surface_nets: { seconds: number; cpuSeconds: number; triangles: number } };
    log(
      `VTK ${ref.vtk} (${ref.threads} threads): flying edges ${ref.flying_edges.seconds.toFixed(2)} s wall, ${ref.flying_edges.cpuSeconds.toFixed(2)} s CPU (${ref.flying_edges.triangles} triangles); ` +
        `surface nets ${ref.surface_nets.seconds.toFixed(2)} s wall, ${ref.surface_nets.cpuSeconds.toFixed(2)} s CPU (${ref.surface_nets.triangles} triangles)`,
    );
    out.push({
      name: '512×512×300, 10 segments → smoothed, decimated STL (vs discrete flying edges)',
      value: seconds,
      unit: 's',
      reference: { name: `VTK ${ref.vtk} flying edges + windowed sinc + DecimatePro`, value: ref.flying_edges.seconds },
      notes: `${triangles} vs ${ref.flying_edges.triangles} triangles; CPU ${cpuSeconds.toFixed(2)} s vs ${ref.flying_edges.cpuSeconds.toFixed(2)} s; Delineate single-threaded, VTK ${ref.threads} threads`,
    });
    out.push({
      name: '512×512×300, 10 segments → smoothed, decimated STL (vs surface nets)',
      value: seconds,
      unit: 's',
      reference: { name: `VTK ${ref.vtk} surface nets + windowed sinc + DecimatePro`, value: ref.surface_nets.seconds },
      notes: `${triangles} vs ${ref.surface_nets.triangles} triangles; CPU ${cpuSeconds.toFixed(2)} s vs ${ref.surface_nets.cpuSeconds.toFixed(2)} s`,
    });
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

export default bench;
