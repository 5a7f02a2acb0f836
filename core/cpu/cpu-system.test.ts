// Directed system-level tests: segment loads, gates and exits, direct ring-1 delivery, IRET,
// paging faults and the TLB, privilege checks, EFLAGS rules, CPUID/RDTSC, state round trips.

import { describe, expect, test } from 'vitest';
import { I386 } from './cpu';
import { PhysicalMemory } from './memory';
import {
  CODE,
  DATA,
  GDT,
  IDT,
  KCS,
  KDS,
  PD,
  STACK1,
  STACK3,
  TSS,
  UCS,
  UDS,
  asm,
  descriptor,
  exitOf,
  makeMachine,
} from './test-machine';

const HANDLER = 0x18000;

describe('segment loads', () => {
  const cases: [string, string, number, number][] = [
    ['DPL 0 code into DS at CPL 1', 'mov ax, 0x50\nmov ds, ax', 13, 0x50],
    ['LDT selector (LDTR null)', 'mov ax, 0x0c\nmov es, ax', 13, 0x0c],
    ['selector beyond the GDT limit', 'mov ax, 0x1f8\nmov fs, ax', 13, 0x1f8],
    ['SS with RPL != CPL', 'mov ax, 0x68\nmov ss, ax', 13, 0x68],
    ['null SS', 'xor eax, eax\nmov ss, ax', 13, 0],
    ['not-present data segment', 'mov ax, 0x91\nmov gs, ax', 11, 0x90],
    ['system descriptor (TSS) into DS', 'mov ax, 0x80\nmov ds, ax', 13, 0x80],
    ['DPL 3 data into SS at CPL 1', 'mov ax, 0x79\nmov ss, ax', 13, 0x78],
  ];
  for (const [name, src, vector, code] of cases) {
    test(`${name} -> vector ${vector} error ${code.toString(16)}`, () => {
      const m = makeMachine();
      m.setGdt(18, descriptor(0, 0xfffff, 0x33)); // not present, DPL 1, data
      const bytes = asm(src);
      m.load(CODE, bytes);
      const e = exitOf(m.cpu.run(100));
      expect(e.vector).toBe(vector);
      expect(e.errorCode).toBe(code);
      // The faulting load is the second instruction: EIP stays on it.
      expect(m.cpu.eip).toBe(CODE + asm(src.split('\n')[0]!).length);
      expect(m.cpu.instructionCount).toBe(1);
    });
  }

  test('user data (DPL 3) loads from CPL 1 and kernel data with RPL 0 loads', () => {
    const m = makeMachine();
    m.load(CODE, asm('mov ax, 0x7b\nmov ds, ax\nmov ax, 0x68\nmov fs, ax\nint 0x1f'));
    expect(exitOf(m.cpu.run(100)).vector).toBe(0x1f);
    expect(m.cpu.getSegment(3).selector).toBe(0x7b);
    expect(m.cpu.getSegment(4).selector).toBe(0x68);
    expect(m.cpu.getSegment(4).limit).toBe(0xffffffff);
  });

  test('CS limit: a jump beyond it faults at the jump, running past it faults at the fetch', () => {
    const m = makeMachine();
    m.setGdt(19, descriptor(0, CODE + 0x1f, 0xbb, 0x4)); // byte-granular code segment, DPL 1
    m.load(CODE, asm(`jmp 0x99:go\ngo: jmp ${CODE + 0x40}`));
    const e = exitOf(m.cpu.run(10));
    expect(e).toMatchObject({ vector: 13, errorCode: 0 });
    expect(m.cpu.eip).toBe(CODE + 7);
    const m2 = makeMachine();
    m2.setGdt(19, descriptor(0, CODE + 9, 0xbb, 0x4));
    m2.load(CODE, asm('jmp 0x99:go\ngo: nop\nnop\nnop\nnop'));
    expect(exitOf(m2.cpu.run(10))).toMatchObject({ vector: 13, errorCode: 0 });
    expect(m2.cpu.eip).toBe(CODE + 10);
    expect(m2.cpu.instructionCount).toBe(4);
  });

  test('expand-down data segment: offsets at or below the limit fault', () => {
    const m = makeMachine();
    m.setGdt(20, descriptor(0xfe020000, 0xfff, 0xb7, 0xc)); // expand-down, limit 0xffffff, base wraps to DATA
    m.load(CODE, asm('mov ax, 0xa1\nmov ds, ax\nmov eax, [0x2000000]\nmov ebx, [0x10]\nint 0x1f'));
    const e = exitOf(m.cpu.run(10));
    expect(e).toMatchObject({ vector: 13, errorCode: 0 });
    expect(m.cpu.eip).toBe(CODE + 4 + 2 + 5);
  });

  test('segment base and limit are honoured (expand-up limit fault)', () => {
    const m = makeMachine();
    m.setGdt(20, descriptor(DATA, 0xff, 0xb3, 0x4)); // byte-granular, limit 0xff, base DATA
    m.mem.ramView.setUint32(DATA + 0x10, 0xcafef00d, true);
    m.load(CODE, asm('mov ax, 0xa1\nmov gs, ax\nmov ebx, [gs:0x10]\nmov ecx, [gs:0xfd]\nint 0x1f'));
    const e = exitOf(m.cpu.run(100));
    expect(m.cpu.getReg(3)).toBe(0xcafef00d);
    expect(e.vector).toBe(13);
    expect(e.errorCode).toBe(0);
  });
});

