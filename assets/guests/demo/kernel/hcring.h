/* The asynchronous hypercall ring inside lguest_data (pure logic, unit-tested natively). */
#ifndef DEMO_HCRING_H
#define DEMO_HCRING_H
#include "types.h"

/*
 * Queue one hypercall in slot *next.  The Guest fills slots strictly in
 * order 0,1,..,63,0,..; a slot is free when its status byte is 0xFF (the
 * Host writes 0xFF after running it).  We write the four registers first and
 * only then set status = 0 ("ready"), so the Host never sees a half-filled
 * slot.  Returns 1 if queued, 0 if the ring is full: then the caller makes
 * the call synchronously, and the Host drains the ring before running it,
 * so the order of calls is preserved.
 */
int hcring_push(struct lguest_data *ld, unsigned *next, u32 eax, u32 edx, u32 ebx, u32 ecx);

/* Number of queued calls the Host has not yet consumed. */
unsigned hcring_pending(const struct lguest_data *ld);

#endif
