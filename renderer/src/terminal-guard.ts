// A guest writes whatever bytes it likes to its console, and xterm.js does what a control sequence
// says however large its numbers are: `ESC[999999999b` (repeat the last character) or
// `ESC[99999999L` (insert lines) run a loop that many times on the page's main thread and freeze the
// UI. This filter sits between the console stream and the terminal. It passes every byte through
// except CSI sequences, which it re-emits with their numbers clamped:
// - counts and positions (cursor moves, insert/delete/erase, scroll, repeat, tabs, margins) to the
//   terminal's size, beyond which they have no further visible effect;
// - every other number to MAX_PARAM (no sequence xterm.js understands needs more).
// Sequences longer than MAX_SEQUENCE bytes are dropped whole. The filter keeps its state across
// chunks, so a sequence split between two console batches is handled like one that is not.

/** The largest number left in a CSI sequence whose numbers are not counts or positions. */
export const MAX_PARAM = 65535;
/** Longest CSI sequence (introducer to final byte) passed on; longer ones are dropped. */
export const MAX_SEQUENCE = 256;

const ESC = 0x1b;
const CAN = 0x18;
const SUB = 0x1a;
const DEL = 0x7f;

type Axis = 'rows' | 'cols';

/**
 * Final bytes (with their intermediate, if any) whose numbers are counts or positions, and the axis
 * of each: the first number's, the second's; the last axis listed holds for the numbers after it.
 */
const COUNTS: Record<string, Axis | [Axis, Axis]> = {
  H: ['rows', 'cols'], // CUP cursor position
  f: ['rows', 'cols'], // HVP cursor position
  A: 'rows', // CUU cursor up
  B: 'rows', // CUD cursor down
  E: 'rows', // CNL next line
  F: 'rows', // CPL previous line
  L: 'rows', // IL insert lines
  M: 'rows', // DL delete lines
  S: 'rows', // SU scroll up
  T: 'rows', // SD scroll down
  d: 'rows', // VPA line position
  e: 'rows', // VPR line relative
  r: 'rows', // DECSTBM margins
  '@': 'cols', // ICH insert characters
  C: 'cols', // CUF cursor forward
  D: 'cols', // CUB cursor back
  G: 'cols', // CHA column
  I: 'cols', // CHT tab forward
  P: 'cols', // DCH delete characters
  X: 'cols', // ECH erase characters
  Z: 'cols', // CBT tab back
  '`': 'cols', // HPA column
  a: 'cols', // HPR column relative
  b: 'cols', // REP repeat the last character
  ' @': 'cols', // SL scroll left
  ' A': 'cols', // SR scroll right
  "'}": 'cols', // DECIC insert columns
  "'~": 'cols', // DECDC delete columns
};

export interface TerminalSize {
  rows: number;
  cols: number;
}

export class TerminalGuard {
  /** 'ground': plain bytes; 'esc': after ESC; 'csi': inside a CSI; 'c2': after a UTF-8 lead byte 0xc2. */
  private state: 'ground' | 'esc' | 'csi' | 'c2' = 'ground';
  /** The CSI sequence so far: its parameter and intermediate bytes (after the introducer). */
  private body: number[] = [];
  private tooLong = false;

  constructor(private readonly size: () => TerminalSize) {}

  /** Forgets any partial sequence (the terminal was reset). */
  reset(): void {
    this.state = 'ground';
    this.body = [];
    this.tooLong = false;
  }

  /** The bytes to give the terminal for the next piece of the console stream. */
  filter(input: Uint8Array): Uint8Array {
    if (this.state === 'ground' && !input.includes(ESC) && !input.includes(0xc2)) return input;
    const out: number[] = [];
    for (const b of input) this.take(b, out);
    return Uint8Array.from(out);
  }

  private take(b: number, out: number[]): void {
    switch (this.state) {
      case 'ground':
        if (b === ESC) this.state = 'esc';
        else if (b === 0xc2) this.state = 'c2';
        else out.push(b);
        return;
      case 'esc':
        if (b === 0x5b) return this.beginCsi();
        this.state = 'ground';
        out.push(ESC);
        return this.take(b, out);
      case 'c2':
        // U+009B, the one-character CSI, encoded in UTF-8: xterm.js treats it like ESC [.
        if (b === 0x9b) return this.beginCsi();
        this.state = 'ground';
        out.push(0xc2);
        return this.take(b, out);
      case 'csi':
        return this.takeCsi(b, out);
    }
  }

  private beginCsi(): void {
    this.state = 'csi';
    this.body = [];
    this.tooLong = false;
  }

  private takeCsi(b: number, out: number[]): void {
    if (b >= 0x40 && b <= 0x7e) {
      this.state = 'ground';
      if (!this.tooLong) out.push(...this.rewrite(b));
      return;
    }
    if (b >= 0x20 && b <= 0x3f) {
      if (this.body.length >= MAX_SEQUENCE) this.tooLong = true;
      else this.body.push(b);
      return;
    }
    if (b === CAN || b === SUB) {
      // Cancels the sequence (as in the terminal); the byte itself is passed on.
      this.state = 'ground';
      out.push(b);
      return;
    }
    if (b === ESC) {
      this.state = 'esc';
      return;
    }
    if (b < 0x20) {
      // Other C0 controls run at once even inside a sequence, which then continues: same here.
      out.push(b);
      return;
    }
    if (b === DEL) return;
    // A byte no CSI may contain: the partial sequence is dropped and the byte is plain output.
    this.state = 'ground';
    this.take(b, out);
  }

  /** ESC [ body final, with every number clamped as the header describes. */
  private rewrite(final: number): number[] {
    const text = String.fromCharCode(...this.body);
    const firstIntermediate = text.search(/[\x20-\x2f]/);
    const params = firstIntermediate < 0 ? text : text.slice(0, firstIntermediate);
    const intermediates = firstIntermediate < 0 ? '' : text.slice(firstIntermediate);
    const isPrivate = /^[<=>?]/.test(params);
    const axes = isPrivate ? undefined : COUNTS[intermediates + String.fromCharCode(final)];
    const size = this.size();
    const limitOf = (index: number): number => {
      if (!axes) return MAX_PARAM;
      const axis = typeof axes === 'string' ? axes : axes[Math.min(index, axes.length - 1)]!;
      return Math.max(1, axis === 'rows' ? size.rows : size.cols);
    };
    // Numbers are separated by ';' (and sub-numbers by ':', which count as the same parameter).
    const clamped = params
      .split(';')
      .map((param, index) =>
        param.replace(/\d+/g, (digits) => (Number(digits) > limitOf(index) ? String(limitOf(index)) : digits)),
      )
      .join(';');
    const seq = `\x1b[${clamped}${intermediates}${String.fromCharCode(final)}`;
    return Array.from(seq, (c) => c.charCodeAt(0));
  }
}
