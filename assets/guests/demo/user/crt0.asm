; User program start-up.  The kernel starts us at 0x08048000 + header size
; with ESP pointing at the address of the argument string.
bits 32
extern main
extern exit
extern _end

section .header progbits alloc noexec nowrite align=4
    dd 0x4F4D4544                  ; "DEMO" magic
    dd _end - 0x08048000           ; bytes of memory to map (text+data+bss)
    dd _start                      ; entry point

section .text
global _start
_start:
    mov eax, [esp]                 ; const char *args
    push eax
    call main
    push eax
    call exit
