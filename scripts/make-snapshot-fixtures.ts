// Writes the snapshot fixtures of THIS build into core/snapshot/fixtures/ (see its README): the demo
// guest at its prompt, with and without a disk. Existing fixtures are never replaced: a fixture is a
// file an older build wrote, and the current build must keep reading it.
//
//   npx tsx scripts/make-snapshot-fixtures.ts

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SNAPSHOT_FORMAT_VERSION } from '../core/snapshot/format';
import { encodeMachineSnapshot, MACHINE_SNAPSHOT_LAYOUT } from '../core/snapshot/machine-snapshot';
import { captureForFolder } from '../core/launcher/snapshot-capture';
import { launchGuest } from '../core/launcher/launch';
import type { MachineConfig } from '../core/launcher/machine-config';
import { freezeDisks } from '../core/launcher/machine-disks';
import { replayTo } from '../core/launcher/replay';
import {
  FIXTURE_BOOT_EPOCH,
  FIXTURE_DIR,
  FIXTURE_MANIFEST,
  diskDigests,
  machineDigests,
  readFixtureManifest,
  runFixture,
  sha256Hex,
  type FixtureEntry,
  type FixtureInput,
} from '../core/launcher/snapshot-fixtures';

interface Recipe {
  name: string;
  about: string;
  config: MachineConfig;
  /** Arguments of the demo guest's mkfs.ts for a demofs disk made for the fixture (written by the guest). */
  mkfs?: string[];
  /** Run the disks on overlays (a snapshot then freezes them; the fixture keeps the frozen files). */
  overlays?: boolean;
  /** Instructions to the snapshot, with input on the way (absolute counts). */
  boot: { instructions: number; inputs: { at: number; text: string }[] };
  /** Take a full snapshot at this count first: the fixture then stores RAM as changes over it. */
  baseAt?: number;
  run: { instructions: number; inputs: FixtureInput[]; consoleContains: string[] };
}

/** The demo guest with a writable 64 KiB demofs disk, after "write note TEXT", on overlays or not. */
function diskRecipe(name: string, text: string, overlays: boolean): Recipe {
  return {
    name,
    about: `the demo guest (8 MiB) with a writable 64 KiB demofs disk${overlays ? ' on an overlay' : ''}, after "write note ${text}"`,
    config: { name: `fixture-${name}`, kernel: 'builtin:demo', memoryMB: 8 },
    mkfs: ['--sectors', '128', '--label', 'fixture', 'readme.txt:fixture disk'],
    overlays,
    boot: { instructions: 2_500_000, inputs: [{ at: 1_500_000, text: `write note ${text}\r` }] },
    run: {
      instructions: 2_500_000,
      inputs: [
        { after: 100_000, text: 'cat note\r' },
        { after: 600_000, text: 'write more second-write\r' },
        { after: 1_200_000, text: 'rm note\r' },
        { after: 1_700_000, text: 'ls\r' },
      ],
      consoleContains: [text, 'more'],
    },
  };
}

const recipes: Recipe[] = [
  {
    name: 'demo-prompt',
    about: 'the demo guest (8 MiB, no disk) at its first prompt, with "echo queued" typed but not yet read',
    config: { name: 'fixture-prompt', kernel: 'builtin:demo', memoryMB: 8 },
    boot: { instructions: 1_500_000, inputs: [{ at: 1_500_000, text: 'echo queued\r' }] },
    run: {
      instructions: 1_500_000,
      inputs: [
        { after: 300_000, text: 'echo fixture-run\r' },
        { after: 700_000, text: 'uname -a\r' },
      ],
      consoleContains: ['queued', 'fixture-run', 'lguest'],
    },
  },
  diskRecipe('demo-disk', 'hello-fixture', false),
  diskRecipe('demo-overlay', 'hello-overlay', true),
  {
    name: 'demo-delta',
    about:
      'the demo guest (8 MiB, no disk) whose RAM is stored as changes over a snapshot taken 1M instructions before',
    config: { name: 'fixture-delta', kernel: 'builtin:demo', memoryMB: 8 },
    baseAt: 1_500_000,
    boot: { instructions: 2_500_000, inputs: [{ at: 1_600_000, text: 'echo before-delta\r' }] },
    run: {
      instructions: 1_500_000,
      inputs: [{ after: 300_000, text: 'echo after-delta\r' }],
      consoleContains: ['after-delta'],
    },
  },
];

