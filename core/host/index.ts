// The lguest host, chapter by chapter (read in this order):
//   lguest-user.ts        /dev/lguest: the Launcher's requests, the Host holding 16 Guests
//   core.ts               run_guest: the loop, exits, in/out emulation
//   hypercalls.ts         int $0x1F and the async ring
//   interrupts-and-traps.ts  reflecting traps, injecting interrupts, the Guest IDT, the stack
//   page-tables.ts        shadow page tables and demand faulting
//   segments.ts           the Guest GDT
//   switcher.ts           the world switch: effective GDT/IDT/TSS, the top 4 MiB
//   io.ts                 DMA between Guests and to the Launcher
//   clock.ts              virtual time, the clock event, the TSC
//   guest-memory.ts       checked access to Guest memory
//   lg.ts                 struct lguest: the per-Guest state
//   exit-trace.ts         the flight recorder of exits and the Host's decisions
//   rates.ts              counters turned into per-second rates
//   guest-sampler.ts      the profiler's EIP/CPL/CR3 samples, taken at exact instruction counts

export * from './api';
export {
  LguestHost,
  LguestFileImpl,
  i386Factory,
  type CpuFactory,
  type HostState,
  type LguestFileState,
} from './lguest-user';
export type { GuestState, Lguest, LguestStats, ShadowSlot, DmaBinding } from './lg';
export { NS_PER_INSTRUCTION, TSC_KHZ, DEFAULT_BOOT_EPOCH_SECONDS } from './constants';
export { shadowPde, shadowPte } from './page-tables';
export * from './inspect';
