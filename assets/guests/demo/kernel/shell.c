/* The interactive shell (a kernel thread) and its commands. */
#include "kernel.h"
#include "fs.h"

#define LINE_MAX 200

static struct demofs fs;
static int fs_ok;
static u8 file_buf[16384];

/* ---- block device glue for demofs ---- */
static int dev_read(void *ctx, u32 sector, void *buf)
{
	(void)ctx;
	return blk_rw(0, sector, buf);
}
static int dev_write(void *ctx, u32 sector, const void *buf)
{
	(void)ctx;
	return blk_rw(1, sector, (void *)buf);
}
static struct fs_dev blkdev = { dev_read, dev_write, NULL, 0 };

static void mount_fs(void)
{
	int err;
	if (!blk_present()) {
		printk("demofs: no block device\n");
		return;
	}
	blkdev.num_sectors = blk_sectors();
	err = fs_mount(&fs, &blkdev);
	fs_ok = err == FS_OK;
	if (fs_ok)
		printk("demofs: lgba mounted, label \"%s\", %d files, %u KiB free\n", fs.sb.label,
		       fs_count(&fs), fs_free_sectors(&fs) / 2);
	else
		printk("demofs: lgba not mounted (%s); 'format' creates a filesystem\n",
		       fs_strerror(err));
}

/* ---- line editing ---- */
static int readline(char *buf, int max)
{
	static int last_cr;
	int len = 0, esc = 0;
	for (;;) {
		int c = console_getc();
		if (esc == 1) {
			esc = c == '[' ? 2 : 0;
			continue;
		}
		if (esc == 2) {
			if (c >= 0x40 && c <= 0x7E)
				esc = 0; /* end of an escape sequence (arrow keys etc.) */
			continue;
		}
		if (c == '\n' && last_cr) {
			last_cr = 0; /* "\r\n": already handled the \r */
			continue;
		}
		last_cr = c == '\r';
		if (c == '\r' || c == '\n') {
			console_write("\n", 1);
			buf[len] = 0;
			return len;
		}
		if (c == 27) {
			esc = 1;
		} else if (c == 0x7F || c == 8) {
			if (len) {
				len--;
				console_write("\b \b", 3);
			}
		} else if (c == 0x15) { /* ^U: kill line */
			while (len) {
				len--;
				console_write("\b \b", 3);
			}
		} else if (c == 3) { /* ^C */
			console_write("^C\n", 3);
			buf[0] = 0;
			return 0;
		} else if (c >= 32 && c < 127 && len < max - 1) {
			char ch = (char)c;
			buf[len++] = ch;
			console_write(&ch, 1); /* echo */
		}
	}
}

/* ---- commands ---- */
static void run_command(char *line);

static void cmd_help(char *args)
{
	static const char text[] =
	       "commands:\n"
	       "  help             this list\n"
	       "  uname [-a]       system name\n"
	       "  uptime           time since boot (TSC clock)\n"
	       "  ps               tasks\n"
	       "  mem              frames, page tables, hypercall counts\n"
	       "  ls               files on the block device (demofs)\n"
	       "  cat FILE         print a file\n"
	       "  write FILE TEXT  create/replace a file\n"
	       "  rm FILE          delete a file\n"
	       "  format [LABEL]   create an empty demofs on the block device\n"
	       "  net [ping [N]]   network info / ping the other guests N times\n"
	       "  bench [N]        CPU benchmark in a user process\n"
	       "  fault [KIND]     user process that faults: kernel null div ud gp int3\n"
	       "  run PROG [ARGS] [&]  run a user program (hello bench fault spin rev fpfmt)\n"
	       "  echo TEXT        print text\n"
	       "  trace CMD        run CMD and list the hypercalls it caused\n"
	       "  crash [MSG]      LHCALL_CRASH with a message\n"
	       "  halt             power down (CRASH \"Power down\")\n";
	(void)args;
	console_write(text, sizeof(text) - 1);
}

static void cmd_uname(char *args)
{
	printk("lguest-demo %s i686", DEMO_VERSION);
	if (args && !strcmp(args, "-a"))
		printk(" paravirt=lguest guestid=%u cpl=1 page_offset=0x%08x tsc_khz=%u",
		       lguest_data.guestid, PAGE_OFFSET, lguest_data.tsc_khz);
	printk("\n");
}

static void cmd_uptime(char *args)
{
	u32 ms = clock_ms(), s = ms / 1000;
	(void)args;
	printk("up %u:%02u:%02u.%03u, jiffies %u, timer interrupts %u\n", s / 3600, (s / 60) % 60,
	       s % 60, ms % 1000, (u32)jiffies, timer_irqs);
}

static void cmd_ps(char *args)
{
	static const char *const st[] = { "free", "run", "block", "sleep", "zombie" };
	int i;
	(void)args;
	printk("  PID  PPID STATE  TICKS PAGES NAME\n");
	for (i = 0; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		if (t->state == T_FREE)
			continue;
		printk("%5d %5d %-6s %6u %5u %s%s%s\n", t->pid, t->parent, st[t->state], t->ticks,
		       t->user_pages, t->name, t->is_user ? "" : " [kernel]",
		       t == current ? " *" : "");
	}
}

