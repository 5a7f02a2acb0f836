// The host a Launcher runs on when it is given none: a fresh in-process lguest host (core/host),
// whose guests run on its default CPU, the i386 emulator. Loaded on demand by launchGuest.

import { LguestHost } from '../host/lguest-user';

export function createDefaultHost(): LguestHost {
  return new LguestHost();
}