describe('software interrupts and exits', () => {
  test('INT n through a DPL 0 gate raises #GP(n*8+2) at the INT', () => {
    const m = makeMachine();
    m.load(CODE, asm('nop\nint 0x80'));
    const e = exitOf(m.cpu.run(100));
    expect(e).toMatchObject({ vector: 13, errorCode: 0x80 * 8 + 2 });
    expect(m.cpu.eip).toBe(CODE + 1);
  });

  test('INT3 and INTO are software interrupts with the DPL check', () => {
    const m = makeMachine({ cpl: 3 });
    m.load(CODE, asm('int3'));
    expect(exitOf(m.cpu.run(10))).toMatchObject({ vector: 13, errorCode: 3 * 8 + 2 });
    const m2 = makeMachine();
    m2.setGate(4, 0x50, 0, 0xf, 3);
    m2.load(CODE, asm('mov al, 0x7f\nadd al, 1\ninto'));
    const e = exitOf(m2.cpu.run(10));
    expect(e.vector).toBe(4);
    expect(m2.cpu.eip).toBe(CODE + 5);
    expect(m2.cpu.instructionCount).toBe(3);
  });

  test('INT 0x1F (DPL 1 host gate) exits with EIP after the instruction', () => {
    const m = makeMachine();
    m.load(CODE, asm('mov eax, 7\nint 0x1f\nhlt'));
    const r = m.cpu.run(100);
    expect(r).toEqual({ kind: 'exit', vector: 0x1f, errorCode: 0, cr2: 0 });
    expect(m.cpu.eip).toBe(CODE + 7);
    expect(m.cpu.getReg(0)).toBe(7);
    expect(m.cpu.instructionCount).toBe(2);
    expect(m.cpu.getReg(4)).toBe(STACK1); // nothing pushed
  });

  test('INT 0x1F from CPL 3 is refused by the gate DPL', () => {
    const m = makeMachine({ cpl: 3 });
    m.load(CODE, asm('int 0x1f'));
    expect(exitOf(m.cpu.run(10))).toMatchObject({ vector: 13, errorCode: 0x1f * 8 + 2 });
    expect(m.cpu.eip).toBe(CODE);
  });

  test('a handler that faults forever still returns at the budget', () => {
    const m = makeMachine();
    m.setGate(6, KCS, CODE, 0xf, 0);
    m.load(CODE, asm('ud2'));
    expect(m.cpu.run(1000)).toEqual({ kind: 'budget' });
    expect(m.cpu.instructionCount).toBe(0);
    expect(m.cpu.getReg(4)).toBe(STACK1 - 12 * 1000);
  });

  test('budget is honoured', () => {
    const m = makeMachine();
    m.load(CODE, asm('l: inc eax\njmp l'));
    expect(m.cpu.run(1001)).toEqual({ kind: 'budget' });
    expect(m.cpu.instructionCount).toBe(1001);
    expect(m.cpu.getReg(0)).toBe(501);
  });
});

