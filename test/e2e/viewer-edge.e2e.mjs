/**
 * Edge cases of the workstation window through the real web host: tiny and single-slice volumes, voxel-exact
 * display, a truncated DICOM file (a banner naming the file; the viewer keeps what it shows), typing in the path
 * dialog while it is still listing a folder.
 *
 * ctx: see test/e2e/run.mjs (page at the host URL, screenshot(name), dataRoot, log).
 */
/* global document, requestAnimationFrame */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const timeoutMs = 240_000;

export default async function viewerEdgeE2e(ctx) {
  const { page, dataRoot } = ctx;
  const data = (...p) => {
    const full = join(dataRoot, ...p);
    if (!existsSync(full)) throw new Error(`Test data missing: ${full}`);
    return full;
  };
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.waitForSelector('[data-testid=open-file]:not([disabled])', { timeout: 30_000 });

  // A 7×5×3 binary volume: every view shows it, with square voxels; "Smooth" off shows the voxels as they are.
  await open(page, data('format-conformance', 'niivue_misc', 'low_res.nii.gz'), { typeImmediately: true });
  await waitLoaded(page);
  assert.match(await page.textContent('[data-testid=series-browser]'), /7×5×3/);
  assert.equal(await page.getAttribute('[data-testid=view-axial]', 'data-slice-count'), '3');
  await ctx.screenshot('viewer-edge-01-low-res-smooth');
  await page.uncheck('[data-testid=interpolate]');
  await settle(page);
  await ctx.screenshot('viewer-edge-02-low-res-voxels');
  await page.check('[data-testid=interpolate]');
  await settle(page);

  // A single-slice DICOM (GE CT, 128×128): the axial view shows it; the others show a one-voxel line.
  await open(page, data('dicom-conformance', 'pydicom_testfiles', 'CT_small.dcm'));
  await waitLoaded(page);
  assert.equal(await page.getAttribute('[data-testid=view-axial]', 'data-slice-count'), '1');
  assert.match(await page.textContent('[data-testid=wl-readout]'), /W 400 L 40\b/, 'a CT opens with the soft-tissue window');
  await ctx.screenshot('viewer-edge-03-single-slice-ct');

  // A truncated DICOM file: a readable banner naming the file; the single-slice CT stays on screen.
  await open(page, data('dicom-conformance', 'pydicom_testfiles', 'MR_truncated.dcm'));
  await page.waitForSelector('[data-testid=error-banner] .error', { timeout: 60_000 });
  const banner = await page.textContent('[data-testid=error-banner]');
  assert.match(banner, /MR_truncated\.dcm/, `banner names the file: ${banner}`);
  assert.match(banner, /truncat/i, `banner says what is wrong: ${banner}`);
  assert.equal(await page.getAttribute('[data-testid=view-axial]', 'data-slice-count'), '1');
  await ctx.screenshot('viewer-edge-04-truncated-banner');

  assert.deepEqual(pageErrors, [], 'no uncaught page errors');
}

/**
 * Open a path with "Open file…". With `typeImmediately`, the path is typed before the folder listing arrives
 * (the listing must not overwrite it).
 */
async function open(page, path, { typeImmediately = false } = {}) {
  await page.click('[data-testid=open-file]');
  await page.waitForSelector('[data-testid=path-dialog]');
  if (!typeImmediately) await page.waitForSelector('[data-testid=path-entries] .entry');
  await page.fill('[data-testid=path-input]', path);
  if (typeImmediately) await page.waitForSelector('[data-testid=path-entries] .entry');
  assert.equal(await page.inputValue('[data-testid=path-input]'), path, 'the typed path is kept');
  await page.click('[data-testid=path-open]');
  await page.waitForSelector('[data-testid=path-dialog]', { state: 'detached' });
}

async function waitLoaded(page) {
  await page.waitForFunction(
    () =>
      document.querySelector('[data-testid=series-item].shown') !== null &&
      document.querySelector('[data-testid=progress]') === null &&
      document.querySelector('[data-testid=view-grid]')?.getAttribute('data-loaded') === 'true',
    null,
    { timeout: 120_000 },
  );
  await settle(page);
}

async function settle(page) {
  await page.waitForSelector('[data-testid=view-grid][data-render-pending=false]');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}
