/**
 * End-to-end test of the workstation window through the real web host (test/e2e/harness.mjs starts it and
 * opens Debian's Chromium on it with SwiftShader WebGL2).
 *
 * ctx: { page: a Playwright page already at the host URL (with its token), screenshot(name): saves
 *        test-results/e2e/<name>.png, dataRoot: the shared data folder }.
 *
 * Opens a real CT (TotalSegmentator's JPEG 2000 DICOM series), a real oblique brain MR (TCIA DICOM) and NIfTI
 * files of the format-conformance set; scrolls, changes window/level by dragging, applies presets, moves the
 * linked crosshair, zooms; asserts the DOM state and saves a screenshot at each step. The 48-orientation NIfTI
 * set checks the rendered pixels: the same brain stored in another voxel order must look the same on screen,
 * while a left–right mirror of it must not.
 */
/* global document, requestAnimationFrame, window, DataTransfer, DragEvent */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePng as decodeRgb } from './png.mjs';

/** @typedef {{ page: import('playwright-core').Page, screenshot: (name: string) => Promise<unknown>, dataRoot: string }} Ctx */

const LOAD_TIMEOUT_MS = 120_000;
/** Software WebGL on a busy 2-core machine: the whole walk-through takes 1–2 minutes. */
export const timeoutMs = 420_000;

