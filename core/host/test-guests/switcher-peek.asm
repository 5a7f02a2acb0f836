; switcher-peek: ring 3 reads the Switcher's state page. The shadow maps it supervisor-only, the
; guest has no PDE 1023, so the host reflects #PF (errcode 5: present, user, read) with cr2.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 14, pf_handler, 0xE, 0
        ENTER_USER user_code
user_code:
        mov     eax, [0xFFC02000]
        ud2
pf_handler:
        mov     eax, [lguest_data + LD_CR2]
        mov     [RESULTS], eax
        mov     eax, [esp]
        mov     [RESULTS+4], eax
        CRASH   "peek"
noirq_start:
noirq_end:
        GUEST_GDT
        LGUEST_DATA
