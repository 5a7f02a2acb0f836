// Electron Forge: `npm run electron:start` (dev, with Vite) and `electron-forge package` (the app
// directory that electron-builder then turns into AppImage/deb, dmg and NSIS installers).
import type { ForgeConfig } from '@electron-forge/shared-types';
import { VitePlugin } from '@electron-forge/plugin-vite';

const config: ForgeConfig = {
  packagerConfig: {
    name: 'lguest-workbench',
    executableName: 'lguest-workbench',
    appBundleId: 'org.lguest-workbench.app',
    // The machine worker runs in a worker thread, and the demo guest is read from disk by it: keep both
    // outside the asar archive (see electron/main.ts machineWorkerPath and core/launcher/kernel-path).
    asar: { unpack: '{**/.vite/build/**,**/assets/guests/**}' },
    // The Vite plugin packages only .vite/; the built-in demo guest must come along too.
    ignore: (file: string) =>
      !(file === '' || file === '/package.json' || file.startsWith('/.vite') || file.startsWith('/assets')),
  },
  rebuildConfig: {},
  makers: [],
  plugins: [
    new VitePlugin({
      build: [
        { entry: 'electron/main.ts', config: 'electron/vite.main.config.ts', target: 'main' },
        { entry: 'electron/preload.ts', config: 'electron/vite.preload.config.ts', target: 'preload' },
        { entry: 'core/service/machine-worker.ts', config: 'electron/vite.worker.config.ts', target: 'main' },
      ],
      renderer: [{ name: 'main_window', config: 'renderer/vite.config.ts' }],
    }),
  ],
};

export default config;
