// Trap reflection frames (from CPL 1 and CPL 3), interrupt injection rules and in/out emulation,
// on the scripted CPU (ABI §1.6, §5.5, §5.6).

import { describe, expect, it } from 'vitest';
import { CS, EAX, ESP, SS } from '../cpu/types';
import { initedFakeGuest, LGUEST_DATA_GPA as LD, type FakeGuest } from './testing/fake-guest';

const u32 = (g: FakeGuest, a: number): number => g.mem.ramView.getUint32(a, true);
const frame = (g: FakeGuest, gpa: number, words: number): number[] =>
  Array.from({ length: words }, (_, i) => u32(g, gpa + i * 4));

function gate(g: FakeGuest, vector: number, handler: number, type: 0xe | 0xf, dpl = 0): void {
  g.cpu.hypercall(
    6,
    vector,
    0x00600000 | (handler & 0xffff),
    ((handler & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8)) >>> 0,
  );
}

describe('trap reflection (buildFrame)', () => {
  it('from CPL 1: EFLAGS (IF from irq_enabled), CS, EIP on the same stack; trap gate keeps irq_enabled', () => {
    const g = initedFakeGuest();
    gate(g, 6, 0xc0105000, 0xf);
    g.file.run({ budget: 1 });
    g.file.run({ budget: 1 });
    g.mem.ramView.setUint32(LD, 0, true); // interrupts "disabled"
    g.cpu.trap(6, 0, 0, (c) => {
      c.setReg(ESP, 0xc0009000);
      c.eip = 0xc0100123;
      c.eflags = 0x246;
    });
    g.file.run({ budget: 1 });
    expect(frame(g, 0x9000 - 12, 3)).toEqual([0xc0100123, 0x61, 0x046]);
    expect(g.cpu.getReg(ESP)).toBe(0xc0008ff4);
    expect(g.cpu.getSegment(SS).selector).toBe(0x69);
    expect(g.cpu.getSegment(CS).selector).toBe(0x61);
    expect(g.cpu.eip).toBe(0xc0105000);
    expect(u32(g, LD)).toBe(0);
  });

  it('from CPL 3: switches to ss1:esp1, pushes SS, ESP, EFLAGS, CS, EIP, errcode; cr2 first; interrupt gate clears irq_enabled', () => {
    const g = initedFakeGuest();
    gate(g, 14, 0xc0106000, 0xe);
    g.cpu.hypercall(7, 0x69, 0xc0009000, 1);
    g.file.run({ budget: 2 });
    g.mem.ramView.setUint32(LD, 0x200, true);
    g.cpu.trap(14, 6, 0x0bffeffc, (c) => {
      c.setSelector(CS, 0x73);
      c.setSelector(SS, 0x7b);
      c.setReg(ESP, 0x0bff0000);
      c.eip = 0x08048010;
      c.eflags = 0x202;
    });
    g.file.run({ budget: 1 });
    expect(frame(g, 0x9000 - 24, 6)).toEqual([6, 0x08048010, 0x73, 0x202, 0x0bff0000, 0x7b]);
    expect(u32(g, LD + 8)).toBe(0x0bffeffc);
    expect(g.cpu.getReg(ESP)).toBe(0xc0008fe8);
    expect(g.cpu.getSegment(SS).selector).toBe(0x69);
    expect(g.cpu.getSegment(CS).selector).toBe(0x61);
    expect(g.cpu.eip).toBe(0xc0106000);
    expect(u32(g, LD)).toBe(0);
  });

  it('error codes are pushed exactly for 8, 10-14, 17', () => {
    for (const [v, withErr] of [
      [0, false],
      [10, true],
      [11, true],
      [12, true],
      [13, true],
      [16, false],
      [17, true],
      [19, false],
    ] as const) {
      const g = initedFakeGuest();
      gate(g, v, 0xc0105000, 0xf);
      g.file.run({ budget: 1 });
      g.file.run({ budget: 1 });
      g.cpu.trap(v, 0x55, 0, (c) => c.setReg(ESP, 0xc0009000));
      g.file.run({ budget: 1 });
      expect(g.cpu.getReg(ESP)).toBe(withErr ? 0xc0008ff0 : 0xc0008ff4);
    }
  });
});

