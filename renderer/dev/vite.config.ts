/**
 * Development-only build of the renderer alone, with the same settings as the renderer section of
 * electron.vite.config.ts — useful while the main/preload entries are not buildable:
 *   npx vite build -c renderer/dev/vite.config.ts      → out/renderer (what the web host serves)
 */
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// (No node:path here: renderer/** is linted as browser code.)
const at = (rel: string) => decodeURIComponent(new URL(rel, import.meta.url).pathname);

export default defineConfig({
  root: at('..'),
  plugins: [svelte()],
  build: {
    outDir: at('../../out/renderer'),
    emptyOutDir: true,
    rollupOptions: { input: at('../index.html') },
  },
});
