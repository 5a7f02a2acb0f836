// What a machine's worker adds so the UI can watch the machine work: counter rates for the live
// plots (with where the guest is), the exit trace behind a death, and the guest profiler.

import type { Lguest } from '../host/lg';
import { counterRates, readCounters, type CounterReading } from '../host/rates';
import type { LaunchedGuest } from '../launcher/api';
import { DEATH_EXITS } from '../launcher/exit-trace-lines';
import type { ProfileNames } from '../launcher/guest-profile';
import { GuestProfiler } from '../launcher/guest-profiler';
import type { SymbolTable } from '../launcher/symbol-table';
import { guestHolds, recognizeProgram, type UserProgramMaps } from '../launcher/user-program-symbols';
import { exitEvent, InspectError, lguestOf } from './inspectors';
import type { ExitEvent, InspectQuery, MachineRates, ProfileView } from './inspector-types';

type ProfileQuery = Extract<InspectQuery, { kind: 'profile' }>;

export class MachineObserver {
  private last: CounterReading | null = null;
  private profiler: GuestProfiler | null = null;
  /** Shared with the profiler: filled in as the symbols load. */
  private readonly names: ProfileNames = { kernel: null, programs: [] };
  /** Why user program maps were left out (unreadable, malformed, look-alikes). */
  private mapProblems: string[] = [];

  /**
   * `symbols`: the kernel's symbols as they load (null: it has none); `programs`: its user
   * programs' maps, and the problems of those that could not be used.
   */
  constructor(
    private readonly guest: LaunchedGuest,
    symbols: Promise<SymbolTable | null>,
    programs: Promise<UserProgramMaps>,
  ) {
    void symbols.then((table) => (this.names.kernel = table));
    void programs.then((maps) => {
      this.names.programs = maps.programs;
      this.mapProblems = maps.problems;
    });
  }

  /** "schedule" in the kernel, "main in bench" in a recognised user program; null when unnamed. */
  private symbolAt(lg: Lguest, eip: number, cpl: number): string | null {
    if (cpl !== 3) return this.names.kernel?.lookup(eip)?.name ?? null;
    const program =
      this.names.programs[recognizeProgram(this.names.programs, (va, bytes) => guestHolds(lg, va, bytes))];
    const sym = program?.symbols.lookup(eip);
    return sym ? `${sym.name} in ${program!.name}` : null;
  }

  /** The rates since the previous call (null on the first call, or on a host without counters). */
  rates(nowMs: number): Omit<MachineRates, 'id'> | null {
    const lg = lguestOf(this.guest);
    if (!lg) return null;
    const reading = readCounters(lg.state.stats, lg.ringHypercalls, lg.cpu.instructionCount, nowMs);
    const prev = this.last;
    this.last = reading;
    if (!prev) return null;
    const eip = lg.cpu.eip >>> 0;
    const cpl = lg.cpu.cpl;
    const symbol = this.symbolAt(lg, eip, cpl);
    return {
      atMs: nowMs,
      instructionCount: reading.instructions,
      rates: counterRates(prev, reading),
      where: { eip, cpl, symbol },
    };
  }

  /** The machine paused: the next interval starts when it runs again, not at the last reading. */
  pauseRates(): void {
    this.last = null;
  }

  /** The exits that led to a death (empty on a host without a trace). */
  lastExits(): ExitEvent[] {
    return lguestOf(this.guest)?.trace.last(DEATH_EXITS).map(exitEvent) ?? [];
  }

  /** One profiler request (the profiler changes nothing the guest can see: it only samples). */
  profile(q: ProfileQuery): ProfileView {
    if (!this.profiler) {
      const lg = lguestOf(this.guest);
      if (!lg) throw new InspectError('bad-state', 'this machine runs on a host without a profiler');
      this.profiler = new GuestProfiler(lg, this.names);
    }
    const p = this.profiler;
    if (q.action === 'start') p.start(q.interval);
    else if (q.action === 'stop') p.stop();
    else if (q.action === 'reset') p.reset();
    const view: ProfileView = { running: p.running, profile: p.profile(q.top), mapProblems: this.mapProblems };
    if (q.action === 'speedscope') view.speedscope = p.speedscope(this.guest.config.name);
    return view;
  }
}
