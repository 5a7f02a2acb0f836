// Program-level tests: small NASM programs run at CPL 1 or 3 on the test machine, checked
// against results computed independently in the test.

import { describe, expect, test } from 'vitest';
import { CODE, DATA, asm, descriptor, exitOf, makeMachine } from './test-machine';

/** Runs `src` at CPL 1 until it executes INT 0x1F; returns the machine. */
function run(src: string, setup?: (m: ReturnType<typeof makeMachine>) => void): ReturnType<typeof makeMachine> {
  const m = makeMachine();
  setup?.(m);
  m.load(CODE, asm(src + '\nint 0x1f'));
  const e = exitOf(m.cpu.run(5_000_000));
  expect(e.vector, `exit ${JSON.stringify(e)} at ${m.cpu.eip.toString(16)}`).toBe(0x1f);
  return m;
}

const reg = (m: ReturnType<typeof makeMachine>, r: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7): number => m.cpu.getReg(r);

describe('programs', () => {
  test('recursive factorial with CALL/RET, ENTER/LEAVE and MUL', () => {
    const m = run(`
      push 12
      call fact
      add esp, 4
      jmp done
    fact:
      enter 0, 0
      mov eax, [ebp+8]
      cmp eax, 1
      jbe .base
      dec eax
      push eax
      call fact
      add esp, 4
      mul dword [ebp+8]
    .base:
      leave
      ret
    done:`);
    expect(reg(m, 0)).toBe(479001600);
  });

  test('sieve of Eratosthenes with byte stores and BT/BTS on a bitmap', () => {
    const m = run(`
      mov edi, ${DATA}
      mov ecx, 1000
      xor eax, eax
      rep stosb
      mov esi, 2
    outer:
      cmp byte [${DATA} + esi], 0
      jne next
      mov ebx, esi
      imul ebx, esi
    inner:
      cmp ebx, 1000
      jae next
      mov byte [${DATA} + ebx], 1
      add ebx, esi
      jmp inner
    next:
      inc esi
      cmp esi, 1000
      jb outer
      xor eax, eax
      mov esi, 2
    count:
      cmp byte [${DATA} + esi], 0
      jne .c
      inc eax
      bts [${DATA} + 2000], esi
    .c:
      inc esi
      cmp esi, 1000
      jb count
      xor edx, edx
      bt [${DATA} + 2000], edx
      setc dl
      mov ecx, 997
      bt [${DATA} + 2000], ecx
      setc cl
      movzx ecx, cl`);
    expect(reg(m, 0)).toBe(168);
    expect(reg(m, 2)).toBe(0);
    expect(reg(m, 1)).toBe(1);
  });

  test('string instructions: forward/backward MOVS, overlapping copy, REPE CMPS, REPNE SCAS', () => {
    const m = run(`
      mov esi, msg
      mov edi, ${DATA}
      mov ecx, msglen
      cld
      rep movsb
      ; overlapping forward copy replicates the first 4 bytes
      mov esi, ${DATA}
      mov edi, ${DATA + 4}
      mov ecx, 8
      rep movsb
      ; backward dword copy
      std
      mov esi, ${DATA + 12}
      mov edi, ${DATA + 0x10c}
      mov ecx, 4
      rep movsd
      cld
      ; compare
      mov esi, msg
      mov edi, ${DATA}
      mov ecx, msglen
      repe cmpsb
      mov ebx, ecx
      ; scan for 'x'
      mov edi, msg
      mov al, 'x'
      mov ecx, msglen
      repne scasb
      mov edx, edi
      jmp done
    msg: db 'abcdefghijklmnopqrstuvwxyz'
    msglen equ $ - msg
    done:`);
    const ram = m.mem.ram;
    const text = (a: number, n: number): string => Buffer.from(ram.subarray(a, a + n)).toString('latin1');
    expect(text(DATA, 16)).toBe('abcdabcdabcdmnop');
    expect(text(DATA + 0x100, 16)).toBe('abcdabcdabcdmnop');
    expect(reg(m, 3)).toBe(26 - 5); // first difference at index 4
    expect(m.mem.ram[reg(m, 2) - 1]).toBe('x'.charCodeAt(0));
  });

  test('REP STOSD crossing into a missing page faults restartably', () => {
    const m = makeMachine();
    m.setPte(DATA + 0x1000, 0);
    m.load(CODE, asm(`mov edi, ${DATA + 0xff0}\nmov ecx, 8\nmov eax, 0x11223344\nrep stosd\nint 0x1f`));
    const e = exitOf(m.cpu.run(100));
    expect(e).toEqual({ vector: 14, errorCode: 2, cr2: DATA + 0x1000 });
    expect(m.cpu.getReg(1)).toBe(4);
    expect(m.cpu.getReg(7)).toBe(DATA + 0x1000);
    m.setPte(DATA + 0x1000, (DATA + 0x1000) | 7);
    expect(exitOf(m.cpu.run(100)).vector).toBe(0x1f);
    expect(m.cpu.getReg(1)).toBe(0);
    expect(m.u32(DATA + 0x100c)).toBe(0x11223344);
    expect(m.u32(DATA + 0x1010)).toBe(0);
  });

  test('operand- and address-size prefixes', () => {
    const m = run(
      `
      mov eax, 0x12345678
      mov ax, 0xffff
      add ax, 1
      setc bl
      mov ecx, 0xabcd0000
      mov cx, 3
      a16 mov edx, [si]
      mov si, 0
      mov dword [${DATA}], 0x55667788
      mov esi, ${DATA}
      lodsw
      movsx ebp, ax
      xor edi, edi
      mov di, 0x8000
      movzx edi, di`,
      (mm) => mm.mem.ramView.setUint32(0, 0xdeadbeef, true),
    );
    expect(reg(m, 0)).toBe(0x12347788);
    expect(reg(m, 3) & 0xff).toBe(1);
    expect(reg(m, 1)).toBe(0xabcd0003);
    expect(reg(m, 2)).toBe(0xdeadbeef);
    expect(reg(m, 5)).toBe(0x7788);
    expect(reg(m, 7)).toBe(0x8000);
  });

  test('16-bit address size in string instructions and LOOP uses SI/DI/CX only', () => {
    const m = run(
      `
      mov esi, 0xabcd0000 + 0x100
      mov edi, 0x12340000 + 0x200
      mov ecx, 0x55550000 + 4
      a16 rep movsb
      mov edx, 0x77770003
      xor eax, eax
    .l: inc eax
      a16 loop .l
      mov ebx, edx`,
      (mm) => mm.mem.ram.set([1, 2, 3, 4], 0x100),
    );
    expect(reg(m, 6)).toBe(0xabcd0104);
    expect(reg(m, 7)).toBe(0x12340204);
    expect(reg(m, 1)).toBe(0x55550000);
    expect(Array.from(m.mem.ram.subarray(0x200, 0x204))).toEqual([1, 2, 3, 4]);
    expect(reg(m, 0)).toBe(0x10000); // CX started at 0: LOOP runs 65536 times
  });

  test('64-bit arithmetic: MUL/DIV/IDIV/IMUL, SHLD/SHRD, ADC/SBB chains', () => {
    const m = run(`
      mov eax, 0xfedcba98
      mov ecx, 0x87654321
      mul ecx
      mov [${DATA}], eax
      mov [${DATA + 4}], edx
      mov ecx, 0x9abcdef1
      div ecx
      mov [${DATA + 8}], eax
      mov [${DATA + 12}], edx
      mov eax, -1000001
      cdq
      mov ecx, 7
      idiv ecx
      mov [${DATA + 16}], eax
      mov [${DATA + 20}], edx
      mov eax, 0x80000001
      mov edx, 0x40000000
      shld edx, eax, 4
      shrd eax, edx, 8
      mov [${DATA + 24}], eax
      mov [${DATA + 28}], edx
      mov eax, 0xffffffff
      mov edx, 1
      add eax, 2
      adc edx, 0
      sub eax, 3
      sbb edx, 0
      mov [${DATA + 32}], eax
      mov [${DATA + 36}], edx
      mov eax, -7
      imul eax, eax, 1000000
      mov [${DATA + 40}], eax`);
    const a = 0xfedcba98n * 0x87654321n;
    expect(m.u32(DATA)).toBe(Number(a & 0xffffffffn));
    expect(m.u32(DATA + 4)).toBe(Number(a >> 32n));
    expect(m.u32(DATA + 8)).toBe(Number(a / 0x9abcdef1n));
    expect(m.u32(DATA + 12)).toBe(Number(a % 0x9abcdef1n));
    expect(m.u32(DATA + 16) | 0).toBe(Math.trunc(-1000001 / 7));
    expect(m.u32(DATA + 20) | 0).toBe(-1000001 % 7);
    const edx = ((0x40000000 << 4) | (0x80000001 >>> 28)) >>> 0;
    expect(m.u32(DATA + 28)).toBe(edx);
    expect(m.u32(DATA + 24)).toBe(((0x80000001 >>> 8) | (edx << 24)) >>> 0);
    expect(m.u32(DATA + 32)).toBe(0xfffffffe);
    expect(m.u32(DATA + 36)).toBe(1);
    expect(m.u32(DATA + 40) | 0).toBe(-7000000);
  });

  test('atomics: XADD, CMPXCHG, CMPXCHG8B, XCHG, BSWAP, BSF/BSR, CMOV', () => {
    const m = run(`
      mov dword [${DATA}], 10
      mov eax, 5
      lock xadd [${DATA}], eax
      mov ebx, eax
      mov eax, 15
      mov ecx, 99
      lock cmpxchg [${DATA}], ecx
      setz dl
      mov eax, 1
      lock cmpxchg [${DATA}], ecx
      setz dh
      mov esi, eax
      mov dword [${DATA + 8}], 0x11111111
      mov dword [${DATA + 12}], 0x22222222
      mov eax, 0x11111111
      mov edx, 0x22222222
      mov ebx, 0xaaaaaaaa
      mov ecx, 0xbbbbbbbb
      lock cmpxchg8b [${DATA + 8}]
      mov edi, 0x12345678
      bswap edi
      mov ebp, 0x00f0
      bsf eax, ebp
      bsr ecx, ebp
      mov ebx, 3
      cmp ebx, 4
      cmovl ebx, ecx
      mov dword [${DATA + 4}], 7
      xchg [${DATA + 4}], ebp`);
    expect(m.u32(DATA)).toBe(99);
    expect(reg(m, 6)).toBe(99);
    expect(m.u32(DATA + 8)).toBe(0xaaaaaaaa);
    expect(m.u32(DATA + 12)).toBe(0xbbbbbbbb);
    expect(reg(m, 7)).toBe(0x78563412);
    expect(reg(m, 0)).toBe(4);
    expect(reg(m, 1)).toBe(7);
    expect(reg(m, 3)).toBe(7);
    expect(reg(m, 5)).toBe(7);
    expect(m.u32(DATA + 4)).toBe(0xf0);
  });

  test('BCD adjust, SAHF/LAHF, PUSHA/POPA, XLAT, LOOP', () => {
    const m = run(`
      mov al, 0x38
      add al, 0x45
      daa
      mov bl, al
      mov al, 0x23
      sub al, 0x35
      das
      mov bh, al
      mov [${DATA + 20}], bx
      mov ax, 0x0009
      add al, 5
      aaa
      mov [${DATA}], ax
      mov ax, 0x0103
      aad
      mov [${DATA + 2}], ax
      mov al, 77
      aam
      mov [${DATA + 4}], ax
      mov ah, 0xd5
      sahf
      lahf
      mov [${DATA + 6}], ah
      mov ecx, 0x1111
      mov edx, 0x2222
      pusha
      xor ecx, ecx
      xor edx, edx
      popa
      mov [${DATA + 8}], ecx
      mov ebx, table
      mov al, 3
      xlatb
      mov [${DATA + 12}], al
      mov ecx, 10
      xor edx, edx
    .l: add edx, ecx
      loop .l
      mov [${DATA + 16}], edx
      jmp done
    table: db 10, 20, 30, 40
    done:`);
    expect(m.mem.ramView.getUint16(DATA + 20, true)).toBe(0x8883);
    expect(m.mem.ramView.getUint16(DATA, true)).toBe(0x0104);
    expect(m.mem.ramView.getUint16(DATA + 2, true)).toBe(13);
    expect(m.mem.ramView.getUint16(DATA + 4, true)).toBe(0x0707);
    expect(m.mem.ram[DATA + 6]).toBe(0xd7);
    expect(m.u32(DATA + 8)).toBe(0x1111);
    expect(m.mem.ram[DATA + 12]).toBe(40);
    expect(m.u32(DATA + 16)).toBe(55);
  });

  test('FS/GS bases (per-CPU and TLS style addressing)', () => {
    const m = run(
      `
      mov ax, 0xa1
      mov gs, ax
      mov eax, [gs:0x10]
      mov dword [gs:0x14], 0x77`,
      (mm) => {
        mm.setGdt(20, descriptor(DATA + 0x100, 0xfffff, 0xf3));
        mm.mem.ramView.setUint32(DATA + 0x110, 0x1234, true);
      },
    );
    expect(reg(m, 0)).toBe(0x1234);
    expect(m.u32(DATA + 0x114)).toBe(0x77);
  });

  test('far JMP/CALL/RETF between two ring-1 code segments', () => {
    const m = run(
      `
      call 0x99:far_target
      jmp 0x61:back
    far_target:
      mov eax, 0x77
      retf
    back:
      mov ebx, cs`,
      (mm) => mm.setGdt(19, descriptor(0, 0xfffff, 0xbb)),
    );
    expect(reg(m, 0)).toBe(0x77);
    expect(reg(m, 3)).toBe(0x61);
  });

  test('x87 through the bridge: FILD/FMUL/FISTP and FNSTSW AX', () => {
    const m = run(`
      fninit
      mov dword [${DATA}], 6
      mov dword [${DATA + 4}], 7
      fild dword [${DATA}]
      fimul dword [${DATA + 4}]
      fistp dword [${DATA + 8}]
      fnstsw ax`);
    expect(m.u32(DATA + 8)).toBe(42);
    expect(reg(m, 0) & 0x3800).toBe(0);
  });
});
