/*
 * lguest network driver (2.6.23 style).  The device page is an array of
 * 6-byte MAC slots shared by every guest on the same network (--sharenet);
 * our slot is features & (num_pages*4096 - 1).  We receive on the DMA key
 * page+4*me (8 bound buffers) and send a frame to peer i with
 * SEND_DMA(page+4*i) -- the Host copies it straight into i's buffers and
 * interrupts it.  On top we run a tiny "ping" protocol (ethertype 0x88B5);
 * pings are answered from the interrupt handler.
 */
#include "kernel.h"

#define NRX 8
#define ETH_MAX 1514
#define ETH_MIN 14
#define PING_TYPE 0x88B5
#define PING_REQ 1
#define PING_REPLY 2

struct ping_frame {
	u8 dst[6], src[6];
	u8 type_be[2];
	u8 magic[4];
	u8 op, pad[3];
	u32 seq;
	u32 stamp;
	u8 fill[26]; /* pad to the 60-byte Ethernet minimum */
} __attribute__((packed));

static u8 *peers;    /* mapped device page: u8 mac[6] per slot */
static u32 page_gpa, nslots, me;
static u8 mac[6];
static int net_irq = -1;
static struct lguest_dma rx[NRX];
static u8 rxbuf[NRX][2048] __attribute__((aligned(PAGE_SIZE))); /* never crosses a page */
static u32 rx_frames, rx_dropped, tx_frames, tx_errors;
static volatile u32 ping_replies, pings_answered;
static u32 ping_from[4];

int net_present(void)
{
	return peers != NULL;
}

static int mac_eq(const u8 *a, const u8 *b)
{
	/* bit 0 of byte 0 (promiscuous flag in the slot table) is ignored */
	return ((a[0] ^ b[0]) & ~1) == 0 && !memcmp(a + 1, b + 1, 5);
}

/* Send one frame to every slot that should see it; returns copies sent. */
static u32 net_xmit(const void *frame, u32 len)
{
	const u8 *dst = frame;
	u32 i, sent = 0;
	for (i = 0; i < nslots; i++) {
		const u8 *p = peers + 6 * i;
		struct lguest_dma dma;
		if (i == me || p[0] == 0)
			continue;
		if (!(dst[0] & 1) && !(p[0] & 1) && !mac_eq(dst, p))
			continue;
		memset(&dma, 0, sizeof(dma));
		dma.addr[0] = __pa(frame);
		dma.len[0] = (u16)len;
		hcall(LHCALL_SEND_DMA, page_gpa + 4 * i, __pa(&dma), 0);
		if (dma.used_len == len)
			tx_frames++;
		else
			tx_errors++;
		sent++;
	}
	return sent;
}

static void handle_frame(u8 *buf, u32 len)
{
	struct ping_frame *f = (struct ping_frame *)buf;
	if (len < sizeof(*f) || f->type_be[0] != (PING_TYPE >> 8) ||
	    f->type_be[1] != (PING_TYPE & 0xFF) || memcmp(f->magic, "DEMO", 4))
		return;
	if (!mac_eq(f->dst, mac))
		return;
	if (f->op == PING_REQ) {
		/* Answer right here in the interrupt handler. */
		struct ping_frame r = *f;
		memcpy(r.dst, f->src, 6);
		memcpy(r.src, mac, 6);
		r.op = PING_REPLY;
		net_xmit(&r, sizeof(r));
		pings_answered++;
	} else if (f->op == PING_REPLY) {
		ping_replies++;
		ping_from[f->seq & 3] = f->src[2] | (u32)f->src[3] << 8;
	}
}

static void net_interrupt(void)
{
	int i;
	for (i = 0; i < NRX; i++) {
		u32 len = rx[i].used_len;
		if (!len)
			continue;
		if (len < ETH_MIN || len > ETH_MAX) {
			rx_dropped++;
		} else {
			rx_frames++;
			handle_frame(rxbuf[i], len);
		}
		rx[i].used_len = 0; /* give the buffer back */
	}
}