describe('direct delivery to ring 1 and IRET', () => {
  test('trap gate from CPL 3 switches to SS1:ESP1 and pushes SS, ESP, EFLAGS, CS, EIP', () => {
    const m = makeMachine({ cpl: 3 });
    m.setGate(0x80, KCS, HANDLER, 0xf, 3);
    m.load(CODE, asm('mov eax, 1\nint 0x80'));
    m.load(HANDLER, asm('int 0x1f', HANDLER));
    const e = exitOf(m.cpu.run(100));
    expect(e.vector).toBe(0x1f);
    const cpu = m.cpu;
    expect(cpu.cpl).toBe(1);
    expect(cpu.getSegment(1).selector).toBe(KCS);
    expect(cpu.getSegment(2).selector).toBe(KDS);
    expect(cpu.getReg(4)).toBe(STACK1 - 20);
    expect(cpu.eip).toBe(HANDLER + 2);
    const f = (k: number): number => m.u32(STACK1 - 20 + 4 * k);
    expect(f(0)).toBe(CODE + 7); // EIP after INT
    expect(f(1)).toBe(UCS);
    expect(f(2)).toBe(0x202);
    expect(f(3)).toBe(STACK3);
    expect(f(4)).toBe(UDS);
    expect(cpu.eflags & 0x200).toBe(0x200); // trap gate keeps IF
  });

  test('interrupt gate clears IF, TF and NT; same-level entry pushes no stack pointer', () => {
    const m = makeMachine();
    m.setGate(0x81, KCS, HANDLER, 0xe, 1);
    m.load(CODE, asm('pushfd\nor dword [esp], 0x4000\npopfd\nint 0x81'));
    m.load(HANDLER, asm('int 0x1f', HANDLER));
    expect(exitOf(m.cpu.run(10)).vector).toBe(0x1f);
    expect(m.cpu.eflags & 0x4300).toBe(0);
    expect(m.cpu.getReg(4)).toBe(STACK1 - 12);
    expect(m.u32(STACK1 - 4) & 0x4200).toBe(0x4200); // pushed EFLAGS had NT and IF
    expect(m.u32(STACK1 - 8)).toBe(KCS);
  });

  test('exception with error code delivered directly (ring-1 trap gate for #GP)', () => {
    const m = makeMachine({ cpl: 3 });
    m.setGate(13, KCS, HANDLER, 0xf, 0);
    m.load(CODE, asm('cli'));
    m.load(HANDLER, asm('int 0x1f', HANDLER));
    exitOf(m.cpu.run(10));
    expect(m.cpu.getReg(4)).toBe(STACK1 - 24);
    expect(m.u32(STACK1 - 24)).toBe(0); // error code
    expect(m.u32(STACK1 - 20)).toBe(CODE); // faulting EIP
    expect(m.u32(STACK1 - 12)).toBe(0x10202); // faults save EFLAGS with RF set
    expect(m.cpu.eflags & 0x10000).toBe(0);
  });

  test('IRET to CPL 3 reloads SS:ESP and nulls data segments with DPL < 3', () => {
    const m = makeMachine({ cpl: 3 });
    m.setGate(0x80, KCS, HANDLER, 0xf, 3);
    m.load(CODE, asm('mov eax, 1\nint 0x80\nmov ebx, 2\nint3'));
    m.load(HANDLER, asm('mov cx, 0x69\nmov ds, cx\nmov es, cx\nmov cx, 0x7b\nmov fs, cx\niretd', HANDLER));
    const e = exitOf(m.cpu.run(100));
    expect(e).toMatchObject({ vector: 13, errorCode: 0x1a }); // int3 refused at CPL 3
    const cpu = m.cpu;
    expect(cpu.cpl).toBe(3);
    expect(cpu.getReg(3)).toBe(2);
    expect(cpu.getReg(4)).toBe(STACK3);
    expect(cpu.getSegment(2).selector).toBe(UDS);
    expect(cpu.getSegment(3).selector).toBe(0);
    expect(cpu.getSegment(0).selector).toBe(0);
    expect(cpu.getSegment(4).selector).toBe(0x7b);
  });

  test('#PF while pushing the ring-1 frame exits with EIP at the INT', () => {
    const m = makeMachine({ cpl: 3 });
    m.setGate(0x80, KCS, HANDLER, 0xf, 3);
    m.setPte(STACK1 - 4, 0); // ring-1 stack page not present
    m.load(CODE, asm('nop\nint 0x80'));
    const e = exitOf(m.cpu.run(100));
    expect(e).toEqual({ vector: 14, errorCode: 2, cr2: STACK1 - 4 });
    expect(m.cpu.eip).toBe(CODE + 1);
    expect(m.cpu.cpl).toBe(3);
    expect(m.cpu.getReg(4)).toBe(STACK3);
    expect(m.cpu.instructionCount).toBe(1);
  });

  test('contributory fault while delivering a contributory fault is a double fault', () => {
    const m = makeMachine();
    m.setGate(0, KCS, HANDLER, 0xf, 0);
    m.setGdt(12 + 0, descriptor(0, 0xfffff, 0xbb));
    // #DE goes to a ring-1 gate whose code segment is not present -> #NP during delivery -> #DF.
    m.setGdt(19, descriptor(0, 0xfffff, 0x3b));
    m.setGate(0, 0x99, HANDLER, 0xf, 0);
    m.load(CODE, asm('xor ecx, ecx\ndiv ecx'));
    const e = exitOf(m.cpu.run(10));
    expect(e).toMatchObject({ vector: 8, errorCode: 0 });
    expect(m.cpu.eip).toBe(CODE + 2);
  });

  test('not-present gates raise #NP with EXT set only for hardware events', () => {
    const m = makeMachine();
    const dv = m.mem.ramView;
    m.setGate(0x40, KCS, HANDLER, 0xf, 3);
    dv.setUint32(IDT + 0x40 * 8 + 4, dv.getUint32(IDT + 0x40 * 8 + 4, true) & ~0x8000, true);
    m.load(CODE, asm('int 0x40'));
    expect(exitOf(m.cpu.run(10))).toMatchObject({ vector: 11, errorCode: 0x40 * 8 + 2 });
    const m2 = makeMachine();
    m2.setGate(6, KCS, HANDLER, 0xf, 0);
    m2.mem.ramView.setUint32(IDT + 6 * 8 + 4, m2.mem.ramView.getUint32(IDT + 6 * 8 + 4, true) & ~0x8000, true);
    m2.load(CODE, asm('ud2'));
    expect(exitOf(m2.cpu.run(10))).toMatchObject({ vector: 11, errorCode: 6 * 8 + 3 });
    expect(m2.cpu.eip).toBe(CODE);
  });

  test('task gates are refused with #GP(vector*8+2+EXT)', () => {
    const m = makeMachine();
    const dv = m.mem.ramView;
    dv.setUint32(IDT + 6 * 8 + 4, 0x8500, true);
    m.setGate(13, 0x50, 0, 0xe, 0);
    m.load(CODE, asm('ud2'));
    expect(exitOf(m.cpu.run(10))).toMatchObject({ vector: 13, errorCode: 6 * 8 + 3 });
  });
});

