// Registers: general registers, EIP/EFLAGS, segment registers with their hidden descriptor caches,
// control and descriptor-table registers, the x87 stack, and the host's view of the last exit.

import type { MachineStatus, SegmentView } from '../../../../core/service/api';
import { formatVirtualTime } from '../../format';
import { Bool, Field, hex, hexShort } from './fmt';
import { PanelFrame } from './PanelFrame';
import { useInspector } from './useInspector';

interface Props {
  id: string | null;
  status: MachineStatus | null;
  visible: boolean;
}

const GPRS = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp'] as const;

function SegmentRow({ s }: { s: SegmentView }) {
  const isNull = s.typeName === 'null';
  return (
    <tr className={isNull ? 'dim' : undefined} data-seg={s.name}>
      <td className="name">{s.name.toUpperCase()}</td>
      <td className="mono strong">{hex(s.selector, 4)}</td>
      <td className="mono">
        {s.index} / {s.ti ? 'LDT' : 'GDT'} / {s.rpl}
      </td>
      <td className="mono">{hex(s.base)}</td>
      <td className="mono">{hex(s.limit)}</td>
      <td>{s.typeName}</td>
      <td className="mono">{isNull ? '' : s.dpl}</td>
      <td>{isNull ? '' : <Bool on={s.present} />}</td>
      <td>{isNull ? '' : s.db ? '32' : '16'}</td>
      <td>{isNull ? '' : <Bool on={s.g} />}</td>
    </tr>
  );
}

export function RegistersPanel({ id, status, visible }: Props) {
  const { data: r, error, live, refresh } = useInspector('inspect.registers', id ? { id } : null, status, visible);
  return (
    <PanelFrame title="Registers" status={status} live={live} error={error} hasData={r !== null} onRefresh={refresh}>
      {r && (
        <div className="reg-grid">
          <section className="card">
            <h3>General</h3>
            <div className="kv-grid">
              {GPRS.map((n) => (
                <Field key={n} label={n.toUpperCase()}>
                  {hex(r.gpr[n])}
                </Field>
              ))}
              <Field label="EIP">{hex(r.eip)}</Field>
              <Field label="EFLAGS">{hex(r.eflags)}</Field>
            </div>
            <div className="flag-row" aria-label="EFLAGS bits">
              {r.flags.map((f) => (
                <span key={f.name} className={f.set ? 'chip on' : 'chip'} title={`bit ${f.bit}`}>
                  {f.name}
                </span>
              ))}
              <span className="chip on">IOPL {r.iopl}</span>
              <span className="chip on" data-testid="cpl">
                CPL {r.cpl}
              </span>
            </div>
          </section>

          <section className="card">
            <h3>Control &amp; tables</h3>
            <div className="kv-grid">
              <Field label="CR0">{hex(r.cr0)}</Field>
              <Field label="CR2">{hex(r.cr2)}</Field>
              <Field label="CR3" title="the shadow page directory the CPU walks (a host frame)">
                {hex(r.cr3)}
              </Field>
              <Field label="CR4">{hex(r.cr4)}</Field>
              <Field label="guest cr3" title="the Guest's own page directory that the current shadow shadows">
                {r.guestCr3 === null ? '—' : hex(r.guestCr3)}
              </Field>
              <Field label="GDTR">
                {hex(r.gdtr.base)} / {hexShort(r.gdtr.limit)}
              </Field>
              <Field label="IDTR">
                {hex(r.idtr.base)} / {hexShort(r.idtr.limit)}
              </Field>
              <Field label="TR">
                {hex(r.tr.selector, 4)} → {hex(r.tr.base)}
              </Field>
              <Field label="LDTR">{hex(r.ldtr.selector, 4)}</Field>
            </div>
            <div className="flag-row" aria-label="CR0 bits">
              {r.cr0Flags.map((f) => (
                <span key={f.name} className={f.set ? 'chip on' : 'chip'} title={`CR0 bit ${f.bit}`}>
                  {f.name}
                </span>
              ))}
            </div>
          </section>

          <section className="card">
            <h3>Machine</h3>
            <div className="kv-grid">
              <Field label="instructions">{r.instructionCount.toLocaleString('en-US')}</Field>
              <Field label="virtual time">{formatVirtualTime(r.virtualTimeNs)}</Field>
              <Field label="last trap">{r.host.trapnum === 255 ? 'hypercall (done)' : hexShort(r.host.trapnum)}</Field>
              <Field label="error code">{hex(r.host.errcode)}</Field>
              <Field label="fault cr2">{hex(r.host.cr2)}</Field>
              <Field label="halted">{r.host.halted ? 'yes' : 'no'}</Field>
              <Field label="IRQs pending">{hex(r.host.irqsPending)}</Field>
              <Field label="virtual TS">{r.host.ts ? 'set' : 'clear'}</Field>
            </div>
          </section>

          <section className="card wide">
            <h3>Segment registers (with hidden descriptor caches)</h3>
            <table className="grid-table">
              <thead>
                <tr>
                  <th>reg</th>
                  <th>selector</th>
                  <th>index / table / RPL</th>
                  <th>base</th>
                  <th>limit</th>
                  <th>type</th>
                  <th>DPL</th>
                  <th>P</th>
                  <th>D/B</th>
                  <th>G</th>
                </tr>
              </thead>
              <tbody>
                {r.segments.map((s) => (
                  <SegmentRow key={s.name} s={s} />
                ))}
                <SegmentRow s={r.tr} />
              </tbody>
            </table>
          </section>

          <section className="card wide">
            <h3>x87</h3>
            <div className="kv-grid">
              <Field label="control">{hex(r.x87.control, 4)}</Field>
              <Field label="status">{hex(r.x87.status, 4)}</Field>
              <Field label="tag">{hex(r.x87.tag, 4)}</Field>
              <Field label="TOP">{r.x87.top}</Field>
            </div>
            <table className="grid-table compact">
              <thead>
                <tr>
                  <th>ST(i)</th>
                  <th>R</th>
                  <th>tag</th>
                  <th>value</th>
                </tr>
              </thead>
              <tbody>
                {r.x87.st.map((x) => (
                  <tr key={x.index} className={x.tag === 'empty' ? 'dim' : undefined}>
                    <td className="mono">ST({x.index})</td>
                    <td className="mono">R{x.physical}</td>
                    <td>{x.tag}</td>
                    <td className="mono">{x.tag === 'empty' ? '—' : x.text}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </div>
      )}
    </PanelFrame>
  );
}
