// The renderer's access to the workbench: `window.lguest` from Electron's preload, or the WebSocket
// shim in browser mode. Everything else in the UI goes through call()/on() here and cannot tell which.

import type {
  ApiErrorInfo,
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiParams,
  ApiResult,
  LguestApi,
} from '../../../core/service/api';
import { createWebSocketApi } from './ws-client';

declare global {
  interface Window {
    lguest?: LguestApi;
  }
}

function resolveApi(): LguestApi {
  if (window.lguest) return window.lguest;
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const api = createWebSocketApi(`${scheme}//${location.host}/api?token=${encodeURIComponent(token)}`);
  window.lguest = api;
  return api;
}

export const api: LguestApi = resolveApi();

export class ApiCallError extends Error {
  constructor(readonly info: ApiErrorInfo) {
    super(info.message);
  }
}

/** Calls a method; a typed error reply becomes an ApiCallError. */
export async function call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
  const reply = await api.invoke(method, params);
  if (!reply.ok) throw new ApiCallError(reply.error);
  return reply.result;
}

export function on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
  return api.on(event, listener);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
