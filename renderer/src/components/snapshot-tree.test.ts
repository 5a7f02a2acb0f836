import { describe, expect, it } from 'vitest';
import type { SnapshotListing } from '../../../core/service/api';
import { snapshotTree } from './snapshot-tree';

const snap = (file: string, parent: string | null): SnapshotListing => ({
  machine: 'm',
  file,
  sizeBytes: 1,
  modifiedMs: 0,
  verified: true,
  parent,
});

describe('snapshot tree', () => {
  it('puts each snapshot under its parent, branches in order, and lost parents at the root', () => {
    const rows = snapshotTree([
      snap('a.lgsnap', null),
      snap('b.lgsnap', 'a.lgsnap'),
      snap('c.lgsnap', 'b.lgsnap'),
      snap('d.lgsnap', 'a.lgsnap'), // restore a, then snapshot: a branch
      snap('e.lgsnap', 'gone.lgsnap'), // its parent was deleted
    ]);
    expect(
      rows.map((r) => `${'  '.repeat(r.depth)}${r.listing.file}${r.lostParent ? ` (${r.lostParent})` : ''}`),
    ).toEqual(['a.lgsnap', '  b.lgsnap', '    c.lgsnap', '  d.lgsnap', 'e.lgsnap (gone.lgsnap)']);
  });

  it('shows every file once even if parents form a cycle', () => {
    const rows = snapshotTree([snap('x.lgsnap', 'y.lgsnap'), snap('y.lgsnap', 'x.lgsnap')]);
    expect(rows.map((r) => r.listing.file).sort()).toEqual(['x.lgsnap', 'y.lgsnap']);
  });
});
