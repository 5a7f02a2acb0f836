; The user programs, linked separately at 0x08048000 and embedded here.
section .rodata align=4
%macro PROG 1
global prog_%1_start, prog_%1_end
align 4
prog_%1_start:
    incbin %str(%1.bin)
prog_%1_end:
%endmacro
PROG hello
PROG bench
PROG fault
PROG spin
PROG rev
PROG fpfmt
