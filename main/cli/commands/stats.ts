/**
 * `delineate stats <image> <labels> [--json] [--csv <file>] [--label-names <names.json[#table]>]` — per-segment
 * volume, voxel count, intensity statistics, bounding box and centroid of a labelmap over an image on the same
 * grid.
 */
import { readFile } from 'node:fs/promises';
import { DelineateError } from '../../common/errors';
import type { Segment } from '../../common/volume';
import { readImageFile, readSingleVolume } from '../../core/io/index';
import { writeTextAtomic } from '../../core/metrics/index';
import { type SegmentStatistics, segmentStatistics, statisticsToCsv } from '../../core/stats/index';
import { parseArgs } from '../args';
import type { CliIo } from '../io';

export const usage = `Usage: delineate stats <image> <labels> [--json] [--csv <file.csv>] [--label-names <names.json[#table]>]

Per-segment statistics of a labelmap (NIfTI/NRRD/MetaImage, integer labels) over an image (a file or a DICOM
series folder) on the same voxel grid (size, spacing, origin and direction must match; otherwise a GEOMETRY error
names both files):
  voxelCount, volumeMl            voxels with the label, and their volume in mL
  intensity {mean, sd, min, max}  image values in stored units (CT: Hounsfield units); sd is the population SD
  bboxIjk {min, max}              inclusive voxel-index bounding box [i, j, k]
  bboxLpsMm {min, max}            LPS (mm) box around the voxel centres of that index box
  centroidLpsMm                   mean LPS position (mm) of the segment's voxel centres

Options:
  --json                 print {"image", "labels", "grid", "voxelVolumeMl", "segments": […]} to stdout
                         (without it, a table)
  --csv <file.csv>       also write the statistics as CSV (written atomically)
  --label-names <json>   {"1": "spleen", …} to name segments ("names.json#total" picks one of several tables)`;

async function readNames(spec: string): Promise<Segment[]> {
  const hash = spec.lastIndexOf('#');
  const path = hash > 0 ? spec.slice(0, hash) : spec;
  const table = hash > 0 ? spec.slice(hash + 1) : undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new DelineateError('USAGE', `--label-names ${path}: cannot read JSON (${(e as Error).message})`, { subject: path, cause: e });
  }
  let obj = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  if (table !== undefined) {
    if (typeof obj[table] !== 'object' || obj[table] === null) throw new DelineateError('USAGE', `--label-names ${path}: no table '${table}'`, { subject: path });
    obj = obj[table] as Record<string, unknown>;
  } else {
    const tables = Object.values(obj).filter((v) => typeof v === 'object' && v !== null);
    if (tables.length === 1) obj = tables[0] as Record<string, unknown>;
    else if (tables.length > 1) throw new DelineateError('USAGE', `--label-names ${path}: several tables; choose one with ${path}#<name>`, { subject: path });
  }
  return Object.entries(obj)
    .filter(([k, v]) => /^\d+$/.test(k) && Number(k) >= 1 && typeof v === 'string')
    .map(([k, v]) => ({ value: Number(k), name: v as string, color: [0, 0, 0] as [number, number, number] }));
}

const r = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

function table(stats: SegmentStatistics[]): string {
  const head = ['value', 'name', 'voxels', 'volume mL', 'mean', 'sd', 'min', 'max', 'centroid LPS mm'];
  const rows = stats.map((s) => [
    String(s.value),
    s.name ?? '',
    String(s.voxelCount),
    r(s.volumeMl, 3),
    s.intensity ? r(s.intensity.mean, 2) : '-',
    s.intensity ? r(s.intensity.sd, 2) : '-',
    s.intensity ? String(s.intensity.min) : '-',
    s.intensity ? String(s.intensity.max) : '-',
    s.centroidLpsMm ? s.centroidLpsMm.map((v) => v.toFixed(1)).join(', ') : '-',
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 1 || c === 8 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { json: { type: 'boolean' }, csv: { type: 'string' }, 'label-names': { type: 'string' } });
  if (positionals.length !== 2) throw new DelineateError('USAGE', `expected <image> and <labels>, got ${positionals.length} path(s)`);
  const [imagePath, labelsPath] = positionals as [string, string];
  const csv = flags.csv as string | undefined;
  if (csv !== undefined && !csv.toLowerCase().endsWith('.csv')) throw new DelineateError('USAGE', `--csv ${csv}: must end in .csv`, { subject: csv });
  const segments = flags['label-names'] ? await readNames(flags['label-names'] as string) : undefined;
  const { volume: image } = await readSingleVolume(imagePath, undefined, { signal: io.signal });
  const labels = await readImageFile(labelsPath, { signal: io.signal });
  const stats = await segmentStatistics(labels, image, {
    imageName: imagePath,
    labelsName: labelsPath,
    signal: io.signal,
    // Names only: segments named in the table but absent from the labelmap are not listed.
    ...(segments ? { segments: [] } : {}),
  });
  if (segments) {
    const names = new Map(segments.map((s) => [s.value, s.name]));
    for (const s of stats) {
      const name = names.get(s.value);
      if (name !== undefined) s.name = name;
    }
  }
  if (csv) await writeTextAtomic(csv, statisticsToCsv(stats));
  if (flags.json) {
    const grid = { size: labels.size, spacingMm: labels.spacingMm, originMm: labels.originMm, direction: labels.direction };
    const voxelVolumeMl = (labels.spacingMm[0] * labels.spacingMm[1] * labels.spacingMm[2]) / 1000;
    io.stdout(JSON.stringify({ image: imagePath, labels: labelsPath, grid, voxelVolumeMl, segments: stats }) + '\n');
  } else io.stdout(table(stats));
  return 0;
}
