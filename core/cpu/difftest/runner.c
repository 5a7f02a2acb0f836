/*
 * Native side of the differential tests and the benchmark: a static 32-bit Linux program that
 * runs raw i386 code at fixed addresses in its own process and reports the architectural state
 * the code left behind. Every snippet ends with INT3 (or faults first); the signal handler reads
 * the registers, EFLAGS, trap number, error code, CR2 and x87 state from the signal frame and
 * siglongjmps back, so thousands of cases run in one process.
 *
 *   runner diff  CODE.bin CASES.bin   one output line per case (see print_case)
 *   runner bench PROG.bin RUNS        runs a flat program RUNS times, prints "eax ns" per run
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* Keep in sync with layout.ts. */
#define CODE_BASE 0x20000000u
#define DATA_BASE 0x30000000u
#define DATA_BYTES 0x2000u
#define WINDOW 512u
#define BENCH_BASE 0x40000000u
#define BENCH_BYTES 0x01000000u /* program image, data, heap */
#define BENCH_STACK_TOP (BENCH_BASE + BENCH_BYTES)

/* The trampoline block: POPAD order, then EFLAGS, ESP and the entry point. */
struct tramp {
  uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
  uint32_t eflags, esp, entry;
};
struct tramp tramp_block;
uint16_t tramp_fcw;

/* Loads the guest state and jumps to it; never returns (INT3 or a fault ends the snippet). */
void enter_guest(void);
__asm__(".text\n"
        ".globl enter_guest\n"
        "enter_guest:\n"
        "  fninit\n"
        "  fldcw tramp_fcw\n"
        "  movl $0x2b, %eax\n" /* a snippet may have changed these: start from the process's values */
        "  movl %eax, %ds\n"
        "  movl %eax, %es\n"
        "  xorl %eax, %eax\n"
        "  movl %eax, %fs\n"
        "  movl $tramp_block, %esp\n"
        "  popal\n"
        "  popfl\n"
        "  movl tramp_block+36, %esp\n"
        "  jmp *tramp_block+40\n");

struct result {
  uint32_t vec, err, cr2, eip, regs[8], efl;
  uint16_t fcw, fsw, ftw;
  uint16_t st[8][5];
  int have_fpu;
};
static struct result res;
static sigjmp_buf back;

static void on_signal(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)si;
  ucontext_t *uc = ucv;
  greg_t *g = uc->uc_mcontext.gregs;
  res.vec = (uint32_t)g[REG_TRAPNO];
  res.err = (uint32_t)g[REG_ERR];
  res.cr2 = (uint32_t)uc->uc_mcontext.cr2;
  res.eip = (uint32_t)g[REG_EIP];
  res.regs[0] = (uint32_t)g[REG_EAX];
  res.regs[1] = (uint32_t)g[REG_ECX];
  res.regs[2] = (uint32_t)g[REG_EDX];
  res.regs[3] = (uint32_t)g[REG_EBX];
  res.regs[4] = (uint32_t)g[REG_UESP];
  res.regs[5] = (uint32_t)g[REG_EBP];
  res.regs[6] = (uint32_t)g[REG_ESI];
  res.regs[7] = (uint32_t)g[REG_EDI];
  res.efl = (uint32_t)g[REG_EFL];
  struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
  res.have_fpu = fp != NULL;
  if (fp) {
    res.fcw = (uint16_t)fp->cw;
    res.fsw = (uint16_t)fp->sw;
    res.ftw = (uint16_t)fp->tag;
    for (int i = 0; i < 8; i++) {
      for (int k = 0; k < 4; k++) res.st[i][k] = fp->_st[i].significand[k];
      res.st[i][4] = fp->_st[i].exponent;
    }
  }
  siglongjmp(back, 1);
}

static void on_alarm(int sig) {
  (void)sig;
  fprintf(stderr, "runner: a case did not finish within the time limit\n");
  _exit(3);
}

static void install_handlers(void) {
  static char altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) {
    perror("sigaltstack");
    exit(2);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
  signal(SIGALRM, on_alarm);
}

static void *map_fixed(uint32_t addr, uint32_t len, int prot) {
  void *p = mmap((void *)(uintptr_t)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED || p != (void *)(uintptr_t)addr) {
    fprintf(stderr, "runner: cannot map %#x (+%#x)\n", addr, len);
    exit(2);
  }
  return p;
}

static uint8_t *slurp(const char *path, uint32_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
    perror(path);
    exit(2);
  }
  fclose(f);
  *len = (uint32_t)n;
  return buf;
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* Prints the case result; memory as the bytes of the whole data area that differ from its
   initial contents (the input window, zeros after it). */