/** @param {Ctx} ctx */
export default async function viewerE2e(ctx) {
  const { page, dataRoot } = ctx;
  const data = (...p) => {
    const full = join(dataRoot, ...p);
    if (!existsSync(full)) throw new Error(`Test data missing: ${full}`);
    return full;
  };
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.waitForSelector('[data-testid=open-folder]:not([disabled])', { timeout: 30_000 });
  await ctx.screenshot('viewer-00-start');

  // ---- CT: DICOM series (JPEG 2000), found with the web host's folder browser ----
  await page.click('[data-testid=open-folder]');
  await page.waitForSelector('[data-testid=path-dialog] .entry');
  assert.equal(await page.inputValue('[data-testid=path-input]'), dataRoot, 'the dialog starts at the data root');
  await ctx.screenshot('viewer-01-open-dialog');
  await page.dblclick('[data-testid=path-entries] .entry:has-text("totalseg-example")');
  await page.waitForSelector('[data-testid=path-entries] .entry:has-text("example_ct_dicom")');
  await page.click('[data-testid=path-entries] .entry:has-text("example_ct_dicom")');
  assert.equal(await page.inputValue('[data-testid=path-input]'), data('totalseg-example', 'example_ct_dicom'));
  const t0 = Date.now();
  await page.click('[data-testid=path-open]');
  await waitLoaded(page);
  const ms = async (a) => (await page.getAttribute('.app', `data-${a}-ms`)) ?? '?';
  (ctx.log ?? console.log)(
    `20-slice CT DICOM (JPEG 2000, 512²): "Open" → all views drawn ${Date.now() - t0} ms ` +
      `(scan ${await ms('scan')}, load ${await ms('load')}, then first slice ${await ms('first-slice')}, first 3D frame ${await ms('first-3d')})`,
  );
  await ctx.screenshot('viewer-02-ct-loaded');
  await assertLabels(page);
  for (const v of ['axial', 'coronal', 'sagittal', '3d']) await assertNotBlank(page, v);
  assert.equal(await page.inputValue('[data-testid=wl-preset]'), 'ct-soft', 'CT opens with the soft-tissue window');
  assert.match(await text(page, '[data-testid=wl-readout]'), /W 400 L 40\b/);
  const ctCounts = await sliceCounts(page);
  assert.equal(ctCounts.axial, 20, 'the CT series has 20 axial slices');

  // Wheel: three notches up on the axial view = three slices forward.
  const a0 = await sliceNumber(page, 'axial');
  await wheel(page, 'axial', -100, 3);
  const a1 = await sliceNumber(page, 'axial');
  assert.equal(a1, Math.min(a0 + 3, ctCounts.axial), `wheel moved the axial slice (${a0} → ${a1})`);
  await wheel(page, 'axial', 100, 1);
  assert.equal(await sliceNumber(page, 'axial'), a1 - 1, 'wheel down goes back one slice');
  await ctx.screenshot('viewer-03-ct-scrolled');

  // Left drag = window/level.
  const wlBefore = await text(page, '[data-testid=wl-readout]');
  await drag(page, 'axial', { dx: 120, dy: 40, button: 'left' });
  const wlAfter = await text(page, '[data-testid=wl-readout]');
  assert.notEqual(wlAfter, wlBefore, 'dragging changed window/level');
  assert.equal(await page.inputValue('[data-testid=wl-preset]'), 'custom');
  const [w1, l1] = parseWl(wlBefore);
  const [w2, l2] = parseWl(wlAfter);
  assert.ok(w2 > w1, `drag right widens the window (${w1} → ${w2})`);
  assert.ok(l2 > l1, `drag down raises the level (${l1} → ${l2})`);
  await ctx.screenshot('viewer-04-ct-wl-dragged');

  // Presets.
  await page.selectOption('[data-testid=wl-preset]', 'ct-lung');
  await settle(page);
  assert.match(await text(page, '[data-testid=wl-readout]'), /W 1500 L -600\b/);
  await ctx.screenshot('viewer-05-ct-lung-window');
  await page.selectOption('[data-testid=wl-preset]', 'ct-bone');
  await settle(page);
  assert.match(await text(page, '[data-testid=wl-readout]'), /W 1800 L 400\b/);
  await page.selectOption('[data-testid=vr-preset]', 'ct-soft');
  await settle(page);
  await ctx.screenshot('viewer-06-ct-bone-window-3d-soft');

  // Linked crosshair: a click off-centre in the axial view moves the coronal and sagittal slices.
  const before = await sliceNumbers(page);
  const box = await viewBox(page, 'axial');
  await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.62);
  await settle(page);
  const after = await sliceNumbers(page);
  assert.equal(after.axial, before.axial, 'clicking keeps the axial slice');
  assert.notEqual(after.sagittal, before.sagittal, 'clicking moved the sagittal slice');
  assert.notEqual(after.coronal, before.coronal, 'clicking moved the coronal slice');
  // Screen-left of the axial view is patient right: clicking left of centre moves the sagittal plane to the right.
  assert.match(await page.textContent('[data-testid=view-sagittal] [data-testid=slice-readout]'), /R \d/);
  const voxel = /\((\d+), (\d+), (\d+)\) = (-?\d+) HU/.exec(await text(page, '[data-testid=cursor-readout]'));
  assert.ok(voxel, 'the voxel under the crosshair is shown with its HU value');
  assert.ok(Number(voxel[4]) >= -1024 && Number(voxel[4]) <= 3071, `plausible HU at the crosshair: ${voxel[0]}`);
  // This series' k axis points superior (direction = identity), and axial slices are numbered from inferior.
  assert.equal(Number(voxel[3]), after.axial - 1, 'k of the crosshair voxel matches the axial slice number');
  await ctx.screenshot('viewer-07-ct-crosshair');

  // Right drag = zoom (up = closer), Shift+drag = pan, double-click = fit.
  const h0 = Number(await page.getAttribute('[data-testid=view-coronal]', 'data-half-height-mm'));
  await drag(page, 'coronal', { dx: 0, dy: -80, button: 'right' });
  const h1 = Number(await page.getAttribute('[data-testid=view-coronal]', 'data-half-height-mm'));
  assert.ok(h1 < h0 * 0.8, `right drag up zoomed in (${h0} → ${h1} mm half-height)`);
  await drag(page, 'coronal', { dx: 60, dy: 30, button: 'left', modifiers: ['Shift'] });
  await ctx.screenshot('viewer-08-ct-zoomed-panned');
  const cbox = await viewBox(page, 'coronal');
  await page.mouse.dblclick(cbox.x + cbox.width / 2, cbox.y + cbox.height / 2);
  await settle(page);
  assert.equal(Number(await page.getAttribute('[data-testid=view-coronal]', 'data-half-height-mm')), h0, 'double-click fits again');

  // ---- A file that is not an image: a readable banner naming the file; the viewer keeps its volume ----
  await openPath(page, data('totalseg-example', 'PROVENANCE.txt'), 'file');
  await page.waitForSelector('[data-testid=error-banner] .error', { timeout: LOAD_TIMEOUT_MS });
  const banner = await text(page, '[data-testid=error-banner]');
  assert.match(banner, /[A-Z_]{2,}/, 'the banner shows an error code');
  assert.match(banner, /PROVENANCE\.txt/, `the banner names the file: ${banner}`);
  assert.equal(await page.getAttribute('[data-testid=view-grid]', 'data-loaded'), 'true', 'the CT is still shown');
  assert.equal(await page.locator('[data-testid=series-item]').count(), 1, 'the series list is kept');
  await ctx.screenshot('viewer-08b-error-banner');
  await page.click('[data-testid=error-banner] .dismiss');
  await page.waitForSelector('[data-testid=error-banner]', { state: 'detached' });

  // ---- MR: oblique brain DICOM with three series (T1post, FLAIR, tumour mask) ----
  await openPath(page, data('tcia-brain-tumor-progression', 'dicom', 'PGBM-001_04-02-1992'), 'folder');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=series-item]').length >= 3, null, { timeout: LOAD_TIMEOUT_MS });
  await ctx.screenshot('viewer-09-mr-series-list');
  const t1 = page.locator('[data-testid=series-item]', { hasText: /T1/i }).first();
  await t1.click();
  await waitLoaded(page, await t1.getAttribute('data-volume-id'));
  await ctx.screenshot('viewer-10-mr-t1-loaded');
  await assertLabels(page);
  for (const v of ['axial', 'coronal', 'sagittal', '3d']) await assertNotBlank(page, v);
  assert.equal(await page.inputValue('[data-testid=wl-preset]'), 'auto', 'MR opens with the percentile window');
  assert.equal(await page.inputValue('[data-testid=vr-preset]'), 'mr');
  const dicomViews = await grabViews(page);
  const m0 = await sliceNumber(page, 'axial');
  await wheel(page, 'axial', 100, 2);
  assert.equal(await sliceNumber(page, 'axial'), m0 - 2);
  await drag(page, 'sagittal', { dx: -60, dy: -30, button: 'left' });
  await ctx.screenshot('viewer-11-mr-scrolled-wl');
  await page.selectOption('[data-testid=wl-preset]', 'auto');
  await settle(page);

  // ---- The same T1 as converted by dcm2niix (NIfTI): all three views must look the same as from DICOM ----
  await openPath(page, data('tcia-brain-tumor-progression', 'nifti', 'PGBM-001_04-02-1992', 'PGBM-001_04-02-1992_T1post.nii.gz'), 'file');
  await waitLoaded(page);
  await assertShown(page, /PGBM-001_04-02-1992_T1post\.nii\.gz$/);
  const niftiViews = await grabViews(page);
  assert.equal(niftiViews.wl, dicomViews.wl, 'same automatic window from DICOM and from the dcm2niix NIfTI');
  assert.deepEqual(niftiViews.slices, dicomViews.slices, 'same slice numbers and counts');
  for (const v of ['axial', 'coronal', 'sagittal']) {
    const diff = meanAbsDiff(dicomViews[v], niftiViews[v]);
    (ctx.log ?? console.log)(`oblique T1 ${v} view, DICOM vs dcm2niix NIfTI: mean |Δgrey| = ${diff.toFixed(3)}`);
    assert.ok(diff < 1.5, `oblique T1 ${v}: DICOM and dcm2niix NIfTI render alike (mean |Δ| = ${diff.toFixed(2)})`);
  }
  await ctx.screenshot('viewer-11b-mr-t1-dcm2niix-nifti');

  // ---- NIfTI: oblique FLAIR, then the 48-orientation brain ----
  await openPath(page, data('format-conformance', 'niivue_flair_nii_nrrd', 'FLAIR.nii.gz'), 'file');
  await waitLoaded(page);
  await assertShown(page, /FLAIR\.nii\.gz$/);
  await assertLabels(page);
  await ctx.screenshot('viewer-12-nifti-oblique-flair');
  const flairNifti = await grabViews(page);
  // The same FLAIR stored as NRRD (space LPS): identical on screen.
  await openPath(page, data('format-conformance', 'niivue_flair_nii_nrrd', 'FLAIR.nrrd'), 'file');
  await waitLoaded(page);
  await assertShown(page, /FLAIR\.nrrd$/);
  const flairNrrd = await grabViews(page);
  assert.equal(flairNrrd.wl, flairNifti.wl);
  assert.deepEqual(flairNrrd.slices, flairNifti.slices);
  for (const v of ['axial', 'coronal', 'sagittal']) {
    const diff = meanAbsDiff(flairNifti[v], flairNrrd[v]);
    (ctx.log ?? console.log)(`oblique FLAIR ${v} view, NIfTI vs NRRD: mean |Δgrey| = ${diff.toFixed(3)}`);
    assert.ok(diff < 1.5, `FLAIR ${v}: NIfTI and NRRD render alike (mean |Δ| = ${diff.toFixed(2)})`);
  }

  // ---- Drag-and-drop in a browser: the file is uploaded (volumes.scanUpload); MetaImage, compressed ----
  const mha = readFileSync(data('format-conformance', 'niivue_misc', 'mha.mha')).toString('base64');
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'mha.mha'));
    window.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
    window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, mha);
  await waitLoaded(page);
  assert.match(await text(page, '[data-testid=series-browser]'), /64×64×37/, 'the dropped MHA is listed with its size');
  await assertLabels(page);
  await ctx.screenshot('viewer-12b-dropped-mha');

  // ---- Recent items list what was opened ----
  await page.click('[data-testid=recent]');
  const recent = await page.$$eval('.menu [role=menuitem]', (els) => els.map((e) => e.getAttribute('title')));
  assert.ok(recent.includes(data('tcia-brain-tumor-progression', 'dicom', 'PGBM-001_04-02-1992')), `recent items: ${recent.join(', ')}`);
  await ctx.screenshot('viewer-12c-recent');
  await page.click('[data-testid=recent]');

  await openPath(page, data('format-conformance', 'niivue_nifti_space_48_orientations', 'RAS.nii.gz'), 'file');
  await waitLoaded(page);
  await assertShown(page, /RAS\.nii\.gz$/);
  const ras = decodePng(await axialImage(page));
  await ctx.screenshot('viewer-13-nifti-RAS');
  for (const name of ['LPS', 'PIL', 'SRA']) {
    await openPath(page, data('format-conformance', 'niivue_nifti_space_48_orientations', `${name}.nii.gz`), 'file');
    await waitLoaded(page);
    await assertShown(page, new RegExp(`${name}\\.nii\\.gz$`));
    const other = decodePng(await axialImage(page));
    const diff = meanAbsDiff(ras, other);
    (ctx.log ?? console.log)(`axial view, ${name}.nii.gz vs RAS.nii.gz: mean |Δgrey| = ${diff.toFixed(3)}`);
    assert.ok(diff < 1.5, `${name}.nii.gz looks like RAS.nii.gz in the axial view (mean |Δ| = ${diff.toFixed(2)})`);
    await ctx.screenshot(`viewer-14-nifti-${name}`);
  }
  const mirrored = meanAbsDiff(ras, mirror(ras));
  (ctx.log ?? console.log)(`axial view, RAS.nii.gz vs its left–right mirror: mean |Δgrey| = ${mirrored.toFixed(3)}`);
  assert.ok(mirrored > 5, `a left–right mirror of the axial image differs clearly (mean |Δ| = ${mirrored.toFixed(2)})`);

  assert.deepEqual(await page.$$eval('[data-testid=error-banner] .error', (els) => els.map((e) => e.textContent)), []);
  assert.deepEqual(errors, [], 'no uncaught page errors');
}

