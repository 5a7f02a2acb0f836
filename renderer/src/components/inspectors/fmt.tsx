// Display helpers shared by the inspector panels: hex numbers, flag letters, small value cells.

import type { ReactNode } from 'react';
import { hex } from './hexfmt';

export { hex, hexShort, parseAddress, sizeText } from './hexfmt';

/** Page-table entry bits as letters, in bit order (unset bits shown dimmed). */
export const PTE_BITS: [string, number, string][] = [
  ['P', 0, 'present'],
  ['W', 1, 'writable'],
  ['U', 2, 'user'],
  ['T', 3, 'write-through (PWT)'],
  ['C', 4, 'cache disabled (PCD)'],
  ['A', 5, 'accessed'],
  ['D', 6, 'dirty'],
  ['S', 7, '4 MiB page (PSE)'],
  ['G', 8, 'global'],
];

export function Flags({ value, bits = PTE_BITS }: { value: number; bits?: [string, number, string][] }) {
  return (
    <span
      className="flags"
      aria-label={
        bits
          .filter(([, b]) => (value >>> b) & 1)
          .map(([l]) => l)
          .join('') || 'none'
      }
    >
      {bits.map(([letter, bit, title]) => (
        <span key={bit} className={(value >>> bit) & 1 ? 'flag on' : 'flag'} title={title}>
          {letter}
        </span>
      ))}
    </span>
  );
}

/** A page-table entry cell: frame address and flag letters, or a dash for an empty entry. */
export function EntryCell({ value }: { value: number | null }) {
  if (value === null) return <span className="muted">outside RAM</span>;
  if (value === 0) return <span className="muted">—</span>;
  return (
    <span className="entry">
      <span className="mono">{hex(value & 0xfffff000)}</span> <Flags value={value} />
    </span>
  );
}

export function Field({ label, children, title }: { label: string; children: ReactNode; title?: string }) {
  return (
    <div className="kv" title={title}>
      <span className="kv-label">{label}</span>
      <span className="kv-value mono">{children}</span>
    </div>
  );
}

export function Bool({ on }: { on: boolean }) {
  return <span className={on ? 'yes' : 'no'}>{on ? '1' : '0'}</span>;
}
