// The committed test-guest images are exactly what their sources assemble to (nasm -f bin).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('.', import.meta.url));
const sources = readdirSync(dir)
  .filter((f) => f.endsWith('.asm'))
  .sort();
let nasm = true;
try {
  execFileSync('nasm', ['-v']);
} catch {
  nasm = false;
}
const out = mkdtempSync(join(tmpdir(), 'lguest-guests-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.skipIf(!nasm)('test-guest images (needs nasm: apt-get install -y nasm)', () => {
  it('there are sources, each with a committed image', () => {
    expect(sources.length).toBeGreaterThanOrEqual(12);
    for (const s of sources) expect(readdirSync(dir)).toContain(s.replace(/\.asm$/, '.bin'));
  });
  for (const src of sources) {
    it(`${src} reassembles byte-identically`, () => {
      const bin = join(out, src.replace(/\.asm$/, '.bin'));
      execFileSync('nasm', ['-f', 'bin', '-I', dir, join(dir, src), '-o', bin]);
      expect(Buffer.compare(readFileSync(bin), readFileSync(join(dir, src.replace(/\.asm$/, '.bin'))))).toBe(0);
    });
  }
});
