/**
 * Smoke test of the web host in Chromium: with the token the workstation loads under its CSP without violations
 * and connects its /rpc WebSocket (the Open buttons enable only once the service answered); without the token
 * (fresh context, no cookie) the page and the socket are refused.
 */
import assert from 'node:assert/strict';

export const timeoutMs = 120_000;

export default async function hostSmoke(ctx) {
  const { page, host } = ctx;
  const cspIssues = [];
  const pageErrors = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|execute|apply|connect|create)/i.test(m.text())) cspIssues.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));

  // With the token: reload so the listeners see the whole load.
  const response = await page.reload({ waitUntil: 'load' });
  assert.equal(response.status(), 200);
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.equal(await page.title(), 'Delineate');
  // The Open buttons enable once the renderer's WebSocket to /rpc has answered (app.info through the compute worker).
  await page.waitForSelector('[data-testid=open-folder]:not([disabled])', { timeout: 60_000 });
  await ctx.screenshot('host-smoke-01-with-token');
  assert.deepEqual(cspIssues, [], 'no CSP violations');
  assert.deepEqual(pageErrors, [], 'no uncaught page errors');

  // Without the token: a fresh context has no cookie either.
  const stranger = await ctx.newPage();
  try {
    const denied = await stranger.goto(`${host.origin}/`, { waitUntil: 'load' });
    assert.equal(denied.status(), 401);
    assert.match(await stranger.textContent('body'), /Unauthorized/);
    const wrong = await stranger.goto(`${host.origin}/?token=${'0'.repeat(32)}`, { waitUntil: 'load' });
    assert.equal(wrong.status(), 401);
    await ctx.shot(stranger, 'host-smoke-02-without-token');
    const socket = await stranger.evaluate(
      (url) =>
        new Promise((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
        }),
      `ws://127.0.0.1:${host.port}/rpc`,
    );
    assert.equal(socket, 'refused', 'the /rpc WebSocket refuses a client without the token');
  } finally {
    await stranger.context().close();
  }
}
