/*
 * Block driver, speaking the lguest_block_page protocol of 2.6.23:
 * the request lives in the device page (type, sector, bytes, result);
 * one request at a time.
 *   write: SEND_DMA(page GPA, dma with the data) -- data goes out;
 *   read:  the data buffer goes into the *bound* reply dma, then an empty
 *          "ping" SEND_DMA(page GPA) asks the Launcher to fill it.
 * Completion: our IRQ, with result 1 = ok, 2 = error (0 = not yet).
 */
#include "kernel.h"

static struct lguest_block_page *page;
static u32 page_gpa;
static struct lguest_dma reply; /* bound on key page_gpa */
static u8 bounce[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static int blk_irq = -1;
static int blk_wait, blk_busy;
static u32 nsectors;

int blk_present(void)
{
	return page != NULL;
}

u32 blk_sectors(void)
{
	return nsectors;
}

static void blk_interrupt(void)
{
	if (*(volatile s32 *)&page->result == 0)
		return; /* not for us yet */
	reply.used_len = 0;
	wake_up(&blk_wait);
}

int blk_rw(int write, u32 sector, void *buf512)
{
	struct lguest_dma dma;
	u32 flags;
	int ok;

	if (!page || sector >= nsectors)
		return -1;
	flags = irq_save();
	while (blk_busy)
		sleep_on(&blk_busy);
	blk_busy = 1;

	page->type = write ? 1 : 0;
	page->sector = sector;
	page->bytes = 512;
	page->result = 0;
	memset(&dma, 0, sizeof(dma));
	if (write) {
		memcpy(bounce, buf512, 512);
		dma.addr[0] = __pa(bounce);
		dma.len[0] = 512;
	} else {
		reply.used_len = 0;
		reply.addr[0] = __pa(bounce);
		reply.len[0] = 512;
		reply.len[1] = 0;
		/* dma stays empty (len[0] == 0): just a ping */
	}
	hcall(LHCALL_SEND_DMA, page_gpa, __pa(&dma), 0);
	while (*(volatile s32 *)&page->result == 0)
		sleep_on(&blk_wait);
	ok = page->result == 1;
	reply.used_len = 0;
	if (ok && !write)
		memcpy(buf512, bounce, 512);

	blk_busy = 0;
	wake_up(&blk_busy);
	irq_restore(flags);
	return ok ? 0 : -1;
}

void blk_probe(int index, struct lguest_device_desc *d)
{
	page_gpa = d->pfn * PAGE_SIZE;
	page = ioremap(page_gpa, 1);
	nsectors = page->num_sectors; /* set by the Launcher */
	blk_irq = index + 1;
	irq_handlers[blk_irq] = blk_interrupt;
	memset(&reply, 0, sizeof(reply)); /* len[0] = 0 until a read fills it */
	if (!hcall(LHCALL_BIND_DMA, page_gpa, __pa(&reply), (1 << 8) | blk_irq)) {
		d->status |= LGUEST_DEVICE_S_FAILED;
		page = NULL;
		printk("  lgba: BIND_DMA failed\n");
		return;
	}
	irq_unmask(blk_irq);
	d->status |= LGUEST_DEVICE_S_DRIVER_OK;
}
