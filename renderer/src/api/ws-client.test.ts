import { describe, expect, it } from 'vitest';
// eslint-disable-next-line no-restricted-imports -- test only: both halves of the frame encoding must agree
import { decodeWire, encodeWire } from '../../../core/service/wire-codec';
import { decodeFrame, encodeFrame } from './ws-client';

// The browser half and the Node half of the WebSocket frame encoding must agree byte for byte.
describe('WebSocket frame encoding', () => {
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 131) & 0xff);
  const message = {
    kind: 'event',
    event: 'console.output',
    payload: { id: 'demo', data: bytes, nested: [new Uint8Array([0, 255])] },
  };

  it('server-encoded frames decode in the page', () => {
    expect(decodeFrame(encodeWire(message))).toEqual(message);
  });

  it('page-encoded frames decode on the server', () => {
    expect(decodeWire(encodeFrame(message))).toEqual(message);
    expect(encodeFrame(message)).toBe(encodeWire(message));
  });
});
