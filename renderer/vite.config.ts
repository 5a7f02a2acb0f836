// Vite config of the renderer: used by `npm run build:renderer` (browser mode) and by Electron
// Forge's Vite plugin (main_window). Both produce .vite/renderer/main_window.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root: here,
  base: './',
  plugins: [react()],
  build: {
    outDir: decodeURIComponent(new URL('../.vite/renderer/main_window', import.meta.url).pathname),
    emptyOutDir: true,
    chunkSizeWarningLimit: 4096,
    target: 'es2022',
  },
  worker: { format: 'es' },
});
