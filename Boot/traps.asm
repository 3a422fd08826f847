; traps.asm: every interrupt vector's entry stub and the one common path into Swift.
; Each stub leaves the same TrapFrame (Sources/ApusCore/TrapFrame.swift) on the stack and calls
; apus_trap(frame). It must never decide anything: policy lives in Swift.

%include "layout.inc"

extern apus_trap
global trap_stub_table
global trap_return_to_frame

section .text
bits 32

; Vectors for which the CPU pushes an error code.
%macro STUB 1
trap_stub_%1:
%if (%1 == 8) || (%1 == 10) || (%1 == 11) || (%1 == 12) || (%1 == 13) || (%1 == 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
%else
    push dword 0                             ; no error code from the CPU: keep the frame uniform
%endif
    push dword %1
    jmp trap_common
%endmacro

%assign vec 0
%rep 256
STUB vec
%assign vec vec + 1
%endrep

; Frame, from low to high: edi esi ebp esp0 ebx edx ecx eax | gs fs es ds | vector error |
; eip cs eflags [esp ss when the trap came from ring 1-3].
trap_common:
    push ds
    push es
    push fs
    push gs
    pushad
    mov ax, HYPERVISOR_DS
    mov ds, ax
    mov es, ax
    cld
    mov eax, esp
    push eax
    call apus_trap
    add esp, 4
trap_return_to_frame:
    popad
    pop gs
    pop fs
    pop es
    pop ds
    add esp, 8                               ; vector and error code
    iretd

section .rodata
align 4
trap_stub_table:
%assign vec 0
%rep 256
    dd trap_stub_ %+ vec
%assign vec vec + 1
%endrep
