/**
 * Segmentation file formats on synthetic data: NRRD encode/parse, Slicer .seg.nrrd (layers, metadata, missing
 * metadata → defaults + warnings, old-style files, crops), labelmap + sidecar, DICOM encoder, and DICOM SEG
 * write → read on a synthetic oblique series (overlaps kept, odd frame sizes, another series refused).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayeredSegment, Segmentation } from '../../../main/common/segmentation';
import type { Grid, Mat3, Vec3 } from '../../../main/common/volume';
import { scanPath } from '../../../main/core/io/index';
import { parseDicom } from '../../../main/core/io/dicom/dataset';
import {
  compactLayers,
  decodeDicomSeg,
  decodeSlicerSeg,
  dicomLabToRgb,
  el,
  encodeDicomSeg,
  encodeNrrd,
  encodePart10,
  encodeSlicerSeg,
  formatDS,
  newUid,
  openSegmentation,
  parseNrrd,
  placeOnGrid,
  readLabelmap,
  readSourceSeries,
  rgbToDicomLab,
  saveSegmentation,
  segmentationToLabelmap,
  seq,
  writeLabelmap,
} from '../../../main/core/seg/index';
import { writeSyntheticSeries } from './synthetic';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'delineate-seg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ID: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** Two overlapping boxes (values 1, 2) and a separate one (value 3) on a 7×5×4 grid. */
function overlapping(grid: Grid): Segmentation {
  const n = grid.size[0] * grid.size[1] * grid.size[2];
  const l0 = new Uint8Array(n);
  const l1 = new Uint8Array(n);
  const [nx, ny] = grid.size;
  for (let k = 0; k < grid.size[2]; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const p = i + nx * (j + ny * k);
        if (i < 4 && j < 3 && k < 3) l0[p] = 1;
        if (i >= 2 && i < 6 && j >= 1 && k >= 1) l1[p] = 2;
        if (i === 6 && j === 4 && k === 3) l0[p] = 3;
      }
  const segments: LayeredSegment[] = [
    { value: 1, name: 'Liver', color: [221, 130, 101], layer: 0, code: { scheme: 'SCT', value: '10200004', meaning: 'Liver' }, category: { scheme: 'SCT', value: '123037004', meaning: 'Anatomical Structure' } },
    { value: 2, name: 'Tumour (enhancing)', color: [255, 0, 0], layer: 1 },
    { value: 3, name: 'Dot', color: [0, 0, 255], layer: 0, algorithmType: 'AUTOMATIC', algorithmName: 'Test model' },
  ];
  return { ...grid, dataType: 'uint8', layers: [l0, l1], segments };
}

/** Per segment value: the sorted voxel indices. */
function voxelsOf(seg: Segmentation): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const s of seg.segments) {
    const l = seg.layers[s.layer]!;
    const list: number[] = [];
    for (let i = 0; i < l.length; i++) if (l[i] === s.value) list.push(i);
    out.set(s.value, list);
  }
  return out;
}

describe('NRRD', () => {
  it('round-trips a 4-D list of layers with key/value pairs and LPS geometry', () => {
    const data = Uint16Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i * 7);
    const bytes = encodeNrrd({
      listSize: 2,
      size: [3, 2, 2],
      spacingMm: [0.5, 0.75, 2],
      originMm: [-10.25, 3, 7.125],
      direction: [0, 0, 1, 1, 0, 0, 0, 1, 0],
      type: 'uint16',
      data,
      keyValues: new Map([['Segment0_Name', 'a\\b\nc']]),
    });
    const text = Buffer.from(bytes.subarray(0, 400)).toString('latin1');
    expect(text).toContain('kinds: list domain domain domain');
    expect(text).toContain('space directions: none (0,0.5,0) (0,0,0.75) (2,0,0)');
    const back = parseNrrd(bytes, 'x.nrrd');
    expect(back.listSize).toBe(2);
    expect(back.size).toEqual([3, 2, 2]);
    expect(back.spacingMm).toEqual([0.5, 0.75, 2]);
    expect(back.direction).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(back.originMm).toEqual([-10.25, 3, 7.125]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    expect(back.keyValues.get('Segment0_Name')).toBe('a\\b\nc');
  });

  it('converts RAS to LPS and rejects broken files with the field named', () => {
    const head = (extra: string) =>
      Buffer.concat([Buffer.from(`NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 1 1\nspace: right-anterior-superior\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (5,6,7)\n${extra}encoding: raw\n\n`), Buffer.from([1, 2])]);
    const ras = parseNrrd(head(''), 'r.nrrd');
    expect(ras.originMm).toEqual([-5, -6, 7]);
    expect(ras.direction).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
    expect(() => parseNrrd(Buffer.from('hello'), 'h.nrrd')).toThrow(/h\.nrrd: not a NRRD/);
    expect(() => parseNrrd(head('').subarray(0, head('').length - 1), 't.nrrd')).toThrow(/t\.nrrd: data is truncated/);
    const float = Buffer.from('NRRD0004\ntype: float\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n\0\0\0\0');
    expect(() => parseNrrd(float, 'f.nrrd')).toThrow(/type 'float'/);
  });
});

