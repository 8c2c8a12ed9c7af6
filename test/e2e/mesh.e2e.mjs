/**
 * Segment surfaces and mesh export in Chromium through the real web host (issues 5 and 6): open the InVesalius
 * cranium CT, open its bone mask as the segmentation, and
 *  - see the bone's surface in the 3D view in the segment's colour (recoloured to a blue that the CT-bone volume
 *    rendering never produces, so segment pixels can be counted), gone with the "Surfaces" switch and with the
 *    segment's own Show box;
 *  - check that the surface lands on the bone of the volume rendering: from the front and from another angle, the
 *    silhouette of the surfaces alone (volume hidden) and of the volume rendering alone (surfaces hidden) overlap
 *    (intersection over union), so a shifted or flipped mesh fails;
 *  - open the export dialog: the preview (its own render window) and the metrics table (closed, manifold, mesh vs
 *    voxel volume); export with the 3D-printing preset to binary STL and check the files and the sidecar; cancel an
 *    export and check nothing was written;
 *  - clear the segment: the surface goes (rebuilt after the edit); undo: it comes back.
 * Screenshots: test-results/e2e/mesh-*.png.
 */
/* global document, requestAnimationFrame */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFile } from './editor-helpers.mjs';
import { decodePng } from './png.mjs';

const CT = ['invesalius-cranium-ct', 'cranium_ct.nii.gz'];
const BONE = ['invesalius-cranium-ct', 'cranium_mask0_bone_226_3071HU.nii.gz'];
/** Segment colour for the test: saturated blue, absent from the CT-bone transfer function (ivory/brown). */
const BLUE = '#2060ff';
/** Meshing a 678k-triangle skull several times plus software WebGL on a busy 2-core machine (≈50 s idle, 300 s loaded). */
export const timeoutMs = 600_000;

