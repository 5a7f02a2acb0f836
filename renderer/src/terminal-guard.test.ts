import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PARAM, MAX_SEQUENCE, TerminalGuard } from './terminal-guard';

// ESC [ or U+009B in UTF-8, then parameters, intermediates, final byte.
// eslint-disable-next-line no-control-regex
const CSI_IN_OUTPUT = /(?:\x1b\[|\xc2\x9b)([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])/g;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => String.fromCharCode(...b);

function guarded(chunks: string[], size = { rows: 24, cols: 80 }): string {
  const g = new TerminalGuard(() => size);
  return chunks.map((c) => text(g.filter(enc(c)))).join('');
}

describe('TerminalGuard', () => {
  it('passes plain text and ordinary sequences through unchanged', () => {
    const s = 'hello\r\n\x1b[1;31mred\x1b[0m \x1b[2J\x1b[10;5H\x1b[?1049h\x1b[38;2;255;128;0mx\x1b]0;title\x07';
    expect(guarded([s])).toBe(s);
  });

  it('clamps counts to the screen: REP and ICH to the columns, IL and SU to the rows', () => {
    expect(guarded(['a\x1b[999999999b'])).toBe('a\x1b[80b');
    expect(guarded(['\x1b[99999999L\x1b[5000S\x1b[123456@'])).toBe('\x1b[24L\x1b[24S\x1b[80@');
    expect(guarded(['\x1b[9999;9999H\x1b[9999;9999r'])).toBe('\x1b[24;80H\x1b[24;24r');
    expect(guarded(['\x1b[99999 @'])).toBe('\x1b[80 @');
  });

  it('clamps every other number to MAX_PARAM and leaves private sequences as counts-free', () => {
    expect(guarded(['\x1b[99999999m'])).toBe(`\x1b[${MAX_PARAM}m`);
    expect(guarded(['\x1b[?99999999h'])).toBe(`\x1b[?${MAX_PARAM}h`);
    expect(guarded(['\x1b[?2004h'])).toBe('\x1b[?2004h');
  });

  it('handles a sequence split across chunks, and the one-character CSI (U+009B)', () => {
    expect(guarded(['x\x1b', '[9999', '99', 'b'])).toBe('x\x1b[80b');
    expect(guarded(['\u009b99999999L'])).toBe('\x1b[24L');
    const g = new TerminalGuard(() => ({ rows: 24, cols: 80 }));
    const split = [Uint8Array.of(0xc2), Uint8Array.of(0x9b, 0x39, 0x39, 0x39, 0x4c)].map((c) => text(g.filter(c)));
    expect(split.join('')).toBe('\x1b[24L');
  });

  it('runs C0 controls inside a sequence at once (as the terminal does) and still clamps', () => {
    expect(guarded(['\x1b[99\n999999b'])).toBe('\n\x1b[80b');
  });

  it('drops sequences cancelled by CAN, broken by ESC, or longer than MAX_SEQUENCE', () => {
    expect(guarded(['\x1b[99999\x18L'])).toBe('\x18L');
    expect(guarded(['\x1b[99999\x1b[2J'])).toBe('\x1b[2J');
    expect(guarded([`\x1b[${'1;'.repeat(MAX_SEQUENCE)}m!`])).toBe('!');
  });

  it('starts clean after reset', () => {
    const g = new TerminalGuard(() => ({ rows: 24, cols: 80 }));
    g.filter(enc('\x1b[9999'));
    g.reset();
    expect(text(g.filter(enc('L')))).toBe('L');
  });

  it('never lets a count above the screen size through, whatever the bytes and however they are split', () => {
    const byte = fc.oneof(
      fc.constantFrom(0x1b, 0x5b, 0x3b, 0x3f, 0x20, 0x27, 0x18, 0x0a, 0xc2, 0x9b),
      fc.integer({ min: 0x30, max: 0x39 }),
      fc.integer({ min: 0x40, max: 0x7e }),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 5 }), (bytes, cuts) => {
        const g = new TerminalGuard(() => ({ rows: 24, cols: 80 }));
        const input = Uint8Array.from(bytes);
        const points = [...new Set(cuts.filter((c) => c < input.length))].sort((a, b) => a - b);
        const pieces: Uint8Array[] = [];
        let from = 0;
        for (const p of [...points, input.length]) {
          pieces.push(g.filter(input.subarray(from, p)));
          from = p;
        }
        const out = pieces.map(text).join('');
        // Every number in every CSI the terminal can see (ESC [, or U+009B in UTF-8) is within
        // MAX_PARAM, and within the screen for the repeat, insert, delete and scroll counts.
        for (const m of out.matchAll(CSI_IN_OUTPUT)) {
          const counted = /^[^<=>?]/.test(m[1]!) && m[2] === '' && 'bLMST@PXIZ'.includes(m[3]!);
          for (const n of m[1]!.match(/\d+/g) ?? []) {
            expect(Number(n)).toBeLessThanOrEqual(counted ? 80 : MAX_PARAM);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
