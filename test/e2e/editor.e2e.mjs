/**
 * Segmentation editor end to end in Chromium through the real web host (issue 5), without a model run:
 *  - threshold painting: the threshold brush (T; its range defaults to the window/level) paints only voxels whose
 *    intensity is in the range — checked against the statistics (min/max inside the range, fewer voxels than the
 *    plain brush along the same stroke);
 *  - merge segments: two segments ticked → one (M), volumes add up; undo brings the row back, redo merges again;
 *  - autosave and recovery: after the autosave (30 s after the last edit) the tab is closed without saving (the
 *    renderer "crashes"); a new tab showing the same series is offered "Recover unsaved segmentation from <time>",
 *    and recovering gives back the same overlay and volumes; "Discard" removes the autosave (a further tab is not
 *    offered anything).
 * Screenshots: test-results/e2e/editor-*.png.
 */
/* global document */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { labelled, openSeries, segmentVolume, settle, statsRows, strokeOn, waitStats, windowLevel } from './editor-helpers.mjs';

const STUDY = ['tcia-brain-tumor-progression', 'dicom', 'PGBM-003_03-29-1995'];
const SERIES = 'T1post';
/** Includes up to 60 s waiting for the autosave and three loads of the series on a busy 2-core machine. */
export const timeoutMs = 420_000;

