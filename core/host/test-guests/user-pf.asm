; user-pf: a ring-3 process reads an address the guest never mapped; the host cannot fix the
; shadow, writes cr2 into lguest_data and reflects #PF; the guest handler reports cr2 and errcode.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 14, pf_handler, 0xE, 0
        ENTER_USER user_code
user_code:
pf_at:  mov     eax, [0x08048000]
        ud2
pf_handler:
        mov     eax, [lguest_data + LD_CR2]
        mov     [RESULTS], eax
        mov     eax, [esp]                      ; error code
        mov     [RESULTS+4], eax
        mov     eax, [esp+4]                    ; faulting EIP
        mov     [RESULTS+8], eax
        mov     dword [RESULTS+12], pf_at
        mov     eax, [esp+8]                    ; CS
        mov     [RESULTS+16], eax
        CRASH   "pf"
noirq_start:
noirq_end:
        GUEST_GDT
        LGUEST_DATA
