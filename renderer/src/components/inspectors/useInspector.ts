// Fetches one inspector view for the visible panel: polled at ~2.5 Hz while the machine runs, once
// when it is paused (and again whenever the query changes); nothing while the panel is hidden.

import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiParams, ApiResult, MachineStatus } from '../../../../core/service/api';
import { call, errorMessage } from '../../api/client';

export type InspectMethod =
  | 'inspect.registers'
  | 'inspect.memory'
  | 'inspect.descriptors'
  | 'inspect.pagetables'
  | 'inspect.counters'
  | 'inspect.trace'
  | 'inspect.profile';

export const POLL_MS = 400;

export interface InspectorData<M extends InspectMethod> {
  data: ApiResult<M> | null;
  error: string | null;
  /** The machine can be inspected (it is running, idle, halted or paused). */
  live: boolean;
  refresh: () => void;
}

export function isInspectable(status: MachineStatus | null): boolean {
  const s = status?.state;
  return s === 'running' || s === 'idle' || s === 'halted' || s === 'paused';
}

export function useInspector<M extends InspectMethod>(
  method: M,
  params: ApiParams<M> | null,
  status: MachineStatus | null,
  visible: boolean,
): InspectorData<M> {
  const [data, setData] = useState<ApiResult<M> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [nonce, setNonce] = useState(0);
  const live = isInspectable(status);
  const polling = live && status?.state !== 'paused';
  const key = params ? JSON.stringify(params) : '';
  const paramsRef = useRef(params);
  paramsRef.current = params;
  const id = status?.id ?? null;

  // A different machine, or one that stopped: its old numbers must not stay on screen.
  useEffect(() => {
    if (!live) {
      setData(null);
      setError(null);
    }
  }, [live, id]);
  useEffect(() => setData(null), [id]);

  useEffect(() => {
    const p = paramsRef.current;
    if (!visible || !live || !p) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      try {
        const r = await call(method, p);
        if (!cancelled) {
          setData(r);
          setError(null);
        }
      } catch (err) {
        if (!cancelled) setError(errorMessage(err));
      }
      // The next poll starts after the answer: a slow machine is never asked twice at once.
      if (!cancelled && polling) timer = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, [method, key, visible, live, polling, id, nonce]);

  const refresh = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, live, refresh };
}
