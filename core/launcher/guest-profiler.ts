// Profiling one guest: attaches a sampler to the host's record of the guest, and turns the
// samples taken since the last start or reset into a profile or a speedscope file.

import { DEFAULT_SAMPLE_INTERVAL, GuestSampler, SAMPLE_CAPACITY } from '../host/guest-sampler';
import type { Lguest } from '../host/lg';
import {
  aggregateProfile,
  speedscopeProfile,
  type GuestProfile,
  type ProfileNames,
  type SpeedscopeFile,
} from './guest-profile';
import { RunningProgram } from './user-program-symbols';

export class GuestProfiler {
  private sampler: GuestSampler | null = null;
  /** Sample number where the current profile starts. */
  private from = 0;

  constructor(
    private readonly guest: Pick<Lguest, 'sampler'>,
    /**
     * Names code in profiles (until set, or where none applies, profiles go by address range).
     * User programs are recognised while sampling: samples taken before `programs` is set stay
     * unnamed.
     */
    public names: ProfileNames,
  ) {}

  get running(): boolean {
    return this.sampler !== null && this.guest.sampler === this.sampler;
  }

  /** Start sampling every `interval` instructions: a new profile. */
  start(interval = DEFAULT_SAMPLE_INTERVAL): void {
    const running = new RunningProgram(() => this.names.programs);
    this.sampler = new GuestSampler(interval, SAMPLE_CAPACITY, (lg) => running.of(lg));
    this.from = 0;
    this.guest.sampler = this.sampler;
  }

  /** Stop sampling; the samples so far stay readable. */
  stop(): void {
    if (this.guest.sampler === this.sampler) this.guest.sampler = null;
  }

  /** Forget the samples so far (sampling goes on if it was on). */
  reset(): void {
    this.from = this.sampler?.taken ?? 0;
  }

  profile(top?: number): GuestProfile {
    const s = this.sampler;
    return aggregateProfile(s ? s.since(this.from) : [], this.names, s?.interval ?? DEFAULT_SAMPLE_INTERVAL, top);
  }

  speedscope(name: string): SpeedscopeFile {
    const s = this.sampler;
    return speedscopeProfile(s ? s.since(this.from) : [], this.names, s?.interval ?? DEFAULT_SAMPLE_INTERVAL, name);
  }
}