describe('paging', () => {
  test('#PF error codes and CR2', () => {
    const check = (cpl: 1 | 3, setup: (m: ReturnType<typeof makeMachine>) => void, src: string, err: number): void => {
      const m = makeMachine({ cpl });
      setup(m);
      m.load(CODE, asm(src));
      const e = exitOf(m.cpu.run(10));
      expect(e).toEqual({ vector: 14, errorCode: err, cr2: DATA + 0x10 });
      expect(m.cpu.cr2).toBe(DATA + 0x10);
      expect(m.cpu.eip).toBe(CODE);
    };
    const notPresent = (m: ReturnType<typeof makeMachine>): void => m.setPte(DATA, 0);
    const readOnly = (m: ReturnType<typeof makeMachine>): void => m.setPte(DATA, DATA | 5);
    const supervisor = (m: ReturnType<typeof makeMachine>): void => m.setPte(DATA, DATA | 3);
    check(3, notPresent, `mov eax, [${DATA + 0x10}]`, 4);
    check(3, notPresent, `mov [${DATA + 0x10}], eax`, 6);
    check(1, notPresent, `mov eax, [${DATA + 0x10}]`, 0);
    check(3, readOnly, `mov [${DATA + 0x10}], eax`, 7);
    check(3, supervisor, `mov eax, [${DATA + 0x10}]`, 5);
    check(1, readOnly, `mov [${DATA + 0x10}], eax`, 3); // CR0.WP applies at CPL 1
    check(1, readOnly, `add [${DATA + 0x10}], eax`, 3);
  });

  test('user bit is required at the directory level too', () => {
    const m = makeMachine({ cpl: 3 });
    m.mem.ramView.setUint32(0x4000, 0x5000 | 3, true);
    m.load(CODE, asm('nop'));
    expect(exitOf(m.cpu.run(10))).toEqual({ vector: 14, errorCode: 5, cr2: CODE });
  });

  test('supervisor write to a read-only page succeeds when CR0.WP is clear', () => {
    const m = makeMachine();
    m.cpu.cr0 = m.cpu.cr0 & ~0x10000;
    m.setPte(DATA, DATA | 5);
    m.load(CODE, asm(`mov dword [${DATA}], 0x1234\nint 0x1f`));
    expect(exitOf(m.cpu.run(10)).vector).toBe(0x1f);
    expect(m.u32(DATA)).toBe(0x1234);
  });

  test('accessed and dirty bits are written into the tables', () => {
    const m = makeMachine();
    m.setPte(DATA, DATA | 7);
    m.setPte(DATA + 0x1000, (DATA + 0x1000) | 7);
    m.mem.ramView.setUint32(0x4000, 0x5000 | 7, true);
    m.load(CODE, asm(`mov eax, [${DATA}]\nint 0x1f\nmov [${DATA + 0x1000}], eax\nint 0x1f`));
    m.cpu.run(10);
    expect(m.pte(DATA) & 0x60).toBe(0x20);
    expect(m.u32(0x4000) & 0x20).toBe(0x20);
    m.cpu.run(10);
    expect(m.pte(DATA + 0x1000) & 0x60).toBe(0x60);
    expect(m.pte(DATA) & 0x40).toBe(0);
  });

  test('a GDT in a host frame is read through its current mapping after INVLPG and CR3 loads', () => {
    const m = makeMachine();
    const cpu = m.cpu;
    const G = 0x3ff000; // a linear page mapped to host frames (past RAM), like the Switcher's state page
    const frames = [m.mem.allocHostFrame(), m.mem.allocHostFrame()];
    const setDsBase = (frame: number, base: number): void => {
      const words = m.mem.hostFrameWords(frame);
      for (let k = 0; k < 64; k++) words[k] = m.u32(GDT + k * 4) | 0;
      [words[(KDS >>> 3) * 2], words[(KDS >>> 3) * 2 + 1]] = descriptor(base, 0xfffff, 0xb3);
    };
    const dsBaseAfterEntry = (): number => {
      expect(cpu.loadSegmentsFromSelectors()).toBe(true);
      return cpu.getSegment(3).base;
    };
    setDsBase(frames[0]!, 0x1000);
    setDsBase(frames[1]!, 0x2000);
    m.setPte(G, frames[0]! | 3);
    cpu.gdtr = { base: G, limit: 32 * 8 - 1 };
    expect(dsBaseAfterEntry()).toBe(0x1000);
    setDsBase(frames[0]!, 0x3000); // the table's contents are read afresh
    expect(dsBaseAfterEntry()).toBe(0x3000);
    m.setPte(G, frames[1]! | 3);
    cpu.invalidatePage(G);
    expect(dsBaseAfterEntry()).toBe(0x2000);
    m.setPte(G, frames[0]! | 3);
    cpu.cr3 = PD; // (the same directory: a CR3 load flushes the TLB all the same)
    expect(dsBaseAfterEntry()).toBe(0x3000);
  });

  test('first write to a page read earlier still sets the dirty bit', () => {
    const m = makeMachine();
    m.load(CODE, asm(`mov eax, [${DATA}]\nmov [${DATA}], eax\nint 0x1f`));
    m.setPte(DATA, DATA | 7);
    m.cpu.run(10);
    expect(m.pte(DATA) & 0x60).toBe(0x60);
  });

  test('TLB keeps stale translations until CR3 reload or invalidatePage', () => {
    const m = makeMachine();
    const dv = m.mem.ramView;
    dv.setUint32(DATA, 111, true);
    dv.setUint32(DATA + 0x1000, 222, true);
    m.load(CODE, asm(`l: mov eax, [${DATA}]\nint 0x1f\njmp l`));
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(111);
    m.setPte(DATA, (DATA + 0x1000) | 7);
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(111); // cached
    m.cpu.invalidatePage(DATA);
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(222);
    m.setPte(DATA, DATA | 7);
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(222);
    const pd = m.cpu.cr3;
    m.cpu.cr3 = pd;
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(111);
    m.setPte(DATA, (DATA + 0x1000) | 7);
    m.cpu.flushTlb();
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(222);
  });

  test('page tables in host frames are walked, and unbacked memory reads as ones', () => {
    const m = makeMachine();
    const pd = m.mem.allocHostFrame();
    const pt = m.mem.allocHostFrame();
    const pdw = m.mem.hostFrameWords(pd),
      ptw = m.mem.hostFrameWords(pt);
    pdw[0] = pt | 7;
    for (let p = 0; p < 1024; p++) ptw[p] = (p << 12) | 7;
    ptw[0x300] = 0x7ff00000 | 7; // beyond RAM
    m.cpu.cr3 = pd;
    m.load(CODE, asm('mov eax, [0x300000]\nmov dword [0x300000], 5\nmov ebx, [0x300000]\nint 0x1f'));
    expect(exitOf(m.cpu.run(10)).vector).toBe(0x1f);
    expect(m.cpu.getReg(0)).toBe(0xffffffff);
    expect(m.cpu.getReg(3)).toBe(0xffffffff);
    expect(ptw[0x300]! & 0x60).toBe(0x60);
  });

  test('4 MiB pages are used only with CR4.PSE', () => {
    const m = makeMachine();
    m.mem.ramView.setUint32(0x4000 + 4 * 0x100, 0x00000000 | 0x87, true); // 0x40000000 -> phys 0
    m.mem.ramView.setUint32(DATA, 0xabcdef, true);
    m.load(CODE, asm(`mov eax, [0x40000000 + ${DATA}]\nint 0x1f`));
    expect(exitOf(m.cpu.run(10)).vector).toBe(14); // PS ignored: phys 0 is not a page table
    m.cpu.cr4 = 0x10;
    m.cpu.eip = CODE;
    expect(exitOf(m.cpu.run(10)).vector).toBe(0x1f);
    expect(m.cpu.getReg(0)).toBe(0xabcdef);
    expect(m.u32(0x4000 + 4 * 0x100) & 0x20).toBe(0x20);
  });

  test('a store into a cached code page is seen by the next fetch', () => {
    const m = makeMachine();
    m.load(CODE, asm('mov byte [patch+1], 9\npatch: mov al, 1\nint 0x1f'));
    exitOf(m.cpu.run(10));
    expect(m.cpu.getReg(0) & 0xff).toBe(9);
  });

  test('code rewritten by the owner between runs (and reported) is re-decoded', () => {
    const m = makeMachine();
    m.load(CODE, asm('l: mov eax, 1\nint 0x1f\njmp l'));
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(1);
    m.mem.ram[CODE + 1] = 2;
    m.mem.written(CODE + 1, 1);
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(2);
  });
});

