// What a machine's worker adds so the UI can watch the machine work: counter rates for the live
// plots (with where the guest is), the exit trace behind a death, and the guest profiler.

import { counterRates, readCounters, type CounterReading } from '../host/rates';
import type { LaunchedGuest } from '../launcher/api';
import { DEATH_EXITS } from '../launcher/exit-trace-lines';
import { GuestProfiler } from '../launcher/guest-profiler';
import type { SymbolTable } from '../launcher/symbol-table';
import { exitEvent, InspectError, lguestOf } from './inspectors';
import type { ExitEvent, InspectQuery, MachineRates, ProfileView } from './inspector-types';

type ProfileQuery = Extract<InspectQuery, { kind: 'profile' }>;

export class MachineObserver {
  private last: CounterReading | null = null;
  private profiler: GuestProfiler | null = null;
  private symbols: SymbolTable | null = null;

  /** `symbols`: the kernel's symbols as they load (null: it has none). */
  constructor(
    private readonly guest: LaunchedGuest,
    symbols: Promise<SymbolTable | null>,
  ) {
    void symbols.then((table) => {
      this.symbols = table;
      if (this.profiler) this.profiler.symbols = table;
    });
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
    const symbol = cpl === 3 ? null : (this.symbols?.lookup(eip)?.name ?? null);
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
      this.profiler = new GuestProfiler(lg, this.symbols);
    }
    const p = this.profiler;
    if (q.action === 'start') p.start(q.interval);
    else if (q.action === 'stop') p.stop();
    else if (q.action === 'reset') p.reset();
    const view: ProfileView = { running: p.running, profile: p.profile(q.top) };
    if (q.action === 'speedscope') view.speedscope = p.speedscope(this.guest.config.name);
    return view;
  }
}
