// Turning the file names in a machine configuration into paths: "builtin:demo" is the demo guest
// shipped in assets/, other names are relative to the configuration's directory.

import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUILTIN_PREFIX = 'builtin:';

/** The package root (two levels above core/launcher). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const BUILTIN_KERNELS: Record<string, string> = {
  demo: 'assets/guests/demo/demo.elf',
};

export function resolveGuestFile(name: string, baseDir: string = process.cwd()): string {
  if (name.startsWith(BUILTIN_PREFIX)) {
    const which = name.slice(BUILTIN_PREFIX.length);
    const rel = BUILTIN_KERNELS[which];
    if (!rel)
      throw new Error(
        `unknown built-in kernel "${name}" (known: ${Object.keys(BUILTIN_KERNELS)
          .map((k) => BUILTIN_PREFIX + k)
          .join(', ')})`,
      );
    return resolve(PACKAGE_ROOT, rel);
  }
  return isAbsolute(name) ? name : resolve(baseDir, name);
}
