; syscall: int $0x80 through the guest's DPL-3 trap gate goes straight to the guest (no host
; exit), from ring 1 (like kernel_execve) and from ring 3. eax=1 ends the test.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        SET_GATE 0x80, sys_handler, 0xF, 3
        xor     eax, eax
        int     0x80
        xor     eax, eax
        int     0x80
        ENTER_USER user_code
user_code:
        mov     ecx, 100
.again: xor     eax, eax
        int     0x80
        dec     ecx
        jnz     .again
        mov     eax, 1
        int     0x80
        ud2
sys_handler:
        cmp     eax, 1
        je      .done
        inc     dword [RESULTS]
        iret
.done:  CRASH   "syscalls done"
noirq_start:
noirq_end:
        GUEST_GDT
        LGUEST_DATA
