#include "hcring.h"

int hcring_push(struct lguest_data *ld, unsigned *next, u32 eax, u32 edx, u32 ebx, u32 ecx)
{
	unsigned n = *next;
	volatile u8 *status = &ld->hcall_status[n];

	if (*status != 0xFF)
		return 0; /* Host has not consumed this slot yet: ring full */
	ld->hcalls[n].eax = eax;
	ld->hcalls[n].edx = edx;
	ld->hcalls[n].ebx = ebx;
	ld->hcalls[n].ecx = ecx;
	barrier(); /* arguments must be visible before the slot is marked ready */
	*status = 0;
	*next = (n + 1) % LHCALL_RING_SIZE;
	return 1;
}

unsigned hcring_pending(const struct lguest_data *ld)
{
	unsigned i, count = 0;
	for (i = 0; i < LHCALL_RING_SIZE; i++)
		if (((const volatile u8 *)ld->hcall_status)[i] != 0xFF)
			count++;
	return count;
}