/** @param {{ page: import('playwright-core').Page, screenshot: (n: string) => Promise<unknown>, dataRoot: string, log?: (s: string) => void }} ctx */
export default async function meshE2e(ctx) {
  const { page, dataRoot } = ctx;
  const log = ctx.log ?? console.log;
  const ct = join(dataRoot, ...CT);
  const bone = join(dataRoot, ...BONE);
  for (const f of [ct, bone]) if (!existsSync(f)) throw new Error(`Test data missing: ${f}`);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const out = mkdtempSync(join(tmpdir(), 'delineate-e2e-mesh-'));

  // ---- open the CT and its bone mask ----
  await openFile(page, ct);
  await waitLoaded(page);
  await page.fill('[data-testid=open-path]', bone);
  await page.click('[data-testid=open-seg]');
  await page.waitForFunction(() => (document.querySelector('[data-testid=seg-origin]')?.textContent ?? '').includes('cranium_mask0'), null, { timeout: 60_000 });
  await page.locator('[data-testid=segment-row] input[type=color]').first().fill(BLUE);

  // ---- the surface appears in the 3D view, in the segment's colour ----
  const built = await waitSurfaces(page, 1);
  log(`3D view: ${built.surfaces} surface, ${built.triangles} triangles drawn`);
  assert.ok(built.triangles > 10_000, `the bone surface has triangles (${built.triangles})`);
  await settle(page);
  await ctx.screenshot('mesh-01-surfaces-with-volume');
  const withSurface = await view3d(page);
  const bluePx = countBlue(withSurface);
  log(`segment-coloured pixels in the 3D view: ${bluePx}`);
  assert.ok(bluePx > 2000, `the 3D view shows the segment's colour (${bluePx} blue pixels)`);

  const builtVersion = await page.getAttribute('[data-testid=surfaces-control]', 'data-version');
  await page.uncheck('[data-testid=surfaces-toggle]');
  await settle(page);
  const noSurface = await view3d(page);
  assert.ok(countBlue(noSurface) < bluePx / 50, `"Surfaces" off hides them (${countBlue(noSurface)} blue pixels left)`);
  const volumeSilhouette = silhouette(noSurface);
  await page.check('[data-testid=surfaces-toggle]');
  await page.uncheck('[data-testid=volume-toggle]');
  await settle(page);
  assert.equal(await page.getAttribute('[data-testid=surfaces-control]', 'data-building'), 'false', 'switching surfaces off and on does not rebuild them');
  assert.equal(await page.getAttribute('[data-testid=surfaces-control]', 'data-version'), builtVersion);
  await ctx.screenshot('mesh-02-surfaces-only');
  const surfaceOnly = await view3d(page);
  const front = compareSilhouettes(silhouette(surfaceOnly), volumeSilhouette, surfaceOnly.width);
  log(`front view: surfaces vs volume rendering: IoU ${front.iou.toFixed(3)}, centroid shift ${front.shiftPx.toFixed(2)} px`);
  assert.ok(front.iou > 0.97 && front.shiftPx < 2, `the surface lands on the bone of the volume rendering (front: IoU ${front.iou.toFixed(3)}, shift ${front.shiftPx.toFixed(2)} px)`);

  // Another angle (drag to rotate the camera), where a flipped or shifted mesh would not overlap the bone.
  await dragIn3d(page, 0.45, 0.1);
  const rotatedSurface = await view3d(page);
  await page.check('[data-testid=volume-toggle]');
  await page.uncheck('[data-testid=surfaces-toggle]');
  await settle(page);
  const rotatedVolume = await view3d(page);
  const side = compareSilhouettes(silhouette(rotatedSurface), silhouette(rotatedVolume), rotatedSurface.width);
  log(`rotated view: IoU ${side.iou.toFixed(3)}, centroid shift ${side.shiftPx.toFixed(2)} px`);
  assert.ok(side.iou > 0.97 && side.shiftPx < 2, `the surface lands on the bone from another angle too (IoU ${side.iou.toFixed(3)}, shift ${side.shiftPx.toFixed(2)} px)`);
  assert.ok(compareSilhouettes(silhouette(rotatedSurface), silhouette(surfaceOnly), surfaceOnly.width).iou < 0.9, 'the camera did rotate');
  await page.check('[data-testid=surfaces-toggle]');
  await settle(page);
  await ctx.screenshot('mesh-03-rotated');

  // The segment's own Show box hides its surface.
  await page.uncheck('[data-testid=segment-row] input[aria-label^="Show"]');
  await page.waitForSelector('[data-testid=surfaces-control][data-segments="0"]');
  await settle(page);
  assert.ok(countBlue(await view3d(page)) < bluePx / 50, 'hiding the segment hides its surface');
  await page.check('[data-testid=segment-row] input[aria-label^="Show"]');
  await page.waitForSelector('[data-testid=surfaces-control][data-segments="1"]');

  // ---- export dialog: preview and metrics, then binary STL with the 3D-printing preset ----
  await page.click('[data-testid=mesh-export-open]');
  await page.waitForSelector('[data-testid=mesh-dialog]');
  assert.ok(await page.isChecked('[data-testid=mesh-preset-print]'), '3D printing is the default preset');
  assert.match((await page.getAttribute('label:has([data-testid=mesh-preset-print])', 'title')) ?? '', /binary STL/, 'the preset explains itself in a tooltip');
  await page.waitForSelector('[data-testid=mesh-metrics-row]', { timeout: 120_000 });
  await page.waitForSelector('[data-testid=mesh-preview-current]');
  const row = await page.$eval('[data-testid=mesh-metrics-row]', (r) => ({ closed: r.getAttribute('data-closed'), manifold: r.getAttribute('data-manifold'), triangles: Number(r.getAttribute('data-triangles')), text: r.textContent }));
  log(`preview metrics: ${row.text?.replace(/\s+/g, ' ')}`);
  assert.equal(row.closed, 'true', 'the previewed mesh is closed');
  assert.equal(row.manifold, 'true', 'the previewed mesh is manifold');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=mesh-preview]')?.getAttribute('data-triangles')) > 0);
  await settle(page);
  const previewPng = await page.locator('[data-testid=mesh-preview]').screenshot();
  const previewBlue = countBlue(decodePng(previewPng));
  assert.ok(previewBlue > 1000, `the dialog's preview shows the mesh (${previewBlue} blue pixels)`);
  assert.equal(Number(await page.getAttribute('[data-testid=mesh-preview]', 'data-triangles')), row.triangles, 'the preview draws the triangles of the metrics table');
  await ctx.screenshot('mesh-04-export-dialog');
  await page.keyboard.press('b');
  assert.equal(await page.locator('[data-testid=tool-brush].on').count(), 0, "the workstation's shortcuts do not act behind the dialog");

  await page.fill('[data-testid=mesh-output]', out);
  await page.click('[data-testid=mesh-export]');
  await page.waitForSelector('[data-testid=mesh-exported]', { timeout: 120_000 });
  await ctx.screenshot('mesh-05-exported');
  const files = await page.$$eval('[data-testid=mesh-exported-file]', (li) => li.map((x) => x.textContent?.trim() ?? ''));
  log(`written: ${files.join(', ')}`);
  assert.equal(files.length, 2, 'one STL and the sidecar');
  const [stlPath, sidecarPath] = files;
  assert.match(stlPath, /cranium_ct_1_.*\.stl$/);
  assert.match(sidecarPath, /cranium_ct\.mesh\.json$/);
  for (const f of files) assert.ok(existsSync(f), `${f} exists`);
  assert.match(await page.textContent('[data-testid=mesh-exported]'), /the previewed meshes/, 'Export wrote the previewed meshes');
  const stl = readFileSync(stlPath);
  assert.equal(stl.readUInt32LE(80), row.triangles, 'the STL holds the previewed triangles');
  assert.equal(stl.length, 84 + 50 * row.triangles, 'binary STL size');
  const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
  assert.equal(sidecar.coordinateSystem, 'LPS');
  assert.equal(sidecar.units, 'mm');
  assert.equal(sidecar.format, 'stl');
  assert.equal(sidecar.encoding, 'binary');
  assert.equal(sidecar.segments.length, 1);
  assert.deepEqual(sidecar.segments[0].color, [0x20, 0x60, 0xff], 'the sidecar has the segment colour');
  assert.equal(sidecar.segments[0].metrics.closed, true);
  assert.equal(sidecar.segments[0].metrics.triangleCount, row.triangles);
  assert.ok(Math.abs(sidecar.segments[0].volumeRelativeDifference) < 0.02, `mesh volume within 2 % of the voxel volume (${sidecar.segments[0].volumeRelativeDifference})`);
  assert.equal(sidecar.parameters.smoothing.factor, 0.5);
  assert.equal(sidecar.parameters.decimation.targetReduction, 0);

  // Cancel an export (planning preset: new meshes to build) — nothing is written.
  const out2 = mkdtempSync(join(tmpdir(), 'delineate-e2e-mesh-cancel-'));
  await page.check('[data-testid=mesh-preset-planning]');
  await page.waitForSelector('[data-testid=mesh-preview-stale]');
  await page.fill('[data-testid=mesh-output]', out2);
  await page.click('[data-testid=mesh-export]');
  await page.waitForSelector('[data-testid=mesh-progress]');
  await page.click('[data-testid=mesh-cancel]');
  await page.waitForSelector('[data-testid=mesh-progress]', { state: 'detached', timeout: 60_000 });
  assert.match(await page.textContent('[data-testid=mesh-error]'), /cancelled/i, 'the dialog says the export was cancelled');
  assert.deepEqual(readdirSync(out2), [], 'a cancelled export writes nothing');

  // Fast preview preset: Export with an out-of-date preview builds the preview first and writes exactly that.
  await page.check('[data-testid=mesh-preset-preview]');
  assert.ok(await page.isChecked('[data-testid=mesh-merge]'), 'the fast preview preset merges the segments');
  await page.click('[data-testid=mesh-export]');
  await page.waitForSelector('[data-testid=mesh-exported]', { timeout: 120_000 });
  await page.waitForSelector('[data-testid=mesh-preview-current]');
  assert.match(await page.textContent('[data-testid=mesh-exported]'), /the previewed meshes/);
  const fast = await page.$eval('[data-testid=mesh-metrics-row]', (r) => Number(r.getAttribute('data-triangles')));
  assert.ok(fast < row.triangles * 0.3, `fast preview removes most triangles (${fast} of ${row.triangles})`);
  assert.deepEqual(readdirSync(out2).sort(), ['cranium_ct.mesh.json', 'cranium_ct.ply']);
  const ply = readFileSync(join(out2, 'cranium_ct.ply'));
  assert.match(ply.subarray(0, 400).toString('latin1'), new RegExp(`format binary_little_endian 1.0[\\s\\S]*element face ${fast}\\n`), 'binary PLY with the previewed triangles');
  await ctx.screenshot('mesh-05b-fast-preview-exported');
  await page.click('[data-testid=mesh-close]');
  await page.waitForSelector('[data-testid=mesh-dialog]', { state: 'detached' });

  // ---- edits rebuild the surfaces: clear the segment (no surface), undo (back) ----
  const version = Number(await page.getAttribute('[data-testid=surfaces-control]', 'data-version'));
  await page.click('[data-testid=segment-row]');
  await page.click('[data-testid=clear-segment]');
  await page.waitForFunction((v) => {
    const c = document.querySelector('[data-testid=surfaces-control]');
    return c && Number(c.getAttribute('data-version')) > v && c.getAttribute('data-surfaces') === '0' && c.getAttribute('data-building') === 'false';
  }, version, { timeout: 60_000 });
  await settle(page);
  assert.ok(countBlue(await view3d(page)) < bluePx / 50, 'the cleared segment has no surface');
  await page.click('[data-testid=undo]');
  await waitSurfaces(page, 1);
  await settle(page);
  assert.ok(countBlue(await view3d(page)) > bluePx / 2, 'undo brings the surface back');
  await ctx.screenshot('mesh-06-after-undo');

  assert.deepEqual(errors, [], 'no uncaught errors in the page');
  assert.equal(await page.locator('[data-testid=error-banner]').count(), 0, 'no error banner');
  // The meshes are tens of MB: remove them once checked (a failed run leaves them for inspection).
  for (const d of [out, out2]) rmSync(d, { recursive: true, force: true });
}