static void cmd_mem(char *args)
{
	u32 mapped, pts, i;
	(void)args;
	printk("RAM %u KiB: %u frames, %u free (%u KiB), %u in use\n", mem_bytes / 1024,
	       total_frames, free_frames, free_frames * 4, total_frames - free_frames);
	pts = count_pt_pages(kernel_pd, PAGE_OFFSET >> 22, 1022, &mapped);
	printk("kernel page directory at GPA 0x%08x: %u page tables, %u pages mapped\n",
	       __pa(kernel_pd), pts, mapped);
	for (i = 0; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		if (t->state == T_FREE || !t->is_user || t->state == T_ZOMBIE)
			continue;
		pts = count_pt_pages(t->pd, 0, (PAGE_OFFSET >> 22) - 1, &mapped);
		printk("  pid %d %s: pgdir GPA 0x%08x, %u user page tables, %u user pages\n", t->pid,
		       t->name, __pa(t->pd), pts, mapped);
	}
	printk("current cr3 0x%08x; page-table hypercalls so far (sync/async):\n", current_cr3());
	printk("  SET_PTE %u/%u  SET_PMD %u/%u  NEW_PGTABLE %u/%u  FLUSH_TLB %u/%u\n",
	       hc_total.sync[LHCALL_SET_PTE], hc_total.async[LHCALL_SET_PTE],
	       hc_total.sync[LHCALL_SET_PMD], hc_total.async[LHCALL_SET_PMD],
	       hc_total.sync[LHCALL_NEW_PGTABLE], hc_total.async[LHCALL_NEW_PGTABLE],
	       hc_total.sync[LHCALL_FLUSH_TLB], hc_total.async[LHCALL_FLUSH_TLB]);
	printk("  async ring: %u full-ring fallbacks, FLUSH_ASYNC %u\n", hc_total.ring_full,
	       hc_total.sync[LHCALL_FLUSH_ASYNC]);
}

static int need_fs(void)
{
	if (fs_ok)
		return 1;
	/* Only suggest 'format' when there is a disk it could format. */
	if (blk_present())
		printk("no filesystem (see 'format')\n");
	else
		printk("no block device (start the guest with a disk image)\n");
	return 0;
}

static void cmd_ls(char *args)
{
	int i, err;
	(void)args;
	if (blk_present()) {
		/* Re-read superblock and directory: shows the block protocol in `trace ls`. */
		err = fs_mount(&fs, &blkdev);
		fs_ok = err == FS_OK;
		if (!fs_ok) {
			printk("ls: %s\n", fs_strerror(err));
			return;
		}
	}
	if (!need_fs())
		return;
	for (i = 0; i < FS_MAX_FILES; i++)
		if (fs.dir[i].name[0])
			printk("%8u  %s\n", fs.dir[i].size, fs.dir[i].name);
	printk("%d files, %u KiB free\n", fs_count(&fs), fs_free_sectors(&fs) / 2);
}

static void cmd_cat(char *args)
{
	char *name = next_word(&args);
	int idx, n;
	u32 off = 0;
	if (!need_fs())
		return;
	if (!name) {
		printk("usage: cat FILE\n");
		return;
	}
	idx = fs_find(&fs, name);
	if (idx < 0) {
		printk("cat: %s: %s\n", name, fs_strerror(idx));
		return;
	}
	while ((n = fs_read(&fs, idx, off, file_buf, sizeof(file_buf))) > 0) {
		console_write((char *)file_buf, (size_t)n);
		off += (u32)n;
	}
	if (n < 0)
		printk("cat: %s\n", fs_strerror(n));
	else if (off && file_buf[(off - 1) % sizeof(file_buf)] != '\n')
		printk("\n");
}

static void cmd_write(char *args)
{
	char *name = next_word(&args);
	int err;
	u32 len;
	if (!need_fs())
		return;
	if (!name || !args) {
		printk("usage: write FILE TEXT\n");
		return;
	}
	len = (u32)strlen(args);
	memcpy(file_buf, args, len);
	file_buf[len++] = '\n';
	err = fs_write(&fs, name, file_buf, len);
	if (err)
		printk("write: %s\n", fs_strerror(err));
	else
		printk("wrote %u bytes to %s\n", len, name);
}

static void cmd_rm(char *args)
{
	char *name = next_word(&args);
	int err;
	if (!need_fs())
		return;
	if (!name) {
		printk("usage: rm FILE\n");
		return;
	}
	err = fs_remove(&fs, name);
	if (err)
		printk("rm: %s: %s\n", name, fs_strerror(err));
}

static void cmd_format(char *args)
{
	char *label = next_word(&args);
	int err;
	if (!blk_present()) {
		printk("no block device\n");
		return;
	}
	blkdev.num_sectors = blk_sectors();
	err = fs_format(&fs, &blkdev, label ? label : "demo");
	fs_ok = err == FS_OK;
	printk("format: %s\n", fs_strerror(err));
}

