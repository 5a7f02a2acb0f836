; Trap entry and the way into user mode, shared by both harness platforms (see platform.h).
bits 32

USER_CS equ 0x73
USER_DS equ 0x7b

extern trap
extern user_eflags
global trap_stubs
global enter_user
global kernel_stack_top

section .text

; One stub per vector 0..19: vectors without a CPU error code push a 0 in its place.
%macro STUB 1
stub_%1:
%if %1 != 8 && (%1 < 10 || %1 > 14) && %1 != 17
	push dword 0
%endif
	push dword %1
	jmp trap_common
%endmacro
%assign v 0
%rep 20
	STUB v
%assign v v + 1
%endrep

trap_common:
	pushad
	push esp                ; struct trap_frame *
	call trap               ; never returns

; enter_user(eip, esp): a fresh kernel stack, user data segments, then iret to CPL 3.
enter_user:
	mov eax, [esp + 4]
	mov ecx, [esp + 8]
	mov esp, kernel_stack_top
	push dword USER_DS
	push ecx
	push dword [user_eflags]
	push dword USER_CS
	push eax
	mov ax, USER_DS
	mov ds, ax
	mov es, ax
	xor eax, eax
	xor ebx, ebx
	xor ecx, ecx
	xor edx, edx
	xor esi, esi
	xor edi, edi
	xor ebp, ebp
	iretd

section .rodata
align 4
trap_stubs:
%assign v 0
%rep 20
	dd stub_ %+ v
%assign v v + 1
%endrep

section .bss
align 4096
kernel_stack:
	resb 4096
kernel_stack_top:
