; int3: vector 3 is an interrupt gate in the guest, so not direct; the host gate has DPL 0 and
; int3 raises #GP(3*8+2 = 0x1A), which the host reflects as trap 13.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 3, bp_handler, 0xE, 3
        SET_GATE 13, gp_handler, 0xF, 0
        int3
        ud2
bp_handler:
        CRASH   "int3 delivered directly"
gp_handler:
        mov     eax, [esp]
        mov     [RESULTS], eax
        CRASH   "gp"
noirq_start:
noirq_end:
        LGUEST_DATA
