// Memory: a hex + ASCII dump of guest-physical memory, or of a virtual range translated through
// the Guest's own page tables or through the shadow tables the CPU walks, with each page's walk;
// optionally with the bytes that changed since a chosen snapshot highlighted.

import { useEffect, useMemo, useState } from 'react';
import type { MachineStatus, MemoryPage, MemorySpace, SnapshotListing, WalkView } from '../../../../core/service/api';
import { call, on } from '../../api/client';
import { EntryCell, hex, parseAddress, sizeText } from './fmt';
import { dumpRows, type DumpRow } from './hexfmt';
import { PanelFrame } from './PanelFrame';
import { useInspector } from './useInspector';

interface Props {
  id: string | null;
  status: MachineStatus | null;
  visible: boolean;
}

const SPACES: { value: MemorySpace; label: string }[] = [
  { value: 'physical', label: 'Guest physical' },
  { value: 'guest-virtual', label: 'Virtual (guest page tables)' },
  { value: 'shadow-virtual', label: 'Virtual (shadow tables, as the CPU sees it)' },
];
const LENGTHS = [256, 1024, 4096, 16384, 65536];
const DEFAULT_ADDRESS: Record<MemorySpace, number> = {
  physical: 0x100000,
  'guest-virtual': 0xc0100000,
  'shadow-virtual': 0xc0100000,
};

const STOP_TEXT: Record<NonNullable<WalkView['stop']>, string> = {
  'pde-not-present': 'PDE not present',
  'pte-not-present': 'PTE not present',
  'table-outside-ram': 'table outside RAM',
  'no-directory': 'no directory',
};

function Walk({ label, w, va }: { label: string; w: WalkView; va: number }) {
  return (
    <div className="walk">
      <span className="walk-label">{label}</span>
      <span className="mono muted">dir {hex(w.directory)}</span>
      <span>
        PDE[{hex(va >>> 22, 3)}] <EntryCell value={w.pde} />
      </span>
      {w.stop !== 'pde-not-present' && w.stop !== 'no-directory' && (
        <span>
          PTE[{hex((va >>> 12) & 1023, 3)}] <EntryCell value={w.pte} />
        </span>
      )}
      <span className={w.phys === null ? 'walk-end unmapped' : 'walk-end'}>
        {w.phys === null ? `✗ ${STOP_TEXT[w.stop ?? 'pte-not-present']}` : `→ ${hex(w.phys & 0xfffff000)}`}
      </span>
    </div>
  );
}

function PageHeader({ page, space }: { page: MemoryPage; space: MemorySpace }) {
  const end = page.address + page.length - 1;
  let shadowNote: string | null = null;
  if (page.guest && page.shadow && page.guest.phys !== null && page.shadow.phys === null) {
    shadowNote = 'not faulted into the shadow yet: the next access demand-pages it';
  } else if (page.shadow && page.shadow.phys !== null && page.guest?.phys !== page.shadow.phys) {
    shadowNote = page.guest?.phys === null ? 'host mapping (not in the guest tables)' : 'shadow and guest disagree';
  }
  return (
    <div className="page-head" data-testid="page-head">
      <div className="page-range mono">
        {hex(page.address)}–{hex(end)}
        {space !== 'physical' && (
          <span className={page.phys === null ? 'unmapped' : 'mapped'}>
            {page.phys === null ? '  not mapped' : `  → physical ${hex(page.phys)}`}
          </span>
        )}
      </div>
      {page.guest && <Walk label="guest tables" w={page.guest} va={page.address} />}
      {page.shadow && <Walk label="shadow tables" w={page.shadow} va={page.address} />}
      {shadowNote && <div className="shadow-note">{shadowNote}</div>}
    </div>
  );
}

/** A row's hex and ASCII columns byte by byte, changed bytes highlighted. */
function MarkedColumns({ row }: { row: DumpRow }) {
  const cell = (text: string, changed: boolean, key: number) =>
    changed ? (
      <span key={key} className="dump-changed" data-testid="changed-byte">
        {text}
      </span>
    ) : (
      text
    );
  return (
    <>
      <span className="dump-hex">
        {row.cells.map((c, i) => [cell(c.hex, c.changed, i), i === 15 ? '' : i === 7 ? '  ' : ' '])}
      </span>
      <span className="dump-ascii">{row.cells.map((c, i) => cell(c.text, c.changed, i))}</span>
    </>
  );
}

function Dump({ page }: { page: MemoryPage }) {
  const rows = useMemo(() => (page.bytes ? dumpRows(page.address, page.bytes, page.changed) : []), [page]);
  if (!page.bytes) return <div className="dump-absent">— no bytes: this page is not mapped in the chosen space —</div>;
  return (
    <pre className="dump" data-testid="hex-dump">
      {rows.map((r) => (
        <div key={r.addr} className="dump-row">
          <span className="dump-addr">{hex(r.addr)}</span>
          {r.anyChanged ? (
            <MarkedColumns row={r} />
          ) : (
            <>
              <span className="dump-hex">{r.hex}</span>
              <span className="dump-ascii">{r.text}</span>
            </>
          )}
        </div>
      ))}
    </pre>
  );
}

