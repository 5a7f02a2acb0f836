; direct-trap: #UD from ring 3 through the guest's trap gate goes straight to the guest (no exit):
; the CPU switches to TSS ss1:esp1 (from SET_STACK) and pushes the real EFLAGS (IF = 1), even
; though the guest's virtual interrupt flag is 0.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 6, ud_handler, 0xF, 0
        mov     dword [lguest_data + LD_IRQ_ENABLED], 0
        ENTER_USER user_code
user_code:
ud_at:  ud2
ud_handler:
        mov     [RESULTS], esp
        mov     esi, esp
        mov     edi, RESULTS+4
        mov     ecx, 5
        cld
        rep movsd
        mov     dword [RESULTS+0x18], ud_at
        CRASH   "direct"
noirq_start:
noirq_end:
        GUEST_GDT
        LGUEST_DATA
