// A hostile guest, generated from a seed: a flat i386 "kernel" (wrapped in an ELF) that does the
// LGUEST_INIT a real guest does and then anything but behave: random hypercalls (EAX 0-20, wild
// arguments), forged async-ring entries, DMA descriptors with random addresses and lengths sent to
// the console and to random keys, privileged and faulting instructions at CPL 1, and scribbles on
// its own lguest_data. If it survives all that, it powers off. The same seed gives the same bytes.
// The code is emitted as machine code directly (no assembler needed at test time).

import { makeElf } from './test-images';

const PAGE_OFFSET = 0xc0000000;
const LOAD_GPA = 0x100000;
/** struct lguest_data, the DMA scratch page and the messages live in pages after the code. */
const DATA_GPA = 0x108000;
const SCRATCH_GPA = 0x109000;
const KSTACK_TOP = PAGE_OFFSET + 0x90000;
/** The guests run with this much RAM (the generator's addresses assume it). */
export const HOSTILE_GUEST_MB = 4;

const LHCALL_LGUEST_INIT = 1;
const LHCALL_CRASH = 2;
const LHCALL_SET_STACK = 7;
const LHCALL_BIND_DMA = 12;
const LHCALL_SEND_DMA = 13;
const LD_HCALL_STATUS = 20;
const LD_HCALLS = 84;
/** Hypercall numbers range over 0-20: every real one, the unused 11, and past the last. */
const MAX_HCALL = 20;

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

class Code {
  readonly bytes: number[] = [];

  emit(...b: number[]): void {
    this.bytes.push(...b.map((x) => x & 0xff));
  }

  imm32(v: number): void {
    this.emit(v, v >>> 8, v >>> 16, v >>> 24);
  }

  /** mov r32, imm32 (B8+r). */
  movReg(reg: number, v: number): void {
    this.emit(0xb8 + reg);
    this.imm32(v);
  }

  /** mov dword [abs], imm32. */
  store(virt: number, v: number): void {
    this.emit(0xc7, 0x05);
    this.imm32(virt);
    this.imm32(v);
  }

  /** A hypercall: EAX = call, EDX, EBX, ECX = arguments, int $0x1f. */
  hcall(call: number, edx: number, ebx: number, ecx: number): void {
    this.movReg(0, call);
    this.movReg(2, edx);
    this.movReg(3, ebx);
    this.movReg(1, ecx);
    this.emit(0xcd, 0x1f);
  }
}

const EAX = 0,
  EDX = 2;

/** Privileged or faulting instructions a guest kernel at CPL 1 must not get away with. */
const PRIVILEGED: number[][] = [
  [0xfa], // cli
  [0xfb], // sti
  [0xf4], // hlt
  [0xec], // in al, dx
  [0xee], // out dx, al
  [0xe4, 0x60], // in al, 0x60
  [0x0f, 0x22, 0xd8], // mov cr3, eax
  [0x0f, 0x20, 0xc0], // mov eax, cr0
  [0x0f, 0x22, 0xc0], // mov cr0, eax
  [0x0f, 0x01, 0x10], // lgdt [eax]
  [0x0f, 0x01, 0x18], // lidt [eax]
  [0x0f, 0x00, 0xd8], // ltr ax
  [0x0f, 0x00, 0xd0], // lldt ax
  [0x0f, 0x09], // wbinvd
  [0x0f, 0x01, 0x38], // invlpg [eax]
  [0x0f, 0x32], // rdmsr
  [0x0f, 0x30], // wrmsr
  [0x0f, 0x06], // clts
  [0x0f, 0x0b], // ud2
  [0xcc], // int3
  [0x8e, 0xd8], // mov ds, ax
  [0x8e, 0xd0], // mov ss, ax
  [0x8b, 0x00], // mov eax, [eax]
  [0x89, 0x00], // mov [eax], eax
  [0xf7, 0xf1], // div ecx
  [0x9d], // popf
  [0xcf], // iret
];

/** Arguments hostile and plausible: small numbers, guest-physical and virtual addresses, extremes. */
function argument(r: () => number): number {
  const ramTop = HOSTILE_GUEST_MB << 20;
  switch (Math.floor(r() * 8)) {
    case 0:
      return Math.floor(r() * 64);
    case 1:
      return Math.floor(r() * (ramTop + 0x3000)) & ~3;
    case 2:
      return (PAGE_OFFSET + Math.floor(r() * ramTop)) >>> 0;
    case 3:
      return [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffff000, ramTop, ramTop - 4][Math.floor(r() * 8)]!;
    case 4:
      return SCRATCH_GPA + Math.floor(r() * 4096);
    case 5:
      return DATA_GPA + Math.floor(r() * 4096);
    default:
      return Math.floor(r() * 2 ** 32) >>> 0;
  }
}

/** The ELF of hostile guest number `seed`. */
export function hostileGuest(seed: number): Uint8Array {
  const r = rng(seed);
  const code = new Code();
  for (const c of 'GenuineLguest') code.emit(c.charCodeAt(0));
  // The entry: a stack, LGUEST_INIT, the kernel stack for traps (as the real guest does).
  code.movReg(4, KSTACK_TOP);
  code.hcall(LHCALL_LGUEST_INIT, DATA_GPA, 0, 0);
  code.hcall(LHCALL_SET_STACK, 0x69, KSTACK_TOP, 2);
  // Mostly short runs (so that some survive to power off), some long ones.
  const ops = 1 + Math.floor(r() ** 3 * 96);
  for (let i = 0; i < ops; i++) {
    switch (Math.floor(r() * 6)) {
      case 0:
      case 1:
        code.hcall(Math.floor(r() * (MAX_HCALL + 1)), argument(r), argument(r), argument(r));
        break;
      case 2: {
        // A DMA descriptor (used_len, 16 addresses, 16 lengths) with random contents, sent.
        const dma = PAGE_OFFSET + SCRATCH_GPA + (Math.floor(r() * 32) << 7);
        code.store(dma, argument(r));
        for (let k = 0; k < 4; k++) {
          code.store(dma + 4 + 4 * k, argument(r));
          code.store(dma + 68 + 2 * k, Math.floor(r() * 0x10000) | (r() < 0.5 ? 0 : Math.floor(r() * 0x10000) << 16));
        }
        const key = r() < 0.5 ? 0 : argument(r);
        if (r() < 0.3) code.hcall(LHCALL_BIND_DMA, key, dma - PAGE_OFFSET, argument(r));
        else code.hcall(LHCALL_SEND_DMA, key, dma - PAGE_OFFSET, 0);
        break;
      }
      case 3: {
        // Forged entries in the async hypercall ring, then any hypercall to have them run.
        const slot = Math.floor(r() * 64);
        const entry = PAGE_OFFSET + DATA_GPA + LD_HCALLS + 16 * (slot % 64);
        code.store(entry, Math.floor(r() * (MAX_HCALL + 1)));
        for (let k = 1; k < 4; k++) code.store(entry + 4 * k, argument(r));
        code.store(PAGE_OFFSET + DATA_GPA + LD_HCALL_STATUS + (slot & ~3), r() < 0.5 ? 0 : argument(r));
        code.hcall(Math.floor(r() * 2) === 0 ? 0 : Math.floor(r() * (MAX_HCALL + 1)), argument(r), argument(r), 0);
        break;
      }
      case 4:
        code.movReg(EAX, argument(r));
        code.movReg(EDX, argument(r));
        code.movReg(1, argument(r));
        code.emit(...PRIVILEGED[Math.floor(r() * PRIVILEGED.length)]!);
        break;
      case 5:
        // Scribbles on lguest_data (interrupt flags, blocked interrupts, the ring, ...).
        code.store(PAGE_OFFSET + DATA_GPA + (Math.floor(r() * 280) << 2), argument(r));
        break;
    }
  }
  // Survived: power off, as a guest's machine_power_off does.
  code.hcall(LHCALL_CRASH, DATA_GPA + 0xf00, 0, 0);
  code.emit(0xeb, 0xfe); // jmp $ (never reached: CRASH kills the guest)

  const image = new Uint8Array(SCRATCH_GPA + 0x1000 - LOAD_GPA);
  image.set(code.bytes, 0);
  if (code.bytes.length > DATA_GPA - LOAD_GPA) throw new Error(`hostile guest ${seed}: code too long`);
  // lguest_data as the 2.6.23 image has it: timer blocked, the ring empty (status 0xFF).
  const data = DATA_GPA - LOAD_GPA;
  new DataView(image.buffer).setUint32(data + 4, 1, true);
  image.fill(0xff, data + LD_HCALL_STATUS, data + LD_HCALL_STATUS + 64);
  image.set(new TextEncoder().encode('Power down\0'), data + 0xf00);
  return makeElf({ segments: [{ vaddr: PAGE_OFFSET + LOAD_GPA, paddr: LOAD_GPA, data: image }] });
}
