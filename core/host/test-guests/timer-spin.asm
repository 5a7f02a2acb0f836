; timer-spin: the guest never halts; it spins with interrupts enabled while 1 ms clock events
; expire. Each expiry must force an exit so the host can inject IRQ 0. Three ticks end the test.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 0x20, timer_handler, 0xE, 0
        mov     dword [lguest_data + LD_BLOCKED], 0
        mov     dword [lguest_data + LD_IRQ_ENABLED], 0x200
        HCALL   LHCALL_SET_CLOCKEVENT, 1000000
spin:   inc     dword [RESULTS+4]
        cmp     dword [RESULTS], 3
        jb      spin
        CRASH   "spun"
timer_handler:
        inc     dword [RESULTS]
        pushad
        HCALL   LHCALL_SET_CLOCKEVENT, 1000000
        popad
        LGUEST_IRET
        LGUEST_DATA
