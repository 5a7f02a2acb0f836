// The preload: exposes exactly the workbench API (LguestApi) to the sandboxed renderer as
// window.lguest. Requests go over one invoke channel; events arrive on a MessagePort from main.

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type {
  ApiEventMessage,
  ApiEventName,
  ApiEvents,
  ApiMethod,
  ApiParams,
  ApiReply,
  LguestApi,
} from '../core/service/api';

// Kept in step with electron/ipc.ts (the preload is bundled on its own, so it does not import it).
const IPC_INVOKE = 'lguest:invoke';
const IPC_SUBSCRIBE = 'lguest:subscribe';
const IPC_EVENT_PORT = 'lguest:event-port';

const listeners = new Map<ApiEventName, Set<(payload: never) => void>>();

/** The renderer-side (DOM) MessagePort, as much of it as the preload uses. */
interface EventPort {
  onmessage: ((message: { data: ApiEventMessage }) => void) | null;
  start(): void;
}

ipcRenderer.on(IPC_EVENT_PORT, (event: IpcRendererEvent) => {
  const port = event.ports[0] as unknown as EventPort | undefined;
  if (!port) return;
  port.onmessage = (message) => {
    const msg = message.data;
    for (const listener of listeners.get(msg.event) ?? []) (listener as (p: unknown) => void)(msg.payload);
  };
  port.start();
});
ipcRenderer.send(IPC_SUBSCRIBE);

const api: LguestApi = {
  invoke<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiReply<M>> {
    return ipcRenderer.invoke(IPC_INVOKE, method, params) as Promise<ApiReply<M>>;
  },
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    const l = listener as (payload: never) => void;
    set.add(l);
    return () => void set.delete(l);
  },
};

contextBridge.exposeInMainWorld('lguest', api);
