; A tiny lguest guest for the Launcher's end-to-end tests (flat binary, wrapped in an ELF by the
; test). MODE 1: block write+read, console output and IRQ-driven input; 2: net sender; 3: receiver.

bits 32
PO        equ 0xC0000000
MEM       equ 0x400000              ; the tests run it with memoryMB = 4
PGDIR     equ MEM - 0x1000          ; no initrd: the Launcher's page directory is the top RAM page
DEVPTES   equ 0x200000              ; GPA of the page table we build for the device pages
DESCS     equ PO + MEM              ; device descriptor page (virtual, once mapped)
DEVPAGE   equ MEM + 0x1000          ; GPA of device 0's page (block or network)
CON_IRQ   equ 2                     ; device 0 has IRQ 1, the console (created last) IRQ 2
DEV_IRQ   equ 1

org PO + 0x100000

        db 'GenuineLguest'
entry:
        mov esp, PO + 0x90000
        mov eax, 1                  ; LHCALL_LGUEST_INIT
        mov edx, lguest_data - PO
        int 0x1f

        ; Map the descriptor page and device pages (above RAM, so not in the initial tables):
        ; a page table at DEVPTES covering GPA MEM.., hooked into PDE (PO+MEM)>>22, then flush.
        mov edi, PO + DEVPTES
        mov eax, MEM | 7
        mov ecx, 4
.pte:   mov [edi], eax
        add eax, 0x1000
        add edi, 4
        loop .pte
        mov dword [PO + PGDIR + ((PO + MEM) >> 22) * 4], DEVPTES | 7
        mov eax, 5                  ; LHCALL_FLUSH_TLB(1): drop every shadow PDE
        mov edx, 1
        int 0x1f

%if MODE == 1
        mov esi, hello
        mov ecx, hello_len
        call print

        ; --- the reply buffer is bound first, as the real driver does at probe time
        mov eax, 12                 ; LHCALL_BIND_DMA(key = page, rdma, 1 buffer, DEV_IRQ)
        mov edx, DEVPAGE
        mov ebx, rdma - PO
        mov ecx, (1 << 8) | DEV_IRQ
        int 0x1f
        cmp eax, 1
        jne fail

        ; --- block write: sector 1 <- wbuf
        mov ebx, PO + DEVPAGE
        mov dword [ebx + 0], 1      ; type = write
        mov dword [ebx + 4], 1      ; sector
        mov dword [ebx + 8], 512    ; bytes
        mov dword [ebx + 12], 0     ; result
        mov eax, 13                 ; LHCALL_SEND_DMA(key = page, wdma)
        mov edx, DEVPAGE
        mov ebx, wdma - PO
        int 0x1f
        mov eax, [PO + DEVPAGE + 12]
        add al, '0'
        mov [wres + 2], al
        mov esi, wres
        mov ecx, 4
        call print

        ; --- block read: sector 0 -> rbuf through the bound reply buffer, pinged with an empty DMA
        mov dword [rdma], 0
        mov ebx, PO + DEVPAGE
        mov dword [ebx + 0], 0
        mov dword [ebx + 4], 0
        mov dword [ebx + 8], 512
        mov dword [ebx + 12], 0
        mov eax, 13
        mov edx, DEVPAGE
        mov ebx, ping - PO
        int 0x1f
        mov eax, [PO + DEVPAGE + 12]
        add al, '0'
        mov [rres + 2], al
        mov esi, rres
        mov ecx, 4
        call print
        mov esi, rbuf
        mov ecx, 16
        call print

        ; --- console input: gate for the console IRQ, bind one 16-byte buffer, halt until it fills
        mov edx, 0x20 + CON_IRQ
        call set_gate
        mov eax, 12
        mov edx, 0                  ; the console key
        mov ebx, indma - PO
        mov ecx, (1 << 8) | CON_IRQ
        int 0x1f
        cmp eax, 1
        jne fail
        mov dword [rounds], 2
.again: call wait_irq
        mov esi, lt
        mov ecx, 1
        call print
        mov esi, inbuf
        mov ecx, [indma]            ; used_len
        call print
        mov esi, gt
        mov ecx, 1
        call print
        mov dword [indma], 0        ; buffer free again
        dec dword [rounds]
        jnz .again
        jmp power_off
%endif

%if MODE == 2 || MODE == 3
        movzx eax, word [DESCS + 2] ; features of device 0: our slot in the low bits
        and eax, 0xfff
        mov [me], eax
        imul edi, eax, 6
        add edi, PO + DEVPAGE       ; &peer[me]
%endif

