// One JavaScript bundle of a TypeScript entry module and everything it imports from this
// repository, instead of loading its hundred modules through tsx one by one (about 0.4 s of CPU,
// and more in a worker thread): the `lguest` command starts from a bundle of the Launcher, and
// browser mode's machine workers from one of core/service/machine-worker.ts
// (scripts/browser-server.ts). A bundle lives in its cache directory beside a list of every file
// it was built from (path, modification time, size); it is used only while all of them still
// match, and is built again otherwise. Anything that stops a bundle from being built or written
// (no esbuild, a read-only install) falls back to tsx: slower to start, the same program.

import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** [path, mtimeMs, size] of a file, or null when it is gone. */
function stamp(path) {
  try {
    const s = statSync(path);
    return [path, s.mtimeMs, s.size];
  } catch {
    return null;
  }
}

/**
 * A module's `import.meta.url` means its own file, not the bundle's: each one is replaced by the
 * URL of the source file it is written in before esbuild joins the modules.
 */
const ownModuleUrls = {
  name: 'own-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      return {
        contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        loader: 'ts',
      };
    });
  },
};

/**
 * The bundle of the TypeScript module `entry` (its npm packages stay imports) kept in the
 * directory `cache`; `settings` are files that change how the sources compile (tsconfig.json).
 */
export function sourceBundle({ entry, cache, settings = [] }) {
  const bundle = join(cache, 'bundle.mjs');
  const list = join(cache, 'inputs.json');
  const tsconfig = settings.find((f) => f.endsWith('tsconfig.json'));
  return {
    path: bundle,

    /** Whether the bundle on disk was built from the files as they are now. */
    isCurrent() {
      let inputs;
      try {
        inputs = JSON.parse(readFileSync(list, 'utf8'));
      } catch {
        return false;
      }
      if (!Array.isArray(inputs) || inputs.length === 0 || stamp(bundle) === null) return false;
      return inputs.every(([path, mtimeMs, size]) => {
        const now = stamp(path);
        return now !== null && now[1] === mtimeMs && now[2] === size;
      });
    },

    /** Builds the bundle and its input list, each written whole or not at all. */
    async build() {
      const esbuild = await import('esbuild');
      const started = Date.now();
      const result = await esbuild.build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        ...(tsconfig ? { tsconfig } : {}),
        metafile: true,
        write: false,
        logLevel: 'silent',
        plugins: [ownModuleUrls],
      });
      const sources = Object.keys(result.metafile.inputs).map((p) => resolve(p));
      const inputs = [...sources, ...settings].map(stamp);
      // A file changed while esbuild read it may be in the bundle as it was before: not current.
      if (inputs.some((s) => s === null || s[1] >= started))
        throw new Error('the sources changed while the bundle was built');
      mkdirSync(cache, { recursive: true });
      const write = (path, data) => {
        const tmp = `${path}.${process.pid}.tmp`;
        writeFileSync(tmp, data);
        renameSync(tmp, path);
      };
      write(bundle, result.outputFiles[0].contents);
      write(list, JSON.stringify(inputs));
    },
  };
}

/** The path of bundle `b`, built first unless it is current. */
export async function currentBundle(b) {
  if (!b.isCurrent()) await b.build();
  return b.path;
}

/** The Launcher's command module (`main`), from the bundle when it can be had, else through tsx. */
export async function loadCli() {
  const b = sourceBundle({
    entry: join(ROOT, 'core/launcher/cli.ts'),
    cache: join(ROOT, 'node_modules/.cache/lguest-cli'),
    settings: [join(ROOT, 'tsconfig.base.json'), join(ROOT, 'core/launcher/tsconfig.json'), join(ROOT, 'package.json')],
  });
  try {
    return await import(pathToFileURL(await currentBundle(b)).href);
  } catch {
    const { register } = await import('tsx/esm/api');
    register();
    return await import('../core/launcher/cli.ts');
  }
}
