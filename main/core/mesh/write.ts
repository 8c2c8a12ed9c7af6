/**
 * Mesh files and the sidecar JSON.
 *
 * Encoders: binary STL (our own: itk-wasm's mesh-io writes ASCII even when asked for binary, TOOLCHAIN-NOTES),
 * ASCII STL, Wavefront OBJ (with vertex normals), PLY (binary little-endian or ASCII, with normals and the segment
 * colour per vertex). All coordinates are float32 mm in the mesh's space; triangles CCW from outside.
 *
 * {@link writeMeshFiles} writes one file per segment (or one merged file) plus the sidecar, atomically as a set:
 * everything goes to hidden temporary files in the output folder first and is renamed only when all were written,
 * so a failure leaves no partial file behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { DelineateError } from '../../common/errors';
import type { MeshFormat, MeshSegmentsResult, SegmentMesh } from '../../common/mesh';
import type { Grid } from '../../common/volume';

/** What a file holds: one or more segment meshes. */
type Part = Pick<SegmentMesh, 'positions' | 'normals' | 'indices' | 'segment'>;

/** Binary STL: 80-byte header, uint32 triangle count, 50 bytes per triangle (facet normal, 3 vertices, 0). */
export function encodeStlBinary(parts: Part[], header: string): Uint8Array {
  const nt = parts.reduce((n, p) => n + p.indices.length / 3, 0);
  const buf = new ArrayBuffer(84 + 50 * nt);
  const bytes = new Uint8Array(buf);
  const head = new TextEncoder().encode(header.replace(/^solid/i, 'SOLID').slice(0, 80)); // "solid" would make readers guess ASCII
  bytes.set(head.subarray(0, 80));
  const dv = new DataView(buf);
  dv.setUint32(80, nt, true);
  let o = 84;
  for (const { positions: p, indices: idx } of parts) {
    for (let t = 0; t < idx.length; t += 3) {
      const a = 3 * idx[t]!, b = 3 * idx[t + 1]!, c = 3 * idx[t + 2]!;
      const [nx, ny, nz] = facetNormal(p, a, b, c);
      dv.setFloat32(o, nx, true);
      dv.setFloat32(o + 4, ny, true);
      dv.setFloat32(o + 8, nz, true);
      dv.setFloat32(o + 12, p[a]!, true);
      dv.setFloat32(o + 16, p[a + 1]!, true);
      dv.setFloat32(o + 20, p[a + 2]!, true);
      dv.setFloat32(o + 24, p[b]!, true);
      dv.setFloat32(o + 28, p[b + 1]!, true);
      dv.setFloat32(o + 32, p[b + 2]!, true);
      dv.setFloat32(o + 36, p[c]!, true);
      dv.setFloat32(o + 40, p[c + 1]!, true);
      dv.setFloat32(o + 44, p[c + 2]!, true);
      dv.setUint16(o + 48, 0, true);
      o += 50;
    }
  }
  return bytes;
}

function facetNormal(p: Float32Array, a: number, b: number, c: number): [number, number, number] {
  const ux = p[b]! - p[a]!, uy = p[b + 1]! - p[a + 1]!, uz = p[b + 2]! - p[a + 2]!;
  const vx = p[c]! - p[a]!, vy = p[c + 1]! - p[a + 1]!, vz = p[c + 2]! - p[a + 2]!;
  const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
  const l = Math.hypot(nx, ny, nz);
  return l > 0 ? [nx / l, ny / l, nz / l] : [0, 0, 0];
}

/** Collects text in chunks so that multi-million-line files do not build one giant string. */
class TextSink {
  private chunks: Buffer[] = [];
  private lines: string[] = [];
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length >= 65536) this.flush();
  }
  private flush(): void {
    if (this.lines.length) this.chunks.push(Buffer.from(this.lines.join('\n') + '\n', 'utf8'));
    this.lines = [];
  }
  bytes(): Uint8Array {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}

const f = (x: number): string => {
  const s = Math.fround(x).toPrecision(9);
  return s.includes('e') ? s : String(Number(s));
};

