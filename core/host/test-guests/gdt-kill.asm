; gdt-kill: LOAD_GDT with an empty kernel data entry: the host cannot reload DS/SS (0x69) on the
; next entry and kills the guest with "unhandled trap 256 at ...".
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        HCALL   LHCALL_LOAD_GDT, GPA(bad_gdt), 32
        ud2
noirq_start:
noirq_end:
        align   8, db 0
bad_gdt:
        times 12 dq 0
        dq      0x00CF9A000000FFFF              ; 12 kernel code
        dq      0                               ; 13 kernel data: gone
        times 18 dq 0
        LGUEST_DATA
