// What the UI keeps about each machine as it runs: the counter rates the service streams (the
// live plots' data, a few minutes of it) and when its console last printed (the spinning hint).

import { useEffect, useState } from 'react';
import type { MachineRates } from '../../../../core/service/api';
import { on } from '../../api/client';

/** Points kept per machine: 10 minutes at two a second. */
export const RATE_POINTS = 1200;

/** One point of a machine's history: when it arrived (Unix seconds, the plots' x) and its rates. */
export interface RatePoint {
  t: number;
  r: MachineRates;
}

interface Watch {
  points: RatePoint[];
  lastOutputMs: number;
}

const watches = new Map<string, Watch>();
const listeners = new Set<() => void>();
let subscribed = false;
let version = 0;

function watchOf(id: string): Watch {
  let w = watches.get(id);
  if (!w) {
    w = { points: [], lastOutputMs: Date.now() };
    watches.set(id, w);
  }
  return w;
}

function changed(): void {
  version++;
  for (const l of listeners) l();
}

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  on('machine.rates', (r) => {
    const w = watchOf(r.id);
    // A new array per point: the plots see a new value, not the same array grown.
    w.points = [...w.points.slice(1 - RATE_POINTS), { t: Date.now() / 1000, r }];
    changed();
  });
  on('console.output', (c) => {
    watchOf(c.id).lastOutputMs = Date.now();
  });
  on('machine.status', (s) => {
    // A new run starts a new history.
    if (s.state === 'starting') {
      watches.set(s.id, { points: [], lastOutputMs: Date.now() });
      changed();
    }
  });
}

/** The rate history of machine `id`, re-rendering on every new point. */
export function useMachineRates(id: string | null): RatePoint[] {
  const [, setVersion] = useState(version);
  useEffect(() => {
    subscribe();
    const l = () => setVersion(version);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return id ? (watches.get(id)?.points ?? []) : [];
}

/** Milliseconds since machine `id` last printed on its console (since it started, if never). */
export function msSinceOutput(id: string): number {
  subscribe();
  return Date.now() - watchOf(id).lastOutputMs;
}