/** ASCII STL, one `solid` per part. */
export function encodeStlAscii(parts: Part[]): Uint8Array {
  const out = new TextSink();
  for (const { positions: p, indices: idx, segment } of parts) {
    const name = segment.name.replace(/\s+/g, '_');
    out.push(`solid ${name}`);
    for (let t = 0; t < idx.length; t += 3) {
      const a = 3 * idx[t]!, b = 3 * idx[t + 1]!, c = 3 * idx[t + 2]!;
      const n = facetNormal(p, a, b, c);
      out.push(`  facet normal ${f(n[0])} ${f(n[1])} ${f(n[2])}`);
      out.push('    outer loop');
      for (const v of [a, b, c]) out.push(`      vertex ${f(p[v]!)} ${f(p[v + 1]!)} ${f(p[v + 2]!)}`);
      out.push('    endloop');
      out.push('  endfacet');
    }
    out.push(`endsolid ${name}`);
  }
  return out.bytes();
}

/** Wavefront OBJ with vertex normals; one `o` group per part. `comments` go first as `#` lines. */
export function encodeObj(parts: Part[], comments: string[]): Uint8Array {
  const out = new TextSink();
  for (const c of comments) out.push(`# ${c}`);
  let base = 1;
  for (const { positions: p, normals: nrm, indices: idx, segment } of parts) {
    out.push(`o ${segment.name.replace(/\s+/g, '_')}`);
    for (let i = 0; i < p.length; i += 3) out.push(`v ${f(p[i]!)} ${f(p[i + 1]!)} ${f(p[i + 2]!)}`);
    for (let i = 0; i < nrm.length; i += 3) out.push(`vn ${f(nrm[i]!)} ${f(nrm[i + 1]!)} ${f(nrm[i + 2]!)}`);
    for (let t = 0; t < idx.length; t += 3) {
      const a = idx[t]! + base, b = idx[t + 1]! + base, c = idx[t + 2]! + base;
      out.push(`f ${a}//${a} ${b}//${b} ${c}//${c}`);
    }
    base += p.length / 3;
  }
  return out.bytes();
}

/** PLY (binary little-endian unless `ascii`): x y z nx ny nz (float), red green blue (uchar), faces as uchar-count int lists. */
export function encodePly(parts: Part[], comments: string[], ascii: boolean): Uint8Array {
  const nv = parts.reduce((n, p) => n + p.positions.length / 3, 0);
  const nt = parts.reduce((n, p) => n + p.indices.length / 3, 0);
  const header = [
    'ply',
    `format ${ascii ? 'ascii' : 'binary_little_endian'} 1.0`,
    ...comments.map((c) => `comment ${c.replace(/[\r\n]/g, ' ')}`),
    `element vertex ${nv}`,
    'property float x',
    'property float y',
    'property float z',
    'property float nx',
    'property float ny',
    'property float nz',
    'property uchar red',
    'property uchar green',
    'property uchar blue',
    `element face ${nt}`,
    'property list uchar int vertex_indices',
    'end_header',
  ].join('\n') + '\n';
  if (ascii) {
    const out = new TextSink();
    out.push(header.slice(0, -1));
    for (const { positions: p, normals: n, segment } of parts)
      for (let i = 0; i < p.length; i += 3)
        out.push(`${f(p[i]!)} ${f(p[i + 1]!)} ${f(p[i + 2]!)} ${f(n[i]!)} ${f(n[i + 1]!)} ${f(n[i + 2]!)} ${segment.color.join(' ')}`);
    let base = 0;
    for (const { positions: p, indices: idx } of parts) {
      for (let t = 0; t < idx.length; t += 3) out.push(`3 ${idx[t]! + base} ${idx[t + 1]! + base} ${idx[t + 2]! + base}`);
      base += p.length / 3;
    }
    return out.bytes();
  }
  const head = new TextEncoder().encode(header);
  const buf = new ArrayBuffer(head.length + 27 * nv + 13 * nt);
  new Uint8Array(buf).set(head);
  const dv = new DataView(buf);
  let o = head.length;
  for (const { positions: p, normals: n, segment } of parts)
    for (let i = 0; i < p.length; i += 3) {
      dv.setFloat32(o, p[i]!, true);
      dv.setFloat32(o + 4, p[i + 1]!, true);
      dv.setFloat32(o + 8, p[i + 2]!, true);
      dv.setFloat32(o + 12, n[i]!, true);
      dv.setFloat32(o + 16, n[i + 1]!, true);
      dv.setFloat32(o + 20, n[i + 2]!, true);
      dv.setUint8(o + 24, segment.color[0]);
      dv.setUint8(o + 25, segment.color[1]);
      dv.setUint8(o + 26, segment.color[2]);
      o += 27;
    }
  let base = 0;
  for (const { positions: p, indices: idx } of parts) {
    for (let t = 0; t < idx.length; t += 3) {
      dv.setUint8(o, 3);
      dv.setInt32(o + 1, idx[t]! + base, true);
      dv.setInt32(o + 5, idx[t + 1]! + base, true);
      dv.setInt32(o + 9, idx[t + 2]! + base, true);
      o += 13;
    }
    base += p.length / 3;
  }
  return new Uint8Array(buf);
}

