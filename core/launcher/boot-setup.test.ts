import { describe, expect, it } from 'vitest';
import { encodeCommandLine, joinKernelArgs, writeBootParams } from './boot-params';
import { DeviceTable, TooManyDevicesError } from './device-table';
import { planGuestLayout, planPageTables } from './guest-layout';
import { LoadError } from './load-error';
import { writeInitialPageTables } from './page-tables';

const MIB = 1024 * 1024;
const PO = 0xc0000000;

const u8 = (ram: Uint8Array, at: number) => ram[at]!;
const u32 = (ram: Uint8Array, at: number) => new DataView(ram.buffer).getUint32(at, true);
const u64 = (ram: Uint8Array, at: number) => new DataView(ram.buffer).getBigUint64(at, true);

describe('boot parameters (§10.8)', () => {
  it('writes one e820 RAM entry, the command-line pointer and the unused subarch word', () => {
    const ram = new Uint8Array(2 * 4096);
    writeBootParams(ram, { mem: 64 * MIB, commandLine: 'root=/dev/lgba ', initrd: null });
    expect(u8(ram, 0x1e8)).toBe(1);
    expect(u64(ram, 0x2d0)).toBe(0n);
    expect(u64(ram, 0x2d8)).toBe(BigInt(64 * MIB));
    expect(u32(ram, 0x2e0)).toBe(1);
    expect(u32(ram, 0x228)).toBe(0x1000);
    expect(u32(ram, 0x23c)).toBe(1);
    // No initrd: the loader type and ramdisk fields stay zero.
    expect(u8(ram, 0x210)).toBe(0);
    expect(u32(ram, 0x218)).toBe(0);
    expect(u32(ram, 0x21c)).toBe(0);
    expect(new TextDecoder().decode(ram.subarray(0x1000, 0x1000 + 16))).toBe('root=/dev/lgba \0');
    // Nothing else in the zero page is touched.
    const touched = new Set([0x1e8, ...range(0x2d0, 0x2e4), ...range(0x228, 0x22c), ...range(0x23c, 0x240)]);
    for (let i = 0; i < 4096; i++) if (!touched.has(i)) expect(ram[i], `byte ${i}`).toBe(0);
  });

  it('records the initrd with its page-rounded size and loader type 0xFF', () => {
    const ram = new Uint8Array(2 * 4096);
    writeBootParams(ram, { mem: 32 * MIB, commandLine: '', initrd: { gpa: 32 * MIB - 0x3000, size: 0x3000 } });
    expect(u8(ram, 0x210)).toBe(0xff);
    expect(u32(ram, 0x218)).toBe(32 * MIB - 0x3000);
    expect(u32(ram, 0x21c)).toBe(0x3000);
    expect(u8(ram, 0x1000)).toBe(0); // empty command line: just the NUL
  });

  it('joins kernel arguments with a space after each, like the original', () => {
    expect(joinKernelArgs(['root=/dev/lgba', 'init=/bin/sh'])).toBe('root=/dev/lgba init=/bin/sh ');
    expect(joinKernelArgs([])).toBe('');
  });

  it('refuses a command line the guest would cut off at 2048 bytes', () => {
    expect(encodeCommandLine('x'.repeat(2047)).length).toBe(2048);
    expect(() => encodeCommandLine('x'.repeat(2048))).toThrow(LoadError);
  });
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

describe('guest memory layout (§10.3, §10.6)', () => {
  it('puts the page directory at the top of RAM and the PTE pages below it without an initrd', () => {
    const l = planGuestLayout(64 * MIB, 0x300000, PO, null);
    expect(l.initrd).toBeNull();
    expect(l.pgdir).toBe(64 * MIB - 4096);
    expect(l.ptePages).toBe(16);
    expect(l.ptes).toBe(64 * MIB - 4096 - 16 * 4096);
  });

  it('puts the initrd at the top of RAM rounded to pages, tables below it', () => {
    const l = planGuestLayout(64 * MIB, 0x300000, PO, 5000);
    expect(l.initrd).toEqual({ gpa: 64 * MIB - 8192, size: 8192 });
    expect(l.pgdir).toBe(64 * MIB - 8192 - 4096);
  });

  it('refuses an initrd that does not fit above the kernel', () => {
    expect(() => planGuestLayout(8 * MIB, 0x200000, PO, 6 * MIB)).toThrow(/initrd too large/);
    expect(() => planGuestLayout(8 * MIB, 0x200000, PO, 8 * MIB)).toThrow(/initrd too large/);
  });

  it('refuses a kernel that reaches into the page tables', () => {
    try {
      planGuestLayout(4 * MIB, 4 * MIB - 4096, PO, null);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(LoadError);
      expect((e as LoadError).code).toBe('image-too-large');
    }
  });
});

describe('initial page tables (§10.7)', () => {
  it('maps PAGE_OFFSET+x to x for all RAM with flags 0x007 and no identity map', () => {
    const mem = 8 * MIB;
    const ram = new Uint8Array(mem);
    const plan = planPageTables(mem, mem, PO);
    expect(plan).toEqual({ pgdir: mem - 4096, ptes: mem - 4096 - 2 * 4096, ptePages: 2, mappedPages: 2048 });
    writeInitialPageTables(ram, plan, PO);
    for (const i of [0, 1, 1023, 1024, 2047]) expect(u32(ram, plan.ptes + 4 * i)).toBe(i * 4096 + 7);
    expect(u32(ram, plan.pgdir + 4 * 768)).toBe(plan.ptes + 7);
    expect(u32(ram, plan.pgdir + 4 * 769)).toBe(plan.ptes + 4096 + 7);
    for (let i = 0; i < 1024; i++) if (i !== 768 && i !== 769) expect(u32(ram, plan.pgdir + 4 * i), `pde ${i}`).toBe(0);
  });

  it('handles a PAGE_OFFSET that is not 4 MiB aligned the way the C division did', () => {
    const mem = 4 * MIB;
    const ram = new Uint8Array(mem);
    const plan = planPageTables(mem, mem, 0xc0200000);
    writeInitialPageTables(ram, plan, 0xc0200000);
    // Only i = 0 starts a PTE page; (0 + 0xc0200) / 1024 = 768.
    expect(u32(ram, plan.pgdir + 4 * 768)).toBe(plan.ptes + 7);
    expect(u32(ram, plan.pgdir + 4 * 769)).toBe(0);
  });

  it('caps the linear map at 4 GiB - PAGE_OFFSET and fills PDE 1023 for > 1 GiB of RAM', () => {
    const mem = 1100 * MIB;
    const plan = planPageTables(mem, mem, PO);
    expect(plan.mappedPages).toBe(262144);
    expect(plan.ptePages).toBe(256);
    const ram = new Uint8Array(mem);
    writeInitialPageTables(ram, plan, PO);
    expect(u32(ram, plan.pgdir + 4 * 1023)).toBe(plan.ptes + 255 * 4096 + 7);
    expect(u32(ram, plan.ptes + 4 * 262143)).toBe(((262143 * 4096) | 7) >>> 0);
  });
});

describe('device descriptor page', () => {
  it('hands out descriptor slots and pages in order; IRQ = index + 1', () => {
    const t = new DeviceTable(64 * MIB);
    const blk = t.add(3, 0x8000, 1);
    const net = t.add(2, 0x4001, 1);
    const con = t.add(1, 0, 0);
    expect([blk.irq, net.irq, con.irq]).toEqual([1, 2, 3]);
    expect(blk.pageGpa).toBe(64 * MIB + 0x1000);
    expect(net.pfn).toBe(0x4002);
    expect(con.pfn).toBe(0);
    expect(t.top).toBe(64 * MIB + 0x3000);
    const ram = new Uint8Array(t.top);
    t.writeTo(new DataView(ram.buffer));
    const d = 64 * MIB;
    expect(Array.from(ram.subarray(d, d + 12))).toEqual([3, 0, 0, 0x80, 0, 0, 1, 0, 0x01, 0x40, 0, 0]);
    expect(Array.from(ram.subarray(d + 12, d + 24))).toEqual([2, 0, 1, 0x40, 0, 0, 1, 0, 0x02, 0x40, 0, 0]);
    expect(Array.from(ram.subarray(d + 24, d + 36))).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(ram.subarray(d + 36, d + 48))).toEqual(new Array(12).fill(0));
  });

  it('refuses a seventeenth device', () => {
    const t = new DeviceTable(4 * MIB);
    for (let i = 0; i < 16; i++) t.add(1, 0, 0);
    expect(() => t.add(1, 0, 0)).toThrow(TooManyDevicesError);
  });
});