describe('privilege', () => {
  const privileged = [
    'hlt',
    'cli',
    'sti',
    'lgdt [0x20000]',
    'lidt [0x20000]',
    'lldt ax',
    'ltr ax',
    'mov cr0, eax',
    'mov eax, cr0',
    'mov eax, cr3',
    'mov cr3, eax',
    'mov eax, dr0',
    'mov dr7, eax',
    'invlpg [0x20000]',
    'wbinvd',
    'invd',
    'rdmsr',
    'wrmsr',
    'clts',
    'lmsw ax',
    'in al, dx',
    'out dx, al',
    'in eax, 0x80',
    'out 0x80, al',
    'insb',
    'outsd',
    'rdpmc',
  ];
  for (const cpl of [1, 3] as const) {
    for (const ins of privileged) {
      test(`${ins} at CPL ${cpl} -> #GP(0)`, () => {
        const m = makeMachine({ cpl });
        m.load(CODE, asm(ins));
        expect(exitOf(m.cpu.run(10))).toMatchObject({ vector: 13, errorCode: 0 });
        expect(m.cpu.eip).toBe(CODE);
        expect(m.cpu.instructionCount).toBe(0);
      });
    }
  }

  test('POPF at CPL 1 leaves IF and IOPL alone but changes other flags', () => {
    const m = makeMachine();
    m.load(CODE, asm('push 0x3cd5\npopfd\nint 0x1f'));
    exitOf(m.cpu.run(10));
    expect(m.cpu.eflags).toBe(0x0cd5 | 0x202);
  });

  test('IRET at CPL 1 cannot clear IF or set IOPL', () => {
    const m = makeMachine();
    m.load(CODE, asm(`push 0x3001\npush ${KCS}\npush after\niretd\nafter: int 0x1f`));
    exitOf(m.cpu.run(10));
    expect(m.cpu.eflags).toBe(0x203);
  });

  test('16-bit IRET pops 16-bit slots and changes only the low flags word', () => {
    const m = makeMachine();
    m.load(0x8000, asm(`push word 0x0cd5\npush word ${KCS}\npush word after\no16 iret\nafter: int 0x1f`, 0x8000));
    m.cpu.eip = 0x8000;
    expect(exitOf(m.cpu.run(10)).vector).toBe(0x1f);
    expect(m.cpu.eflags).toBe(0x0cd5 | 0x202);
    expect(m.cpu.getReg(4)).toBe(STACK1);
  });

  test('the owner can set IOPL; then CLI/STI work at CPL <= IOPL', () => {
    const m = makeMachine();
    m.cpu.eflags = 0x1202;
    m.load(CODE, asm('cli\nint 0x1f'));
    exitOf(m.cpu.run(10));
    expect(m.cpu.eflags & 0x200).toBe(0);
  });

  test('EFLAGS.ID and AC toggle at CPL 3', () => {
    const m = makeMachine({ cpl: 3 });
    m.load(CODE, asm('pushfd\npop eax\nmov ebx, eax\nxor eax, 0x240000\npush eax\npopfd\npushfd\npop ecx\nint3'));
    m.cpu.run(20);
    expect((m.cpu.getReg(1) ^ m.cpu.getReg(3)) >>> 0).toBe(0x240000);
  });
});

