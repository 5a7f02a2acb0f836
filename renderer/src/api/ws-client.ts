// Browser mode's half of the API transport: implements the same LguestApi as Electron's preload,
// over the WebSocket the workbench server offers (token from this page's URL). Reconnects on loss.

import type {
  ApiEventMessage,
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiParams,
  ApiReply,
  ApiReplyMessage,
  LguestApi,
} from '../../../core/service/api';

/** Frame encoding shared with core/service/wire-codec.ts: JSON with bytes as {"$bytes": base64}. */
export function encodeFrame(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (!(v instanceof Uint8Array)) return v;
    let s = '';
    for (let i = 0; i < v.length; i += 0x8000) s += String.fromCharCode(...v.subarray(i, i + 0x8000));
    return { $bytes: btoa(s) };
  });
}

export function decodeFrame(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const b = (v as { $bytes?: unknown }).$bytes;
      if (typeof b === 'string' && Object.keys(v).length === 1) {
        const bin = atob(b);
        const out = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
        return out;
      }
    }
    return v;
  });
}

export function createWebSocketApi(url: string): LguestApi {
  let ws: WebSocket | null = null;
  let nextId = 1;
  let retryMs = 250;
  const pending = new Map<number, (reply: ApiReplyMessage) => void>();
  const queue: string[] = [];
  const listeners = new Map<ApiEventName, Set<(payload: never) => void>>();
  let connectedOnce = false;

  const dispatch = <E extends ApiEventName>(event: E, payload: ApiEvents[E]): void => {
    for (const l of listeners.get(event) ?? []) (l as (p: ApiEvents[E]) => void)(payload);
  };

  const connect = (): void => {
    const sock = new WebSocket(url);
    ws = sock;
    sock.onopen = () => {
      retryMs = 250;
      for (const frame of queue.splice(0)) sock.send(frame);
      // After a reconnect the UI may have missed changes: ask it to re-read what it shows.
      if (connectedOnce) dispatch('configs.changed', { ids: [] });
      connectedOnce = true;
    };
    sock.onmessage = (ev) => {
      const msg = decodeFrame(String(ev.data)) as ApiReplyMessage | ApiEventMessage;
      if (msg.kind === 'reply') {
        const resolve = pending.get(msg.id);
        pending.delete(msg.id);
        resolve?.(msg);
      } else if (msg.kind === 'event') {
        dispatch(msg.event, msg.payload);
      }
    };
    sock.onclose = () => {
      ws = null;
      for (const [id, resolve] of pending) {
        resolve({
          kind: 'reply',
          id,
          ok: false,
          error: { code: 'disconnected', message: 'connection to the workbench lost' },
        });
      }
      pending.clear();
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };
  connect();

  return {
    invoke<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiReply<M>> {
      const id = nextId++;
      const frame = encodeFrame({ kind: 'request', id, method, params });
      return new Promise((resolve) => {
        pending.set(id, (reply) => {
          resolve((reply.ok ? { ok: true, result: reply.result } : { ok: false, error: reply.error }) as ApiReply<M>);
        });
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(frame);
        else queue.push(frame);
      });
    },
    on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (payload: never) => void);
      return () => set.delete(listener as (payload: never) => void);
    },
  };
}
