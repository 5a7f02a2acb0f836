// The gdb remote serial protocol's framing: "$data#xx" packets with a modulo-256 checksum, '+'/'-'
// acknowledgements, the bare 0x03 of Ctrl-C, and the 0x7d escape of binary data.

/** Something read from the byte stream. */
export type Incoming = { kind: 'packet'; data: string } | { kind: 'interrupt' } | { kind: 'bad-checksum' };

function checksum(data: string): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum = (sum + data.charCodeAt(i)) & 0xff;
  return sum;
}

/** One reply packet, with the characters the protocol reserves escaped. */
export function framePacket(data: string): string {
  const escaped = data.replace(/[#$}*]/g, (c) => '}' + String.fromCharCode(c.charCodeAt(0) ^ 0x20));
  return `$${escaped}#${checksum(escaped).toString(16).padStart(2, '0')}`;
}

/** Splits a byte stream into packets (data kept as latin1 text, one char per byte). */
export class PacketReader {
  private buf = '';

  push(chunk: Uint8Array): Incoming[] {
    this.buf += Buffer.from(chunk).toString('latin1');
    const out: Incoming[] = [];
    for (;;) {
      // Acks between packets carry nothing we need (we never resend).
      let i = 0;
      while (i < this.buf.length && this.buf[i] !== '$') {
        if (this.buf.charCodeAt(i) === 3) out.push({ kind: 'interrupt' });
        i++;
      }
      this.buf = this.buf.slice(i);
      const end = this.buf.indexOf('#');
      if (end < 0 || end + 3 > this.buf.length) return out;
      const data = this.buf.slice(1, end);
      const sum = parseInt(this.buf.slice(end + 1, end + 3), 16);
      this.buf = this.buf.slice(end + 3);
      out.push(sum === checksum(data) ? { kind: 'packet', data } : { kind: 'bad-checksum' });
    }
  }
}

/** The bytes of an X packet's binary payload (0x7d escapes undone). */
export function unescapeBinary(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out.push(c === 0x7d ? text.charCodeAt(++i) ^ 0x20 : c);
  }
  return Uint8Array.from(out);
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** A 32-bit value in target (little-endian) byte order, as hex. */
export function le32Hex(v: number): string {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return toHex(b);
}