// ---------------------------------------------------------------------------------------------------------

/** Open a path through "Open file…"/"Open folder…" and the web path dialog. */
async function openPath(page, path, kind, ctx, shotName) {
  await page.click(kind === 'file' ? '[data-testid=open-file]' : '[data-testid=open-folder]');
  await page.waitForSelector('[data-testid=path-dialog]');
  await page.waitForSelector('[data-testid=path-entries] .entry');
  if (ctx && shotName) await ctx.screenshot(shotName);
  await page.fill('[data-testid=path-input]', path);
  await page.click('[data-testid=path-open]');
  await page.waitForSelector('[data-testid=path-dialog]', { state: 'detached' });
}

/** Wait until a volume is shown (optionally a given one), no job runs and the views have drawn. */
async function waitLoaded(page, volumeId) {
  await page.waitForFunction(
    (id) => {
      const shown = document.querySelector('[data-testid=series-item].shown');
      return (
        shown !== null &&
        (!id || shown.getAttribute('data-volume-id') === id) &&
        document.querySelector('[data-testid=progress]') === null &&
        document.querySelector('[data-testid=view-grid]')?.getAttribute('data-loaded') === 'true'
      );
    },
    volumeId ?? null,
    { timeout: LOAD_TIMEOUT_MS },
  );
  await settle(page);
}

