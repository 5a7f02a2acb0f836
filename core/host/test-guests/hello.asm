; hello: LGUEST_INIT, one console SEND_DMA (key 0) to the Launcher, then CRASH("done").
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        HCALL   LHCALL_SEND_DMA, 0, GPA(out_dma)
        mov     eax, [out_dma]                  ; used_len as the Launcher left it
        mov     [RESULTS], eax
        CRASH   "done"
noirq_start:
noirq_end:
        align   4, db 0
out_dma:
        dd      0                               ; used_len
        dd      GPA(msg)                        ; addr[0]
        times 15 dd 0
        dw      msg_len                         ; len[0]
        times 15 dw 0
msg:    db      "hello from a guest", 13, 10
msg_len equ $ - msg
        LGUEST_DATA
