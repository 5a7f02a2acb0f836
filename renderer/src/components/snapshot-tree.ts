// The snapshot tree of one machine: each snapshot under the one it descends from (a restore then a
// snapshot makes a branch). A snapshot whose parent was deleted becomes a root; its data is intact.

import type { SnapshotListing } from '../../../core/service/api';

export interface TreeRow {
  listing: SnapshotListing;
  depth: number;
  /** The parent's file when it no longer exists (the row is shown as a root). */
  lostParent: string | null;
}

/** Depth-first rows: roots oldest first, each followed by its children (oldest first). */
export function snapshotTree(list: readonly SnapshotListing[]): TreeRow[] {
  const files = new Set(list.map((s) => s.file));
  const children = new Map<string | null, SnapshotListing[]>();
  for (const s of list) {
    const parent = s.parent && files.has(s.parent) && s.parent !== s.file ? s.parent : null;
    const siblings = children.get(parent) ?? [];
    siblings.push(s);
    children.set(parent, siblings);
  }
  const rows: TreeRow[] = [];
  const seen = new Set<string>();
  const visit = (s: SnapshotListing, depth: number): void => {
    if (seen.has(s.file)) return;
    seen.add(s.file);
    const lostParent = s.parent && !files.has(s.parent) ? s.parent : null;
    rows.push({ listing: s, depth, lostParent });
    for (const c of children.get(s.file) ?? []) visit(c, depth + 1);
  };
  for (const root of children.get(null) ?? []) visit(root, 0);
  // A cycle cannot come from the workbench, but a list must still show every file once.
  for (const s of list) visit(s, 0);
  return rows;
}
