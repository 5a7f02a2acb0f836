// The inspector tabs beside Console and Config: which panels exist, and the one that is shown.

import type { ReactNode } from 'react';
import type { MachineStatus } from '../../../../core/service/api';
import { CountersPanel } from './CountersPanel';
import { DescriptorsPanel } from './DescriptorsPanel';
import { MemoryPanel } from './MemoryPanel';
import { PageTablesPanel } from './PageTablesPanel';
import { RegistersPanel } from './RegistersPanel';
import { ProfilePanel } from '../observe/ProfilePanel';
import { TracePanel } from '../observe/TracePanel';
import './inspectors.css';

export type InspectorTab = 'registers' | 'memory' | 'descriptors' | 'pagetables' | 'counters' | 'trace' | 'profile';

export const INSPECTOR_TABS: { key: InspectorTab; label: string }[] = [
  { key: 'registers', label: 'Registers' },
  { key: 'memory', label: 'Memory' },
  { key: 'descriptors', label: 'Descriptors' },
  { key: 'pagetables', label: 'Page tables' },
  { key: 'counters', label: 'Counters' },
  { key: 'trace', label: 'Trace' },
  { key: 'profile', label: 'Profile' },
];

interface Props {
  /** The selected tab of the workspace (a non-inspector tab hides every panel). */
  tab: string;
  id: string | null;
  status: MachineStatus | null;
}

/**
 * Every inspector panel, each in its own tab pane. Hidden panels stay mounted (the memory panel
 * keeps its address) but do not query: only the visible one polls the machine.
 */
export function InspectorPanes({ tab, id, status }: Props) {
  const pane = (key: InspectorTab, body: ReactNode) => (
    <div key={key} className={tab === key ? 'tab-pane' : 'tab-pane hidden'}>
      {body}
    </div>
  );
  return (
    <>
      {pane('registers', <RegistersPanel id={id} status={status} visible={tab === 'registers'} />)}
      {pane('memory', <MemoryPanel id={id} status={status} visible={tab === 'memory'} />)}
      {pane('descriptors', <DescriptorsPanel id={id} status={status} visible={tab === 'descriptors'} />)}
      {pane('pagetables', <PageTablesPanel id={id} status={status} visible={tab === 'pagetables'} />)}
      {pane('counters', <CountersPanel id={id} status={status} visible={tab === 'counters'} />)}
      {pane('trace', <TracePanel id={id} status={status} visible={tab === 'trace'} />)}
      {pane('profile', <ProfilePanel id={id} status={status} visible={tab === 'profile'} />)}
    </>
  );
}
