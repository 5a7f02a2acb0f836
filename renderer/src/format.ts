// Small display helpers for the UI.

import type { MachineState } from '../../core/service/api';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

export function formatVirtualTime(ns: number): string {
  const totalMs = Math.floor(ns / 1e6);
  const s = Math.floor(totalMs / 1000);
  const ms = totalMs % 1000;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${h > 0 ? `${h}:` : ''}${pad(m)}:${pad(sec)}.${pad(ms, 3)}`;
}

export const STATE_LABEL: Record<MachineState, string> = {
  stopped: 'stopped',
  starting: 'starting',
  running: 'running',
  idle: 'idle',
  halted: 'halted',
  paused: 'paused',
  dead: 'dead',
};
