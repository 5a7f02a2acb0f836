// Test stand-in for the Launcher: a "guest" that greets, echoes console input upper-cased (or, with
// the command line "raw", byte for byte), and idles on a 10 ms virtual clock. Only tests load it
// (through MachineWorkerData.launcherModule).

import type { LaunchedGuest, LauncherEvents, LauncherStep } from '../../launcher/api';
import type { MachineConfig } from '../../launcher/machine-config';

export function launchGuest(config: MachineConfig, events: LauncherEvents): LaunchedGuest {
  let now = 0;
  let greeted = false;
  const pending: Uint8Array[] = [];
  return {
    config,
    get virtualTimeNs() {
      return now;
    },
    step(): LauncherStep {
      if (!greeted) {
        greeted = true;
        events.consoleOutput(new TextEncoder().encode(`hello from ${config.name}\r\n`));
      }
      for (const p of pending.splice(0)) {
        if (config.cmdline === 'raw') events.consoleOutput(p);
        else events.consoleOutput(new TextEncoder().encode(new TextDecoder().decode(p).toUpperCase()));
      }
      return { kind: 'idle', wakeAtNs: now + 10_000_000 };
    },
    consoleInput(bytes) {
      pending.push(bytes);
    },
    advanceClockTo(ns) {
      now = ns;
    },
    close() {},
  };
}
