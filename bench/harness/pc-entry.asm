; Entry of the harness as a multiboot kernel (QEMU -kernel, v86): 32-bit protected mode, CPL 0,
; paging off. The header uses the address fields, so the image is a flat binary at 1 MiB.
bits 32
extern kernel_main
extern kernel_stack_top
extern load_end
extern bss_end
extern multiboot_info
MAGIC equ 0x1BADB002
FLAGS equ 0x00010000
section .text.entry
header:
	dd MAGIC
	dd FLAGS
	dd -(MAGIC + FLAGS)
	dd header               ; header_addr
	dd header               ; load_addr (the header opens the image)
	dd load_end
	dd bss_end
	dd start
start:
	mov [multiboot_info], ebx
	mov esp, kernel_stack_top
	call kernel_main