/** @param {{ page: import('playwright-core').Page, screenshot: (n: string) => Promise<unknown>, shot: (p: import('playwright-core').Page, n: string) => Promise<unknown>, newPage: () => Promise<import('playwright-core').Page>, host: { url: string }, dataRoot: string, log?: (s: string) => void }} ctx */
export default async function editorE2e(ctx) {
  const { page, dataRoot } = ctx;
  const log = ctx.log ?? console.log;
  const study = join(dataRoot, ...STUDY);
  if (!existsSync(study)) throw new Error(`Test data missing: ${study}`);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await openSeries(page, study, SERIES);
  await ctx.screenshot('editor-01-series-open');

  // ---- plain brush along a stroke: the reference for the threshold brush ----
  await page.keyboard.press('b');
  await page.fill('input[aria-label="Brush radius mm"]', '8');
  await strokeOn(page, 'axial', 60, 10);
  await waitStats(page, -1);
  const [plain] = await statsRows(page);
  assert.ok(plain.voxels > 200 && plain.min !== undefined && plain.max > plain.min, `the brush painted voxels of varied intensity (${JSON.stringify(plain)})`);
  await page.keyboard.press('Control+z');
  await waitStats(page, plain.ml);
  assert.equal(await segmentVolume(page), 0);

  // ---- threshold brush: the range defaults to the window/level; paint only the upper part of the intensities ----
  assert.match((await page.getAttribute('[data-testid=tool-threshold]', 'title')) ?? '', /\(T\)/, 'the threshold brush tooltip names its shortcut');
  await page.keyboard.press('t');
  await page.waitForSelector('[data-testid=threshold-range]');
  const wl = await windowLevel(page);
  const lo0 = Number(await page.inputValue('[data-testid=threshold-lo]'));
  const hi0 = Number(await page.inputValue('[data-testid=threshold-hi]'));
  const tol = Math.max(1, wl.width * 0.01); // the readout is rounded to 3 digits
  assert.ok(Math.abs(lo0 - (wl.center - wl.width / 2)) <= tol && Math.abs(hi0 - (wl.center + wl.width / 2)) <= tol, `the range defaults to W/L (${lo0}…${hi0} for W ${wl.width} L ${wl.center})`);
  const lo = Math.round(plain.mean);
  const hi = Math.round(plain.max);
  await page.fill('[data-testid=threshold-lo]', String(lo));
  await page.press('[data-testid=threshold-lo]', 'Tab');
  await page.fill('[data-testid=threshold-hi]', String(hi));
  await page.press('[data-testid=threshold-hi]', 'Tab');
  await strokeOn(page, 'axial', 60, 10);
  await waitStats(page, 0);
  const [thr] = await statsRows(page);
  log(`plain brush: ${plain.voxels} voxels, intensity ${plain.min}…${plain.max} (mean ${plain.mean}); threshold brush [${lo}, ${hi}]: ${thr.voxels} voxels, intensity ${thr.min}…${thr.max}`);
  assert.ok(thr.voxels > 0 && thr.voxels < plain.voxels, `the threshold brush paints a part of the stroke (${thr.voxels} of ${plain.voxels} voxels)`);
  assert.ok(thr.min >= lo && thr.max <= hi, `every painted voxel is within [${lo}, ${hi}] (got ${thr.min}…${thr.max})`);
  await ctx.screenshot('editor-02-threshold-brush');
  const thresholdPx = await labelled(page, 'axial');

  // ---- merge: a second segment painted elsewhere, both ticked, merged into one ----
  await page.keyboard.press('Escape');
  await page.click('text=Add segment');
  assert.equal(await page.locator('[data-testid=segment-row]').count(), 2);
  await page.keyboard.press('b');
  await strokeOn(page, 'axial', 40, 10, 0, 40);
  await page.waitForFunction(
    () => {
      const cells = document.querySelectorAll('[data-testid=segment-volume]');
      return cells.length === 2 && cells[1].getAttribute('data-pending') === 'false' && Number(cells[1].textContent.trim()) > 0;
    },
    null,
    { timeout: 60_000 },
  );
  await waitStats(page, -1);
  const v1 = await segmentVolume(page, 0);
  const v2 = await segmentVolume(page, 1);
  assert.ok(v2 > 0, 'the second segment has voxels');
  const rows = await statsRows(page);
  const voxelsBefore = rows.reduce((n, r) => n + r.voxels, 0);
  await page.keyboard.press('Escape');
  assert.match((await page.getAttribute('[data-testid=merge-segments]', 'title')) ?? '', /\(M\)/, 'the merge tooltip names its shortcut');
  const boxes = page.locator('[data-testid=merge-select]');
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await ctx.screenshot('editor-03-merge-selected');
  await page.click('[data-testid=merge-segments]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=segment-row]').length === 1);
  await waitStats(page, -1);
  const merged = await statsRows(page);
  assert.equal(merged.length, 1);
  assert.equal(merged[0].voxels, voxelsBefore, 'the merged segment has the voxels of both');
  log(`merge: ${v1} + ${v2} mL → ${await segmentVolume(page)} mL (${voxelsBefore} voxels)`);
  await ctx.screenshot('editor-04-merged');
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=segment-row]').length === 2);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=segment-volume]')].every((c) => c.getAttribute('data-pending') === 'false'));
  assert.deepEqual([await segmentVolume(page, 0), await segmentVolume(page, 1)], [v1, v2], 'undo splits them again');
  await page.keyboard.press('Control+Shift+z');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=segment-row]').length === 1);
  await waitStats(page, -1);
  const finalVolume = await segmentVolume(page);
  const finalPx = await labelled(page, 'axial');
  assert.ok(finalPx > thresholdPx, 'the overlay shows both strokes');

  // ---- autosave: 30 s after the last edit ----
  await page.waitForSelector('[data-testid=autosaved]', { timeout: 90_000 });
  log(`autosaved: "${await page.textContent('[data-testid=autosaved]')}"`);
  await ctx.screenshot('editor-05-autosaved');
  assert.deepEqual(errors, [], 'no uncaught page errors');

  // ---- the tab goes away without saving; a new one shows the series and is offered the autosave ----
  await page.context().close();
  const page2 = await ctx.newPage();
  page2.on('pageerror', (e) => errors.push(e.message));
  try {
    await page2.goto(ctx.host.url, { waitUntil: 'load' });
    await openSeries(page2, study, SERIES);
    await page2.waitForSelector('[data-testid=recovery-offer]', { timeout: 30_000 });
    const offer = await page2.textContent('[data-testid=recovery-offer]');
    assert.match(offer ?? '', /Recover unsaved segmentation from/);
    log(`offer: "${offer?.replace(/\s+/g, ' ').trim().slice(0, 200)}"`);
    await ctx.shot(page2, 'editor-06-recovery-offer');
    await page2.click('[data-testid=recover]');
    await page2.waitForFunction(() => /recovered/.test(document.querySelector('[data-testid=seg-origin]')?.textContent ?? ''), null, { timeout: 60_000 });
    await waitStats(page2, -1);
    await settle(page2);
    assert.equal(await segmentVolume(page2), finalVolume, 'the recovered segment has the same volume');
    assert.equal(await labelled(page2, 'axial'), finalPx, 'the recovered overlay is the same');
    assert.equal(await page2.locator('[data-testid=recovery-offer]').count(), 0, 'the offer is gone');
    await ctx.shot(page2, 'editor-07-recovered');
  } finally {
    await page2.context().close();
  }

  // ---- discard: the next tab is offered it (it was not saved), discards it; the one after is offered nothing ----
  const page3 = await ctx.newPage();
  try {
    await page3.goto(ctx.host.url, { waitUntil: 'load' });
    await openSeries(page3, study, SERIES);
    await page3.waitForSelector('[data-testid=recovery-offer]', { timeout: 30_000 });
    await page3.click('[data-testid=discard-recovery]');
    await page3.waitForSelector('[data-testid=recovery-offer]', { state: 'detached' });
    await ctx.shot(page3, 'editor-08-discarded');
  } finally {
    await page3.context().close();
  }
  const page4 = await ctx.newPage();
  try {
    await page4.goto(ctx.host.url, { waitUntil: 'load' });
    await openSeries(page4, study, SERIES);
    await page4.waitForTimeout(3000);
    assert.equal(await page4.locator('[data-testid=recovery-offer]').count(), 0, 'a discarded autosave is not offered again');
  } finally {
    await page4.context().close();
  }
  assert.deepEqual(errors, [], 'no uncaught page errors');
}
