// The Launcher's initial page tables (ABI §10.7): only the kernel's linear map PAGE_OFFSET+x -> x,
// every entry P|RW|US (0x007) with A and D clear, and no identity map at low addresses.

import { PAGE_SIZE } from '../cpu/memory';
import { PTES_PER_PAGE, type PageTablePlan } from './guest-layout';

export const INITIAL_ENTRY_FLAGS = 0x007;

export function writeInitialPageTables(ram: Uint8Array, plan: PageTablePlan, pageOffset: number): void {
  const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  for (let i = 0; i < plan.mappedPages; i++) {
    view.setUint32(plan.ptes + 4 * i, ((i * PAGE_SIZE) | INITIAL_ENTRY_FLAGS) >>> 0, true);
  }
  const firstPdeIndex = pageOffset / PAGE_SIZE;
  for (let i = 0; i < plan.mappedPages; i += PTES_PER_PAGE) {
    const pde = Math.floor((i + firstPdeIndex) / PTES_PER_PAGE);
    view.setUint32(plan.pgdir + 4 * pde, ((plan.ptes + 4 * i) | INITIAL_ENTRY_FLAGS) >>> 0, true);
  }
}