describe('identification and time', () => {
  test('CPUID reports a GenuineIntel family 6 with FPU, TSC, CX8, CMOV only', () => {
    const m = makeMachine({ cpl: 3 });
    m.load(
      CODE,
      asm('xor eax, eax\ncpuid\nmov esi, eax\nmov edi, ebx\nmov ebp, ecx\nmov [0x20000], edx\nmov eax, 1\ncpuid\nint3'),
    );
    m.cpu.run(20);
    expect(m.cpu.getReg(6)).toBeGreaterThanOrEqual(1);
    expect(m.cpu.getReg(6)).toBeLessThanOrEqual(2);
    const vendor = Buffer.alloc(12);
    vendor.writeUInt32LE(m.cpu.getReg(7), 0);
    vendor.writeUInt32LE(m.u32(0x20000), 4);
    vendor.writeUInt32LE(m.cpu.getReg(5), 8);
    expect(vendor.toString('latin1')).toBe('GenuineIntel');
    expect((m.cpu.getReg(0) >> 8) & 0xf).toBe(6);
    expect(m.cpu.getReg(2)).toBe(0x8111);
    expect(m.cpu.getReg(1)).toBe(0);
  });

  test('CPUID leaf 0x80000000 reports no extended leaves', () => {
    const m = makeMachine();
    m.load(CODE, asm('mov eax, 0x80000000\ncpuid\nint 0x1f'));
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(0x80000000);
  });

  test('RDTSC at CPL 3 reads the owner clock', () => {
    const m = makeMachine({ cpl: 3 });
    m.tsc.value = 0x1234_5678_9abc;
    m.load(CODE, asm('rdtsc\nint3'));
    m.cpu.run(10);
    expect(m.cpu.getReg(0)).toBe(0x56789abc);
    expect(m.cpu.getReg(2)).toBe(0x1234);
  });

  test('RDTSC faults at CPL 3 when CR4.TSD is set', () => {
    const m = makeMachine({ cpl: 3 });
    m.cpu.cr4 = 4;
    m.load(CODE, asm('rdtsc'));
    expect(exitOf(m.cpu.run(10))).toMatchObject({ vector: 13, errorCode: 0 });
  });
});

