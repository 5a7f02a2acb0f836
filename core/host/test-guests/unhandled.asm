; unhandled: #UD with no IDT entry kills the guest with "unhandled trap 6 at <eip> (0x0)".
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        mov     dword [RESULTS], ud_at
ud_at:  ud2
noirq_start:
noirq_end:
        LGUEST_DATA
