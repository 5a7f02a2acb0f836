/*
 * lguest network driver (2.6.23 style).  The device page is an array of
 * 6-byte MAC slots shared by every guest on the same network (--sharenet);
 * our slot is features & (num_pages*4096 - 1).  We receive on the DMA key
 * page+4*me (8 bound buffers) and send a frame to peer i with
 * SEND_DMA(page+4*i) -- the Host copies it straight into i's buffers and
 * interrupts it.  On top we run "ping": real Ethernet/IPv4/ICMP echo frames
 * (guest id g is 10.0.0.g+1), so a capture of the network decodes in any
 * packet analyser; echo requests are answered from the interrupt handler.
 */
#include "kernel.h"

#define NRX 8
#define ETH_MAX 1514
#define ETH_MIN 14
#define ETH_P_IP 0x0800
#define IPPROTO_ICMP 1
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define IP_HDR_LEN 20

/* One echo frame: Ethernet, IPv4 (no options), ICMP echo, our payload. 60 bytes. */
struct ping_frame {
	u8 dst[6], src[6];
	u8 type_be[2];
	/* IPv4 */
	u8 ver_ihl, tos, tot_len_be[2], id_be[2], frag_be[2], ttl, proto, ip_csum_be[2];
	u8 saddr[4], daddr[4];
	/* ICMP echo */
	u8 icmp_type, icmp_code, icmp_csum_be[2], icmp_id_be[2], icmp_seq_be[2];
	/* payload */
	u8 magic[4];
	u32 seq;
	u32 stamp;
	u8 fill[6]; /* pad to the 60-byte Ethernet minimum */
} __attribute__((packed));

#define ICMP_LEN (sizeof(struct ping_frame) - 14 - IP_HDR_LEN)

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

/* The Internet checksum (RFC 1071) of len bytes, stored big-endian. */
static void inet_csum(const void *data, u32 len, u8 *out_be)
{
	const u8 *b = data;
	u32 sum = 0, i;
	for (i = 0; i + 1 < len; i += 2)
		sum += (u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (u32)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	sum = ~sum & 0xFFFF;
	out_be[0] = (u8)(sum >> 8);
	out_be[1] = (u8)sum;
}

static void ip_of(const u8 *m, u8 *ip)
{
	/* 10.0.0.<guest id + 1>: the guest id is in MAC bytes 2-3 */
	ip[0] = 10;
	ip[1] = 0;
	ip[2] = m[3];
	ip[3] = (u8)(m[2] + 1);
}

/* Fill in the IPv4 and ICMP headers and both checksums of an echo frame. */
static void seal_ping(struct ping_frame *f, u8 icmp_type)
{
	f->type_be[0] = ETH_P_IP >> 8;
	f->type_be[1] = ETH_P_IP & 0xFF;
	f->ver_ihl = 0x45;
	f->tos = 0;
	f->tot_len_be[0] = 0;
	f->tot_len_be[1] = (u8)(IP_HDR_LEN + ICMP_LEN);
	f->frag_be[0] = 0x40; /* don't fragment */
	f->frag_be[1] = 0;
	f->ttl = 64;
	f->proto = IPPROTO_ICMP;
	ip_of(f->src, f->saddr);
	ip_of(f->dst, f->daddr);
	f->ip_csum_be[0] = f->ip_csum_be[1] = 0;
	inet_csum(&f->ver_ihl, IP_HDR_LEN, f->ip_csum_be);
	f->icmp_type = icmp_type;
	f->icmp_code = 0;
	f->icmp_csum_be[0] = f->icmp_csum_be[1] = 0;
	inet_csum(&f->icmp_type, ICMP_LEN, f->icmp_csum_be);
}

static void handle_frame(u8 *buf, u32 len)
{
	struct ping_frame *f = (struct ping_frame *)buf;
	if (len < sizeof(*f) || f->type_be[0] != (ETH_P_IP >> 8) || f->type_be[1] != (ETH_P_IP & 0xFF) ||
	    f->proto != IPPROTO_ICMP || memcmp(f->magic, "DEMO", 4))
		return;
	if (!mac_eq(f->dst, mac))
		return;
	if (f->icmp_type == ICMP_ECHO_REQUEST) {
		/* Answer right here in the interrupt handler. */
		struct ping_frame r = *f;
		memcpy(r.dst, f->src, 6);
		memcpy(r.src, mac, 6);
		seal_ping(&r, ICMP_ECHO_REPLY);
		net_xmit(&r, sizeof(r));
		pings_answered++;
	} else if (f->icmp_type == ICMP_ECHO_REPLY) {
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
			f.id_be[0] = (u8)(seq >> 8);
			f.id_be[1] = (u8)seq;
			f.icmp_id_be[0] = 0;
			f.icmp_id_be[1] = (u8)(me + 1);
			f.icmp_seq_be[0] = (u8)(seq >> 8);
			f.icmp_seq_be[1] = (u8)seq;
			memcpy(f.magic, "DEMO", 4);
			f.seq = seq;
			f.stamp = clock_ms();
			seal_ping(&f, ICMP_ECHO_REQUEST);
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
