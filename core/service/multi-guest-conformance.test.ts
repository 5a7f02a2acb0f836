// One conformance suite for the two ways one lguest host runs several guests: the CLI's
// `lguest --multi` (all guests on one thread, round-robin) and the workbench service (one worker
// thread per machine on a host shared through SharedArrayBuffers). The same scenarios must give
// the same bytes on every demo guest's console.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLguest } from '../launcher/cli';
import { testTerminal, until } from '../launcher/test-terminal';
import type { ApiEventMessage, MachineConfig } from './api';
import { WorkbenchService } from './service';

interface Step {
  machine: string;
  command: string;
  /** The step is over when this machine's output since the command matches, and shows the prompt. */
  until: RegExp;
  /** The command ends the guest (no prompt follows). */
  ends?: boolean;
}

interface Scenario {
  name: string;
  machines: MachineConfig[];
  steps: Step[];
}

const demo = (name: string, networks: string[]): MachineConfig => ({
  name,
  kernel: 'builtin:demo',
  memoryMB: 16,
  networks,
});

const SCENARIOS: Scenario[] = [
  {
    name: 'two guests on lan0 ping each other',
    machines: [demo('a', ['lan0']), demo('b', ['lan0'])],
    steps: [
      { machine: 'a', command: 'net ping 3', until: /replies/ },
      { machine: 'b', command: 'net ping 2', until: /replies/ },
      { machine: 'a', command: 'net', until: /pings answered/ },
      { machine: 'b', command: 'net', until: /pings answered/ },
    ],
  },
  {
    name: 'three guests, two networks: only guests on the same network meet',
    machines: [demo('a', ['lan0']), demo('b', ['lan0']), demo('c', ['lan1'])],
    steps: [
      { machine: 'c', command: 'net ping 1', until: /ping: / },
      { machine: 'a', command: 'net ping 2', until: /replies/ },
      { machine: 'b', command: 'net', until: /pings answered/ },
      { machine: 'c', command: 'net', until: /pings answered/ },
    ],
  },
  {
    name: 'a guest that powers off leaves the network; frames to it fail, its peer keeps running',
    machines: [demo('a', ['lan0']), demo('b', ['lan0'])],
    steps: [
      { machine: 'a', command: 'net ping 1', until: /replies/ },
      { machine: 'b', command: 'halt', until: /System halted\./, ends: true },
      { machine: 'a', command: 'net ping 2', until: /replies/ },
      { machine: 'a', command: 'net', until: /pings answered/ },
    ],
  },
];

/** What may differ between runs: round-trip times in ms. */
function normalize(text: string): string {
  return text.replace(/ in \d+ ms/g, ' in N ms');
}

/** Drives one scenario over consoles that some transport fills; returns each guest's transcript. */
async function drive(
  s: Scenario,
  consoles: () => Map<string, string>,
  type: (machine: string, line: string) => void,
  gone: (machine: string) => boolean,
): Promise<Map<string, string>> {
  await until(() => s.machines.every((m) => consoles().get(m.name)?.includes('demo$ ')));
  for (const step of s.steps) {
    const from = consoles().get(step.machine)!.length;
    type(step.machine, step.command + '\n');
    await until(() => {
      const out = consoles().get(step.machine)!.slice(from);
      return step.until.test(out) && (step.ends || out.endsWith('demo$ '));
    });
    // A guest that ended must be gone from the host before the next step, whichever the transport.
    if (step.ends) await until(() => gone(step.machine));
  }
  return new Map([...consoles()].map(([k, v]) => [k, normalize(v)]));
}

/**
 * The CLI's terminal shows "[name] " before each line and ends a line early when another guest
 * speaks; a transcript per guest is its segments in order, with those inserted line ends taken out.
 * The same is done to the workbench's transcripts, so both compare on the guests' own bytes.
 */
function withoutLineEnds(t: Map<string, string>): Map<string, string> {
  return new Map([...t].map(([k, v]) => [k, v.replace(/\r\n/g, '\n').replace(/\n/g, '')]));
}

async function viaCli(s: Scenario, dir: string): Promise<Map<string, string>> {
  const paths = s.machines.map((m) => {
    const p = join(dir, `${m.name}.json`);
    writeFileSync(p, JSON.stringify(m));
    return p;
  });
  const term = testTerminal();
  const consoles = (): Map<string, string> => {
    const out = new Map<string, string>();
    const stdout = term.stdout;
    const marks = [...stdout.matchAll(/(?:^|(?<=\n))\[([a-z0-9]+)\] /g)];
    marks.forEach((m, i) => {
      const end = i + 1 < marks.length ? marks[i + 1]!.index : stdout.length;
      out.set(m[1]!, (out.get(m[1]!) ?? '') + stdout.slice(m.index + m[0].length, end));
    });
    return out;
  };
  const run = runLguest(['--fast', '--multi', ...paths], term.io);
  const typed = (machine: string, line: string): void => term.type(`@${machine} ${line}`);
  const transcript = await drive(s, consoles, typed, (m) => term.stderr.includes(`[${m}] powered off`));
  const ended = new Set(s.steps.filter((t) => t.ends).map((t) => t.machine));
  for (const m of s.machines) if (!ended.has(m.name)) typed(m.name, 'halt\n');
  expect(await run).toBe(0);
  return transcript;
}

async function viaWorkbench(s: Scenario, dir: string): Promise<Map<string, string>> {
  const service = new WorkbenchService({ configDir: join(dir, 'machines') });
  const consoles = new Map<string, string>();
  service.subscribe((m: ApiEventMessage) => {
    if (m.event !== 'console.output') return;
    const { id, data } = m.payload as { id: string; data: Uint8Array };
    consoles.set(id, (consoles.get(id) ?? '') + new TextDecoder().decode(data));
  });
  try {
    for (const m of s.machines) expect(await service.call('configs.create', { config: m })).toMatchObject({ ok: true });
    // One after the other, as --multi launches them, so that guest ids and peer slots match.
    for (const m of s.machines) {
      expect(await service.call('machines.start', { id: m.name })).toMatchObject({ ok: true });
      await until(() => consoles.get(m.name)?.includes('Booting paravirtualized kernel'));
    }
    return await drive(
      s,
      () => consoles,
      (id, line) => void service.call('console.input', { id, data: new TextEncoder().encode(line) }),
      (id) => service.machines.status(id).state === 'dead',
    );
  } finally {
    await service.close();
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-conformance-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('multi-guest conformance: CLI --multi and the workbench give the same console bytes', () => {
  SCENARIOS.forEach((s, i) => {
    it(
      s.name,
      async () => {
        const cliDir = join(dir, `cli-${i}`);
        const wbDir = join(dir, `wb-${i}`);
        mkdirSync(cliDir);
        mkdirSync(wbDir);
        const cli = withoutLineEnds(await viaCli(s, cliDir));
        const wb = withoutLineEnds(await viaWorkbench(s, wbDir));
        expect([...wb.keys()].sort()).toEqual(s.machines.map((m) => m.name).sort());
        for (const m of s.machines) expect(wb.get(m.name), `console of ${m.name}`).toBe(cli.get(m.name));
        // The scenario really exchanged frames (no test passes on silent networks).
        expect(cli.get('a')).toMatch(/ping: 1 peer\(s\), (\d+) sent, \1 replies/);
        if (s.steps.some((t) => t.ends)) expect(cli.get('a')).toMatch(/2 sent, 0 replies.*tx 1 \(errors 2\)/s);
      },
      120_000,
    );
  });
});