void net_probe(int index, struct lguest_device_desc *d)
{
	int i;
	page_gpa = d->pfn * PAGE_SIZE;
	nslots = d->num_pages * PAGE_SIZE / 6;
	me = d->features & (d->num_pages * PAGE_SIZE - 1);
	if (!d->num_pages || me >= nslots) {
		d->status |= LGUEST_DEVICE_S_FAILED;
		return;
	}
	peers = ioremap(page_gpa, d->num_pages);
	net_irq = index + 1;
	/* MAC 02:00:<guestid little-endian>:00:00 */
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = (u8)(lguest_data.guestid & 0xFF);
	mac[3] = (u8)(lguest_data.guestid >> 8);
	mac[4] = mac[5] = 0;
	for (i = 0; i < NRX; i++) {
		memset(&rx[i], 0, sizeof(rx[i]));
		rx[i].addr[0] = __pa(rxbuf[i]);
		rx[i].len[0] = ETH_MAX;
	}
	irq_handlers[net_irq] = net_interrupt;
	/* Open: publish our MAC in our slot, then bind the 8 receive buffers. */
	memcpy(peers + 6 * me, mac, 6);
	if (!hcall(LHCALL_BIND_DMA, page_gpa + 4 * me, __pa(&rx[0]), (NRX << 8) | net_irq)) {
		memset(peers + 6 * me, 0, 6);
		peers = NULL;
		d->status |= LGUEST_DEVICE_S_FAILED;
		printk("  eth0: BIND_DMA failed\n");
		return;
	}
	irq_unmask(net_irq);
	d->status |= LGUEST_DEVICE_S_DRIVER_OK;
	printk("  eth0: slot %u, mac 02:00:%02x:%02x:00:00, irq %d\n", me, mac[2], mac[3], net_irq);
}

void net_info(void)
{
	u32 i;
	if (!peers) {
		printk("no network device\n");
		return;
	}
	printk("eth0: slot %u mac %02x:%02x:%02x:%02x:%02x:%02x irq %d\n", me, mac[0], mac[1], mac[2],
	       mac[3], mac[4], mac[5], net_irq);
	printk("  rx %u (dropped %u)  tx %u (errors %u)  pings answered %u\n", rx_frames, rx_dropped,
	       tx_frames, tx_errors, (u32)pings_answered);
	for (i = 0; i < nslots; i++) {
		const u8 *p = peers + 6 * i;
		if (i == me || p[0] == 0)
			continue;
		printk("  peer slot %u: %02x:%02x:%02x:%02x:%02x:%02x%s\n", i, p[0] & ~1, p[1], p[2],
		       p[3], p[4], p[5], (p[0] & 1) ? " (promiscuous: host/tap)" : "");
	}
}

void net_ping(u32 count)
{
	static struct ping_frame f; /* static: must be direct-mapped and stable */
	u32 i, seq, peers_pinged = 0, sent = 0, start, waited = 0, elapsed;
	if (!peers) {
		printk("no network device\n");
		return;
	}
	ping_replies = 0;
	start = clock_ms();
	for (i = 0; i < nslots; i++) {
		const u8 *p = peers + 6 * i;
		if (i == me || p[0] == 0 || (p[0] & 1))
			continue; /* skip empty slots and the promiscuous host tap */
		peers_pinged++;
		for (seq = 0; seq < count; seq++) {
			memset(&f, 0, sizeof(f));
			memcpy(f.dst, p, 6);
			memcpy(f.src, mac, 6);
			f.type_be[0] = PING_TYPE >> 8;
			f.type_be[1] = PING_TYPE & 0xFF;
			memcpy(f.magic, "DEMO", 4);
			f.op = PING_REQ;
			f.seq = seq;
			f.stamp = clock_ms();
			if (net_xmit(&f, sizeof(f)))
				sent++;
		}
	}
	if (!peers_pinged) {
		printk("ping: no other guests on this network\n");
		return;
	}
	/* Replies arrive by interrupt; wait up to 2 s for all of them. */
	while (ping_replies < sent && waited < 2 * HZ) {
		sleep_ticks(1);
		waited++;
	}
	elapsed = clock_ms() - start;
	printk("ping: %u peer(s), %u sent, %u replies in %u ms\n", peers_pinged, sent,
	       (u32)ping_replies, elapsed);
}