describe('interrupt injection (maybeDeliverInterrupt)', () => {
  function ready(): FakeGuest {
    const g = initedFakeGuest();
    for (let irq = 0; irq < 3; irq++) gate(g, 0x20 + irq, 0xc0107000 + irq * 0x10, 0xe);
    g.file.run({ budget: 3 });
    g.file.run({ budget: 1 });
    g.mem.ramView.setUint32(LD + 4, 0, true); // nothing blocked
    g.mem.ramView.setUint32(LD, 0x200, true);
    g.cpu.setReg(ESP, 0xc0009000);
    return g;
  }

  it('injects the lowest unblocked pending IRQ, one per entry, and writes the timestamp', () => {
    const g = ready();
    g.file.sendIrq(2);
    g.file.sendIrq(1);
    g.mem.ramView.setUint32(LD + 12, 0, true);
    g.file.run({ budget: 1 });
    expect(g.cpu.eip).toBe(0xc0107010);
    expect(g.lg.state.irqsPending).toBe(4);
    expect(u32(g, LD)).toBe(0); // interrupt gate
    expect(u32(g, LD + 12)).toBe(g.lg.state.bootEpochSeconds);
    // irq_enabled is 0 now: IRQ 2 waits.
    g.file.run({ budget: 1 });
    expect(g.lg.state.irqsPending).toBe(4);
  });

  it('blocked IRQs, the noirq window and (irq_enabled & 0x200) == 0 all hold injection back', () => {
    const g = ready();
    g.file.sendIrq(1);
    g.mem.ramView.setUint32(LD + 4, 2, true);
    g.file.run({ budget: 1 });
    expect(g.lg.state.irqsPending).toBe(2);
    g.mem.ramView.setUint32(LD + 4, 0, true);
    g.lg.state.noirqStart = 0xc0100000;
    g.lg.state.noirqEnd = 0xc0100010;
    g.cpu.eip = 0xc0100008;
    g.file.run({ budget: 1 });
    expect(g.lg.state.irqsPending).toBe(2);
    g.cpu.eip = 0xc0100010;
    g.mem.ramView.setUint32(LD, 0x46, true); // an EFLAGS image with IF clear: "disabled"
    g.file.run({ budget: 1 });
    expect(g.lg.state.irqsPending).toBe(2);
    g.mem.ramView.setUint32(LD, 0x246, true);
    g.file.run({ budget: 1 });
    expect(g.lg.state.irqsPending).toBe(0);
    expect(g.cpu.eip).toBe(0xc0107010);
  });

  it('a missing gate leaves the IRQ pending but still wakes a halted guest with irq_enabled = 0x200', () => {
    const g = ready();
    g.lg.state.halted = true;
    g.mem.ramView.setUint32(LD, 0, true);
    g.file.sendIrq(5);
    g.file.run({ budget: 1 });
    expect(g.lg.state.halted).toBe(false);
    expect(u32(g, LD)).toBe(0x200);
    expect(g.lg.state.irqsPending).toBe(1 << 5);
  });

  it('a halted guest is woken and enters the handler with IF set in the pushed EFLAGS', () => {
    const g = ready();
    g.lg.state.halted = true;
    g.mem.ramView.setUint32(LD, 0, true);
    g.cpu.eflags = 0x202;
    g.file.sendIrq(0);
    g.file.run({ budget: 1 });
    expect(g.cpu.eip).toBe(0xc0107000);
    expect(u32(g, 0x9000 - 4) & 0x200).toBe(0x200);
    expect(u32(g, LD)).toBe(0);
  });
});

describe('in/out emulation (#GP errcode 0 at EIP >= PO)', () => {
  function io(bytes: number[], eax = 0x12345678, errcode = 0, eip = 0xc0100400): FakeGuest {
    const g = initedFakeGuest();
    if (eip >= 0xc0000000) g.mem.ram.set(bytes, eip - 0xc0000000);
    g.cpu.trap(13, errcode, 0, (c) => {
      c.eip = eip;
      c.setReg(EAX, eax);
    });
    g.file.run({ budget: 1 });
    return g;
  }
  const cases: [string, number[], number, number][] = [
    ['in al, imm8', [0xe4, 0x71], 0x1234ffff, 2],
    ['in al, dx', [0xec], 0x1234ffff, 1],
    ['66 in al, imm8 (quirk: top half)', [0x66, 0xe4, 0x71], 0xffff5678, 3],
    ['66 in al, dx (quirk)', [0x66, 0xec], 0xffff5678, 2],
    ['in eax, imm8', [0xe5, 0x71], 0xffffffff, 2],
    ['in eax, dx', [0xed], 0xffffffff, 1],
    ['66 in ax, imm8', [0x66, 0xe5, 0x71], 0xffffffff, 3],
    ['66 in ax, dx', [0x66, 0xed], 0xffffffff, 2],
    ['out imm8, al', [0xe6, 0x80], 0x12345678, 2],
    ['out dx, al', [0xee], 0x12345678, 1],
    ['out imm8, eax', [0xe7, 0x80], 0x12345678, 2],
    ['66 out dx, ax', [0x66, 0xef], 0x12345678, 2],
  ];
  for (const [name, bytes, eax, len] of cases) {
    it(`${name}: EAX and EIP`, () => {
      const g = io(bytes);
      expect(g.lg.state.dead).toBeNull();
      expect(g.cpu.getReg(EAX)).toBe(eax);
      expect(g.cpu.eip).toBe(0xc0100400 + len);
    });
  }
  for (const [name, bytes] of [
    ['rep insb', [0xf3, 0x6c]],
    ['66 66 in', [0x66, 0x66, 0xe4, 0x71]],
    ['hlt', [0xf4]],
  ] as const) {
    it(`${name} is not emulated: #GP reaches the guest (here: no gate, so it dies)`, () => {
      const g = io([...bytes]);
      expect(g.lg.state.dead).toBe('unhandled trap 13 at 0xc0100400 (0x0)');
    });
  }
  it('not from user-mode EIP, not with a non-zero error code', () => {
    expect(io([0xe4, 0x71], 0, 0, 0x08048000).lg.state.dead).toBe('unhandled trap 13 at 0x8048000 (0x0)');
    expect(io([0xe4, 0x71], 0, 0x1a).lg.state.dead).toBe('unhandled trap 13 at 0xc0100400 (0x1a)');
  });
  it('instruction bytes outside memory: bad read address %#lx len 1', () => {
    const g = initedFakeGuest();
    g.cpu.trap(13, 0, 0, (c) => (c.eip = 0xc0401000));
    expect(g.file.run({ budget: 1 })).toEqual({ kind: 'dead', reason: 'bad read address 0x401000 len 1' });
  });
});