static void cmd_net(char *args)
{
	char *w = next_word(&args);
	u32 n = 4;
	if (!w) {
		net_info();
		return;
	}
	if (strcmp(w, "ping")) {
		printk("usage: net [ping [N]]\n");
		return;
	}
	w = next_word(&args);
	if (w && (parse_u32(w, &n) || n == 0 || n > 64)) {
		printk("ping: N must be 1..64\n");
		return;
	}
	net_ping(n);
}

static void run_prog(const char *prog, char *args)
{
	int pid, code, bg = 0;
	size_t n = args ? strlen(args) : 0;
	while (n && args[n - 1] == ' ')
		args[--n] = 0;
	if (n && args[n - 1] == '&') {
		bg = 1;
		args[--n] = 0;
		while (n && args[n - 1] == ' ')
			args[--n] = 0;
	}
	pid = spawn_user(prog, args);
	if (pid == -2) {
		printk("run: no program '%s' (try: hello bench fault spin rev fpfmt)\n", prog);
		return;
	}
	if (pid < 0) {
		printk("run: out of memory or tasks\n");
		return;
	}
	if (bg) {
		detach_pid(pid);
		printk("[%d] %s started in the background\n", pid, prog);
		return;
	}
	code = wait_pid(pid);
	if (code)
		printk("[%d] %s exited with status %d\n", pid, prog, code);
}

static void cmd_run(char *args)
{
	char *prog = next_word(&args);
	if (!prog) {
		int i;
		for (i = 0; i < user_prog_count; i++)
			printk("  %-6s %s\n", user_progs[i].name, user_progs[i].desc);
		return;
	}
	run_prog(prog, args);
}

static void cmd_bench(char *args)
{
	run_prog("bench", args);
}

static void cmd_fault(char *args)
{
	run_prog("fault", args);
}

static void cmd_echo(char *args)
{
	printk("%s\n", args ? args : "");
}

static void cmd_crash(char *args)
{
	lguest_crash(args && *args ? args : "demo guest crashed on request");
}

static void cmd_halt(char *args)
{
	(void)args;
	printk("System halted.\n");
	lguest_crash("Power down"); /* Linux's lguest power_off does exactly this */
}

static void cmd_trace(char *args)
{
	u32 i, total_sync = 0, total_async = 0, shown;
	while (args && *args == ' ')
		args++;
	if (!args || !*args) {
		printk("usage: trace COMMAND\n");
		return;
	}
	memset(&hc_trace, 0, sizeof(hc_trace));
	hc_trace_logged = 0;
	hc_tracing = 1;
	run_command(args);
	hc_tracing = 0;
	for (i = 0; i < LHCALL_MAX; i++) {
		total_sync += hc_trace.sync[i];
		total_async += hc_trace.async[i];
	}
	printk("trace: %u hypercalls (%u synchronous, %u through the async ring, %u ring-full)\n",
	       total_sync + total_async, total_sync, total_async, hc_trace.ring_full);
	printk("   nr  name              sync  async\n");
	for (i = 0; i < LHCALL_MAX; i++)
		if (hc_trace.sync[i] || hc_trace.async[i])
			printk("  %3u  %-15s %6u %6u\n", i, hcall_name(i), hc_trace.sync[i],
			       hc_trace.async[i]);
	shown = hc_trace_logged < TRACE_LOG ? hc_trace_logged : TRACE_LOG;
	if (shown)
		printk("first %u:\n", shown);
	for (i = 0; i < shown; i++) {
		struct hc_trace_entry *e = &hc_trace_log[i];
		printk("  %2u %s %s(0x%x, 0x%x, 0x%x)\n", i + 1, e->async ? "ring" : "int ",
		       hcall_name(e->nr), e->a1, e->a2, e->a3);
	}
}

static const struct {
	const char *name;
	void (*fn)(char *args);
} commands[] = {
	{ "help", cmd_help },     { "uname", cmd_uname }, { "uptime", cmd_uptime },
	{ "ps", cmd_ps },         { "mem", cmd_mem },     { "ls", cmd_ls },
	{ "cat", cmd_cat },       { "write", cmd_write }, { "rm", cmd_rm },
	{ "format", cmd_format }, { "net", cmd_net },     { "bench", cmd_bench },
	{ "fault", cmd_fault },   { "run", cmd_run },     { "echo", cmd_echo },
	{ "trace", cmd_trace },   { "crash", cmd_crash }, { "halt", cmd_halt },
};

static void run_command(char *line)
{
	char *cmd = next_word(&line);
	u32 i;
	if (!cmd)
		return;
	while (*line == ' ')
		line++;
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(cmd, commands[i].name)) {
			commands[i].fn(*line ? line : NULL);
			return;
		}
	}
	for (i = 0; i < (u32)user_prog_count; i++) {
		if (!strcmp(cmd, user_progs[i].name)) {
			run_prog(cmd, *line ? line : NULL);
			return;
		}
	}
	printk("%s: command not found (try 'help')\n", cmd);
}

void shell_main(void)
{
	static char line[LINE_MAX];
	mount_fs();
	printk("lguest demo guest ready\n");
	for (;;) {
		reap_orphans(); /* finished background processes */
		console_write("demo$ ", 6);
		readline(line, sizeof(line));
		run_command(line);
	}
}
