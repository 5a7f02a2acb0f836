/**
 * mkfs.ts: builds a demofs disk image for the lguest demo guest.
 *
 *   npx tsx assets/guests/demo/mkfs.ts OUT.img [--sectors N] [--label L] [NAME=HOSTFILE | NAME:TEXT]...
 *
 * With no files given it writes the default demo files (readme.txt, motd,
 * hello.txt). Format (see README.md and kernel/fs.h): 512-byte sectors;
 * sector 0 superblock, sectors 1..4 directory (32 x 64-byte entries),
 * data from sector 5, one contiguous extent per file.
 * Importable: `buildDemoFs(files, options)` returns the image bytes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const SECTOR = 512;
export const DIR_START = 1;
export const DIR_SECTORS = 4;
export const DATA_START = DIR_START + DIR_SECTORS;
export const MAX_FILES = (DIR_SECTORS * SECTOR) / 64;
export const NAME_MAX = 47;
export const MAGIC = 'DEMOFS01';

export interface DemoFile {
  name: string;
  data: Uint8Array;
}

export interface DemoFsOptions {
  /** Total sectors of the image (default 2048 = 1 MiB). */
  sectors?: number;
  /** Volume label, at most 31 bytes (default "demo"). */
  label?: string;
}

export const defaultFiles = (): DemoFile[] => {
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  return [
    {
      name: 'readme.txt',
      data: text(
        'This file lives on the lguest block device.\n' +
          'The demo guest reads it with the lguest_block_page protocol:\n' +
          "an empty SEND_DMA 'ping' plus a bound reply buffer for each sector.\n",
      ),
    },
    { name: 'motd', data: text('Welcome to the lguest demo guest.\n') },
    { name: 'hello.txt', data: text('hello, world\n') },
  ];
};

function validName(name: string): boolean {
  if (name.length === 0 || name.length > NAME_MAX) return false;
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    if (c <= 0x20 || c > 0x7e || ch === '/') return false;
  }
  return true;
}

export function buildDemoFs(files: DemoFile[], options: DemoFsOptions = {}): Uint8Array {
  const sectors = options.sectors ?? 2048;
  const label = options.label ?? 'demo';
  if (!Number.isInteger(sectors) || sectors < DATA_START + 1) {
    throw new Error(`sectors must be an integer >= ${DATA_START + 1}`);
  }
  if (files.length > MAX_FILES) throw new Error(`at most ${MAX_FILES} files`);
  const labelBytes = new TextEncoder().encode(label);
  if (labelBytes.length > 31) throw new Error('label longer than 31 bytes');

  const img = new Uint8Array(sectors * SECTOR);
  const view = new DataView(img.buffer);
  const seen = new Set<string>();
  let next = DATA_START;

  files.forEach((file, i) => {
    if (!validName(file.name)) throw new Error(`bad file name: ${JSON.stringify(file.name)}`);
    if (seen.has(file.name)) throw new Error(`duplicate file name: ${file.name}`);
    seen.add(file.name);
    const need = Math.ceil(file.data.length / SECTOR);
    if (next + need > sectors) throw new Error(`image too small for ${file.name}`);
    img.set(file.data, next * SECTOR);
    const entry = DIR_START * SECTOR + i * 64;
    img.set(new TextEncoder().encode(file.name), entry);
    view.setUint32(entry + 48, next, true); // start sector
    view.setUint32(entry + 52, file.data.length, true); // size in bytes
    view.setUint32(entry + 56, need, true); // capacity in sectors
    view.setUint32(entry + 60, 0, true); // reserved
    next += need;
  });

  img.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, 1, true); // version
  view.setUint32(12, sectors, true); // total_sectors
  view.setUint32(16, DIR_START, true);
  view.setUint32(20, DIR_SECTORS, true);
  view.setUint32(24, DATA_START, true);
  view.setUint32(28, next, true); // next_free
  img.set(labelBytes, 32);
  return img;
}

function usage(): never {
  process.stderr.write('usage: mkfs.ts OUT.img [--sectors N] [--label L] [NAME=HOSTFILE | NAME:TEXT]...\n');
  process.exit(1);
}

function main(argv: string[]): void {
  let out: string | undefined;
  let sectors: number | undefined;
  let label: string | undefined;
  const files: DemoFile[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--sectors') {
      sectors = Number(argv[++i]);
    } else if (arg === '--label') {
      label = argv[++i];
      if (label === undefined) usage();
    } else if (out === undefined) {
      out = arg;
    } else {
      const eq = arg.indexOf('=');
      const colon = arg.indexOf(':');
      if (eq > 0 && (colon < 0 || eq < colon)) {
        files.push({ name: arg.slice(0, eq), data: readFileSync(arg.slice(eq + 1)) });
      } else if (colon > 0) {
        files.push({ name: arg.slice(0, colon), data: new TextEncoder().encode(arg.slice(colon + 1) + '\n') });
      } else {
        usage();
      }
    }
  }
  if (out === undefined) usage();
  const opts: DemoFsOptions = {};
  if (sectors !== undefined) opts.sectors = sectors;
  if (label !== undefined) opts.label = label;
  const img = buildDemoFs(files.length ? files : defaultFiles(), opts);
  writeFileSync(out, img);
  process.stdout.write(
    `wrote ${out}: ${img.length / SECTOR} sectors, ${files.length || defaultFiles().length} files\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`mkfs.ts: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