async function settle(page) {
  await page.waitForSelector('[data-testid=view-grid][data-render-pending=false]');
  // Two frames: the surfaces' own render (one animation frame) and the browser's composite.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(r)))));
}

async function waitLoaded(page) {
  await page.waitForFunction(
    () => document.querySelector('[data-testid=progress]') === null && document.querySelector('[data-testid=view-grid]')?.getAttribute('data-loaded') === 'true',
    null,
    { timeout: 120_000 },
  );
  await settle(page);
}

/** Wait until the 3D view holds `n` surfaces, built and drawn. */
async function waitSurfaces(page, n) {
  await page.waitForFunction(
    (count) => {
      const c = document.querySelector('[data-testid=surfaces-control]');
      return c && c.getAttribute('data-surfaces') === String(count) && c.getAttribute('data-building') === 'false' && Number(c.getAttribute('data-triangles')) > 0;
    },
    n,
    { timeout: 120_000 },
  );
  const c = page.locator('[data-testid=surfaces-control]');
  return { surfaces: Number(await c.getAttribute('data-surfaces')), triangles: Number(await c.getAttribute('data-triangles')) };
}

/** The 3D view's inner part (below the corner texts), decoded RGB. */
async function view3d(page) {
  await settle(page);
  const box = await page.locator('[data-testid=view-3d]').boundingBox();
  const clip = { x: box.x + 2, y: box.y + 30, width: Math.floor(box.width - 4), height: Math.floor(box.height - 60) };
  return decodePng(await page.screenshot({ clip }));
}