describe('exceptions', () => {
  test('#DE on divide by zero and on quotient overflow', () => {
    for (const src of [
      'xor ecx, ecx\ndiv ecx',
      'mov edx, 5\nmov ecx, 5\ndiv ecx',
      'mov eax, 0x80000000\ncdq\nmov ecx, -1\nidiv ecx',
    ]) {
      const m = makeMachine();
      m.load(CODE, asm(src));
      const e = exitOf(m.cpu.run(10));
      expect(e.vector).toBe(0);
      expect(m.cpu.eip).toBe(CODE + asm(src.split('\n').slice(0, -1).join('\n')).length);
    }
  });

  test('#UD on unimplemented or invalid opcodes', () => {
    for (const bytes of [
      [0x0f, 0x0b],
      [0x0f, 0x05],
      [0x0f, 0x10, 0xc0],
      [0x0f, 0x34],
      [0xf0, 0x90],
      [0xf0, 0x01, 0xc0],
      [0x8d, 0xc0],
      [0xd6],
      [0x0f, 0xae, 0xf8],
      [0x0f, 0xc7, 0xc8],
    ]) {
      const m = makeMachine();
      m.load(CODE, bytes);
      expect(exitOf(m.cpu.run(10)).vector).toBe(6);
      expect(m.cpu.eip).toBe(CODE);
    }
  });

  test('x87 escapes raise #NM when CR0.TS or CR0.EM is set, FWAIT only with TS and MP', () => {
    const m = makeMachine();
    m.cpu.cr0 = m.cpu.cr0 | 8;
    m.load(CODE, asm('fninit'));
    expect(exitOf(m.cpu.run(10)).vector).toBe(7);
    const m2 = makeMachine();
    m2.cpu.cr0 = (m2.cpu.cr0 | 8) & ~2;
    m2.load(CODE, asm('fwait\nint 0x1f'));
    expect(exitOf(m2.cpu.run(10)).vector).toBe(0x1f);
    m2.cpu.cr0 = m2.cpu.cr0 | 2;
    m2.cpu.eip = CODE;
    expect(exitOf(m2.cpu.run(10)).vector).toBe(7);
    const m3 = makeMachine();
    m3.cpu.cr0 = m3.cpu.cr0 | 4;
    m3.load(CODE, asm('fld1'));
    expect(exitOf(m3.cpu.run(10)).vector).toBe(7);
  });

  test('single-step trap after an instruction when TF is set', () => {
    const m = makeMachine();
    m.cpu.eflags = 0x302;
    m.load(CODE, asm('inc eax\ninc eax'));
    const e = exitOf(m.cpu.run(10));
    expect(e.vector).toBe(1);
    expect(m.cpu.eip).toBe(CODE + 1);
    expect(m.cpu.getReg(0)).toBe(1);
  });
});

