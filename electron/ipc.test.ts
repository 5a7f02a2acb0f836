import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiEventMessage } from '../core/service/api';
import { makeIsAppUrl } from './app-origin';

// A stand-in for Electron's ipcMain (the Electron binary is not needed to test the wiring).
type Handler = (event: unknown, ...args: unknown[]) => unknown;
const handlers = new Map<string, Handler>();
/** A MessageChannelMain stand-in: records what is posted on port1. */
const posted: unknown[] = [];
vi.mock('electron', () => ({
  MessageChannelMain: class {
    port1 = { postMessage: (m: unknown) => posted.push(m), start() {}, close() {}, on() {} };
    port2 = { transferred: true };
  },
  ipcMain: {
    handle: (channel: string, h: Handler) => handlers.set(channel, h),
    on: (channel: string, h: Handler) => handlers.set(channel, h),
    removeHandler: (channel: string) => handlers.delete(channel),
    off: (channel: string) => handlers.delete(channel),
  },
}));

const { exposeServiceOverIpc, IPC_EVENT_PORT, IPC_INVOKE, IPC_SUBSCRIBE } = await import('./ipc');

function frame(url: string, parent: unknown = null) {
  return { url, parent };
}

describe('Electron IPC transport', () => {
  const calls: unknown[][] = [];
  let emit: (msg: ApiEventMessage) => void = () => {};
  const service = {
    call: async (method: unknown, params: unknown) => {
      calls.push([method, params]);
      return { ok: true, result: [] };
    },
    subscribe: (l: (msg: ApiEventMessage) => void) => {
      emit = l;
      return () => (emit = () => {});
    },
  };
  const isAppUrl = makeIsAppUrl(undefined);

  beforeEach(() => {
    handlers.clear();
    calls.length = 0;
    exposeServiceOverIpc(service, isAppUrl);
  });

  it('answers requests only from the main frame of our own page', async () => {
    const invoke = handlers.get(IPC_INVOKE)!;
    expect(await invoke({ senderFrame: frame('lguest-app://workbench/index.html') }, 'configs.list', {})).toEqual({
      ok: true,
      result: [],
    });
    for (const senderFrame of [
      frame('https://evil.example/'),
      frame('file:///etc/passwd'),
      frame('lguest-app://workbench/index.html', frame('lguest-app://workbench/')),
      null,
    ]) {
      expect(await invoke({ senderFrame }, 'configs.list', {})).toMatchObject({
        ok: false,
        error: { code: 'bad-request' },
      });
    }
    expect(calls).toHaveLength(1);
  });

  it('hands a subscribed page an event port and posts every service event on it until the page is gone', () => {
    const framesPosted: unknown[] = [];
    let destroyed: (() => void) | null = null;
    const senderFrame = {
      ...frame('lguest-app://workbench/index.html'),
      postMessage: (channel: string, msg: unknown, ports: unknown[]) => framesPosted.push([channel, msg, ports]),
    };
    const sender = { id: 1, once: (_e: string, cb: () => void) => (destroyed = cb) };
    posted.length = 0;
    handlers.get(IPC_SUBSCRIBE)!({ senderFrame, sender });
    expect(framesPosted).toEqual([[IPC_EVENT_PORT, null, [{ transferred: true }]]]);
    const msg: ApiEventMessage = { kind: 'event', event: 'configs.changed', payload: { ids: ['demo'] } };
    emit(msg);
    expect(posted).toEqual([msg]);
    destroyed!();
    emit(msg);
    expect(posted).toHaveLength(1);
  });

  it('does not hand an event port to a foreign page', () => {
    const framesPosted: unknown[] = [];
    const senderFrame = { ...frame('https://evil.example/'), postMessage: () => framesPosted.push(1) };
    handlers.get(IPC_SUBSCRIBE)!({ senderFrame, sender: { id: 2, once() {} } });
    expect(framesPosted).toEqual([]);
  });

  it('knows the dev server only in dev', () => {
    expect(makeIsAppUrl('http://localhost:5173')('http://localhost:5173/')).toBe(true);
    expect(isAppUrl('http://localhost:5173/')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
  });
});
