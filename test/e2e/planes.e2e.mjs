/**
 * The slice planes in the 3D view, in Chromium through the real web host (issue 5): open the InVesalius cranium CT
 * (NIfTI, an axis-aligned grid) and check that the 3D view outlines the three 2D slices in the views' colours where
 * they are:
 *  - the outlines are there with the "Planes" switch on and gone with it off (pixels that change between the two
 *    screenshots, classified by colour: axial red, coronal green, sagittal yellow);
 *  - placement: the camera looks from the front, so the coronal outline is the box's L–R × I–S rectangle and the
 *    axial and sagittal planes are seen edge-on as a horizontal and a vertical band. The axial band's height in that
 *    rectangle is the axial slice's position in the volume (slice number / count) and the sagittal band's x
 *    position the sagittal slice's, within 0.08 of the rectangle (perspective and the occluded back edges);
 *  - following the crosshair: after scrolling the axial and sagittal views the bands move to the new slices.
 * Screenshots: test-results/e2e/planes-*.png.
 */
/* global document, requestAnimationFrame, createImageBitmap, OffscreenCanvas */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openFile } from './editor-helpers.mjs';

/** Axis-aligned (direction diag(−1, 1, 1)): the coronal cut through the cursor spans the whole L–R × I–S extent. */
const CT = ['invesalius-cranium-ct', 'cranium_ct.nii.gz'];
/** Fraction of the coronal rectangle a band may be off its expected place. */
const TOLERANCE = 0.08;
export const timeoutMs = 300_000;

/** @param {{ page: import('playwright-core').Page, screenshot: (n: string) => Promise<unknown>, dataRoot: string, log?: (s: string) => void }} ctx */
export default async function planesE2e(ctx) {
  const { page, dataRoot } = ctx;
  const log = ctx.log ?? console.log;
  const ct = join(dataRoot, ...CT);
  if (!existsSync(ct)) throw new Error(`Test data missing: ${ct}`);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await openFile(page, ct);
  await page.waitForFunction(
    () => document.querySelector('[data-testid=progress]') === null && document.querySelector('[data-testid=view-grid]')?.getAttribute('data-loaded') === 'true',
    null,
    { timeout: 120_000 },
  );
  await page.waitForSelector('[data-testid=planes-control][data-planes="3"]', { timeout: 30_000 });
  assert.ok(await page.isChecked('[data-testid=planes-toggle]'), 'the planes are on by default');

  const first = await measure(page, ctx, 'planes-01-centre');
  check(first, 'at the centre', log);

  // Move the crosshair: axial slices up (wheel), sagittal slices to one side.
  await wheelOn(page, 'axial', -100, 5);
  await wheelOn(page, 'sagittal', 100, 40);
  const moved = await measure(page, ctx, 'planes-02-moved');
  check(moved, 'after scrolling', log);
  assert.notEqual(moved.axial.number, first.axial.number, 'the axial slice moved');
  assert.notEqual(moved.sagittal.number, first.sagittal.number, 'the sagittal slice moved');
  // The bands moved the way the slices did (screen y down = inferior; screen x right = patient left = lower sagittal number).
  assert.equal(Math.sign(first.red.meanY - moved.red.meanY), Math.sign(moved.axial.number - first.axial.number), 'the axial outline follows its slice');
  assert.equal(Math.sign(first.yellow.meanX - moved.yellow.meanX), Math.sign(moved.sagittal.number - first.sagittal.number), 'the sagittal outline follows its slice');

  assert.deepEqual(errors, [], 'no uncaught errors in the page');
  assert.equal(await page.locator('[data-testid=error-banner]').count(), 0, 'no error banner');
}

/** Compare the band positions in the coronal rectangle with the slice positions of the 2D views. */
function check(m, when, log) {
  const rect = m.green;
  const fy = (m.red.meanY - rect.minY) / (rect.maxY - rect.minY);
  const fx = (m.yellow.meanX - rect.minX) / (rect.maxX - rect.minX);
  // Axial slice 1 is the most inferior (bottom of the rectangle); sagittal slice 1 the patient's leftmost (screen right).
  const wantY = 1 - (m.axial.number - 1) / (m.axial.count - 1);
  const wantX = 1 - (m.sagittal.number - 1) / (m.sagittal.count - 1);
  log(
    `${when}: axial ${m.axial.number}/${m.axial.count} → band at ${fy.toFixed(3)} of the height (expected ${wantY.toFixed(3)}); ` +
      `sagittal ${m.sagittal.number}/${m.sagittal.count} → band at ${fx.toFixed(3)} of the width (expected ${wantX.toFixed(3)}); ` +
      `pixels red ${m.red.n}, green ${m.green.n}, yellow ${m.yellow.n}, changed ${m.changed}`,
  );
  for (const [c, n] of [
    ['red', m.red.n],
    ['green', m.green.n],
    ['yellow', m.yellow.n],
  ])
    assert.ok(n > 50, `${when}: the ${c} outline is drawn (${n} px)`);
  assert.ok(Math.abs(fy - wantY) < TOLERANCE, `${when}: the axial outline is at its slice (${fy.toFixed(3)} vs ${wantY.toFixed(3)})`);
  assert.ok(Math.abs(fx - wantX) < TOLERANCE, `${when}: the sagittal outline is at its slice (${fx.toFixed(3)} vs ${wantX.toFixed(3)})`);
}

