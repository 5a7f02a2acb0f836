// Vite build of the Electron main process (.vite/build/main.js). The package is "type": "module",
// so main is emitted as an ES module (Electron 28+ loads ESM main scripts).
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    lib: { entry: 'electron/main.ts', formats: ['es'], fileName: () => 'main.js' },
    rollupOptions: { external: ['electron', /^node:/] },
    sourcemap: true,
  },
});
