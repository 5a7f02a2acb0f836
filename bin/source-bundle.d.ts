// Types of source-bundle.js (plain JavaScript: the `lguest` command loads it before any TypeScript).

export interface SourceBundle {
  /** The bundle file (an ES module). */
  readonly path: string;
  isCurrent(): boolean;
  build(): Promise<void>;
}

export function sourceBundle(options: { entry: string; cache: string; settings?: string[] }): SourceBundle;

export function currentBundle(b: SourceBundle): Promise<string>;

export function loadCli(): Promise<{ main(argv: string[]): Promise<number> }>;
