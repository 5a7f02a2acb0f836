; pagefault: the kernel reads one page and writes another; the host's demand faults set A (and
; D on the write) in the Launcher-built page table, and map the read-only-touched page read-only.
bits 32
%include "lguest.mac"
        org     LOAD_VA
start:
        GUEST_START
        mov     eax, [PAGE_OFFSET + 0x201000]
        mov     dword [PAGE_OFFSET + 0x200000], 0x600d
        mov     eax, [PAGE_OFFSET + 0x200000]
        mov     [RESULTS], eax
        CRASH   "paged"
noirq_start:
noirq_end:
        LGUEST_DATA
