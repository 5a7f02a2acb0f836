/*
 * hvc-style console on DMA key 0.
 * Output: one SEND_DMA per chunk (<= 256 bytes) with a single section;
 *         "\n" becomes "\r\n" like the kernel console path.
 * Input:  one 256-byte buffer bound with BIND_DMA on key 0.  The Launcher
 *         fills it, sets used_len and raises our IRQ; we copy used_len
 *         bytes out and set used_len = 0 to hand the buffer back.
 */
#include "kernel.h"

#define OUT_CHUNK 256
#define IN_QUEUE 1024

static u8 cons_in[256] __attribute__((aligned(256)));
static struct lguest_dma cons_in_dma;
static int cons_irq = -1;
static u8 inq[IN_QUEUE];
static u32 inq_head, inq_tail; /* head: next to read; tail: next to write */
static int cons_wait;

static void send_chunk(const char *buf, u32 len)
{
	struct lguest_dma dma; /* on our stack: kernel stacks are direct-mapped */
	memset(&dma, 0, sizeof(dma));
	dma.addr[0] = __pa(buf);
	dma.len[0] = (u16)len; /* len[1] = 0 ends the section list */
	hcall(LHCALL_SEND_DMA, LGUEST_CONSOLE_DMA_KEY, __pa(&dma), 0);
}

void console_write(const char *s, size_t n)
{
	char buf[OUT_CHUNK];
	u32 len = 0, flags = irq_save(); /* keep lines whole */
	size_t i;
	for (i = 0; i < n; i++) {
		if (len >= OUT_CHUNK - 1) {
			send_chunk(buf, len);
			len = 0;
		}
		if (s[i] == '\n')
			buf[len++] = '\r';
		buf[len++] = s[i];
	}
	if (len)
		send_chunk(buf, len);
	irq_restore(flags);
}

int printk(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write(buf, strlen(buf));
	return n;
}

void panic(const char *fmt, ...)
{
	static char buf[128];
	va_list ap;
	irq_disable();
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printk("Kernel panic - not syncing: %s\n", buf);
	lguest_crash(buf);
}

void console_irq(void)
{
	u32 n = cons_in_dma.used_len, i;
	if (n > sizeof(cons_in))
		n = sizeof(cons_in);
	for (i = 0; i < n; i++) {
		if (inq_tail - inq_head < IN_QUEUE)
			inq[inq_tail++ % IN_QUEUE] = cons_in[i];
	}
	cons_in_dma.used_len = 0; /* buffer free again for the Launcher */
	if (n)
		wake_up(&cons_wait);
}

int console_try_getc(void)
{
	int c = -1;
	u32 flags = irq_save();
	if (inq_head != inq_tail)
		c = inq[inq_head++ % IN_QUEUE];
	irq_restore(flags);
	return c;
}

int console_getc(void)
{
	int c;
	u32 flags = irq_save();
	while (inq_head == inq_tail)
		sleep_on(&cons_wait);
	c = inq[inq_head++ % IN_QUEUE];
	irq_restore(flags);
	return c;
}

void console_probe(int index, struct lguest_device_desc *d)
{
	cons_irq = index + 1; /* device i interrupts on IRQ i+1 */
	cons_in_dma.used_len = 0;
	cons_in_dma.addr[0] = __pa(cons_in);
	cons_in_dma.len[0] = sizeof(cons_in);
	irq_handlers[cons_irq] = console_irq;
	/* BIND_DMA(key, dma array, (count << 8) | irq) returns 1 on success. */
	if (!hcall(LHCALL_BIND_DMA, LGUEST_CONSOLE_DMA_KEY, __pa(&cons_in_dma), (1 << 8) | cons_irq)) {
		d->status |= LGUEST_DEVICE_S_FAILED;
		printk("  console: BIND_DMA failed\n");
		return;
	}
	irq_unmask(cons_irq);
	d->status |= LGUEST_DEVICE_S_DRIVER_OK;
}
