/*
 * kmain: the boot sequence of the demo guest, in the order a Linux 2.6.23
 * lguest guest does it (copy boot params, LGUEST_INIT first, page tables,
 * descriptor tables, clock, devices, then the first processes).
 */
#include "kernel.h"

static char cmdline[256];
static u32 ram_end; /* e820 RAM size = max_pfn << 12: the device page is there */

static const char *dev_type_name(u16 type)
{
	switch (type) {
	case LGUEST_DEVICE_T_CONSOLE: return "console";
	case LGUEST_DEVICE_T_NET: return "net";
	case LGUEST_DEVICE_T_BLOCK: return "block";
	}
	return "unknown";
}

/* The lguest "bus": 16 descriptors on the page just past the end of RAM. */
static void probe_devices(void)
{
	/* The descriptor page sits right after RAM (max_pfn << 12). */
	struct lguest_device_desc *desc = ioremap(ram_end, 1);
	u32 i;

	printk("lguest bus: device page at 0x%08x\n", ram_end);
	for (i = 0; i < LGUEST_MAX_DEVICES; i++) {
		struct lguest_device_desc *d = &desc[i];
		if (!d->type)
			continue;
		d->status |= LGUEST_DEVICE_S_ACKNOWLEDGE;
		printk("  device %u: %-7s features 0x%04x pages %u pfn 0x%x irq %u\n", i,
		       dev_type_name(d->type), d->features, d->num_pages, d->pfn, i + 1);
		switch (d->type) {
		case LGUEST_DEVICE_T_CONSOLE:
			d->status |= LGUEST_DEVICE_S_DRIVER;
			console_probe((int)i, d);
			printk("  hvc0: lguest console, input irq %u\n", i + 1);
			break;
		case LGUEST_DEVICE_T_BLOCK:
			d->status |= LGUEST_DEVICE_S_DRIVER;
			blk_probe((int)i, d);
			if (blk_present())
				printk("  lgba: %u sectors (%u KiB)\n", blk_sectors(), blk_sectors() / 2);
			break;
		case LGUEST_DEVICE_T_NET:
			d->status |= LGUEST_DEVICE_S_DRIVER;
			net_probe((int)i, d);
			break;
		default:
			printk("  no driver for type %u\n", d->type);
		}
	}
}

void kmain(u8 *boot_params)
{
	u32 mem, cmd_ptr, rd_start, mapped, ptes, pgdir, khz;
	u32 *zp = (u32 *)boot_params;

	/* Nobody cleared our .bss (the native head.S never runs under lguest). */
	memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));

	/* Copy what we need from the boot parameters (the "zero page"). */
	ram_end = zp[0x2D8 / 4] & ~(PAGE_SIZE - 1); /* e820 entry 0: RAM size */
	mem = ram_end < LOWMEM_MAX ? ram_end : LOWMEM_MAX; /* no highmem support */
	cmd_ptr = zp[0x228 / 4];
	if (cmd_ptr && cmd_ptr < mem - 2048)
		strlcpy(cmdline, __va(cmd_ptr), sizeof(cmdline));
	rd_start = ram_end;
	if (boot_params[0x210] && zp[0x218 / 4] && zp[0x218 / 4] < ram_end)
		rd_start = zp[0x218 / 4] & ~(PAGE_SIZE - 1); /* initrd at the top of RAM */

	/* The first hypercall must be LGUEST_INIT. */
	lguest_init_data();

	printk("lguest demo guest " DEMO_VERSION " (freestanding C + NASM, i386)\n");
	printk("Booting paravirtualized kernel on lguest (guest id %u)\n", lguest_data.guestid);
	printk("BIOS-provided physical RAM map:\n");
	printk(" LGUEST: %016llx - %016llx (usable)\n", 0ull, (u64)zp[0x2D8 / 4] | (u64)zp[0x2DC / 4] << 32);
	printk("Kernel command line: %s\n", cmdline);
	if (zp[0x2DC / 4] || ram_end > 0x40000000u || mem < 4 * 1024 * 1024)
		panic("demo guest needs 4 MiB .. 1 GiB of RAM");
	if (mem < ram_end)
		printk("%uMB HIGHMEM available but not used (no highmem support)\n",
		       (ram_end - mem) >> 20);

	/* Where the Launcher put its boot page tables: just below the initrd. */
	mapped = ram_end / PAGE_SIZE;
	pgdir = rd_start - PAGE_SIZE;
	ptes = pgdir - ((mapped + 1023) / 1024) * PAGE_SIZE;
	mm_init(mem, __pa(__kernel_end), ptes, pgdir + PAGE_SIZE);
	printk("Memory: %uk RAM, %uk free, kernel 0x%08x-0x%08x (%uk)\n", mem / 1024,
	       free_frames * 4, (u32)__kernel_start, (u32)__kernel_end,
	       (u32)(__kernel_end - __kernel_start) / 1024);

	gdt_init();
	idt_init();
	sched_init((u32)boot_stack);
	hcall(LHCALL_TS, 8, 0, 0); /* TS set: the first FPU use traps (lazy FPU) */

	clock_init();
	clockevent_init();
	khz = lguest_data.tsc_khz;
	if (khz)
		printk("Time: tsc clocksource, %u.%03u MHz\n", khz / 1000, khz % 1000);
	else
		printk("Time: lguest clocksource (no TSC rate from the Host)\n");
	printk("Clock event: one-shot lguest timer, %u Hz tick\n", HZ);

	probe_devices();

	if (kthread_create("shell", shell_main) < 0)
		panic("cannot start the shell");
	irq_enable(); /* the patched sti: irq_enabled = 0x200 */
	idle_loop();
}
