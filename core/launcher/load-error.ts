// Refusals of a guest image or initrd, raised before anything runs: each names the problem and
// (where it has one) the file offset, the way the 2.6.23 Launcher's fatal load messages did.

export type LoadErrorCode =
  | 'not-elf-no-gzip'
  | 'bad-elf-header'
  | 'not-i386'
  | 'not-exec'
  | 'truncated-segment'
  | 'segment-outside-memory'
  | 'inconsistent-page-offset'
  | 'bad-page-offset'
  | 'no-marker'
  | 'image-too-large'
  | 'initrd-too-large'
  | 'gzip-corrupt'
  | 'no-page-offset'
  | 'command-line-too-long';

export class LoadError extends Error {
  override readonly name = 'LoadError';
  constructor(
    readonly code: LoadErrorCode,
    message: string,
    /** Byte offset in the offending file, when the problem has one. */
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** 0x-prefixed lowercase hex, the form every Launcher message uses for offsets and addresses. */
export function hex(n: number): string {
  return '0x' + n.toString(16);
}
