/**
 * `npm run test:e2e` (= node test/e2e/run.mjs [name-filter…]): runs every test/e2e/*.e2e.mjs against one web host
 * and one headless Chromium, each test in a fresh browser context. Prints one line per test and, last, exactly
 * `N passed, M failed`; exits 1 when anything failed.
 *
 * Each file default-exports `async function (ctx)` and may export `timeoutMs` (default 300 000). ctx:
 *   page          a fresh page already at the host URL (with its token), loaded
 *   screenshot(n) saves test-results/e2e/<n>.png of ctx.page     shot(page, n) the same for any page
 *   newPage()     another page in another fresh context (not navigated: no token, no cookie)
 *   host          { url, origin, token, port }
 *   dataRoot      the shared real-data folder (DELINEATE_DATA_ROOT or ../shared/data)
 *   browser       the Playwright Browser
 *   log(line)     prints under the test's name
 *
 * Chromium missing: a failure when CI=true, otherwise every test is reported skipped (exit 0).
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkBuilt, chromiumPath, cleanup, DATA_ROOT, hasChromium, launchBrowser, newPage, screenshot, startHost } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.e2e.mjs'))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
const ci = process.env.CI === 'true' || process.env.CI === '1';

let passed = 0;
let failed = 0;
const line = (s) => process.stdout.write(`${s}\n`);

async function main() {
  if (files.length === 0) {
    line(`no e2e tests match ${filters.join(' ') || 'test/e2e/*.e2e.mjs'}`);
    failed++;
    return;
  }
  if (!hasChromium()) {
    if (ci) {
      for (const f of files) line(`✗ ${f}: Chromium not found at ${chromiumPath()} (CI=true: e2e tests must not skip)`);
      failed += files.length;
    } else for (const f of files) line(`- ${f}: skipped, Chromium not found at ${chromiumPath()}`);
    return;
  }
  try {
    checkBuilt();
  } catch (e) {
    for (const f of files) line(`✗ ${f}: ${e.message}`);
    failed += files.length;
    return;
  }

  const host = await startHost();
  line(`web host: ${host.origin} (renderer out/renderer, data ${DATA_ROOT})`);
  const browser = await launchBrowser();
  line(`chromium: ${browser.version()}`);

  for (const file of files) {
    const name = file.replace(/\.e2e\.mjs$/, '');
    const t0 = Date.now();
    let page;
    try {
      const mod = await import(pathToFileURL(join(here, file)).href);
      if (typeof mod.default !== 'function') throw new Error(`${file} must default-export async function (ctx)`);
      const timeoutMs = Number(mod.timeoutMs ?? 300_000);
      page = await newPage(browser);
      const response = await page.goto(host.url, { waitUntil: 'load', timeout: 60_000 });
      if (!response || response.status() !== 200) throw new Error(`the host answered ${response?.status()} for ${host.url}`);
      const ctx = {
        page,
        browser,
        host: { url: host.url, origin: host.origin, token: host.token, port: host.port },
        dataRoot: DATA_ROOT,
        screenshot: (n) => screenshot(page, n),
        shot: (p, n) => screenshot(p, n),
        newPage: () => newPage(browser),
        log: (s) => line(`    ${name}: ${s}`),
      };
      let timer;
      const timeout = new Promise((_, ko) => {
        timer = setTimeout(() => ko(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([mod.default(ctx), timeout]);
      } finally {
        clearTimeout(timer);
      }
      passed++;
      line(`✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      line(`✗ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${e?.stack ?? e}`);
      if (page && !page.isClosed()) await screenshot(page, `${name}-FAILED`).then((p) => line(`    screenshot: ${p}`), () => {});
      const tail = host.stderr().trim().split('\n').slice(-20).join('\n    ');
      if (tail) line(`    web host stderr (last lines):\n    ${tail}`);
    } finally {
      await page?.context().close().catch(() => {});
    }
  }
}

try {
  await main();
} catch (e) {
  failed++;
  line(`✗ e2e setup: ${e?.stack ?? e}`);
} finally {
  await cleanup();
}
line(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
