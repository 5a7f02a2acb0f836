// Test stand-in for the Launcher whose guest breaks its worker in the way named by the config's
// cmdline: 'throw' (step throws), 'exit' (the thread exits), 'async' (an uncaught async error),
// 'hang' (the launch itself never returns, as a read that blocks the thread would).

import type { LaunchedGuest, LauncherEvents } from '../../launcher/api';
import type { MachineConfig } from '../../launcher/machine-config';

export function launchGuest(config: MachineConfig, _events: LauncherEvents): LaunchedGuest {
  if (config.cmdline === 'hang') for (;;);
  return {
    config,
    virtualTimeNs: 0,
    step() {
      if (config.cmdline === 'throw') throw new Error('emulator bug at eip 0xc0100000');
      if (config.cmdline === 'exit') process.exit(3);
      if (config.cmdline === 'async')
        setTimeout(() => {
          throw new Error('late failure');
        }, 0);
      if (config.cmdline === 'dead') return { kind: 'dead', reason: 'Bad address 0xdeadbeef' };
      return { kind: 'idle', wakeAtNs: null };
    },
    consoleInput() {},
    advanceClockTo() {},
    close() {},
  };
}
