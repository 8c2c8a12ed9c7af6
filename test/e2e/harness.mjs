/**
 * End-to-end harness: the real web host (a child process running `tsx main/host/index.ts`) and Debian's Chromium
 * driven by playwright-core, with SwiftShader for WebGL2.
 *
 *   checkBuilt()                       throws unless out/renderer/index.html exists (run `npm run build` first)
 *   chromiumPath()                     $DELINEATE_CHROMIUM or /usr/bin/chromium
 *   startHost({dataRoot, args})        → {url, origin, token, port, stderr(), stop()}; parses the printed URL
 *   launchBrowser()                    → playwright Browser (headless=new, fresh temporary profile)
 *   newPage(browser, {viewport})       → a page in a fresh browser context (no cookies, no storage)
 *   screenshot(page, name)             saves test-results/e2e/<name>.png, returns its path
 *   cleanup()                          stops everything started here (also run on process exit)
 *
 * Each test file test/e2e/<name>.e2e.mjs default-exports `async function (ctx)`; see run.mjs for ctx.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_DIR = join(PROJECT_ROOT, 'test-results', 'e2e');
export const DATA_ROOT = resolve(process.env.DELINEATE_DATA_ROOT ?? join(PROJECT_ROOT, '..', 'shared', 'data'));

/** Chromium flags: new headless mode, no sandbox (containers), software WebGL2, nothing that calls home. */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** @type {(() => Promise<void>)[]} */
const cleanups = [];

export function chromiumPath() {
  return process.env.DELINEATE_CHROMIUM ?? '/usr/bin/chromium';
}

export function hasChromium() {
  return existsSync(chromiumPath());
}

/** The web host serves out/renderer: it must have been built (`npm run build`). */
export function checkBuilt() {
  const index = join(PROJECT_ROOT, 'out', 'renderer', 'index.html');
  if (!existsSync(index)) throw new Error(`The renderer is not built (${index} is missing): run \`npm run build\` first`);
  return index;
}

const URL_LINE = /Delineate web host: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]+))/;

/**
 * Start the web host on a random port with a random token, with a fresh user-data folder.
 * @param {{ dataRoot?: string, args?: string[], startTimeoutMs?: number }} [options]
 * @returns {Promise<{ url: string, origin: string, token: string, port: number, stderr: () => string, stop: () => Promise<void> }>}
 */
export async function startHost(options = {}) {
  const userData = mkdtempSync(join(tmpdir(), 'delineate-e2e-user-'));
  const tsx = join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const args = [tsx, 'main/host/index.ts', '--port', '0', '--user-data', userData, '--data-root', options.dataRoot ?? DATA_ROOT, ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));

  const started = await new Promise((ok, ko) => {
    const timer = setTimeout(() => ko(new Error(`The web host did not print its URL within ${options.startTimeoutMs ?? 60_000} ms.\nstderr:\n${stderr}`)), options.startTimeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (c) => {
      stdout += c;
      const m = URL_LINE.exec(stdout);
      if (m) {
        clearTimeout(timer);
        ok({ url: m[1], port: Number(m[2]), token: m[3] });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      ko(new Error(`The web host exited (${code ?? signal}) before printing its URL.\nstderr:\n${stderr}`));
    });
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timeout = new Promise((ok) => setTimeout(() => ok('timeout'), 5000));
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(userData, { recursive: true, force: true });
  };
  cleanups.push(stop);
  return { ...started, origin: `http://127.0.0.1:${started.port}`, stderr: () => stderr, stop };
}

/** Launch Debian's Chromium (Playwright gives it a fresh temporary profile, removed on close). */
export async function launchBrowser() {
  if (!hasChromium()) throw new Error(`Chromium not found at ${chromiumPath()} (apt-get install chromium, or set DELINEATE_CHROMIUM)`);
  // headless: false stops Playwright adding its own --headless; ours (--headless=new) is in CHROMIUM_ARGS.
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: false, args: CHROMIUM_ARGS, timeout: 60_000 });
  cleanups.push(async () => {
    await browser.close().catch(() => {});
  });
  return browser;
}

/**
 * A page in a fresh context (no cookies or storage shared with other pages).
 * @param {import('playwright-core').Browser} browser
 * @param {{ viewport?: { width: number, height: number } }} [options]
 */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  return context.newPage();
}

/**
 * Save a full-page screenshot as test-results/e2e/<name>.png.
 * @param {import('playwright-core').Page} page
 * @param {string} name letters, digits, dot, dash, underscore
 */
export async function screenshot(page, name) {
  const safe = String(name).replace(/[^A-Za-z0-9._-]+/g, '_');
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${safe}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Stop everything this harness started, newest first. */
export async function cleanup() {
  while (cleanups.length > 0) {
    const c = cleanups.pop();
    try {
      await c();
    } catch (e) {
      process.stderr.write(`e2e cleanup: ${e?.message ?? e}\n`);
    }
  }
}
