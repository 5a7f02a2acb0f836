; io: in/out from ring 1 fault with #GP(0) and the host emulates them (ABI 1.6), quirks included.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        mov     eax, 0x12345678
        in      al, 0x71                        ; E4 71: EAX |= 0xFFFF
        mov     [RESULTS], eax
        mov     eax, 0x12345678
        db      0x66
        in      al, 0x71                        ; 66 E4 71: EAX |= 0xFFFF0000 (quirk)
        mov     [RESULTS+4], eax
        mov     eax, 0x12345678
        mov     dx, 0x1F0
        in      eax, dx                         ; ED: all ones
        mov     [RESULTS+8], eax
        mov     eax, 0x12345678
        out     0x80, al                        ; E6 80: nothing
        out     dx, eax                         ; EF
        mov     [RESULTS+12], eax
        CRASH   "io done"
noirq_start:
noirq_end:
        LGUEST_DATA