%if MODE == 3
        mov edx, 0x20 + DEV_IRQ
        call set_gate
        mov eax, 12                 ; BIND_DMA(page + 4*me, rxdma, 1 buffer, DEV_IRQ)
        mov edx, [me]
        lea edx, [DEVPAGE + edx * 4]
        mov ebx, rxdma - PO
        mov ecx, (1 << 8) | DEV_IRQ
        int 0x1f
        cmp eax, 1
        jne fail
        call write_mac              ; only now may others send to us
        call wait_irq
        mov esi, rxmsg
        mov ecx, rxmsg_len
        call print
        mov esi, rxbuf + 14         ; skip the Ethernet header
        mov ecx, [rxdma]
        sub ecx, 14
        call print
        jmp power_off
%endif

%if MODE == 2
        call write_mac
        mov dword [rounds], 200000
.look:  xor ecx, ecx                ; find another slot with a MAC
.peer:  cmp ecx, [me]
        je .next
        imul ebx, ecx, 6
        cmp byte [PO + DEVPAGE + ebx], 0
        jne .found
.next:  inc ecx
        cmp ecx, 8
        jb .peer
        dec dword [rounds]
        jnz .look
        jmp fail
.found: mov eax, 13                 ; SEND_DMA(page + 4*peer, txdma)
        lea edx, [DEVPAGE + ecx * 4]
        mov ebx, txdma - PO
        mov dword [txdma], 0
        int 0x1f
        cmp dword [txdma], frame_len
        jne fail
        mov esi, txok
        mov ecx, txok_len
        call print
        jmp power_off
%endif

; write our MAC 02:00:<guestid LE>:00:00 into peer[me] (edi)
write_mac:
        mov byte [edi], 2
        mov byte [edi + 1], 0
        mov ax, [lguest_data + 1112]
        mov [edi + 2], ax
        mov word [edi + 4], 0
        ret

; edx = vector: install an interrupt gate to irq_handler
set_gate:
        mov eax, 6                  ; LHCALL_LOAD_IDT_ENTRY(vector, lo, hi)
        mov ebx, irq_handler
        and ebx, 0xffff
        or ebx, 0x610000
        mov ecx, irq_handler
        and ecx, 0xffff0000
        or ecx, 0x8e00
        int 0x1f
        ret

wait_irq:
        mov dword [got_irq], 0
.halt:  mov eax, 10                 ; LHCALL_HALT: "sti; hlt"
        int 0x1f
        cmp dword [got_irq], 0
        je .halt
        ret

irq_handler:
        inc dword [got_irq]
        iret

; esi = virtual address, ecx = length: one console SEND_DMA on key 0
print:
        lea eax, [esi - PO]
        mov [outdma + 4], eax
        mov [outdma + 68], cx
        mov dword [outdma], 0
        mov eax, 13
        xor edx, edx
        mov ebx, outdma - PO
        int 0x1f
        ret

fail:
        mov eax, 2
        mov edx, failmsg - PO
        int 0x1f
power_off:
        mov eax, 2                  ; LHCALL_CRASH("Power down")
        mov edx, powermsg - PO
        int 0x1f
        jmp $

align 4
lguest_data:
        dd 0                        ; irq_enabled
%if MODE == 1
        dd 1 << DEV_IRQ             ; blocked_interrupts: the block IRQ stays masked
%else
        dd 0
%endif
        times 12 db 0               ; cr2, time
        times 64 db 0xff            ; hcall_status: every slot done
        times 1024 db 0             ; hcalls
        dd 0                        ; reserve_mem
        dw 0, 0                     ; guestid, padding
        dd 0                        ; tsc_khz
        dd 0, 0                     ; noirq_start, noirq_end: no window

%macro DMA 2                        ; one struct lguest_dma with a single section (addr, len)
        dd 0
        dd %1
        times 15 dd 0
        dw %2
        times 15 dw 0
%endmacro

outdma: DMA 0, 0
wdma:   DMA wbuf - PO, 512
rdma:   DMA rbuf - PO, 512
ping:   DMA 0, 0
indma:  DMA inbuf - PO, 16
rxdma:  DMA rxbuf - PO, 1514
txdma:  DMA frame - PO, frame_len

got_irq: dd 0
rounds:  dd 0
me:      dd 0
hello:   db 'hello from the e2e guest', 13, 10
hello_len equ $ - hello
wres:    db 'W=?', 10
rres:    db 'R=?', 10
lt:      db '<'
gt:      db '>'
rxmsg:   db 'RX:'
rxmsg_len equ $ - rxmsg
txok:    db 'TX-OK'
txok_len equ $ - txok
failmsg: db 'e2e guest failed', 0
powermsg: db 'Power down', 0
         times 128 db 0
; DMA sections between guests may not cross a page (the host checks), so these are aligned
         align 4096, db 0
frame:   db 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0, 0x88, 0xb5
         db 'FRAME-FROM-A'
frame_len equ $ - frame
wbuf:    db 'LGUEST-BLOCK-WRITE'
         times 512 - 18 db 'w'
rbuf:    times 512 db 0
inbuf:   times 16 db 0
         align 4096, db 0
rxbuf:   times 1514 db 0
