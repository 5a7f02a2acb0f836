; timer: IRQ 0 on vector 0x20, a 1 ms one-shot clock event re-armed by the handler, and the idle
; loop halting with interrupts "off" (as 2.6.23's lguest idle does). Five ticks end the test.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 0x20, timer_handler, 0xE, 0
        mov     dword [lguest_data + LD_BLOCKED], 0
        mov     dword [lguest_data + LD_IRQ_ENABLED], 0x200
        HCALL   LHCALL_SET_CLOCKEVENT, 1000000
idle:   cmp     dword [RESULTS], 5
        jae     done
        mov     dword [lguest_data + LD_IRQ_ENABLED], 0
        HCALL   LHCALL_HALT
        jmp     idle
done:   mov     eax, [lguest_data + LD_TIME]
        mov     [RESULTS+4], eax
        mov     eax, [lguest_data + LD_TIME + 4]
        mov     [RESULTS+8], eax
        CRASH   "ticks"
timer_handler:
        inc     dword [RESULTS]
        pushad
        HCALL   LHCALL_SET_CLOCKEVENT, 1000000
        popad
        LGUEST_IRET
        LGUEST_DATA