async function make(recipe: Recipe, manifest: FixtureEntry[]): Promise<void> {
  const tag = `v${SNAPSHOT_FORMAT_VERSION}.${MACHINE_SNAPSHOT_LAYOUT}`;
  const file = `${recipe.name}-${tag}.lgsnap`;
  if (manifest.some((e) => e.file === file) || existsSync(join(FIXTURE_DIR, file))) {
    console.log(`${file}: exists, kept`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'lguest-fixture-'));
  try {
    const config = structuredClone(recipe.config);
    const diskFiles: string[] = [];
    if (recipe.mkfs) {
      const diskName = `${recipe.name}-${tag}.img`;
      const mkfs = new URL('../assets/guests/demo/mkfs.ts', import.meta.url).pathname;
      execFileSync(process.execPath, ['--import', 'tsx', mkfs, join(work, diskName), ...recipe.mkfs]);
      config.blockDevices = [{ path: join(work, diskName) }];
      diskFiles.push(diskName);
    }
    let text = '';
    const output = (): string => text;
    const disksDir = join(work, 'disks');
    const guest = await launchGuest(
      config,
      { consoleOutput: (b) => (text += new TextDecoder().decode(b)) },
      { bootEpochSeconds: FIXTURE_BOOT_EPOCH, ...(recipe.overlays ? { disksDir } : {}) },
    );
    const events = recipe.boot.inputs.map((i) => ({ at: i.at, bytes: new TextEncoder().encode(i.text) }));
    const bases: string[] = [];
    if (recipe.baseAt !== undefined) {
      const early = replayTo(guest, recipe.baseAt, events);
      if (early.kind !== 'reached') throw new Error(`${recipe.name}: boot ended early: ${JSON.stringify(early)}`);
      const baseFile = `${recipe.name}-base-${tag}.lgsnap`;
      const base = captureForFolder(guest, work, {});
      writeFileSync(join(work, baseFile), encodeMachineSnapshot(base.snapshot));
      base.saved(baseFile);
      bases.push(baseFile);
    }
    const end = replayTo(guest, recipe.boot.instructions, events);
    if (end.kind !== 'reached') throw new Error(`${recipe.name}: boot ended early: ${JSON.stringify(end)}`);
    const captured = captureForFolder(guest, work, {
      scrollback: new TextEncoder().encode(text),
      parent: bases[0] ?? null,
    }).snapshot;
    const snapshot = encodeMachineSnapshot(captured);
    const restored = machineDigests(guest);
    freezeDisks(guest.machine.devices);
    // The disks as the snapshot saw them: base images, and the overlays it froze.
    for (const d of [...diskFiles, ...bases]) copyFileSync(join(work, d), join(FIXTURE_DIR, d));
    const overlays = captured.state.disks.flatMap((d) => (d.overlay ? [d.overlay] : []));
    for (const o of overlays) copyFileSync(join(disksDir, o), join(FIXTURE_DIR, o));
    const runOutput = runFixture(guest, recipe.run, output);
    for (const s of recipe.run.consoleContains) {
      if (!runOutput.includes(s)) throw new Error(`${recipe.name}: the run's output lacks "${s}":\n${runOutput}`);
    }
    const endDigests = machineDigests(guest);
    const endDisks = diskDigests(guest);
    guest.close();
    writeFileSync(join(FIXTURE_DIR, file), snapshot);
    manifest.push({
      file,
      about: recipe.about,
      formatVersion: SNAPSHOT_FORMAT_VERSION,
      layout: MACHINE_SNAPSHOT_LAYOUT,
      disks: diskFiles,
      ...(overlays.length > 0 ? { overlays } : {}),
      ...(bases.length > 0 ? { bases } : {}),
      restored,
      run: {
        instructions: recipe.run.instructions,
        inputs: recipe.run.inputs,
        end: endDigests,
        console: sha256Hex(new TextEncoder().encode(runOutput)),
        consoleContains: recipe.run.consoleContains,
        disks: endDisks,
      },
    });
    console.log(`${file}: ${snapshot.length} bytes${diskFiles.length ? `, disks ${diskFiles.join(', ')}` : ''}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const manifest = existsSync(FIXTURE_MANIFEST) ? readFixtureManifest() : [];
const known = manifest.length;
for (const r of recipes) await make(r, manifest);
// Only when fixtures were added (then format it: npx prettier --write core/snapshot/fixtures).
if (manifest.length > known) writeFileSync(FIXTURE_MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