function changedCount(pages: MemoryPage[]): number {
  let n = 0;
  for (const p of pages) if (p.changed) for (const c of p.changed) n += c;
  return n;
}

/** The machine's snapshots (to compare memory with), kept current as they are taken and deleted. */
function useSnapshotFiles(id: string | null): SnapshotListing[] {
  const [list, setList] = useState<SnapshotListing[]>([]);
  useEffect(() => {
    if (!id) return setList([]);
    let live = true;
    const load = (): void =>
      void call('snapshots.list', { id }).then(
        (l) => live && setList(l.filter((s) => s.verified)),
        () => live && setList([]),
      );
    load();
    const off = on('snapshots.changed', (p) => {
      if (p.id === id) load();
    });
    return () => {
      live = false;
      off();
    };
  }, [id]);
  return list;
}

export function MemoryPanel({ id, status, visible }: Props) {
  const [space, setSpace] = useState<MemorySpace>('physical');
  const [address, setAddress] = useState(DEFAULT_ADDRESS.physical);
  const [length, setLength] = useState(4096);
  const [text, setText] = useState(hex(DEFAULT_ADDRESS.physical));
  const [inputError, setInputError] = useState<string | null>(null);
  const [since, setSince] = useState('');
  const snapshots = useSnapshotFiles(id);
  const sinceKnown = snapshots.some((s) => s.file === since) ? since : '';
  const params = id ? { id, space, address, length, ...(sinceKnown ? { since: sinceKnown } : {}) } : null;
  const { data, error, live, refresh } = useInspector('inspect.memory', params, status, visible);

  const go = (a: number): void => {
    const clamped = Math.max(0, Math.min(a, 0x1_0000_0000 - length));
    setAddress(clamped);
    setText(hex(clamped));
    setInputError(null);
  };
  const submit = (): void => {
    const a = parseAddress(text);
    if (a === null) setInputError('type a hex address, e.g. c0100000 or 0x100000');
    else go(a);
  };

  const tools = (
    <>
      <select
        aria-label="Address space"
        value={space}
        onChange={(e) => {
          const s = e.target.value as MemorySpace;
          setSpace(s);
          go(DEFAULT_ADDRESS[s]);
        }}
      >
        {SPACES.map((s) => (
          <option key={s.value} value={s.value}>
            {s.label}
          </option>
        ))}
      </select>
      <form
        className="addr-form"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <input
          aria-label="Address"
          className={inputError ? 'addr invalid' : 'addr'}
          value={text}
          spellCheck={false}
          onChange={(e) => setText(e.target.value)}
        />
        <button className="button small" type="submit">
          Go
        </button>
      </form>
      <select aria-label="Length" value={length} onChange={(e) => setLength(Number(e.target.value))}>
        {LENGTHS.map((n) => (
          <option key={n} value={n}>
            {sizeText(n)}
          </option>
        ))}
      </select>
      <button className="button small" onClick={() => go(address - length)} disabled={address === 0}>
        ◀ Prev
      </button>
      <button
        className="button small"
        onClick={() => go(address + length)}
        disabled={address + length >= 0x1_0000_0000}
      >
        Next ▶
      </button>
      <select
        aria-label="Changes since snapshot"
        title="Highlight the bytes that changed since a snapshot"
        value={sinceKnown}
        onChange={(e) => setSince(e.target.value)}
      >
        <option value="">No highlight</option>
        {snapshots.map((s) => (
          <option key={s.file} value={s.file}>
            Changed since {s.name || s.file}
          </option>
        ))}
      </select>
      {inputError && <span className="field-error">{inputError}</span>}
    </>
  );

  const current = data;
  return (
    <PanelFrame
      title="Memory"
      status={status}
      live={live}
      error={error}
      hasData={current !== null}
      onRefresh={refresh}
      tools={tools}
    >
      {current && (
        <div className="memory">
          <div className="memory-summary muted">
            {[
              SPACES.find((s) => s.value === current.space)!.label,
              hex(current.address),
              sizeText(current.length),
              `RAM ${sizeText(current.ramBytes)}`,
              ...(current.pages.some((p) => p.changed) ? [`${changedCount(current.pages)} bytes changed`] : []),
            ].join(' · ')}
            {current.guestCr3 !== null && current.space !== 'physical' && (
              <>
                {' '}
                · guest cr3 {hex(current.guestCr3)} · shadow directory {hex(current.shadowDirectory ?? 0)}
              </>
            )}
          </div>
          {current.pages.map((p) => (
            <div key={p.address} className="mem-page">
              <PageHeader page={p} space={current.space} />
              <Dump page={p} />
            </div>
          ))}
        </div>
      )}
    </PanelFrame>
  );
}
