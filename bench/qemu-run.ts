// Runs the multiboot harness kernel on QEMU's TCG (qemu-system-i386 -kernel), reading the markers
// from the serial port on stdout; the harness ends QEMU through isa-debug-exit.

import { spawn, spawnSync } from 'node:child_process';
import { HARNESS_TIMEOUT_MS, MarkerClock, type HarnessRun } from './markers';

const QEMU = 'qemu-system-i386';

export function qemuMissing(): string | null {
  const r = spawnSync(QEMU, ['--version'], { stdio: 'ignore' });
  return r.status === 0 ? null : `${QEMU} is not installed (Debian: apt-get install -y qemu-system-x86)`;
}

export function runOnQemu(multiboot: string, memoryMB = 64): Promise<HarnessRun> {
  const clock = new MarkerClock();
  const args = ['-accel', 'tcg', '-m', String(memoryMB), '-display', 'none', '-monitor', 'none'];
  args.push('-serial', 'stdio', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04');
  args.push('-kernel', multiboot, '-append', 'debug-exit');
  const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.setEncoding('latin1').on('data', (d: string) => clock.feed(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), HARNESS_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(clock.result('qemu'));
      } catch (e) {
        reject(stderr ? new Error(`${(e as Error).message}\n  qemu: ${stderr.trim()}`) : e);
      }
    });
  });
}
