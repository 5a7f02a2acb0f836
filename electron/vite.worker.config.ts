// Vite build of the machine worker (.vite/build/machine-worker.js) with the Launcher, host and CPU
// bundled in: it runs as a Node worker thread started by the main process.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    lib: { entry: 'core/service/machine-worker.ts', formats: ['es'], fileName: () => 'machine-worker.js' },
    rollupOptions: { external: ['electron', /^node:/] },
    sourcemap: true,
  },
});