/** The volume on screen comes from the expected file (its series-browser entry is the shown one). */
async function assertShown(page, sourcePattern) {
  const source = await page.getAttribute('[data-testid=series-item].shown', 'title');
  assert.match(source ?? '', sourcePattern, 'the expected volume is on screen');
}

/** Wait for the scheduled render to be drawn, then one more frame for compositing. */
async function settle(page) {
  await page.waitForSelector('[data-testid=view-grid][data-render-pending=false]');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function assertLabels(page) {
  const expected = {
    axial: { left: 'R', right: 'L', top: 'A', bottom: 'P' },
    coronal: { left: 'R', right: 'L', top: 'S', bottom: 'I' },
    sagittal: { left: 'A', right: 'P', top: 'S', bottom: 'I' },
  };
  for (const [view, edges] of Object.entries(expected))
    for (const [edge, letter] of Object.entries(edges))
      assert.equal((await text(page, `[data-testid=view-${view}] [data-testid=label-${edge}]`)).trim(), letter, `${view} ${edge} label`);
}

async function text(page, selector) {
  return (await page.textContent(selector)) ?? '';
}

function parseWl(s) {
  const m = /W (-?[\d.]+) L (-?[\d.]+)/.exec(s);
  assert.ok(m, `W/L readout "${s}"`);
  return [Number(m[1]), Number(m[2])];
}

async function sliceNumber(page, view) {
  return Number(await page.getAttribute(`[data-testid=view-${view}]`, 'data-slice-number'));
}
async function sliceNumbers(page) {
  return { axial: await sliceNumber(page, 'axial'), coronal: await sliceNumber(page, 'coronal'), sagittal: await sliceNumber(page, 'sagittal') };
}
async function sliceCounts(page) {
  const c = async (v) => Number(await page.getAttribute(`[data-testid=view-${v}]`, 'data-slice-count'));
  return { axial: await c('axial'), coronal: await c('coronal'), sagittal: await c('sagittal') };
}

async function viewBox(page, view) {
  const box = await page.locator(`[data-testid=view-${view}]`).boundingBox();
  assert.ok(box, `${view} view is laid out`);
  return box;
}

async function wheel(page, view, deltaY, times) {
  const box = await viewBox(page, view);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < times; i++) {
    await page.mouse.wheel(0, deltaY);
    await settle(page);
  }
}

