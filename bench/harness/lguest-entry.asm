; Entry of the harness as an lguest guest: the Launcher starts at the byte after the marker, at
; CPL 1 on its own linear page tables (PAGE_OFFSET + x -> x), with ESP = 0.
bits 32
extern kernel_main
extern kernel_stack_top
section .text.entry
	db "GenuineLguest"
	mov esp, kernel_stack_top
	call kernel_main