static void print_case(const uint8_t *window_in, const uint8_t *data) {
  printf("%x %x %x %x", res.vec, res.err, res.vec == 14 ? res.cr2 : 0, res.eip);
  for (int i = 0; i < 8; i++) printf(" %x", res.regs[i]);
  printf(" %x %x %x %x", res.efl, res.fcw, res.fsw, res.ftw);
  for (int i = 0; i < 8; i++)
    printf(" %04x%04x%04x%04x%04x", res.st[i][4], res.st[i][3], res.st[i][2], res.st[i][1], res.st[i][0]);
  printf(" m");
  for (uint32_t i = 0; i < DATA_BYTES; i++) {
    uint8_t before = i < WINDOW ? window_in[i] : 0;
    if (data[i] != before) printf(" %x=%x", i, data[i]);
  }
  printf("\n");
}

static int run_diff(const char *code_path, const char *cases_path) {
  uint32_t code_len, cases_len;
  uint8_t *code = slurp(code_path, &code_len);
  uint8_t *cases = slurp(cases_path, &cases_len);
  uint32_t code_map = (code_len + 0xfffu) & ~0xfffu;
  uint8_t *code_mem = map_fixed(CODE_BASE, code_map, PROT_READ | PROT_WRITE);
  memcpy(code_mem, code, code_len);
  mprotect(code_mem, code_map, PROT_READ | PROT_EXEC);
  /* Executable too: self-modifying-code cases run instructions they write into the window. */
  uint8_t *data = map_fixed(DATA_BASE, DATA_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC);
  uint32_t count = rd32(cases);
  const uint32_t rec = 4 + 32 + 4 + 4 + WINDOW;
  if (cases_len != 4 + count * rec) {
    fprintf(stderr, "runner: cases file has %u bytes, expected %u\n", cases_len, 4 + count * rec);
    return 2;
  }
  install_handlers();
  /* Whole lines only, so a runner that dies mid-way still shows which case it reached. */
  static char outbuf[1 << 16];
  setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);
  for (uint32_t c = 0; c < count; c++) {
    const uint8_t *r = cases + 4 + c * rec;
    memset(data, 0, DATA_BYTES);
    memcpy(data, r + 44, WINDOW);
    uint32_t regs[8];
    for (int i = 0; i < 8; i++) regs[i] = rd32(r + 4 + 4 * i);
    tramp_block.eax = regs[0];
    tramp_block.ecx = regs[1];
    tramp_block.edx = regs[2];
    tramp_block.ebx = regs[3];
    tramp_block.esp = regs[4];
    tramp_block.ebp = regs[5];
    tramp_block.esi = regs[6];
    tramp_block.edi = regs[7];
    tramp_block.eflags = rd32(r + 36);
    tramp_fcw = (uint16_t)rd32(r + 40);
    tramp_block.entry = CODE_BASE + rd32(r);
    memset(&res, 0, sizeof res);
    alarm(2);
    if (sigsetjmp(back, 1) == 0) enter_guest();
    alarm(0);
    print_case(r + 44, data);
  }
  fflush(stdout);
  return 0;
}

static int run_bench(const char *prog_path, int runs) {
  uint32_t len;
  uint8_t *prog = slurp(prog_path, &len);
  if (len > BENCH_BYTES / 2) {
    fprintf(stderr, "runner: program too large\n");
    return 2;
  }
  uint8_t *mem = map_fixed(BENCH_BASE, BENCH_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC);
  install_handlers();
  for (int i = 0; i < runs; i++) {
    memset(mem, 0, BENCH_BYTES);
    memcpy(mem, prog, len);
    memset(&tramp_block, 0, sizeof tramp_block);
    tramp_block.eflags = 0x202;
    tramp_block.esp = BENCH_STACK_TOP - 16;
    tramp_block.entry = BENCH_BASE;
    tramp_fcw = 0x37f;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    alarm(60);
    if (sigsetjmp(back, 1) == 0) enter_guest();
    alarm(0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (res.vec != 3) {
      fprintf(stderr, "runner: program stopped with vector %u at %#x\n", res.vec, res.eip);
      return 1;
    }
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("%x %lld\n", res.regs[0], ns);
  }
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "diff") == 0) return run_diff(argv[2], argv[3]);
  if (argc == 4 && strcmp(argv[1], "bench") == 0) return run_bench(argv[2], atoi(argv[3]));
  fprintf(stderr, "usage: runner diff CODE.bin CASES.bin | runner bench PROG.bin RUNS\n");
  return 2;
}
