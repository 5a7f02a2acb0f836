// The harness kernel's console protocol (bench/harness/kernel.c), timed on the host side: each
// program's time is the wall-clock time between its "bench: start NAME" and "bench: end NAME SUM"
// lines as they arrive from the machine, so boot and set-up are not counted.

/** Wall-clock limit for one harness run on any system: a hung machine fails the benchmark. */
export const HARNESS_TIMEOUT_MS = 600_000;

export interface ProgramResult {
  name: string;
  checksum: number;
  ms: number;
}

export interface HarnessRun {
  /** Milliseconds from launch to "bench: ready" (boot). */
  bootMs: number;
  programs: ProgramResult[];
}

/** Splits console bytes into lines and times the markers; `feed` takes each chunk as it arrives. */
export class MarkerClock {
  private partial = '';
  private readonly launchedAt: number;
  private readyAt: number | null = null;
  private started: { name: string; at: number } | null = null;
  private readonly results: ProgramResult[] = [];
  private failure: string | null = null;
  done = false;
  /** Every console line, for error messages. */
  readonly transcript: string[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {
    this.launchedAt = now();
  }

  feed(chunk: string): void {
    const at = this.now();
    this.partial += chunk;
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, nl).replace(/\r$/, '');
      this.partial = this.partial.slice(nl + 1);
      this.line(line, at);
    }
  }

  private line(line: string, at: number): void {
    this.transcript.push(line);
    const [tag, what, name, sum] = line.split(' ');
    if (tag !== 'bench:') return;
    if (what === 'ready') this.readyAt = at;
    else if (what === 'start' && name) this.started = { name, at };
    else if (what === 'end' && name && sum && this.started?.name === name) {
      this.results.push({ name, checksum: parseInt(sum, 16) >>> 0, ms: at - this.started.at });
      this.started = null;
    } else if (what === 'done') this.done = true;
    else if (what?.startsWith('fault')) this.failure = line;
  }

  /** The run's results once "bench: done" was seen; otherwise throws with what the machine said. */
  result(system: string): HarnessRun {
    if (!this.done || this.readyAt === null || this.failure) {
      const tail = this.transcript.slice(-8).join('\n  ');
      throw new Error(
        `${system}: the harness did not finish (${this.failure ?? 'no "bench: done"'}); last output:\n  ${tail}`,
      );
    }
    return { bootMs: this.readyAt - this.launchedAt, programs: this.results };
  }
}
