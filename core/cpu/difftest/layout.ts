// The fixed linear addresses shared by the native runner (runner.c) and the emulated user-mode
// machine, so the same code bytes with absolute addresses run unchanged on both sides.

/** Where the assembled snippets live (read + execute). */
export const CODE_BASE = 0x2000_0000;
/** Two writable data pages; the first WINDOW bytes are loaded per case and compared. */
export const DATA_BASE = 0x3000_0000;
export const DATA_BYTES = 0x2000;
export const WINDOW = 512;
/** The first unmapped page after the data pages (page-fault tests touch it). */
export const GUARD_PAGE = DATA_BASE + DATA_BYTES;
/** Initial ESP of every case: the stack lives in the top part of the window. */
export const CASE_ESP = DATA_BASE + 0x1c0;

/** Benchmark programs: image at the base, zeroed heap after it, stack at the top. */
export const BENCH_BASE = 0x4000_0000;
export const BENCH_BYTES = 0x0100_0000;
export const BENCH_STACK_TOP = BENCH_BASE + BENCH_BYTES;

/** Selectors a 32-bit process sees on a 64-bit Linux kernel; the emulated GDT mirrors them. */
export const USER_CS = 0x23;
export const USER_DS = 0x2b;
export const USER_GS = 0x63;