describe('state', () => {
  const program = `
    mov esi, 0x20000
    mov ecx, 3000
  l:
    imul eax, ecx, 7
    add [esi + ecx*4], eax
    rol eax, 3
    adc ebx, eax
    setc dl
    cmp ecx, 1500
    jne skip
    int 0x1f
  skip:
    loop l
    int 0x1f`;

  function fresh(): ReturnType<typeof makeMachine> {
    const m = makeMachine();
    m.load(CODE, asm(program));
    return m;
  }

  test('export/import round trip continues identically', () => {
    const a = fresh();
    a.cpu.run(5000);
    const snap = a.cpu.exportState();
    const memSnap = a.mem.exportState();
    const runs = (cpu: I386): unknown[] => [cpu.run(4000), cpu.run(100000), cpu.run(100)];
    const ra = runs(a.cpu);
    const mem = PhysicalMemory.fromState(memSnap);
    const b = new I386(mem, { readTsc: () => 0 });
    b.importState(snap);
    expect(b.exportState()).toEqual(snap);
    const rb = runs(b);
    expect(rb).toEqual(ra);
    expect(b.exportState()).toEqual(a.cpu.exportState());
    expect(Buffer.from(mem.ram).equals(Buffer.from(a.mem.ram))).toBe(true);
  });

  test('run N, dropCaches, run M equals run N+M', () => {
    const a = fresh(),
      b = fresh();
    const ra = [a.cpu.run(7000), a.cpu.run(3000), a.cpu.run(1_000_000)];
    const rb1 = b.cpu.run(7000);
    b.cpu.dropCaches();
    const rb = [rb1, b.cpu.run(3000), (b.cpu.dropCaches(), b.cpu.run(1_000_000))];
    expect(rb).toEqual(ra);
    expect(b.cpu.exportState()).toEqual(a.cpu.exportState());
    expect(a.cpu.instructionCount).toBeGreaterThan(10000);
  });

  test('exported EFLAGS are materialised', () => {
    const m = makeMachine();
    m.load(CODE, asm('mov eax, 0xffffffff\nadd eax, 1\nint 0x1f'));
    m.cpu.run(10);
    expect(m.cpu.exportState().eflags & 0x8d5).toBe(0x55); // CF ZF AF PF
  });
});

describe('owner entry (loadSegmentsFromSelectors, setTaskRegister)', () => {
  test('data registers load at CPL 0, then the IRET to RPL(CS) nulls those below the new CPL', () => {
    const m = makeMachine();
    const cpu = m.cpu;
    cpu.setSelector(3, 0x58); // host data (DPL 0): loadable at CPL 0, nulled on entry to CPL 1
    cpu.setSelector(0, 0x7b);
    cpu.setSelector(4, 0x68);
    expect(cpu.loadSegmentsFromSelectors()).toBe(true);
    expect(cpu.cpl).toBe(1);
    expect(cpu.getSegment(3).selector).toBe(0);
    expect(cpu.getSegment(0)).toEqual({ selector: 0x7b, base: 0, limit: 0xffffffff, flags: 0x00c0f300 });
    expect(cpu.getSegment(4).selector).toBe(0x68);
  });

  test('entry to CPL 3 from selectors', () => {
    const m = makeMachine();
    const cpu = m.cpu;
    cpu.setSelector(1, UCS);
    cpu.setSelector(2, UDS);
    cpu.setSelector(3, KDS);
    expect(cpu.loadSegmentsFromSelectors()).toBe(true);
    expect(cpu.cpl).toBe(3);
    expect(cpu.getSegment(3).selector).toBe(0);
    expect(cpu.getSegment(2).flags).toBe(0x00c0f300);
  });

  test('returns false and changes nothing when a load would fault', () => {
    for (const [s, sel] of [
      [2, UDS],
      [3, 0x0c],
      [5, 0x1f8],
      [1, 0x50 | 1],
      [2, 0],
    ] as const) {
      const m = makeMachine();
      const cpu = m.cpu;
      const before = cpu.exportState();
      cpu.setSelector(s, sel);
      expect(cpu.loadSegmentsFromSelectors(), `${s}=${sel}`).toBe(false);
      const after = cpu.exportState();
      expect(after.segs.map((x, k) => (k === s ? { ...x, selector: before.segs[k]!.selector } : x))).toEqual(
        before.segs,
      );
      expect(cpu.cpl).toBe(1);
    }
  });

  test('the ring-1 stack comes from the task register set by the owner', () => {
    const m = makeMachine({ cpl: 3 });
    m.mem.ramView.setUint32(TSS + 0x100 + 12, 0x3f000, true);
    m.mem.ramView.setUint32(TSS + 0x100 + 16, KDS, true);
    m.cpu.setTaskRegister(0x80, TSS + 0x100, 0x67);
    m.setGate(0x80, KCS, HANDLER, 0xf, 3);
    m.load(CODE, asm('int 0x80'));
    m.load(HANDLER, asm('int 0x1f', HANDLER));
    expect(exitOf(m.cpu.run(10)).vector).toBe(0x1f);
    expect(m.cpu.getReg(4)).toBe(0x3f000 - 20);
  });
});
