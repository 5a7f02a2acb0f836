// Keyboard input for `lguest --multi`: which guest's console gets the bytes. A line that starts
// with "@NAME " (NAME a machine's name, or its 1-based position on the command line) goes to that
// machine; "@NAME" then Enter moves the keyboard to that machine for the lines that follow. Any
// other "@..." passes through unchanged, so an "@" typed for the guest still reaches it.

/** A run of input bytes for the machine at `target` (an index into the names given). */
export interface RoutedInput {
  target: number;
  bytes: Uint8Array;
}

const AT = 0x40,
  SPACE = 0x20,
  CR = 0x0d,
  LF = 0x0a,
  BACKSPACE = 0x7f,
  CTRL_H = 0x08;
/** A prefix longer than any name (or "@" + a long number) is not a prefix. */
const MAX_TOKEN = 64;

export class InputRouter {
  /** The machine that lines without a prefix go to. */
  private focus = 0;
  /** The machine the current line goes to. */
  private lineTarget = 0;
  private atLineStart = true;
  /** Bytes of a possible "@NAME" typed at the start of a line, after the "@"; null when none. */
  private token: number[] | null = null;

  constructor(private readonly names: readonly string[]) {}

  /** The machine that unprefixed lines currently go to. */
  get focused(): number {
    return this.focus;
  }

  /** Splits keyboard bytes into runs per target machine, in order (adjacent runs may share one). */
  route(bytes: Uint8Array): RoutedInput[] {
    const out: RoutedInput[] = [];
    const emit = (target: number, b: number[] | Uint8Array) => {
      if (b.length === 0) return;
      const last = out[out.length - 1];
      const arr = Uint8Array.from(b);
      if (last && last.target === target) {
        const joined = new Uint8Array(last.bytes.length + arr.length);
        joined.set(last.bytes);
        joined.set(arr, last.bytes.length);
        last.bytes = joined;
      } else {
        out.push({ target, bytes: arr });
      }
    };
    for (const byte of bytes) {
      if (this.token !== null) {
        const tok = this.token;
        if (byte === SPACE || byte === CR || byte === LF) {
          const target = this.lookup(tok);
          this.token = null;
          if (target === null) {
            // Not a machine: the "@..." was meant for the guest.
            emit(this.lineTarget, [AT, ...tok, byte]);
            this.atLineStart = byte !== SPACE;
          } else if (byte === SPACE) {
            this.lineTarget = target; // the rest of this line
            this.atLineStart = false;
          } else {
            this.focus = target; // "@NAME" alone: move the keyboard
            this.lineTarget = target;
          }
          continue;
        }
        if (byte === BACKSPACE || byte === CTRL_H) {
          if (tok.length === 0) this.token = null;
          else tok.pop();
          continue;
        }
        if (byte < SPACE || tok.length >= MAX_TOKEN) {
          emit(this.lineTarget, [AT, ...tok]);
          this.token = null;
          this.atLineStart = false;
          // fall through: this byte is handled normally below
        } else {
          tok.push(byte);
          continue;
        }
      }
      if (this.atLineStart) {
        this.lineTarget = this.focus;
        if (byte === AT) {
          this.token = [];
          continue;
        }
      }
      emit(this.lineTarget, [byte]);
      this.atLineStart = byte === CR || byte === LF;
    }
    return out;
  }

  private lookup(token: number[]): number | null {
    const text = new TextDecoder().decode(Uint8Array.from(token));
    const byName = this.names.indexOf(text);
    if (byName >= 0) return byName;
    if (/^[1-9][0-9]*$/.test(text)) {
      const n = Number(text);
      if (n <= this.names.length) return n - 1;
    }
    return null;
  }
}