/** Options of {@link writeMeshFiles}. */
export interface WriteMeshOptions {
  /** Folder to write into (created when missing). */
  outputDir: string;
  format: MeshFormat;
  /** ASCII STL/PLY instead of binary (OBJ is always text). */
  ascii?: boolean;
  /** One file with every segment instead of one file per segment. */
  merge?: boolean;
  /** Input labelmap path, recorded in the sidecar and used for file names. */
  sourceFile: string;
  /** Geometry of the input labelmap, recorded in the sidecar. */
  sourceGrid: Grid;
  /** Application version for the sidecar. */
  version?: string;
}

/** Sidecar JSON written next to the meshes (`<stem>.mesh.json`). */
export interface MeshSidecar {
  kind: 'delineate.mesh-export';
  version: 1;
  createdBy: string;
  createdAt: string;
  source: { file: string; size: [number, number, number]; spacingMm: [number, number, number]; originMm: [number, number, number]; direction: number[] };
  coordinateSystem: 'LPS' | 'RAS';
  units: 'mm';
  format: MeshFormat;
  encoding: 'binary' | 'ascii';
  merged: boolean;
  files: string[];
  parameters: MeshSegmentsResult['parameters'];
  segments: {
    value: number;
    name: string;
    color: [number, number, number];
    file: string;
    metrics: SegmentMesh['metrics'];
    voxels: SegmentMesh['voxels'];
    volumeRelativeDifference: number;
    trianglesBeforeDecimation: number;
    volumeCorrection?: SegmentMesh['volumeCorrection'];
    decimation?: SegmentMesh['decimation'];
    warnings: string[];
  }[];
  skipped: MeshSegmentsResult['skipped'];
}

/** The file-name stem of an image path (extension(s) dropped). */
export function imageStem(path: string): string {
  return basename(path).replace(/\.(nii\.gz|nii|nrrd|nhdr|mha|mhd|gz)$/i, '').replace(/\.(nii)$/i, '') || 'labels';
}

function slug(name: string): string {
  return name.trim().replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || 'segment';
}

/**
 * Write the meshes of `result` and the sidecar JSON into `opts.outputDir`, atomically as a set.
 * Returns the absolute paths written (mesh files, then the sidecar) and the sidecar content.
 *
 * Errors: INPUT (no mesh to write), IO (folder cannot be created or written; nothing is left behind).
 */
