import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { validateMachineConfig, type ConfigCheck } from './config-validation';
import { PACKAGE_ROOT, resolveGuestFile } from './kernel-path';

const good = {
  name: 'demo',
  kernel: 'builtin:demo',
  memoryMB: 64,
  cmdline: 'quiet',
  blockDevices: [{ path: 'disk.img', readOnly: true }],
  networks: ['lan'],
};

function errorsOf(r: ConfigCheck) {
  if (r.ok) throw new Error('expected errors');
  return r.errors;
}

describe('validateMachineConfig', () => {
  it('accepts a good configuration, as a value and as text', () => {
    const r = validateMachineConfig(good);
    expect(r).toEqual({ ok: true, config: good });
    expect(validateMachineConfig(JSON.stringify(good)).ok).toBe(true);
    expect(validateMachineConfig({ name: 'm', kernel: 'k', memoryMB: 4 }).ok).toBe(true);
  });

  it('takes an optional symbols file, never an empty name', () => {
    expect(validateMachineConfig({ ...good, symbols: 'System.map' })).toEqual({
      ok: true,
      config: { ...good, symbols: 'System.map' },
    });
    expect(errorsOf(validateMachineConfig({ ...good, symbols: '' }))).toEqual([
      { path: '/symbols', message: 'must NOT have fewer than 1 characters' },
    ]);
  });

  it('names out-of-range numbers by JSON pointer', () => {
    expect(errorsOf(validateMachineConfig({ ...good, memoryMB: 2 }))).toEqual([
      { path: '/memoryMB', message: 'must be >= 4' },
    ]);
    expect(errorsOf(validateMachineConfig({ ...good, memoryMB: 4096 }))).toEqual([
      { path: '/memoryMB', message: 'must be <= 1024' },
    ]);
    expect(errorsOf(validateMachineConfig({ ...good, memoryMB: 6.5 }))).toEqual([
      { path: '/memoryMB', message: 'must be integer' },
    ]);
  });

  it('names missing required fields', () => {
    const errs = errorsOf(validateMachineConfig({ memoryMB: 64 }));
    expect(errs).toContainEqual({ path: '/name', message: 'is required' });
    expect(errs).toContainEqual({ path: '/kernel', message: 'is required' });
  });

  it('names unknown settings and wrong types', () => {
    expect(errorsOf(validateMachineConfig({ ...good, memory: 3 }))).toEqual([
      { path: '/memory', message: 'is not a known setting' },
    ]);
    expect(errorsOf(validateMachineConfig({ ...good, cmdline: 5 }))).toEqual([
      { path: '/cmdline', message: 'must be string' },
    ]);
    expect(errorsOf(validateMachineConfig([]))[0]!.path).toBe('');
  });

  it('names bad nested items: block devices and networks', () => {
    expect(errorsOf(validateMachineConfig({ ...good, blockDevices: [{ path: 'a' }, { readOnly: true }] }))).toEqual([
      { path: '/blockDevices/1/path', message: 'is required' },
    ]);
    expect(errorsOf(validateMachineConfig({ ...good, networks: ['ok', '/tmp/net'] }))[0]!.path).toBe('/networks/1');
    expect(errorsOf(validateMachineConfig({ ...good, name: '-bad' }))[0]!.path).toBe('/name');
    expect(errorsOf(validateMachineConfig({ ...good, kernel: '' }))[0]).toEqual({
      path: '/kernel',
      message: 'must NOT have fewer than 1 characters',
    });
  });

  it('reports JSON syntax errors with line and column', () => {
    const text = '{\n  "name": "x",\n  "memoryMB": 64,,\n}';
    const [e] = errorsOf(validateMachineConfig(text));
    expect(e!.line).toBe(3);
    expect(e!.column).toBe(18); // the second comma
    expect(e!.message).toMatch(/^JSON syntax error at line 3, column 18/);
    const [end] = errorsOf(validateMachineConfig('{\n "name": "x"'));
    expect(end!.line).toBe(2);
    expect(end!.message).toMatch(/line 2/);
  });
});

describe('guest file names', () => {
  it('resolves builtin:demo inside the package and other names against a base directory', () => {
    expect(resolveGuestFile('builtin:demo')).toBe(resolve(PACKAGE_ROOT, 'assets/guests/demo/demo.elf'));
    expect(existsSync(resolve(PACKAGE_ROOT, 'package.json'))).toBe(true);
    expect(resolveGuestFile('k/vmlinux', '/srv/m')).toBe('/srv/m/k/vmlinux');
    expect(resolveGuestFile('/abs/bzImage', '/srv/m')).toBe('/abs/bzImage');
    expect(() => resolveGuestFile('builtin:nope')).toThrow(/unknown built-in kernel/);
  });
});
