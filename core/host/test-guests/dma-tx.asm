; dma-tx: sends one buffer to key (shared page + 4); here the shared page is at GPA 0x310000.
bits 32
%include "lguest.mac"
%define SHARED 0xC0310000
        org     LOAD_VA
start:
        GUEST_START
        HCALL   LHCALL_SEND_DMA, GPA(SHARED) + 4, GPA(tx_dma)
        mov     eax, [tx_dma]
        mov     [RESULTS], eax
        CRASH   "sent"
noirq_start:
noirq_end:
        align   4, db 0
tx_dma: dd      0
        dd      GPA(msg)
        times 15 dd 0
        dw      msg_len
        times 15 dw 0
msg:    db      "ping over sharenet"
msg_len equ $ - msg
        LGUEST_DATA
