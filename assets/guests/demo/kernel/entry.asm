; Low-level entry points of the demo guest: the lguest boot entry, trap and
; interrupt stubs, the lguest iret path and the kernel stack switch.
bits 32

extern kmain
extern trap_dispatch
extern lguest_data

PAGE_OFFSET equ 0xC0000000

; ---------------------------------------------------------------------------
; The Launcher searches the image for the 13 bytes below and starts us at the
; byte right after them (as a virtual address), at CPL 1 with CS=0x61,
; DS=ES=SS=0x69, ESP=0, ESI=0 (guest-physical address of the boot
; parameters) and its own page tables mapping PAGE_OFFSET+x -> x.
section .head progbits alloc exec nowrite align=16
    db "GenuineLguest"
global lguest_entry
lguest_entry:
    mov esp, boot_stack_top        ; we have no stack yet (ESP=0)
    add esi, PAGE_OFFSET           ; boot parameters as a kernel pointer
    push esi
    call kmain                     ; never returns
.hang:
    jmp .hang

section .text

; ---------------------------------------------------------------------------
; Trap stubs.  The Host reflects traps and injects interrupts by building a
; normal x86 frame on our kernel stack (SS/ESP too when we came from ring 3);
; direct trap gates (e.g. int $0x80) get the same frame from the CPU.
%macro TRAP_NOERR 1
global trap%1
trap%1:
    push dword 0                   ; fake error code
    push dword %1
    jmp common_trap
%endmacro
%macro TRAP_ERR 1
global trap%1
trap%1:
    push dword %1                  ; CPU/Host pushed the error code
    jmp common_trap
%endmacro

TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_NOERR 9
TRAP_ERR 10
TRAP_ERR 11
TRAP_ERR 12
TRAP_ERR 13
TRAP_ERR 14
TRAP_NOERR 16
TRAP_ERR 17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 0x80
%assign i 0x20
%rep 32                            ; IRQ 0..31 on vectors 0x20..0x3F
global trap %+ i
trap %+ i:
    push dword 0
    push dword i
    jmp common_trap
%assign i i+1
%endrep

; Table of the IRQ stubs for idt_init().
section .rodata
global irq_stubs
irq_stubs:
%assign i 0x20
%rep 32
    dd trap %+ i
%assign i i+1
%endrep
section .text

common_trap:
    pushad
    push ds
    push es
    push fs
    push gs
    mov ax, 0x69                   ; __KERNEL_DS | 1
    mov ds, ax
    mov es, ax
    push esp                       ; struct trapframe *
    call trap_dispatch
    add esp, 4
global ret_from_trap
ret_from_trap:
    pop gs
    pop fs
    pop es
    pop ds
    popad
    add esp, 8                     ; vector and error code
    ; fall through

; ---------------------------------------------------------------------------
; lguest_iret: a real iret at CPL 1 cannot change IF, so we copy the saved
; EFLAGS into lguest_data.irq_enabled ourselves.  Between that store and the
; iret we must not be interrupted (we would lose the frame's IF state), so
; the two labels are published to the Host in lguest_data.noirq_start/end.
global lguest_iret
lguest_iret:
    push eax
    mov eax, [esp+12]              ; saved EFLAGS (above EAX, EIP and CS)
global lguest_noirq_start
lguest_noirq_start:
    mov [ss:lguest_data], eax      ; irq_enabled = saved EFLAGS
    pop eax
    iret
global lguest_noirq_end
lguest_noirq_end:

; ---------------------------------------------------------------------------
; void switch_stacks(u32 *save_esp, u32 new_esp): save callee-saved
; registers, park this task's stack pointer, resume another task.
global switch_stacks
switch_stacks:
    mov eax, [esp+4]
    mov edx, [esp+8]
    push ebp
    push ebx
    push esi
    push edi
    mov [eax], esp
    mov esp, edx
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; First run of a kernel thread: switch_stacks "returns" here with the thread
; function on the stack.  Enable interrupts (store 0x200, the patched sti).
extern do_exit
global kthread_start
kthread_start:
    mov dword [lguest_data], 0x200
    pop eax
    call eax
    push dword 0
    call do_exit

; ---------------------------------------------------------------------------
; The boot stack (8 KiB) lives outside .bss so that zeroing .bss in kmain
; does not wipe the stack we are running on.
section .stack nobits alloc write align=8192
global boot_stack, boot_stack_top
boot_stack:
    resb 8192
boot_stack_top:
