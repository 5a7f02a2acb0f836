; The program table (bench/harness.ts writes programs.bin), embedded in the harness kernel.
bits 32
global programs_blob
section .rodata
align 4
programs_blob:
	incbin "programs.bin"
