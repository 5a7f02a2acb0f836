// Where two state trees differ: the paths of the first differing leaves, for tests and tools that
// compare machine states (the pin: run, snapshot, restore, run again; both states must be equal).

import type { SnapshotValue, TypedArray } from './format';

function isTypedArray(v: unknown): v is TypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function describe(v: SnapshotValue | undefined): string {
  if (v === undefined) return 'missing';
  if (isTypedArray(v)) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v !== null && typeof v === 'object') return 'object';
  return JSON.stringify(v);
}

/**
 * Paths (JSON-pointer style) where `a` and `b` differ, at most `limit` of them. Typed arrays are
 * compared byte by byte and reported with the first differing element index.
 */
export function diffTrees(a: SnapshotValue | undefined, b: SnapshotValue | undefined, limit = 20): string[] {
  const out: string[] = [];
  walk(a, b, '', out, limit);
  return out;
}

function walk(a: SnapshotValue | undefined, b: SnapshotValue | undefined, path: string, out: string[], limit: number) {
  if (out.length >= limit) return;
  if (isTypedArray(a) || isTypedArray(b)) {
    if (!isTypedArray(a) || !isTypedArray(b) || a.constructor !== b.constructor || a.length !== b.length) {
      out.push(`${path || '/'}: ${describe(a)} vs ${describe(b)}`);
      return;
    }
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) {
        const element = Math.floor(i / a.BYTES_PER_ELEMENT);
        out.push(`${path || '/'}[${element}]: ${String(a[element])} vs ${String(b[element])}`);
        return;
      }
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path || '/'}: length ${a.length} vs ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) walk(a[i], b[i], `${path}/${i}`, out, limit);
    return;
  }
  const objA = a !== null && typeof a === 'object' && !Array.isArray(a);
  const objB = b !== null && typeof b === 'object' && !Array.isArray(b);
  if (objA && objB) {
    const ra = a as Record<string, SnapshotValue>;
    const rb = b as Record<string, SnapshotValue>;
    const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])];
    for (const k of keys) walk(ra[k], rb[k], `${path}/${k}`, out, limit);
    return;
  }
  if (!Object.is(a, b)) out.push(`${path || '/'}: ${describe(a)} vs ${describe(b)}`);
}
