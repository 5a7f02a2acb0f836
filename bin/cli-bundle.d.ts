// Types of cli-bundle.js (plain JavaScript: the `lguest` command loads it before any TypeScript).

export interface CliBundle {
  /** The bundle file (an ES module). */
  readonly path: string;
  isCurrent(): boolean;
  build(): Promise<void>;
}

export function cliBundle(options: { entry: string; cache: string; settings?: string[] }): CliBundle;

export function loadCli(): Promise<{ main(argv: string[]): Promise<number> }>;
