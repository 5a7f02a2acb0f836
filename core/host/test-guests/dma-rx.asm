; dma-rx: binds one receive buffer on key (shared page + 4) with IRQ 1 and halts; the IRQ
; handler reports used_len. The shared page is at GPA 0x300000 in this guest.
bits 32
%include "lguest.mac"
%define SHARED 0xC0300000
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 0x21, rx_handler, 0xE, 0
        mov     dword [lguest_data + LD_BLOCKED], 0
        HCALL   LHCALL_BIND_DMA, GPA(SHARED) + 4, GPA(rx_dma), (1 << 8) | 1
        mov     [RESULTS], eax
idle:   mov     dword [lguest_data + LD_IRQ_ENABLED], 0
        HCALL   LHCALL_HALT
        jmp     idle
rx_handler:
        mov     eax, [rx_dma]
        mov     [RESULTS+4], eax
        CRASH   "received"
noirq_start:
noirq_end:
        align   4, db 0
rx_dma: dd      0
        dd      GPA(rx_buf)
        times 15 dd 0
        dw      64
        times 15 dw 0
rx_buf: times 64 db 0
        LGUEST_DATA
