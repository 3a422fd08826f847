; debugregs.asm: moves to and from the debug registers DR0-DR3, DR6 and DR7, each a cdecl function.
; Single instructions only: which values a guest may have loaded is decided in Swift, never here.

section .text
bits 32

%macro FN 1
global %1
%1:
%endmacro

FN cpu_read_dr6                              ; uint32 cpu_read_dr6(void)
    mov eax, dr6
    ret
FN cpu_write_dr6                             ; void cpu_write_dr6(uint32 value)
    mov eax, [esp + 4]
    mov dr6, eax
    ret
FN cpu_write_dr7                             ; void cpu_write_dr7(uint32 value)
    mov eax, [esp + 4]
    mov dr7, eax
    ret
FN cpu_write_dr0                             ; void cpu_write_dr0(uint32 value)
    mov eax, [esp + 4]
    mov dr0, eax
    ret
FN cpu_write_dr1                             ; void cpu_write_dr1(uint32 value)
    mov eax, [esp + 4]
    mov dr1, eax
    ret
FN cpu_write_dr2                             ; void cpu_write_dr2(uint32 value)
    mov eax, [esp + 4]
    mov dr2, eax
    ret
FN cpu_write_dr3                             ; void cpu_write_dr3(uint32 value)
    mov eax, [esp + 4]
    mov dr3, eax
    ret
