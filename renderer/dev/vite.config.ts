/**
 * Development-only build of the renderer alone (same settings as the renderer section of
 * electron.vite.config.ts), for when the main/preload entries are not buildable yet, plus the dev harness page
 * (renderer/dev/harness.html) that drives the viewer with constructed volumes and no backend.
 *   npx vite build -c renderer/dev/vite.config.ts            → out/renderer (index.html)
 *   HARNESS=1 npx vite build -c renderer/dev/vite.config.ts  → out/renderer-dev (harness.html)
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = resolve(import.meta.dirname, '..');
const harness = process.env.HARNESS === '1';

export default defineConfig({
  root,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: resolve(root, '..', 'out', harness ? 'renderer-dev' : 'renderer'),
    emptyOutDir: true,
    rollupOptions: { input: harness ? resolve(root, 'dev', 'harness.html') : resolve(root, 'index.html') },
  },
});
