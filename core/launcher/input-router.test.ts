// Keyboard routing for `lguest --multi` ("@NAME cmd", "@NAME" + Enter).
import { describe, expect, it } from 'vitest';
import { InputRouter, type RoutedInput } from './input-router';

const enc = (s: string) => new TextEncoder().encode(s);
const text = (parts: RoutedInput[]) => parts.map((p) => `${p.target}:${new TextDecoder().decode(p.bytes)}`);

describe('InputRouter', () => {
  it('sends unprefixed input to the first machine', () => {
    const r = new InputRouter(['a', 'b']);
    expect(text(r.route(enc('ls\r')))).toEqual(['0:ls\r']);
  });

  it('sends one "@NAME " line to that machine, then returns to the focus', () => {
    const r = new InputRouter(['a', 'b']);
    expect(text(r.route(enc('@b ifconfig eth0 up\necho a\n')))).toEqual(['1:ifconfig eth0 up\n', '0:echo a\n']);
  });

  it('accepts the name typed one byte at a time, and a 1-based index', () => {
    const r = new InputRouter(['alpha', 'beta']);
    const out = [...'@beta x\r@2 y\r@1 z\r'].flatMap((c) => r.route(enc(c)));
    expect(text(out).join('')).toBe('1:x1:\r1:y1:\r0:z0:\r');
  });

  it('"@NAME" alone moves the keyboard; the Enter is not sent', () => {
    const r = new InputRouter(['a', 'b']);
    expect(text(r.route(enc('@b\rls\r')))).toEqual(['1:ls\r']);
    expect(r.focused).toBe(1);
    expect(text(r.route(enc('@a\npwd\n')))).toEqual(['0:pwd\n']);
  });

  it('passes "@" that names no machine, or not at a line start, through to the guest', () => {
    const r = new InputRouter(['a', 'b']);
    expect(text(r.route(enc('@c hi\recho x@b y\r')))).toEqual(['0:@c hi\recho x@b y\r']);
    expect(text(r.route(enc('@\x03')))).toEqual(['0:@\x03']);
  });

  it('lets backspace edit the prefix', () => {
    const r = new InputRouter(['a', 'b']);
    expect(text(r.route(enc('@c\x7fb ok\r')))).toEqual(['1:ok\r']);
    expect(text(r.route(enc('@\x7fls\r')))).toEqual(['0:ls\r']);
  });
});