async function drag(page, view, { dx, dy, button, modifiers = [] }) {
  const box = await viewBox(page, view);
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  for (const m of modifiers) await page.keyboard.down(m);
  await page.mouse.move(x, y);
  await page.mouse.down({ button });
  for (let i = 1; i <= 8; i++) await page.mouse.move(x + (dx * i) / 8, y + (dy * i) / 8);
  await page.mouse.up({ button });
  for (const m of modifiers) await page.keyboard.up(m);
  await settle(page);
}

/**
 * A view shows an image: at least 2% of the pixels of its inner part (12% margins, clear of the corner text and
 * edge labels) are clearly brighter than the background.
 */
async function assertNotBlank(page, view) {
  const box = await page.locator(`[data-testid=view-${view}]`).boundingBox();
  assert.ok(box, `${view} view is laid out`);
  const clip = { x: box.x + box.width * 0.12, y: box.y + box.height * 0.12, width: Math.floor(box.width * 0.76), height: Math.floor(box.height * 0.76) };
  const img = decodePng(await page.screenshot({ clip }));
  let bright = 0;
  for (const g of img.grey) if (g > 40) bright++;
  const fraction = bright / img.grey.length;
  assert.ok(fraction > 0.02, `the ${view} view is not blank (${(fraction * 100).toFixed(1)}% of pixels lit)`);
}

/** The three 2D views (inner parts, decoded), the W/L readout and the slice readouts. */
async function grabViews(page) {
  const out = { wl: await text(page, '[data-testid=wl-readout]'), slices: {} };
  for (const v of ['axial', 'coronal', 'sagittal']) {
    out[v] = decodePng(await viewImage(page, v));
    out.slices[v] = `${await sliceNumber(page, v)}/${await page.getAttribute(`[data-testid=view-${v}]`, 'data-slice-count')}`;
  }
  return out;
}

async function axialImage(page) {
  return viewImage(page, 'axial');
}

/** PNG of the middle 70% of a view (away from the corner overlays and edge labels). */
async function viewImage(page, view) {
  const box = await viewBox(page, view);
  return page.screenshot({
    clip: { x: box.x + box.width * 0.15, y: box.y + box.height * 0.15, width: Math.floor(box.width * 0.7), height: Math.floor(box.height * 0.7) },
  });
}

/** A screenshot as grey values (mean of R, G, B): { width, height, grey }. */
function decodePng(buf) {
  const { width, height, rgb } = decodeRgb(buf);
  const grey = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) grey[i] = (rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3;
  return { width, height, grey };
}

function meanAbsDiff(a, b) {
  assert.equal(a.width, b.width);
  assert.equal(a.height, b.height);
  let s = 0;
  for (let i = 0; i < a.grey.length; i++) s += Math.abs(a.grey[i] - b.grey[i]);
  return s / a.grey.length;
}

function mirror(img) {
  const grey = new Float32Array(img.grey.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) grey[y * img.width + x] = img.grey[y * img.width + img.width - 1 - x];
  return { ...img, grey };
}