async function dragIn3d(page, fx, fy) {
  const box = await page.locator('[data-testid=view-3d]').boundingBox();
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(x + (box.width * fx * i) / 10, y + (box.height * fy * i) / 10);
  await page.mouse.up();
  await settle(page);
}

/** Pixels of the test's segment colour (blue, shaded): blue clearly above red and green. */
function countBlue(img) {
  let n = 0;
  for (let i = 0; i < img.rgb.length; i += 3) {
    const r = img.rgb[i];
    const g = img.rgb[i + 1];
    const b = img.rgb[i + 2];
    if (b > 70 && b > 1.6 * r && b > 1.25 * g) n++;
  }
  return n;
}

/** Foreground mask: anything clearly brighter than the 3D view's near-black background. */
function silhouette(img) {
  const m = new Uint8Array(img.width * img.height);
  for (let p = 0; p < m.length; p++) m[p] = Math.max(img.rgb[3 * p], img.rgb[3 * p + 1], img.rgb[3 * p + 2]) > 30 ? 1 : 0;
  return m;
}

/** Intersection over union of two masks, and the distance (px) between their centroids. */
function compareSilhouettes(a, b, width) {
  let inter = 0;
  let union = 0;
  const c = [0, 0, 0, 0, 0, 0]; // x, y, n of a then of b
  for (let i = 0; i < a.length; i++) {
    inter += a[i] & b[i];
    union += a[i] | b[i];
    const x = i % width;
    const y = Math.floor(i / width);
    if (a[i]) {
      c[0] += x;
      c[1] += y;
      c[2]++;
    }
    if (b[i]) {
      c[3] += x;
      c[4] += y;
      c[5]++;
    }
  }
  const shiftPx = Math.hypot(c[0] / c[2] - c[3] / c[5], c[1] / c[2] - c[4] / c[5]);
  return { iou: union === 0 ? 0 : inter / union, shiftPx };
}