describe('Slicer .seg.nrrd', () => {
  const grid: Grid = { size: [7, 5, 4], spacingMm: [0.8, 0.8, 2.5], originMm: [-20, 10, 5], direction: [0, 0, 1, 1, 0, 0, 0, 1, 0] };

  it('writes Slicer fields and reads back names, colours, values, layers and codes exactly', async () => {
    const seg = overlapping(grid);
    const bytes = encodeSlicerSeg(seg);
    const header = Buffer.from(bytes).toString('latin1', 0, 3000);
    for (const f of [
      'Segment0_ID:=Segment_1',
      'Segment0_Name:=Liver',
      'Segment0_LabelValue:=1',
      'Segment0_Layer:=0',
      'Segment1_Layer:=1',
      'Segment1_Color:=1 0 0',
      'Segment0_Extent:=0 3 0 2 0 2',
      'Segmentation_MasterRepresentation:=Binary labelmap',
      'Segmentation_ContainedRepresentationNames:=Binary labelmap|',
      'Segmentation_ReferenceImageExtentOffset:=0 0 0',
      'Segment0_Tags:=TerminologyEntry:Segmentation category and type - 3D Slicer General Anatomy list~SCT^123037004^Anatomical Structure~SCT^10200004^Liver~^^~Anatomic codes - DICOM master list~^^~^^|',
      'space: left-posterior-superior',
      'sizes: 2 7 5 4',
    ])
      expect(header).toContain(f);
    const path = join(dir, 'two-layers.seg.nrrd');
    await saveSegmentation(seg, path, { format: 'slicer-seg' });
    const r = await openSegmentation(path, { grid, name: 'image' });
    expect(r.format).toBe('slicer-seg');
    expect(r.warnings).toEqual([]);
    const s = r.segmentation;
    expect(s.layers.length).toBe(2);
    expect(s.segments.map((x) => [x.value, x.name, x.color, x.layer])).toEqual(seg.segments.map((x) => [x.value, x.name, x.color, x.layer]));
    expect(s.segments[0]!.code).toEqual(seg.segments[0]!.code);
    expect(s.segments[0]!.category).toEqual(seg.segments[0]!.category);
    expect(voxelsOf(s)).toEqual(voxelsOf(seg));
    expect(s.originMm).toEqual(grid.originMm);
    expect(s.direction).toEqual(grid.direction);
  });

  it('missing segment metadata: defaults and warnings, never a crash', () => {
    // A 3-D NRRD with labels 1 and 4 and only a name for segment 0 (no colour, value or layer fields).
    const data = Uint8Array.from([0, 1, 1, 4, 0, 4]);
    const bytes = encodeNrrd({ listSize: 1, size: [3, 2, 1], spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: ID, type: 'uint8', data, keyValues: new Map([['Segment0_Name', 'Only name']]) });
    const r = decodeSlicerSeg(bytes, 'partial.seg.nrrd');
    expect(r.segmentation.segments.map((s) => [s.value, s.name])).toEqual([
      [1, 'Only name'],
      [4, 'Segment 4'],
    ]);
    expect(r.warnings.join('\n')).toMatch(/Segment0_Color\/Layer\/LabelValue missing; defaults used/);
    expect(r.warnings.join('\n')).toMatch(/label value\(s\) 4 in layer 0 have no segment entry/);
    const none = decodeSlicerSeg(encodeNrrd({ listSize: 1, size: [3, 2, 1], spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: ID, type: 'uint8', data, keyValues: new Map() }), 'bare.seg.nrrd');
    expect(none.segmentation.segments.map((s) => s.name)).toEqual(['Segment 1', 'Segment 4']);
    expect(none.warnings.join('\n')).toMatch(/no segment metadata/);
  });

  it('old Slicer files (one layer per segment, value 1, no LabelValue) and values shared across layers', () => {
    // 3 layers, each holding its segment as 1.
    const n = 4;
    const data = new Uint8Array(3 * n);
    data[0 * 3 + 0] = 1;
    data[1 * 3 + 1] = 1;
    data[1 * 3 + 2] = 1;
    data[2 * 3 + 2] = 1;
    const kv = new Map([
      ['Segment0_Name', 'a'],
      ['Segment1_Name', 'b'],
      ['Segment2_Name', 'c'],
    ]);
    const r = decodeSlicerSeg(encodeNrrd({ listSize: 3, size: [4, 1, 1], spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: ID, type: 'uint8', data, keyValues: kv }), 'old.seg.nrrd');
    const s = r.segmentation;
    expect(s.segments.map((x) => [x.name, x.layer])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ]);
    expect(new Set(s.segments.map((x) => x.value)).size).toBe(3); // renumbered to be unique
    expect(voxelsOf(s).get(s.segments[0]!.value)).toEqual([0]);
    expect(voxelsOf(s).get(s.segments[1]!.value)).toEqual([1]);
    expect(voxelsOf(s).get(s.segments[2]!.value)).toEqual([1, 2]);
    expect(r.warnings.join('\n')).toMatch(/renumbered/);
    // b and c overlap at voxel 1 only; a can join b's layer when compacted.
    expect(compactLayers(s).layers.length).toBe(2);
  });

  it("Slicer's single-voxel file (a segmentation without voxels) opens as empty segments on the image grid", async () => {
    const kv = new Map([
      ['Segment0_Name', 'Empty one'],
      ['Segment0_LabelValue', '1'],
      ['Segment0_Layer', '0'],
    ]);
    const path = join(dir, 'template.seg.nrrd');
    await writeFile(path, encodeNrrd({ listSize: 1, size: [1, 1, 1], spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: ID, type: 'uint8', data: new Uint8Array(1), keyValues: kv }));
    const image: Grid = { size: [4, 3, 2], spacingMm: [0.5, 0.5, 3], originMm: [10, 20, 30], direction: ID };
    const r = await openSegmentation(path, { grid: image, name: 'image' });
    expect(r.segmentation.size).toEqual([4, 3, 2]);
    expect(r.segmentation.segments.map((x) => x.name)).toEqual(['Empty one']);
    expect(r.segmentation.layers[0]!.every((v) => v === 0)).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/single voxel/);
  });

  it('a cropped file is placed on the reference grid by its geometry; other grids are refused', () => {
    const ref: Grid = { size: [10, 8, 6], spacingMm: [1, 1, 2], originMm: [0, 0, 0], direction: ID };
    const crop = { listSize: 1, size: [2, 2, 1] as Vec3, spacingMm: [1, 1, 2] as Vec3, originMm: [3, 4, 6] as Vec3, direction: ID, type: 'uint8' as const, data: Uint8Array.from([1, 1, 0, 1]) };
    const kv = new Map([
      ['Segment0_Name', 'x'],
      ['Segment0_LabelValue', '1'],
      ['Segment0_Layer', '0'],
      ['Segmentation_ReferenceImageExtentOffset', '3 4 3'],
    ]);
    const r = decodeSlicerSeg(encodeNrrd({ ...crop, keyValues: kv }), 'crop.seg.nrrd');
    const placed = placeOnGrid(r.segmentation, ref, 'crop.seg.nrrd', 'image').segmentation;
    const on = voxelsOf(placed).get(1)!;
    const at = (i: number, j: number, k: number) => i + 10 * (j + 8 * k);
    expect(on).toEqual([at(3, 4, 3), at(4, 4, 3), at(4, 5, 3)]);
    const shifted = decodeSlicerSeg(encodeNrrd({ ...crop, originMm: [3.5, 4, 6], keyValues: kv }), 'half.seg.nrrd');
    expect(() => placeOnGrid(shifted.segmentation, ref, 'half.seg.nrrd', 'image')).toThrow(/half\.seg\.nrrd does not lie on the grid of image: origin/);
  });
});

