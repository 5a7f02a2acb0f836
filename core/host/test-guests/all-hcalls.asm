; all-hcalls: every hypercall a guest may make (HALT is in timer.asm), two of them through the
; async ring, with the register conventions of the real guest (EAX = call, EDX/EBX/ECX = args).
bits 32
%include "lguest.mac"
%define LAUNCHER_PGDIR 0x3FF000                 ; test-launcher.ts: top page of 4 MiB of RAM
        org     LOAD_VA
start:
        GUEST_START
        mov     dword [lguest_data + LD_HCALLS + 0], LHCALL_TS
        mov     dword [lguest_data + LD_HCALLS + 4], 8
        mov     byte [lguest_data + LD_HCALL_STATUS + 0], 0
        mov     dword [lguest_data + LD_HCALLS + 16], LHCALL_LOAD_TLS
        mov     dword [lguest_data + LD_HCALLS + 20], GPA(tls)
        mov     byte [lguest_data + LD_HCALL_STATUS + 1], 0
        HCALL   LHCALL_FLUSH_ASYNC
        movzx   eax, byte [lguest_data + LD_HCALL_STATUS + 1]
        mov     [RESULTS], eax
        HCALL   LHCALL_LOAD_GDT, GPA(gdt_table), 32
        HCALL   LHCALL_NEW_PGTABLE, LAUNCHER_PGDIR
        HCALL   LHCALL_FLUSH_TLB, 0
        HCALL   LHCALL_FLUSH_TLB, 1
        SET_GATE 0x21, start, 0xE, 0
        HCALL   LHCALL_TS, 0
        HCALL   LHCALL_SET_CLOCKEVENT, 0
        HCALL   LHCALL_BIND_DMA, 0x100, GPA(dmabuf), (1 << 8) | 1
        mov     [RESULTS+4], eax
        HCALL   LHCALL_SEND_DMA, 0x100, GPA(dmabuf)
        HCALL   LHCALL_SET_PTE, LAUNCHER_PGDIR, PAGE_OFFSET + 0x200000, 0x200067
        HCALL   LHCALL_SET_PMD, LAUNCHER_PGDIR, 0x300
        HCALL   LHCALL_LOAD_TLS, GPA(tls), 0
        CRASH   "all done"
noirq_start:
noirq_end:
        align   8, db 0
tls:    dq      0x00CFF2000000FFFF, 0x00CFF2000000FFFF, 0
dmabuf: times 100 db 0
        GUEST_GDT
        LGUEST_DATA
