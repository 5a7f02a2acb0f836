// Disassembly for people (the Debugger tab): iced-x86 decodes and formats, Intel or AT&T syntax.
// Our own decoder stays the one that executes; this one only shows.

import { Decoder, DecoderOptions, Formatter, FormatterSyntax } from 'iced-x86';

export interface DisassembledInstruction {
  address: number;
  length: number;
  bytes: Uint8Array;
  text: string;
}

/** Up to `count` instructions of 32-bit code in `bytes`, which start at `address`. */
export function disassemble(
  bytes: Uint8Array,
  address: number,
  count: number,
  syntax: 'intel' | 'att',
): DisassembledInstruction[] {
  const decoder = new Decoder(32, bytes, DecoderOptions.None);
  const formatter = new Formatter(syntax === 'att' ? FormatterSyntax.Gas : FormatterSyntax.Intel);
  const out: DisassembledInstruction[] = [];
  try {
    decoder.ip = BigInt(address >>> 0);
    let offset = 0;
    while (decoder.canDecode && out.length < count) {
      const ins = decoder.decode();
      const length = ins.length;
      // An instruction cut off by the end of the bytes we have is not shown half-decoded.
      if (offset + length > bytes.length || ins.isInvalid) {
        ins.free();
        if (offset + length > bytes.length) break;
        out.push({
          address: (address + offset) >>> 0,
          length: 1,
          bytes: bytes.slice(offset, offset + 1),
          text: '(bad)',
        });
        offset += 1;
        decoder.position = offset;
        decoder.ip = BigInt((address + offset) >>> 0);
        continue;
      }
      out.push({
        address: (address + offset) >>> 0,
        length,
        bytes: bytes.slice(offset, offset + length),
        text: formatter.format(ins),
      });
      ins.free();
      offset += length;
    }
  } finally {
    decoder.free();
    formatter.free();
  }
  return out;
}
