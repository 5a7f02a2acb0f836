; user-hcall: the hypercall gate has DPL 1, so int $0x1F from ring 3 is #GP(0x1F*8+2 = 0xFA),
; reflected to the guest's #GP handler like any other general protection fault.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 13, gp_handler, 0xF, 0
        ENTER_USER user_code
user_code:
        mov     eax, LHCALL_CRASH
        int     0x1f
        ud2
gp_handler:
        mov     eax, [esp]
        mov     [RESULTS], eax
        mov     eax, [esp+8]
        mov     [RESULTS+4], eax                ; CS of the faulting code
        CRASH   "gp"
noirq_start:
noirq_end:
        GUEST_GDT
        LGUEST_DATA