describe('labelmap with sidecar', () => {
  const grid: Grid = { size: [7, 5, 4], spacingMm: [0.8, 0.8, 2.5], originMm: [-20, 10, 5], direction: [0, 0, 1, 1, 0, 0, 0, 1, 0] };

  it('NIfTI and NRRD round trips keep voxels, geometry and the segment table', async () => {
    const seg = overlapping(grid);
    // Labelmaps cannot hold overlaps.
    await expect(writeLabelmap(seg, join(dir, 'bad.nii.gz'))).rejects.toThrow(/overlaps other segments; a labelmap cannot hold overlapping segments/);
    const flat: Segmentation = { ...seg, layers: [seg.layers[0]!.slice()], segments: seg.segments.filter((s) => s.layer === 0) };
    for (const name of ['lm.nii.gz', 'lm.nrrd']) {
      const path = join(dir, name);
      const w = await writeLabelmap(flat, path);
      expect(w.sidecarPath).toBe(join(dir, 'lm.segments.json'));
      const r = await openSegmentation(path, { grid, name: 'image' });
      expect(r.format).toBe('labelmap');
      expect(r.warnings).toEqual([]);
      expect(r.segmentation.segments.map((s) => [s.value, s.name, s.color])).toEqual(flat.segments.map((s) => [s.value, s.name, s.color]));
      expect(r.segmentation.segments[0]!.code).toEqual(flat.segments[0]!.code);
      expect(Array.from(r.segmentation.layers[0]!)).toEqual(Array.from(flat.layers[0]!));
      for (let c = 0; c < 3; c++) expect(r.segmentation.originMm[c]).toBeCloseTo(grid.originMm[c]!, 4);
      for (let c = 0; c < 9; c++) expect(r.segmentation.direction[c]).toBeCloseTo(grid.direction[c]!, 6);
    }
    // Another grid: a clear GEOMETRY error naming both.
    const other: Grid = { ...grid, spacingMm: [1, 1, 2.5] };
    await expect(openSegmentation(join(dir, 'lm.nii.gz'), { grid: other, name: 'the T1 image' })).rejects.toThrow(/lm\.nii\.gz is on another grid than the T1 image \(spacing/);
    expect(segmentationToLabelmap(flat).data).toBe(flat.layers[0]);
  });

  it('a Slicer colour table beside the labelmap names the segments; unknown labels get defaults', async () => {
    const flat: Segmentation = { ...grid, dataType: 'uint8', layers: [new Uint8Array(140).fill(2, 0, 10).fill(9, 10, 12)], segments: [] };
    const path = join(dir, 'ct.nrrd');
    await writeLabelmap({ ...flat, segments: [{ value: 2, name: 'x', color: [1, 2, 3], layer: 0 }] }, path);
    await rm(join(dir, 'ct.segments.json'));
    await writeFile(join(dir, 'ct.ctbl'), '# Color table\n0 Background 0 0 0 0\n2 Kidney 10 20 30 255\n');
    const r = await readLabelmap(path);
    expect(r.segmentation.segments.map((s) => [s.value, s.name, s.color])).toEqual([
      [2, 'Kidney', [10, 20, 30]],
      [9, 'Segment 9', r.segmentation.segments[1]!.color],
    ]);
    expect(r.warnings.join('\n')).toMatch(/label value\(s\) 9 are not in the segment table/);
  });
});

describe('DICOM encoding', () => {
  it('DS values fit 16 characters', () => {
    expect(formatDS(0.810547)).toBe('0.810547');
    expect(formatDS(-235.19999999999999)).toBe('-235.2');
    expect(formatDS(1 / 3).length).toBeLessThanOrEqual(16);
    expect(Number(formatDS(-1 / 3))).toBeCloseTo(-1 / 3, 12);
    expect(formatDS(1e-20)).toMatch(/E-/);
    expect(formatDS(-0)).toBe('0');
  });

  it('new UIDs are 2.25 UUID-derived and valid', () => {
    const u = newUid();
    expect(u).toMatch(/^2\.25\.[1-9]\d{0,38}$/);
    expect(u.length).toBeLessThanOrEqual(64);
    expect(newUid()).not.toBe(u);
  });

  it("the io module's parser reads what the encoder writes (nested sequences, AT, binary VRs)", () => {
    const bytes = encodePart10(
      [
        el(0x0008, 0x0016, 'UI', '1.2.3'),
        el(0x0008, 0x0018, 'UI', '1.2.3.4'),
        seq(0x0062, 0x0002, [[el(0x0062, 0x0004, 'US', 7), seq(0x0062, 0x0003, [[el(0x0008, 0x0100, 'SH', 'ABC')]])], [el(0x0062, 0x0004, 'US', 8)]]),
        el(0x0020, 0x9165, 'AT', [[0x0020, 0x0032]]),
        el(0x0020, 0x0032, 'DS', [1.5, -2, 3]),
      ],
      '1.2.3',
      '1.2.3.4',
      { classUid: '2.25.1', versionName: 'T' },
    );
    const p = parseDicom(bytes, true)!;
    expect(p.transferSyntax).toBe('1.2.840.10008.1.2.1');
    const items = p.dataset.items((0x0062 << 16) | 0x0002);
    expect(items.map((i) => i.number((0x0062 << 16) | 0x0004))).toEqual([7, 8]);
    expect(items[0]!.item((0x0062 << 16) | 0x0003)!.string((0x0008 << 16) | 0x0100)).toBe('ABC');
    expect(p.dataset.numbers((0x0020 << 16) | 0x0032)).toEqual([1.5, -2, 3]);
  });

  it('CIELab colours: white, black, and sRGB → Lab → sRGB within 1 unit', () => {
    expect(rgbToDicomLab([255, 255, 255])).toEqual([65535, 32896, 32896]);
    expect(rgbToDicomLab([0, 0, 0])).toEqual([0, 32896, 32896]);
    for (const c of [
      [221, 130, 101],
      [0, 151, 206],
      [255, 0, 0],
      [12, 250, 3],
    ] as [number, number, number][]) {
      const back = dicomLabToRgb(rgbToDicomLab(c));
      back.forEach((x, i) => expect(Math.abs(x - c[i]!)).toBeLessThanOrEqual(1));
    }
  });
});

describe('DICOM SEG on a synthetic oblique series', () => {
  // 7 columns × 5 rows: 35-pixel frames, so frames straddle byte boundaries in the packed bits.
  const iop: [number, number, number, number, number, number] = [0.8, 0.6, 0, -0.6, 0.8, 0];
  const spacing: Vec3 = [0.8, 0.9, 2.5];
  const origin: Vec3 = [-20, 10, 5];

  it('writes, validates its structure, and reads back the same voxels, names, colours and overlaps', async () => {
    const series = await writeSyntheticSeries(join(dir, 'series'), { cols: 7, rows: 5, slices: 4, spacingMm: spacing, originMm: origin, iop, patientName: 'Müller^Jörg' });
    const scan = await scanPath(series.folder);
    expect(scan.volumes.length).toBe(1);
    const src = await readSourceSeries(scan.volumes[0]!);
    expect(src.slices.map((s) => s.sopInstanceUid)).toEqual(series.instanceUids);
    const seg = overlapping(src.grid);
    const enc = encodeDicomSeg(seg, src, { uids: { series: '2.25.11', instance: '2.25.12', dimensionOrganization: '2.25.13' }, now: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) });
    // Frames: one per segment per non-empty slice (1: k 0–2, 2: k 1–3, 3: k 3).
    expect(enc.frameCount).toBe(3 + 3 + 1);
    const p = parseDicom(enc.bytes, true)!;
    const ds = p.dataset;
    const t = (g: number, e: number) => ((g << 16) | e) >>> 0;
    expect(ds.string(t(0x0010, 0x0010))).toBe(Buffer.from('Müller^Jörg', 'latin1').toString('latin1'));
    expect(ds.string(t(0x0008, 0x0005))).toBe('ISO_IR 100');
    expect(ds.string(t(0x0020, 0x000d))).toBe(series.studyUid);
    expect(ds.string(t(0x0020, 0x0052))).toBe(series.frameOfReferenceUid);
    expect(ds.string(t(0x0062, 0x0013))).toBe('YES');
    const refSeries = ds.item(t(0x0008, 0x1115))!;
    expect(refSeries.string(t(0x0020, 0x000e))).toBe(series.seriesUid);
    expect(refSeries.items(t(0x0008, 0x114a)).map((i) => i.string(t(0x0008, 0x1155))).sort()).toEqual([...series.instanceUids].sort());
    const frames = ds.items(t(0x5200, 0x9230));
    // Frame 4 (segment 2, slice k=1) derives from instance k=1.
    const f4 = frames[3]!;
    expect(f4.item(t(0x0062, 0x000a))!.number(t(0x0062, 0x000b))).toBe(2);
    expect(f4.item(t(0x0020, 0x9111))!.numbers(t(0x0020, 0x9157))).toEqual([2, 2]);
    expect(f4.item(t(0x0008, 0x9124))!.item(t(0x0008, 0x2112))!.string(t(0x0008, 0x1155))).toBe(series.instanceUids[1]);
    expect(ds.string(t(0x0028, 0x0008))).toBe('7');
    expect(p.pixelData!.length).toBe(Math.ceil((7 * 35) / 8) + (Math.ceil((7 * 35) / 8) % 2));

    const ref = { grid: src.grid, seriesInstanceUid: src.seriesInstanceUid, frameOfReferenceUid: src.frameOfReferenceUid, name: 'synthetic' };
    const back = decodeDicomSeg(enc.bytes, 'x.dcm', ref);
    expect(back.warnings).toEqual([]);
    expect(back.segmentation.segments.map((s) => [s.value, s.name, s.layer, s.algorithmType])).toEqual([
      [1, 'Liver', 0, 'MANUAL'],
      [2, 'Tumour (enhancing)', 1, 'MANUAL'],
      [3, 'Dot', 0, 'AUTOMATIC'],
    ]);
    back.segmentation.segments.forEach((s, i) => s.color.forEach((c, j) => expect(Math.abs(c - seg.segments[i]!.color[j]!)).toBeLessThanOrEqual(1)));
    expect(back.segmentation.segments[0]!.code).toEqual(seg.segments[0]!.code);
    expect(back.segmentation.segments[1]!.code).toEqual({ scheme: 'SCT', value: '85756007', meaning: 'Tissue' });
    expect(voxelsOf(back.segmentation)).toEqual(voxelsOf(seg));
    // Without the series: the grid is rebuilt from the frames (3 positions with slice 0..3 occupied) — same voxels.
    const alone = decodeDicomSeg(enc.bytes, 'x.dcm');
    expect(alone.segmentation.size).toEqual(src.grid.size);
    alone.segmentation.originMm.forEach((x, c) => expect(x).toBeCloseTo(src.grid.originMm[c]!, 4));
    expect(voxelsOf(alone.segmentation)).toEqual(voxelsOf(seg));

    // All frames (omitEmptyFrames false): 3 segments × 4 slices.
    const all = encodeDicomSeg(seg, src, { omitEmptyFrames: false });
    expect(all.frameCount).toBe(12);
    expect(voxelsOf(decodeDicomSeg(all.bytes, 'all.dcm', ref).segmentation)).toEqual(voxelsOf(seg));

    // A SEG for another series: a clear error naming both UIDs.
    const other = { ...ref, seriesInstanceUid: '1.2.3.999', name: 'another series' };
    expect(() => decodeDicomSeg(enc.bytes, 'x.dcm', other)).toThrow(new RegExp(`references series ${series.seriesUid.replace(/\./g, '\\.')}, but the open series another series is 1\\.2\\.3\\.999`));
    // A segmentation on another grid cannot be written against this series.
    expect(() => encodeDicomSeg({ ...seg, spacingMm: [1, 1, 1] }, src)).toThrow(/not on the grid of/);

    // Through the file API.
    const path = join(dir, 'seg.dcm');
    await saveSegmentation(seg, path, { format: 'dicom-seg', source: src });
    const opened = await openSegmentation(path, ref);
    expect(opened.format).toBe('dicom-seg');
    expect(voxelsOf(opened.segmentation)).toEqual(voxelsOf(seg));
    // The source files were not touched.
    const again = await scanPath(series.folder);
    expect(again.volumes[0]!.files.length).toBe(4);
    expect((await readFile(again.volumes[0]!.files[0]!)).byteLength).toBeGreaterThan(0);
  });

  it('more than 255 segments: uint16 labels through NIfTI, .seg.nrrd and DICOM SEG', async () => {
    const series = await writeSyntheticSeries(join(dir, 'series300'), { cols: 20, rows: 16, slices: 2, spacingMm: [1, 1, 2], originMm: [0, 0, 0] });
    const src = await readSourceSeries((await scanPath(series.folder)).volumes[0]!);
    const n = 20 * 16 * 2;
    const layer = new Uint16Array(n);
    const segments: LayeredSegment[] = [];
    for (let v = 1; v <= 300; v++) {
      layer[v * 2] = v; // one voxel each
      segments.push({ value: v, name: `s${v}`, color: [v % 256, 0, 0], layer: 0 });
    }
    const seg: Segmentation = { ...src.grid, dataType: 'uint16', layers: [layer], segments };
    const ref = { grid: src.grid, seriesInstanceUid: src.seriesInstanceUid, name: 'series300' };
    for (const [name, format] of [
      ['many.nii.gz', 'labelmap'],
      ['many.seg.nrrd', 'slicer-seg'],
      ['many.dcm', 'dicom-seg'],
    ] as const) {
      const path = join(dir, name);
      await saveSegmentation(seg, path, format === 'dicom-seg' ? { format, source: src } : { format });
      const r = await openSegmentation(path, ref);
      expect(r.segmentation.dataType, name).toBe('uint16');
      expect(r.segmentation.segments.length, name).toBe(300);
      expect(r.segmentation.segments[299]!.name, name).toBe('s300');
      expect(voxelsOf(r.segmentation), name).toEqual(voxelsOf(seg));
    }
  });

  it('truncated pixel data and non-SEG files are clear FORMAT errors', async () => {
    const series = await writeSyntheticSeries(join(dir, 'series2'), { cols: 4, rows: 4, slices: 2, spacingMm: [1, 1, 1], originMm: [0, 0, 0] });
    const src = await readSourceSeries((await scanPath(series.folder)).volumes[0]!);
    const n = 32;
    const seg: Segmentation = { ...src.grid, dataType: 'uint8', layers: [new Uint8Array(n).fill(1)], segments: [{ value: 1, name: 'a', color: [1, 2, 3], layer: 0 }] };
    const enc = encodeDicomSeg(seg, src);
    expect(() => decodeDicomSeg(enc.bytes.subarray(0, enc.bytes.length - 2), 'cut.dcm')).toThrow(/cut\.dcm/);
    const ct = await readFile((await scanPath(series.folder)).volumes[0]!.files[0]!);
    expect(() => decodeDicomSeg(ct, 'ct.dcm')).toThrow(/ct\.dcm: not a DICOM Segmentation \(SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.2\)/);
    expect(() => decodeDicomSeg(gzipSync(Buffer.from('x')), 'junk.dcm')).toThrow(/junk\.dcm/);
  });
});
