/**
 * Helpers of the e2e tests (editor, workflow, mesh, planes): open a file or series through the web host's path
 * dialog, wait for renders and statistics, read the overlay and the segment table, drag strokes. Not a test file
 * (run.mjs runs only *.e2e.mjs).
 */
/* global document, requestAnimationFrame */

/** Wait until every view rendered and two animation frames passed. */
export async function settle(page) {
  await page.waitForSelector('[data-testid=view-grid][data-render-pending=false]');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** Open the image file `path` with the path dialog and wait until its series is shown (not yet drawn). */
export async function openFile(page, path) {
  await page.waitForSelector('[data-testid=open-file]:not([disabled])', { timeout: 30_000 });
  await page.click('[data-testid=open-file]');
  await page.waitForSelector('[data-testid=path-entries] .entry');
  await page.fill('[data-testid=path-input]', path);
  await page.click('[data-testid=path-open]');
  await page.waitForSelector('[data-testid=path-dialog]', { state: 'detached' });
  await page.waitForSelector('[data-testid=series-item].shown', { timeout: 120_000 });
}

/** Open `folder` with the path dialog, then show the series whose item title matches `pattern`. */
export async function openSeries(page, folder, pattern) {
  await page.waitForSelector('[data-testid=open-folder]:not([disabled])', { timeout: 30_000 });
  await page.click('[data-testid=open-folder]');
  await page.waitForSelector('[data-testid=path-entries] .entry');
  await page.fill('[data-testid=path-input]', folder);
  await page.click('[data-testid=path-open]');
  await page.waitForSelector('[data-testid=path-dialog]', { state: 'detached' });
  const item = `[data-testid=series-item][title*="${pattern}"]`;
  await page.waitForSelector(item, { timeout: 120_000 });
  await page.click(item);
  await waitLoaded(page, new RegExp(pattern));
}

export async function waitLoaded(page, sourcePattern) {
  await page.waitForFunction(
    (src) => {
      const shown = document.querySelector('[data-testid=series-item].shown');
      return (
        shown !== null &&
        new RegExp(src).test(shown.getAttribute('title') ?? '') &&
        document.querySelector('[data-testid=progress]') === null &&
        document.querySelector('[data-testid=view-grid]')?.getAttribute('data-loaded') === 'true'
      );
    },
    sourcePattern.source,
    { timeout: 120_000 },
  );
  await settle(page);
}

export async function sliceNumber(page, view) {
  return Number(await page.getAttribute(`[data-testid=view-${view}]`, 'data-slice-number'));
}

/** Labelled pixels of the overlay of a view. */
export async function labelled(page, view) {
  await settle(page);
  return Number(await page.getAttribute(`[data-testid=labelmap-${view}]`, 'data-labelled-pixels'));
}

/** Pixels of a view tinted by the uncertainty overlay. */
export async function uncertainPixels(page, view) {
  await settle(page);
  return Number(await page.getAttribute(`[data-testid=labelmap-${view}]`, 'data-uncertain-pixels'));
}

/** Volume (mL) shown in row `index` of the segment table. */
export async function segmentVolume(page, index = 0) {
  const t = (await page.locator('[data-testid=segment-volume]').nth(index).textContent()) ?? '';
  return Number(t.trim());
}

/** Wait until the segment table shows fresh statistics (no request pending) different from `previous` (-1: any). */
export async function waitStats(page, previous) {
  await page.waitForFunction(
    (prev) => {
      const cell = document.querySelector('[data-testid=segment-volume]');
      const t = cell?.textContent?.trim() ?? '';
      return cell?.getAttribute('data-pending') === 'false' && t !== '' && t !== '…' && Number.isFinite(Number(t)) && (prev < 0 || Number(t) !== prev);
    },
    previous,
    { timeout: 60_000 },
  );
}

/**
 * The statistics lines of the panel, parsed: `{ name, voxels, ml, mean, sd, min, max }` per segment (intensity
 * fields undefined for an empty segment).
 */
export async function statsRows(page) {
  const lines = await page.$$eval('[data-testid=stats] div.small', (els) => els.map((e) => e.textContent ?? ''));
  return lines.map((t) => {
    const m = /^(.*?): (\d+) voxels, ([\d.]+) mL(?:; intensity (-?[\d.]+) ± ([\d.]+) \(min (-?[\d.e+-]+), max (-?[\d.e+-]+)\))?/.exec(t.trim());
    if (!m) throw new Error(`unreadable statistics line: ${t}`);
    return { name: m[1], voxels: Number(m[2]), ml: Number(m[3]), mean: m[4] === undefined ? undefined : Number(m[4]), sd: m[5] === undefined ? undefined : Number(m[5]), min: m[6] === undefined ? undefined : Number(m[6]), max: m[7] === undefined ? undefined : Number(m[7]) };
  });
}

export async function wheelOn(page, view, deltaY) {
  const box = await page.locator(`[data-testid=view-${view}]`).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, deltaY);
  await settle(page);
}

/** Drag from the view centre offset by (ox, oy) − (dx, dy)/2 to + (dx, dy)/2, in 10 steps. */
export async function strokeOn(page, view, dx, dy, ox = 0, oy = 0) {
  const box = await page.locator(`[data-testid=view-${view}]`).boundingBox();
  const x = box.x + box.width / 2 + ox - dx / 2;
  const y = box.y + box.height / 2 + oy - dy / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(x + (dx * i) / 10, y + (dy * i) / 10);
  await page.mouse.up();
  await settle(page);
}

/** The window/level readout of the toolbar: `{ width, center }`. */
export async function windowLevel(page) {
  const t = (await page.textContent('[data-testid=wl-readout]')) ?? '';
  const m = /W (-?[\d.]+) L (-?[\d.]+)/.exec(t);
  if (!m) throw new Error(`unreadable W/L readout: ${t}`);
  return { width: Number(m[1]), center: Number(m[2]) };
}