export async function writeMeshFiles(result: MeshSegmentsResult, opts: WriteMeshOptions): Promise<{ files: string[]; sidecarPath: string; sidecar: MeshSidecar }> {
  if (result.meshes.length === 0) throw new DelineateError('INPUT', `${opts.sourceFile}: no segment produced a mesh; nothing written`, { subject: opts.sourceFile });
  const dir = resolve(opts.outputDir);
  try {
    await mkdir(dir, { recursive: true });
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error('not a folder');
  } catch (e) {
    throw new DelineateError('IO', `Cannot write to ${dir}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { subject: dir, cause: e });
  }
  const stem = imageStem(opts.sourceFile);
  const ascii = Boolean(opts.ascii) && opts.format !== 'obj';
  const space = result.parameters.space;
  const comments = [`Delineate mesh export of ${basename(opts.sourceFile)}`, `coordinate system ${space}, units mm`];
  const encode = (parts: Part[]): Uint8Array => {
    if (opts.format === 'stl') return ascii ? encodeStlAscii(parts) : encodeStlBinary(parts, `Delineate ${space} mm ${stem}`);
    if (opts.format === 'obj') return encodeObj(parts, comments);
    return encodePly(parts, comments, ascii);
  };
  const files: { name: string; bytes: Uint8Array }[] = [];
  const fileOf = new Map<number, string>();
  if (opts.merge) {
    const name = `${stem}.${opts.format}`;
    files.push({ name, bytes: encode(result.meshes) });
    for (const m of result.meshes) fileOf.set(m.segment.value, name);
  } else {
    for (const m of result.meshes) {
      const name = `${stem}_${m.segment.value}_${slug(m.segment.name)}.${opts.format}`;
      files.push({ name, bytes: encode([m]) });
      fileOf.set(m.segment.value, name);
    }
  }
  const sidecar: MeshSidecar = {
    kind: 'delineate.mesh-export',
    version: 1,
    createdBy: `Delineate ${opts.version ?? '0.1.0'}`,
    createdAt: new Date().toISOString(),
    source: {
      file: resolve(opts.sourceFile),
      size: [...opts.sourceGrid.size],
      spacingMm: [...opts.sourceGrid.spacingMm],
      originMm: [...opts.sourceGrid.originMm],
      direction: [...opts.sourceGrid.direction],
    },
    coordinateSystem: space,
    units: 'mm',
    format: opts.format,
    encoding: opts.format === 'obj' || ascii ? 'ascii' : 'binary',
    merged: Boolean(opts.merge),
    files: files.map((x) => x.name),
    parameters: result.parameters,
    segments: result.meshes.map((m) => ({
      value: m.segment.value,
      name: m.segment.name,
      color: m.segment.color,
      file: fileOf.get(m.segment.value)!,
      metrics: m.metrics,
      voxels: m.voxels,
      volumeRelativeDifference: m.volumeRelativeDifference,
      trianglesBeforeDecimation: m.trianglesBeforeDecimation,
      ...(m.volumeCorrection ? { volumeCorrection: m.volumeCorrection } : {}),
      ...(m.decimation ? { decimation: m.decimation } : {}),
      warnings: m.warnings,
    })),
    skipped: result.skipped,
  };
  const sidecarName = `${stem}.mesh.json`;
  files.push({ name: sidecarName, bytes: new TextEncoder().encode(JSON.stringify(sidecar, null, 2) + '\n') });
  await writeAllAtomic(dir, files);
  return { files: files.map((x) => join(dir, x.name)), sidecarPath: join(dir, sidecarName), sidecar };
}

/** Write every file to a temporary name in `dir`, then rename them all; on any failure remove the temporaries. */
async function writeAllAtomic(dir: string, files: { name: string; bytes: Uint8Array }[]): Promise<void> {
  const tag = randomBytes(6).toString('hex');
  const temps = files.map((x) => join(dir, `.${x.name}.${tag}.partial`));
  const renamed: string[] = [];
  try {
    for (let i = 0; i < files.length; i++) await writeFile(temps[i]!, files[i]!.bytes);
    for (let i = 0; i < files.length; i++) {
      const target = join(dir, files[i]!.name);
      await rename(temps[i]!, target);
      renamed.push(target);
    }
  } catch (e) {
    // Leave nothing of this set behind: neither temporaries nor the part of the set already in place.
    await Promise.all([...temps, ...renamed].map((t) => rm(t, { force: true })));
    throw new DelineateError('IO', `Cannot write meshes to ${dir}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { subject: dir, cause: e });
  }
}