/** Screenshots of the 3D view with the planes on and off; the changed pixels by colour; the 2D views' slices. */
async function measure(page, ctx, name) {
  await settle(page);
  await ctx.screenshot(name);
  const on = await view3d(page);
  await page.uncheck('[data-testid=planes-toggle]');
  await page.waitForSelector('[data-testid=planes-control][data-planes="0"]');
  const off = await view3d(page);
  await page.check('[data-testid=planes-toggle]');
  await page.waitForSelector('[data-testid=planes-control][data-planes="3"]');
  const stats = await page.evaluate(analyse, { on: on.toString('base64'), off: off.toString('base64') });
  const slice = async (v) => ({
    number: Number(await page.getAttribute(`[data-testid=view-${v}]`, 'data-slice-number')),
    count: Number(await page.getAttribute(`[data-testid=view-${v}]`, 'data-slice-count')),
  });
  return { ...stats, axial: await slice('axial'), sagittal: await slice('sagittal') };
}

/**
 * In the page: decode both PNGs and classify the pixels that the planes change (any channel by > 40) by the colour
 * with the planes on: red (axial #e8555a), green (coronal #5ac46a), yellow (sagittal #e8d25a).
 */
async function analyse({ on, off }) {
  const decode = async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const canvas = new OffscreenCanvas(bmp.width, bmp.height);
    const g = canvas.getContext('2d');
    g.drawImage(bmp, 0, 0);
    return { width: bmp.width, height: bmp.height, data: g.getImageData(0, 0, bmp.width, bmp.height).data };
  };
  const a = await decode(on);
  const b = await decode(off);
  const cls = () => ({ n: 0, sumX: 0, sumY: 0, minX: Infinity, maxX: -Infinity, minY: Infinity, maxY: -Infinity });
  const out = { red: cls(), green: cls(), yellow: cls(), changed: 0 };
  for (let y = 0; y < a.height; y++)
    for (let x = 0; x < a.width; x++) {
      const i = 4 * (y * a.width + x);
      const [r, g, bl] = [a.data[i], a.data[i + 1], a.data[i + 2]];
      if (Math.max(Math.abs(r - b.data[i]), Math.abs(g - b.data[i + 1]), Math.abs(bl - b.data[i + 2])) <= 40) continue;
      out.changed++;
      let c = null;
      if (g > 100 && g > 1.4 * r && g > 1.4 * bl) c = out.green;
      else if (r > 120 && g > 110 && bl < 0.6 * Math.min(r, g)) c = out.yellow;
      else if (r > 120 && g < 0.6 * r && bl < 0.6 * r) c = out.red;
      if (!c) continue;
      c.n++;
      c.sumX += x;
      c.sumY += y;
      c.minX = Math.min(c.minX, x);
      c.maxX = Math.max(c.maxX, x);
      c.minY = Math.min(c.minY, y);
      c.maxY = Math.max(c.maxY, y);
    }
  for (const k of ['red', 'green', 'yellow']) {
    out[k].meanX = out[k].sumX / out[k].n;
    out[k].meanY = out[k].sumY / out[k].n;
  }
  return out;
}

/** The 3D view's inner part (below the corner texts), as PNG bytes. */
async function view3d(page) {
  await settle(page);
  const box = await page.locator('[data-testid=view-3d]').boundingBox();
  return page.screenshot({ clip: { x: box.x + 2, y: box.y + 30, width: Math.floor(box.width - 4), height: Math.floor(box.height - 60) } });
}

async function wheelOn(page, view, deltaY, times) {
  const box = await page.locator(`[data-testid=view-${view}]`).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < times; i++) await page.mouse.wheel(0, deltaY);
  await settle(page);
}

/** The 2D views drawn, then the 3D view's own render (the planes redraw it within 100 ms) and a composite. */
async function settle(page) {
  await page.waitForSelector('[data-testid=view-grid][data-render-pending=false]');
  await page.waitForTimeout(300);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(r)))));
}
