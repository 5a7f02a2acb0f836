// Vite build of the preload (.vite/build/preload.cjs). Sandboxed preloads cannot be ES modules, and
// with "type": "module" a .js file would be read as one: emit CommonJS under a .cjs name.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    rollupOptions: {
      input: 'electron/preload.ts',
      external: ['electron'],
      output: { format: 'cjs', entryFileNames: 'preload.cjs', inlineDynamicImports: true },
    },
  },
});
