; traps: a #UD reflected from ring 1, then one from ring 3 (both through interrupt gates, so
; they exit to the host and are reflected by buildFrame). The frames are copied to RESULTS.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 6, ud_handler1, 0xE, 0
        push    dword 0x202
        popf
ud_at1: ud2
        CRASH   "no reflection"

ud_handler1:
        mov     [RESULTS], esp
        mov     eax, [esp]
        mov     [RESULTS+4], eax
        mov     eax, [esp+4]
        mov     [RESULTS+8], eax
        mov     eax, [esp+8]
        mov     [RESULTS+12], eax
        mov     dword [RESULTS+16], ud_at1
        SET_GATE 6, ud_handler3, 0xE, 0
        mov     dword [lguest_data + LD_IRQ_ENABLED], 0x200
        ENTER_USER user_code

user_code:
ud_at3: ud2

ud_handler3:
        mov     [RESULTS+0x20], esp
        mov     esi, esp
        mov     edi, RESULTS+0x24
        mov     ecx, 5
        cld
        rep movsd
        mov     dword [RESULTS+0x38], ud_at3
        mov     eax, [lguest_data + LD_IRQ_ENABLED]
        mov     [RESULTS+0x3C], eax
        CRASH   "traps done"
noirq_start:
noirq_end:
        GUEST_GDT
        LGUEST_DATA
