// The Electron transport of the workbench API: one invoke channel for requests (checked: the sender
// must be our own page's main frame) and, per page, a MessagePort carrying the service's events.

import {
  ipcMain,
  MessageChannelMain,
  type IpcMainEvent,
  type IpcMainInvokeEvent,
  type MessagePortMain,
  type WebContents,
  type WebFrameMain,
} from 'electron';
import type { ApiEventMessage } from '../core/service/api';

export const IPC_INVOKE = 'lguest:invoke';
export const IPC_SUBSCRIBE = 'lguest:subscribe';
/** The channel on which a page receives its event port. */
export const IPC_EVENT_PORT = 'lguest:event-port';

export interface IpcEndpoint {
  call(method: unknown, params: unknown): Promise<unknown>;
  subscribe(listener: (msg: ApiEventMessage) => void): () => void;
}

/** True when the frame is the main frame of a page we loaded (our app origin, or the dev server). */
export function isTrustedFrame(frame: WebFrameMain | null, isAppUrl: (url: string) => boolean): boolean {
  if (!frame || frame.parent !== null) return false;
  return isAppUrl(frame.url);
}

export function exposeServiceOverIpc(service: IpcEndpoint, isAppUrl: (url: string) => boolean): () => void {
  const subscriptions = new Map<number, () => void>();

  const onInvoke = async (event: IpcMainInvokeEvent, method: unknown, params: unknown): Promise<unknown> => {
    if (!isTrustedFrame(event.senderFrame, isAppUrl)) {
      return { ok: false, error: { code: 'bad-request', message: 'request from a page that is not the workbench' } };
    }
    return service.call(method, params);
  };

  /**
   * A page asks for its events: it gets one end of a fresh MessageChannel, and every service event
   * (console batches, status changes) is posted on the other end. Streams stay off the request path.
   */
  const onSubscribe = (event: IpcMainEvent): void => {
    if (!isTrustedFrame(event.senderFrame, isAppUrl)) return;
    const contents: WebContents = event.sender;
    // A reload subscribes again: drop the previous page's port first.
    subscriptions.get(contents.id)?.();
    const { port1, port2 }: { port1: MessagePortMain; port2: MessagePortMain } = new MessageChannelMain();
    const off = service.subscribe((msg) => port1.postMessage(msg));
    const close = (): void => {
      off();
      port1.close();
      subscriptions.delete(contents.id);
    };
    subscriptions.set(contents.id, close);
    port1.on('close', close);
    port1.start();
    event.senderFrame!.postMessage(IPC_EVENT_PORT, null, [port2]);
    contents.once('destroyed', () => subscriptions.get(contents.id)?.());
  };

  ipcMain.handle(IPC_INVOKE, onInvoke);
  ipcMain.on(IPC_SUBSCRIBE, onSubscribe);
  return () => {
    ipcMain.removeHandler(IPC_INVOKE);
    ipcMain.off(IPC_SUBSCRIBE, onSubscribe);
    for (const close of [...subscriptions.values()]) close();
  };
}
